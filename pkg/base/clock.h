// Clock: every reading of time and every wait in this project goes through one.
//
// RealClock() reads std::chrono::steady_clock/system_clock and waits on them. FakeClock only
// moves when a test calls Advance(), which wakes every waiter whose deadline has come, so tests
// step time instead of sleeping on it (the prometheus-cpp anti-example in STYLE.md).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <list>
#include <mutex>
#include <stop_token>

namespace aura::base {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;
using SystemTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic time, for deadlines, windows and backoff.
  virtual TimePoint Now() const = 0;
  // Wall-clock time, for timestamps shown to people and compared with Aura's created_at.
  virtual SystemTime SystemNow() const = 0;

  // Like cv.wait_until(lock, deadline), measured on this clock: returns once `deadline` has
  // passed, when `cv` is notified, or spuriously; callers re-check their predicate in a loop.
  // REQUIRES: `lock` owns the mutex that guards the waited-for state and is used with `cv`.
  virtual void WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         TimePoint deadline) = 0;

  // Sleeps until `deadline` or until `stop` is requested. Returns false when stopped early.
  bool SleepUntil(TimePoint deadline, std::stop_token stop = {});
  bool SleepFor(Duration d, std::stop_token stop = {});
};

// The process-wide real clock. Never destroyed.
Clock& RealClock();

// A clock that stands still until Advance(). Starts at an arbitrary fixed point; SystemNow()
// starts at `system_start` and moves with Now().
class FakeClock final : public Clock {
 public:
  explicit FakeClock(SystemTime system_start = SystemTime(std::chrono::seconds(1798761600)));

  TimePoint Now() const override;
  SystemTime SystemNow() const override;
  void WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline) override;

  // Moves time forward and wakes every waiter whose deadline is now due.
  void Advance(Duration d);

  // Number of threads waiting inside WaitUntil (SleepUntil included) that Advance() has not
  // woken yet: after Advance(), a woken thread counts again only once it waits again.
  std::size_t waiters() const;
  // Blocks until at least `n` threads wait on this clock, or `real_timeout` of real time has
  // passed (a safety bound for tests; returns false then). Lets a test know a thread has
  // reached its wait before it advances time, without sleeping.
  bool AwaitWaiters(std::size_t n,
                    std::chrono::milliseconds real_timeout = std::chrono::seconds(20)) const;
  // The earliest deadline among current waiters, if any: lets a test jump straight to it.
  bool NextDeadline(TimePoint* out) const;

 private:
  struct Waiter {
    std::mutex* mu;
    std::condition_variable* cv;
    TimePoint deadline;
    bool woken = false;  // Advance() found it due; no longer counted as waiting
  };

  std::size_t CountWaitingLocked() const;  // REQUIRES: mu_ held

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;  // waiters_ or notifying_ changed
  TimePoint now_;
  SystemTime system_start_;
  TimePoint start_;
  std::list<Waiter> waiters_;  // GUARDED_BY(mu_)
  int notifying_ = 0;          // GUARDED_BY(mu_): Advance rounds still touching waiters
};

// Seconds as a double, for metrics and logs.
inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace aura::base
