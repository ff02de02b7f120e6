// Exponential backoff with full jitter (DESIGN.md "Rate limiting and backoff").
//
// The delay before retry n (1-based) is uniform in [0, min(max_delay, initial * multiplier^(n-1))]
// ("full jitter"), raised to a floor when the server asked for one (Retry-After). The random
// source is injected so tests are deterministic; attempts are bounded by Policy::max_attempts.
//
// Thread-safety: Policy and the free functions are values. Backoff is immutable after
// construction and may be shared if its Random is thread-safe (NewRandom()'s are). Sequence is
// a per-key counter: one owner, or external locking.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "pkg/base/clock.h"

namespace aura::backoff {

using base::Duration;

// Returns a uniformly distributed double in [0, 1).
using Random = std::function<double()>;

// A thread-safe source seeded with `seed` (mt19937_64 under a mutex).
Random NewRandom(std::uint64_t seed);
// A thread-safe source seeded from std::random_device.
Random NewRandom();

struct Policy {
  Duration initial = std::chrono::milliseconds(500);  // upper bound of the first delay
  Duration max_delay = std::chrono::seconds(30);      // cap of the jittered part
  double multiplier = 2.0;
  // Total tries including the first one; 1 means never retry. Values below 1 count as 1.
  int max_attempts = 4;
};

// The upper bound of the jittered delay before retry `retry` (1-based): min(max_delay,
// initial * multiplier^(retry-1)). Retries below 1 count as 1.
Duration Ceiling(const Policy& policy, int retry);

// Full jitter: `u` (in [0,1)) scales Ceiling(); the result is at least `floor` when given.
Duration Delay(const Policy& policy, int retry, double u,
               std::optional<Duration> floor = std::nullopt);

class Backoff {
 public:
  Backoff(Policy policy, Random random);

  // The delay before retry `retry` (1-based), at least `floor` (a server's Retry-After).
  Duration Next(int retry, std::optional<Duration> floor = std::nullopt) const;
  // True when another try is allowed after `attempts_made` tries.
  bool CanRetry(int attempts_made) const;
  const Policy& policy() const { return policy_; }

 private:
  Policy policy_;
  Random random_;
};

// Per-key failure backoff: each Failure() lengthens the next delay, Reset() forgets on success.
class Sequence {
 public:
  explicit Sequence(const Backoff* backoff) : backoff_(backoff) {}
  // Records a failure and returns the delay before the next try.
  Duration Failure(std::optional<Duration> floor = std::nullopt);
  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }
  // False once failures() has reached the policy's max_attempts - 1 retries.
  bool CanRetry() const { return backoff_->CanRetry(failures_ + 1); }

 private:
  const Backoff* backoff_;  // not owned
  int failures_ = 0;
};

}  // namespace aura::backoff
