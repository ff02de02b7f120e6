// Limiter: the one rate limiter shared by every Aura request, token fetches included
// (DESIGN.md "Rate limiting and backoff").
//
// Guarantee: at most effective_limit() <= Options::limit - safety_margin grants in ANY sliding
// window of length window + window_margin. It keeps a log of grant times (a grant is a send), so
// the bound holds for every window, not just aligned ones, and a full budget is used as soon as
// work is waiting. Capacity is handed out by Priority (kWrite before kPoll before kDrift) and
// FIFO within a class: a waiter is granted only when nobody ahead of it is still waiting.
//
// A 429 (OnThrottled) pauses every caller until its Retry-After, or a jittered exponential
// backoff when the server gave none, and lowers the effective limit (throttle_factor) for
// throttle_windows windows after the pause, then recovers by recovery_step of the normal limit
// per window. All time comes from the injected base::Clock; waits end early with kCancelled on
// the caller's stop_token or Stop().
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <stop_token>

#include "pkg/backoff/backoff.h"
#include "pkg/base/clock.h"
#include "pkg/base/status.h"
#include "pkg/metrics/metrics.h"
#include "pkg/ratelimit/priority.h"

namespace aura::ratelimit {

using base::Duration;
using base::TimePoint;

inline constexpr std::size_t kNumPriorities = 3;

struct Options {
  int limit = 125;  // requests per window (the provider's number)
  Duration window = std::chrono::seconds(60);
  int safety_margin = 0;  // requests per window held back from `limit`
  // Time added to the window: a grant counts for window + window_margin, covering the spread
  // between granting a request and its arrival at the server.
  Duration window_margin = Duration::zero();
  // Latency-aware margin: when callers report exchange durations (ObserveLatency), the margin
  // is at least the longest one reported within the last two windows, capped at
  // max_latency_margin (default: a tenth of the window). A request arrives at the server
  // somewhere between its grant and its response, so this keeps the server's view of any
  // window within the limit too. Zero disables it.
  std::optional<Duration> max_latency_margin;
  // After a 429: the effective limit is multiplied by throttle_factor (at least 1 request) for
  // throttle_windows windows after the pause ends, then grows back by recovery_step * limit per
  // window.
  double throttle_factor = 0.5;
  int throttle_windows = 2;
  double recovery_step = 0.25;
  // The pause after a 429 without a usable Retry-After: full-jitter backoff over the number of
  // 429s within the last window. Its max_attempts is unused.
  backoff::Policy pause_backoff{std::chrono::seconds(1), std::chrono::seconds(60), 2.0, 1};

  // Optional hooks for tests and tracing. Each Acquire gets a ticket; TryAcquire grants get one
  // too (granted only). Called with the limiter's lock held: they must not call the limiter.
  struct Observer {
    std::function<void(std::uint64_t ticket, Priority, TimePoint)> enqueued;
    std::function<void(std::uint64_t ticket, Priority, TimePoint)> granted;
    std::function<void(std::uint64_t ticket, Priority, TimePoint)> cancelled;
  };
  Observer observer;
};

// Checks Options for values that make no sense (limit < 1, window <= 0, margin >= limit, ...).
[[nodiscard]] base::Status Validate(const Options& options);

// A consistent view of the limiter at one instant.
struct Snapshot {
  TimePoint now;
  int limit = 0;            // Options::limit
  int effective_limit = 0;  // after safety_margin and any 429 slow-down
  int in_window = 0;        // grants still inside the sliding window
  int available = 0;        // grants possible right now (0 while paused)
  bool paused = false;
  TimePoint paused_until;  // meaningful when paused
  bool throttled = false;  // the effective limit is lowered after a 429
  Duration margin{};       // the window margin in force (configured or latency-aware)
  std::array<int, kNumPriorities> waiting{};  // blocked callers per Priority
};

class Limiter {
 public:
  // `clock` must outlive the limiter; `metrics` may be null. `random` feeds the pause backoff.
  Limiter(Options options, base::Clock* clock, metrics::Metrics* metrics = nullptr,
          backoff::Random random = backoff::NewRandom());
  // REQUIRES: no thread is inside Acquire (call Stop() and join them first).
  ~Limiter();
  Limiter(const Limiter&) = delete;
  Limiter& operator=(const Limiter&) = delete;

