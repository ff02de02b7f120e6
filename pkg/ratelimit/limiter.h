// Limiter: the one rate limiter shared by every Aura request, token fetches included
// (DESIGN.md "Rate limiting and backoff").
//
// Guarantee: at most effective_limit() <= Options::limit - safety_margin requests in ANY sliding
// window of length window + window_margin, as the server counts them. A slot taken with Acquire
// or TryAcquire counts from its grant for one window; a slot taken with AcquirePermit (every
// request a client sends) counts from its grant until one window after its Permit is released
// with the answer. A request reaches the server somewhere between the two, so however long it
// was delayed on the way (a busy client, a slow network), the server never sees more than the
// limit in one of its windows. The log makes the bound hold for every window, not just aligned
// ones, and a full budget is used as soon as work is waiting. Capacity is handed out by Priority
// (kWrite before kPoll before kDrift) and FIFO within a class: a waiter is granted only when nobody
// ahead of it is still waiting.
//
// A 429 (OnThrottled) pauses every caller until its Retry-After, or a jittered exponential
// backoff when the server gave none, and lowers the effective limit (throttle_factor) for
// throttle_windows windows after the pause, then recovers by recovery_step of the normal limit
// per window. All time comes from the injected base::Clock; waits end early with kCancelled on
// the caller's stop_token or Stop().
//
// Learning the account's limit (Options::learn_limit): Aura gives billed accounts 125 requests
// a minute and Free or unbilled trial accounts 25. The first 429 that arrives while fewer grants
// than the limit were in the window before the refused request sets the limit to that number
// (at least 1) instead of slowing down by throttle_factor; Options::on_learned is told, so the
// caller can keep it for the next process. While the tier is unknown (probe_above > 0), grants
// beyond probe_above in a window go one at a time: the next waits until the previous permit is
// released with its response, so that finding a 25-per-minute limit costs one 429, not one per
// request in flight. A response (not a 429) to a request that was beyond probe_above in its
// window proves the larger tier: probing stops and on_learned is told too.
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
#include <vector>

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
  // Time added to the window: a slot counts for window + window_margin after its grant (or its
  // Permit's release), for clocks that may not agree on the length of a window.
  Duration window_margin = Duration::zero();
  // After a 429: the effective limit is multiplied by throttle_factor (at least 1 request) for
  // throttle_windows windows after the pause ends, then grows back by recovery_step * limit per
  // window.
  double throttle_factor = 0.5;
  int throttle_windows = 2;
  double recovery_step = 0.25;
  // The pause after a 429 without a usable Retry-After: full-jitter backoff over the number of
  // 429s within the last window. Its max_attempts is unused.
  backoff::Policy pause_backoff{std::chrono::seconds(1), std::chrono::seconds(60), 2.0, 1};

  // Learning the account's limit (see above). Off when the limit was given explicitly.
  bool learn_limit = false;
  int probe_above = 0;  // 0: no probing (the tier is known, or learning is off)
  // Called without the lock after a limit was learned from a 429 (`confirmed` false) or the
  // larger tier was proven (`confirmed` true, `limit` unchanged). Must be thread-safe.
  std::function<void(int limit, bool confirmed)> on_learned;

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
  int in_window = 0;        // slots still counted: in flight, or inside the sliding window
  int available = 0;        // grants possible right now (0 while paused)
  bool paused = false;
  TimePoint paused_until;                     // meaningful when paused
  bool throttled = false;                     // the effective limit is lowered after a 429
  std::array<int, kNumPriorities> waiting{};  // blocked callers per Priority
};

class Limiter;

