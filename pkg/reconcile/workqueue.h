// WorkQueue: spec keys waiting to be reconciled (controller-runtime's rate-limited queue).
//
// A key is queued at most once (the earliest requested time wins) and handed to one worker at
// a time: a key added while it is being processed is queued again when Done() is called.
// Failures back off per key, exponentially with jitter and a cap, until Forget(). All time is
// read from the injected Clock, so tests step it.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stop_token>
#include <string>

#include "pkg/base/clock.h"

namespace aura::reconcile {

struct WorkQueueOptions {
  base::Duration base_delay = std::chrono::seconds(1);
  base::Duration max_delay = std::chrono::minutes(5);
  std::uint64_t seed = 1;
};

class WorkQueue {
 public:
  WorkQueue(base::Clock& clock, WorkQueueOptions options = {});

  void Add(const std::string& key);  // ready now
  void AddAfter(const std::string& key, base::Duration delay);
  // Adds unless the key is backing off after failures (its later time is kept).
  void AddUnlessBackingOff(const std::string& key);
  // Records a failure and queues the key after its backoff; returns that delay.
  base::Duration AddRateLimited(const std::string& key);
  // Clears the key's failure count.
  void Forget(const std::string& key);
  int Failures(const std::string& key) const;

  // Blocks until a key is ready; nullopt once shut down or when `stop` is requested.
  std::optional<std::string> Get(std::stop_token stop = {});
  // A ready key, or nullopt without waiting.
  std::optional<std::string> TryGet();
  // REQUIRES: `key` came from Get/TryGet and Done was not called for it yet.
  void Done(const std::string& key);

  std::optional<base::TimePoint> NextReady() const;
  std::size_t Depth() const;  // queued keys, ready or not (not those being processed)
  void ShutDown();

 private:
  void ScheduleLocked(const std::string& key, base::TimePoint at);
  std::optional<std::string> PopReadyLocked();

  base::Clock& clock_;
  const WorkQueueOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, base::TimePoint> due_;               // GUARDED_BY(mu_)
  std::set<std::pair<base::TimePoint, std::string>> order_;  // GUARDED_BY(mu_)
  std::set<std::string> processing_;                         // GUARDED_BY(mu_)
  std::map<std::string, base::TimePoint> deferred_;          // added while processing
  std::map<std::string, int> failures_;                      // GUARDED_BY(mu_)
  std::mt19937_64 rng_;                                      // GUARDED_BY(mu_)
  bool shut_down_ = false;
};

}  // namespace aura::reconcile
