// Property tests: random arrival schedules through the limiter, checking that no sliding window
// ever holds more than the limit, that priority and FIFO order hold at every grant, and that
// capacity is never left idle while someone waits.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pkg/ratelimit/limiter.h"

namespace aura::ratelimit {
namespace {

using std::chrono::milliseconds;

int Schedules(int normal) {
  if (const char* env = std::getenv("AURA_PROPERTY_SCHEDULES")) return std::atoi(env);
#ifdef AURA_SANITIZER_BUILD
  return std::max(1, normal / 10);
#else
  return normal;
#endif
}

// Returns "" when no window of length `span` holds more than `limit` of `grants` (ascending).
std::string CheckWindowBound(const std::vector<TimePoint>& grants, int limit, Duration span) {
  for (size_t i = 0; i + static_cast<size_t>(limit) < grants.size(); ++i) {
    const Duration gap = grants[i + static_cast<size_t>(limit)] - grants[i];
    if (gap < span) {
      return "grants " + std::to_string(i) + " and " + std::to_string(i + limit) + " are " +
             std::to_string(std::chrono::duration_cast<milliseconds>(gap).count()) +
             " ms apart, limit " + std::to_string(limit);
    }
  }
  return "";
}

Options RandomOptions(std::mt19937_64& rng) {
  Options o;
  o.limit = std::uniform_int_distribution<int>(1, 12)(rng);
  o.window = milliseconds(std::uniform_int_distribution<int>(50, 5000)(rng));
  o.safety_margin = std::uniform_int_distribution<int>(0, o.limit - 1)(rng) / 3;
  o.window_margin = milliseconds(std::uniform_int_distribution<int>(0, 3)(rng) * 10);
  o.throttle_factor = std::uniform_real_distribution<double>(0.2, 1.0)(rng);
  o.throttle_windows = std::uniform_int_distribution<int>(0, 3)(rng);
  o.recovery_step = std::uniform_real_distribution<double>(0.1, 1.0)(rng);
  o.pause_backoff.initial = milliseconds(100);
  o.pause_backoff.max_delay = o.window;
  return o;
}

// Single-threaded: thousands of schedules of TryAcquire at random instants, with random 429s.
TEST(LimiterPropertyTest, TryAcquireNeverExceedsTheWindowBound) {
  std::mt19937_64 rng(20240601);
  const int schedules = Schedules(5000);
  for (int s = 0; s < schedules; ++s) {
    base::FakeClock clock;
    Options o = RandomOptions(rng);
    std::vector<TimePoint> grants;
    o.observer.granted = [&](std::uint64_t, Priority, TimePoint t) { grants.push_back(t); };
    Limiter l(o, &clock, nullptr, backoff::NewRandom(static_cast<std::uint64_t>(s)));
    const int arrivals = std::uniform_int_distribution<int>(1, 200)(rng);
    const auto window_ms = std::chrono::duration_cast<milliseconds>(o.window).count();
    for (int i = 0; i < arrivals; ++i) {
      // Bursts (zero gaps) and quiet spells alike.
      const int gap =
          std::uniform_int_distribution<int>(0, 3)(rng) == 0
              ? 0
              : std::uniform_int_distribution<int>(0, static_cast<int>(window_ms) / 4)(rng);
      clock.Advance(milliseconds(gap));
      Snapshot before = l.Stats();
      const bool ok = l.TryAcquire(static_cast<Priority>(rng() % 3));
      ASSERT_EQ(ok, before.available > 0) << "schedule " << s;
      if (rng() % 50 == 0) {
        std::optional<Duration> ra;
        if (rng() % 2) ra = milliseconds(std::uniform_int_distribution<int>(0, 2000)(rng));
        l.OnThrottled(ra, clock.Now() - milliseconds(rng() % 100));
      }
    }
    ASSERT_EQ(CheckWindowBound(grants, std::max(1, o.limit - o.safety_margin),
                               o.window + o.window_margin),
              "")
        << "schedule " << s << " limit " << o.limit;
  }
}

// Requests that take a random time to reach the server and to be answered: whatever the
// latency, the server never sees more than the limit in one of its windows, because a permit
// counts until a window after its answer.
TEST(LimiterPropertyTest, TheServerNeverSeesMoreThanTheLimitWhateverTheLatency) {
  std::mt19937_64 rng(20261204);
  const int schedules = Schedules(3000);
  for (int s = 0; s < schedules; ++s) {
    base::FakeClock clock;
    Options o = RandomOptions(rng);
    Limiter l(o, &clock, nullptr, backoff::NewRandom(static_cast<std::uint64_t>(s)));
    const auto window_ms = std::chrono::duration_cast<milliseconds>(o.window).count();
    std::multimap<TimePoint, Permit> in_flight;  // by the time the answer arrives
    std::vector<TimePoint> arrivals;             // when the server counted each request
    const int steps = std::uniform_int_distribution<int>(1, 300)(rng);
    for (int i = 0; i < steps; ++i) {
      clock.Advance(milliseconds(
          std::uniform_int_distribution<int>(0, static_cast<int>(window_ms) / 3)(rng)));
      while (!in_flight.empty() && in_flight.begin()->first <= clock.Now()) {
        in_flight.erase(in_flight.begin());
      }
      while (l.Stats().available > 0 && rng() % 4 != 0) {
        auto p = l.AcquirePermit(static_cast<Priority>(rng() % 3));
        ASSERT_TRUE(p.ok());
        // Up to three windows on the way (a loaded client, a slow network).
        const auto latency = milliseconds(
            std::uniform_int_distribution<int64_t>(0, 3 * static_cast<int64_t>(window_ms))(rng));
        const auto arrival = milliseconds(
            std::uniform_int_distribution<int64_t>(0, static_cast<int64_t>(latency.count()))(rng));
        arrivals.push_back(clock.Now() + arrival);
        in_flight.emplace(clock.Now() + latency, std::move(*p));
      }
      if (rng() % 60 == 0) l.OnThrottled(milliseconds(rng() % 500), clock.Now());
    }
    std::sort(arrivals.begin(), arrivals.end());
    ASSERT_EQ(CheckWindowBound(arrivals, std::max(1, o.limit - o.safety_margin), o.window), "")
        << "schedule " << s << " limit " << o.limit;
  }
}

// The model the observer hooks are checked against: per-class FIFO queues of tickets.
struct OrderModel {
  std::array<std::deque<std::uint64_t>, kNumPriorities> pending;
  std::vector<TimePoint> grants;
  std::vector<std::string> violations;

