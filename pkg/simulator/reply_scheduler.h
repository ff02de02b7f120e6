// ReplyScheduler: runs callbacks at a given time of an injected Clock, on one thread of its
// own. The simulator's server uses it to send delayed responses (latency faults, creates that
// answer after the client's timeout) without blocking the HTTP threads.
//
// Thread-safety: all methods may be called from any thread. Callbacks run on the scheduler's
// thread (or, after Shutdown(), on the caller's) and must not call back into the scheduler.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "pkg/base/clock.h"

namespace aura::simulator {

class ReplyScheduler {
 public:
  // REQUIRES: `clock` outlives the scheduler.
  explicit ReplyScheduler(base::Clock* clock);
  ~ReplyScheduler();  // Shutdown()

  ReplyScheduler(const ReplyScheduler&) = delete;
  ReplyScheduler& operator=(const ReplyScheduler&) = delete;

  // Runs `fn` once `when` has come. Callbacks due at the same time run in the order added.
  void At(base::TimePoint when, std::function<void()> fn);

  // Runs every pending callback now, in time order, and stops the thread. Afterwards At() runs
  // its callback at once on the caller's thread. Idempotent.
  void Shutdown();

  size_t pending() const;

 private:
  void Loop(std::stop_token stop);

  base::Clock* const clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<base::TimePoint, std::function<void()>> queue_;  // GUARDED_BY(mu_)
  bool stopped_ = false;                                         // GUARDED_BY(mu_)
  std::jthread thread_;
};

}  // namespace aura::simulator
