#include "pkg/base/clock.h"

#include <vector>

namespace aura::base {
namespace {

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  SystemTime SystemNow() const override { return std::chrono::system_clock::now(); }
  void WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline) override {
    cv.wait_until(lock, deadline);
  }
};

}  // namespace

bool Clock::SleepUntil(TimePoint deadline, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable cv;
  std::stop_callback on_stop(stop, [&] {
    std::lock_guard<std::mutex> g(mu);
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  while (Now() < deadline) {
    if (stop.stop_requested()) return false;
    WaitUntil(lock, cv, deadline);
  }
  return !stop.stop_requested();
}

bool Clock::SleepFor(Duration d, std::stop_token stop) {
  return SleepUntil(Now() + d, std::move(stop));
}

Clock& RealClock() {
  static auto* clock = new SystemClock();
  return *clock;
}

FakeClock::FakeClock(SystemTime system_start)
    : now_(TimePoint(std::chrono::hours(24 * 365))), system_start_(system_start), start_(now_) {}

TimePoint FakeClock::Now() const {
  std::lock_guard<std::mutex> g(mu_);
  return now_;
}

SystemTime FakeClock::SystemNow() const {
  std::lock_guard<std::mutex> g(mu_);
  return system_start_ + std::chrono::duration_cast<SystemTime::duration>(now_ - start_);
}

void FakeClock::WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          TimePoint deadline) {
  std::list<Waiter>::iterator me;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (now_ >= deadline) return;
    me = waiters_.insert(waiters_.end(), Waiter{lock.mutex(), &cv, deadline});
    changed_.notify_all();
  }
  // Advance() takes the caller's mutex before notifying, so no wake-up is lost between the
  // registration above and this wait.
  cv.wait(lock);
  // Unregister without holding the caller's mutex (Advance takes it), and wait until no
  // Advance round still holds a pointer to this waiter's mutex or condition variable.
  lock.unlock();
  {
    std::unique_lock<std::mutex> g(mu_);
    waiters_.erase(me);
    changed_.notify_all();
    changed_.wait(g, [this] { return notifying_ == 0; });
  }
  lock.lock();
}

void FakeClock::Advance(Duration d) {
  std::vector<Waiter> due;
  {
    std::lock_guard<std::mutex> g(mu_);
    now_ += d;
    for (Waiter& w : waiters_) {
      if (w.deadline <= now_ && !w.woken) {
        w.woken = true;
        due.push_back(w);
      }
    }
    if (due.empty()) return;
    ++notifying_;
  }
  for (const Waiter& w : due) {
    std::lock_guard<std::mutex> g(*w.mu);
    w.cv->notify_all();
  }
  std::lock_guard<std::mutex> g(mu_);
  --notifying_;
  changed_.notify_all();
}

std::size_t FakeClock::CountWaitingLocked() const {
  std::size_t n = 0;
  for (const Waiter& w : waiters_) n += w.woken ? 0 : 1;
  return n;
}

std::size_t FakeClock::waiters() const {
  std::lock_guard<std::mutex> g(mu_);
  return CountWaitingLocked();
}

bool FakeClock::AwaitWaiters(std::size_t n, std::chrono::milliseconds real_timeout) const {
  std::unique_lock<std::mutex> g(mu_);
  return changed_.wait_for(g, real_timeout, [&] { return CountWaitingLocked() >= n; });
}

bool FakeClock::NextDeadline(TimePoint* out) const {
  std::lock_guard<std::mutex> g(mu_);
  if (waiters_.empty()) return false;
  bool any = false;
  TimePoint best{};
  for (const Waiter& w : waiters_) {
    if (w.woken) continue;
    best = any ? std::min(best, w.deadline) : w.deadline;
    any = true;
  }
  if (any) *out = best;
  return any;
}

}  // namespace aura::base