  void Enqueued(std::uint64_t ticket, Priority p) {
    pending[static_cast<size_t>(p)].push_back(ticket);
  }
  void Granted(std::uint64_t ticket, Priority p, TimePoint t) {
    grants.push_back(t);
    const size_t c = static_cast<size_t>(p);
    for (size_t h = 0; h < c; ++h) {
      if (!pending[h].empty())
        violations.push_back("priority: class " + std::to_string(c) + " granted while class " +
                             std::to_string(h) + " waits");
    }
    if (pending[c].empty() || pending[c].front() != ticket) {
      violations.push_back("fifo: ticket " + std::to_string(ticket) + " overtook its class");
      auto& q = pending[c];
      q.erase(std::remove(q.begin(), q.end(), ticket), q.end());
      return;
    }
    pending[c].pop_front();
  }
};

// Waits (in real time, briefly) until every active worker is blocked on the fake clock with a
// deadline in the future: the system has reacted to the last Advance. The order of the two reads
// matters: once no registration is due, every later one has a future deadline too (time stands
// still), so a full count read afterwards cannot include a thread still waking from a due one.
bool Settle(const base::FakeClock& clock, const std::atomic<int>& active) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    const int a = active.load();
    if (a == 0) return true;
    TimePoint next;
    if (clock.NextDeadline(&next) && next > clock.Now() &&
        clock.waiters() >= static_cast<size_t>(a)) {
      return true;
    }
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::yield();
  }
}

