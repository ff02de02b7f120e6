// SlidingWindowLimiter: the simulator's per-client rate limit, as the Aura gateway enforces it:
// at most `limit` accepted requests per client in any window of `window` (a sliding log, not
// fixed buckets). It also measures what clients sent, refused requests included, so tests can
// check that a client never exceeded the limit.
//
// Thread-safety: not thread-safe; the engine calls it under its lock.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <string>

#include "pkg/base/clock.h"

namespace aura::simulator {

class SlidingWindowLimiter {
 public:
  // REQUIRES: limit >= 1, window > 0.
  SlidingWindowLimiter(int limit, base::Duration window);

  struct Decision {
    bool allowed = true;
    // When refused: how long until the oldest accepted request leaves the window.
    base::Duration retry_after{0};
  };

  // Counts a request received from `client` at `now` (times must not decrease) and decides
  // whether it is accepted: it is when fewer than `limit` requests of this client were accepted
  // in (now - window, now].
  Decision Admit(const std::string& client, base::TimePoint now);

  // Counts a request received from `client` that was refused before reaching the limiter
  // (a throttle fault): it shows in the received counts but uses no budget.
  void RecordRefused(const std::string& client, base::TimePoint now);

  // The largest number of requests received (accepted or not) from one client within any
  // window, over all clients, and per client.
  size_t max_received_in_window() const { return max_received_; }
  std::map<std::string, size_t> MaxReceivedByClient() const;

  int limit() const { return limit_; }
  base::Duration window() const { return window_; }

  // Forgets every window and maximum.
  void Reset();

 private:
  struct Log {
    std::deque<base::TimePoint> accepted;
    std::deque<base::TimePoint> received;
    size_t max_received = 0;
  };
  void Prune(std::deque<base::TimePoint>& log, base::TimePoint now) const;
  void Receive(Log& log, base::TimePoint now);

  int limit_;
  base::Duration window_;
  std::map<std::string, Log> logs_;
  size_t max_received_ = 0;
};

}  // namespace aura::simulator