// A send slot taken with AcquirePermit: released (with what came of the request) when it is
// destroyed. Probing needs to know when a request's answer arrived.
class Permit {
 public:
  enum class Outcome { kNoAnswer, kAnswered, kThrottled };
  Permit() = default;
  Permit(Limiter* limiter, TimePoint granted_at, bool probe)
      : limiter_(limiter), granted_at_(granted_at), probe_(probe) {}
  Permit(Permit&& o) noexcept { *this = std::move(o); }
  Permit& operator=(Permit&& o) noexcept;
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;
  ~Permit();
  // What came of the request; kNoAnswer (a transport error) unless set.
  void set_outcome(Outcome o) { outcome_ = o; }
  TimePoint granted_at() const { return granted_at_; }

 private:
  Limiter* limiter_ = nullptr;
  TimePoint granted_at_{};
  bool probe_ = false;  // granted beyond probe_above while probing
  Outcome outcome_ = Outcome::kNoAnswer;
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

  // Like Acquire, but the slot stays "in flight" until the Permit is destroyed (probing: see
  // the class comment). Clients that send requests use this.
  [[nodiscard]] base::StatusOr<Permit> AcquirePermit(Priority priority, std::stop_token stop = {});

  // Takes a slot only when one is free now, no pause is in force and nobody of the same or a
  // higher priority is waiting. Never blocks.
  [[nodiscard]] bool TryAcquire(Priority priority);

  // A request sent at `sent_at` got HTTP 429. Pauses every caller until now + retry_after (a
  // backoff when absent) and lowers the rate, or learns the limit (see above) when
  // `may_learn` (false for an endpoint with a limit of its own, like the token endpoint). 429s
  // for requests sent before the previous 429 arrived extend the pause but do not lower the
  // rate again: they are the same burst.
  void OnThrottled(std::optional<Duration> retry_after, TimePoint sent_at, bool may_learn = true);
  void OnThrottled(std::optional<Duration> retry_after);

  // Grants still inside the window now, oldest first: another process sharing the account's
  // budget (the next `plan` of the same state folder) preloads them.
  std::vector<TimePoint> RecentGrants() const;
  // Counts grants made elsewhere (another process, just before this one) at `times`; those
  // already out of the window are ignored.
  void Preload(const std::vector<TimePoint>& times);

  // The limit in force now (Options::limit, or what was learned).
  int Limit() const;
  bool probing() const;

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
  friend class Permit;
  void Release(bool probe, Permit::Outcome outcome);
  int UsedLocked() const { return static_cast<int>(log_.size()) + in_flight_; }
  void OnThrottledLocked(std::optional<Duration> retry_after, TimePoint sent_at, bool slow_down);

  struct Waiter {
    explicit Waiter(Priority p) : priority(p) {}
    Priority priority;
    bool permit = false;       // taken with AcquirePermit
    bool probe = false;        // granted beyond probe_above while probing: one at a time
    std::uint64_t ticket = 0;  // GUARDED_BY(mu_)
    std::condition_variable cv;
    bool granted = false;    // GUARDED_BY(mu_)
    bool cancelled = false;  // GUARDED_BY(mu_)
  };

  Duration Span() const { return options_.window + options_.window_margin; }
  base::Status AcquireImpl(Priority priority, bool permit, std::stop_token stop,
                           TimePoint* granted_at, bool* probe);
  bool ProbingLocked() const {
    return options_.learn_limit && !tier_known_ && options_.probe_above > 0;
  }
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
  // GUARDED_BY(mu_), ascending: when each counted slot started its last window (the grant, or
  // the release of a Permit).
  std::deque<TimePoint> log_;
  int in_flight_ = 0;             // GUARDED_BY(mu_): Permits not yet released
  std::deque<TimePoint> grants_;  // GUARDED_BY(mu_): grant times, ascending (limit learning)
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
  int limit_;                  // GUARDED_BY(mu_): Options::limit, or what was learned
  bool tier_known_ = false;    // GUARDED_BY(mu_): learned from a 429, or the larger tier proven
  int probes_in_flight_ = 0;   // GUARDED_BY(mu_): probe permits not yet released
};

}  // namespace aura::ratelimit