// Multi-threaded: blocking Acquire from several workers with random arrival schedules.
TEST(LimiterPropertyTest, AcquireHonoursWindowPriorityFifoAndUsesTheBudget) {
  std::mt19937_64 rng(7);
  const int schedules = Schedules(1000);
  for (int s = 0; s < schedules; ++s) {
    base::FakeClock clock;
    Options o = RandomOptions(rng);
    OrderModel model;
    o.observer.enqueued = [&](std::uint64_t t, Priority p, TimePoint) { model.Enqueued(t, p); };
    o.observer.granted = [&](std::uint64_t t, Priority p, TimePoint now) {
      model.Granted(t, p, now);
    };
    Limiter l(o, &clock, nullptr, backoff::NewRandom(static_cast<std::uint64_t>(s)));
    const int workers = std::uniform_int_distribution<int>(1, 5)(rng);
    const auto window_ms = std::chrono::duration_cast<milliseconds>(o.window).count();
    std::vector<std::vector<std::pair<milliseconds, Priority>>> plans(static_cast<size_t>(workers));
    int total = 0;
    for (auto& plan : plans) {
      milliseconds at(0);
      const int n = std::uniform_int_distribution<int>(1, 12)(rng);
      for (int i = 0; i < n; ++i) {
        if (rng() % 3 != 0) {
          at +=
              milliseconds(std::uniform_int_distribution<int>(0, static_cast<int>(window_ms))(rng));
        }
        plan.emplace_back(at, static_cast<Priority>(rng() % 3));
      }
      total += n;
    }
    const TimePoint start = clock.Now();
    std::atomic<int> active{workers};
    std::atomic<int> granted{0};
    std::vector<std::thread> threads;
    for (const auto& plan : plans) {
      threads.emplace_back([&, plan] {
        for (const auto& [at, p] : plan) {
          clock.SleepUntil(start + at);
          if (l.Acquire(p).ok()) ++granted;
        }
        --active;
      });
    }
    bool settled = true;
    while (active.load() > 0) {
      if (!(settled = Settle(clock, active))) break;
      if (active.load() == 0) break;
      Snapshot snap = l.Stats();
      int waiting = 0;
      for (int w : snap.waiting) waiting += w;
      if (waiting > 0 && !snap.paused && snap.in_window < snap.effective_limit) {
        ADD_FAILURE()
            << "schedule " << s << ": " << waiting << " waiting with " << snap.in_window << "/"
            << snap.effective_limit << " used; limit " << o.limit << " margin " << o.safety_margin
            << " throttled " << snap.throttled << " paused_until-now "
            << std::chrono::duration_cast<milliseconds>(snap.paused_until - snap.now).count()
            << "ms waiters " << clock.waiters() << " active " << active.load();
        break;
      }
      if (rng() % 40 == 0) {
        std::optional<Duration> ra;
        if (rng() % 2) ra = milliseconds(std::uniform_int_distribution<int>(0, 500)(rng));
        l.OnThrottled(ra, clock.Now());
      }
      TimePoint next;
      if (clock.NextDeadline(&next) && next > clock.Now()) clock.Advance(next - clock.Now());
    }
    if (active.load() > 0) {
      // A failure above: release everyone (the limiter and the workers' own sleeps).
      l.Stop();
      while (active.load() > 0) {
        clock.Advance(o.window);
        std::this_thread::yield();
      }
    }
    for (auto& t : threads) t.join();
    ASSERT_TRUE(settled) << "schedule " << s;
    ASSERT_EQ(granted.load(), total) << "schedule " << s;
    ASSERT_TRUE(model.violations.empty()) << "schedule " << s << ": " << model.violations[0];
    ASSERT_EQ(CheckWindowBound(model.grants, std::max(1, o.limit - o.safety_margin),
                               o.window + o.window_margin),
              "")
        << "schedule " << s;
  }
}

}  // namespace
}  // namespace aura::ratelimit