  // Blocks until a send slot is granted to this caller, then counts it as sent. Returns
  // kCancelled when `stop` is requested or Stop() was called, having taken no slot.
  [[nodiscard]] base::Status Acquire(Priority priority, std::stop_token stop = {});

  // Takes a slot only when one is free now, no pause is in force and nobody of the same or a
  // higher priority is waiting. Never blocks.
  [[nodiscard]] bool TryAcquire(Priority priority);

  // A request sent at `sent_at` got HTTP 429. Pauses every caller until now + retry_after (a
  // backoff when absent) and lowers the rate. 429s for requests sent before the previous 429
  // arrived extend the pause but do not lower the rate again: they are the same burst.
  void OnThrottled(std::optional<Duration> retry_after, TimePoint sent_at);
  void OnThrottled(std::optional<Duration> retry_after);

  // Reports how long a granted request took from its grant to its response (see
  // Options::max_latency_margin).
  void ObserveLatency(Duration latency);

  // Wakes every waiter with kCancelled; later Acquire calls fail the same way.
  void Stop();

  Snapshot Stats() const;
  int InWindow() const { return Stats().in_window; }
  int EffectiveLimit() const { return Stats().effective_limit; }

  // An estimate of how many grants callers of class `priority` can get within `horizon` from
  // now, after every current waiter of that class and of higher classes is served. Accounts for
  // a pause in force and the current (possibly lowered) effective limit. The reconciler uses it
  // to size its drift checks: Budget(Priority::kDrift, window).
  int Budget(Priority priority, Duration horizon) const;

  const Options& options() const { return options_; }

 private:
  struct Waiter {
    explicit Waiter(Priority p) : priority(p) {}
    Priority priority;
    std::uint64_t ticket = 0;  // GUARDED_BY(mu_)
    std::condition_variable cv;
    bool granted = false;    // GUARDED_BY(mu_)
    bool cancelled = false;  // GUARDED_BY(mu_)
  };

  Duration Span() const { return options_.window + margin_; }  // REQUIRES: mu_ held
  void UpdateMarginLocked(TimePoint now);
  int BaseLimit() const;
  int EffectiveLimitAt(TimePoint t) const;  // REQUIRES: mu_ held
  int AliveAt(TimePoint t) const;           // REQUIRES: mu_ held
  void PruneLocked(TimePoint now);
  void DispatchLocked(TimePoint now);
  TimePoint NextEventLocked(TimePoint now) const;
  Waiter* FrontLocked() const;
  void RemoveLocked(Waiter* w);
  void UpdateGaugesLocked(TimePoint now);

  const Options options_;
  base::Clock* const clock_;
  metrics::Metrics* const metrics_;
  const backoff::Random random_;

  mutable std::mutex mu_;
  std::deque<TimePoint> log_;  // GUARDED_BY(mu_): grant times, ascending
  std::array<std::deque<Waiter*>, kNumPriorities> queues_;  // GUARDED_BY(mu_)
  bool stopped_ = false;                                    // GUARDED_BY(mu_)
  std::uint64_t next_ticket_ = 1;                           // GUARDED_BY(mu_)
  TimePoint paused_until_{};                                // GUARDED_BY(mu_)
  bool paused_gauge_ = false;                               // GUARDED_BY(mu_)
  // 429 slow-down: reduced_limit_ applies until slow_until_, then recovers.
  bool throttled_ = false;     // GUARDED_BY(mu_)
  int reduced_limit_ = 0;      // GUARDED_BY(mu_)
  TimePoint slow_until_{};     // GUARDED_BY(mu_)
  TimePoint last_throttle_{};  // GUARDED_BY(mu_): arrival of the last 429 that lowered the rate
  int throttle_streak_ = 0;    // GUARDED_BY(mu_): 429 bursts within a window of each other
  Duration margin_{};          // GUARDED_BY(mu_): window_margin or the latency-aware one
  Duration latency_cap_{};     // max_latency_margin resolved
  // Sliding maximum of reported latencies: (time, latency), latencies decreasing.
  std::deque<std::pair<TimePoint, Duration>> latencies_;  // GUARDED_BY(mu_)
};

}  // namespace aura::ratelimit
