#include "pkg/backoff/backoff.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <random>
#include <utility>

namespace aura::backoff {
namespace {

struct LockedEngine {
  explicit LockedEngine(std::uint64_t seed) : engine(seed) {}
  std::mutex mu;
  std::mt19937_64 engine;  // GUARDED_BY(mu)
};

}  // namespace

Random NewRandom(std::uint64_t seed) {
  auto state = std::make_shared<LockedEngine>(seed);
  return [state] {
    std::lock_guard<std::mutex> g(state->mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(state->engine);
  };
}

Random NewRandom() {
  std::random_device rd;
  return NewRandom((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
}

Duration Ceiling(const Policy& policy, int retry) {
  retry = std::max(retry, 1);
  const double initial = static_cast<double>(policy.initial.count());
  const double cap = static_cast<double>(policy.max_delay.count());
  // Computed in doubles so large retry counts saturate at the cap instead of overflowing.
  const double grown = initial * std::pow(std::max(policy.multiplier, 1.0), retry - 1);
  const double bounded = std::min(grown, cap);
  return Duration(static_cast<Duration::rep>(std::max(bounded, 0.0)));
}

Duration Delay(const Policy& policy, int retry, double u, std::optional<Duration> floor) {
  u = std::clamp(u, 0.0, 1.0);
  const double ceiling = static_cast<double>(Ceiling(policy, retry).count());
  Duration d(static_cast<Duration::rep>(ceiling * u));
  if (floor && *floor > d) d = *floor;
  return d;
}

Backoff::Backoff(Policy policy, Random random) : policy_(policy), random_(std::move(random)) {}

Duration Backoff::Next(int retry, std::optional<Duration> floor) const {
  return Delay(policy_, retry, random_ ? random_() : 1.0, floor);
}

bool Backoff::CanRetry(int attempts_made) const {
  return attempts_made < std::max(policy_.max_attempts, 1);
}

Duration Sequence::Failure(std::optional<Duration> floor) {
  ++failures_;
  return backoff_->Next(failures_, floor);
}

}  // namespace aura::backoff
