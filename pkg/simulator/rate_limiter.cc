#include "pkg/simulator/rate_limiter.h"

#include <algorithm>

namespace aura::simulator {

SlidingWindowLimiter::SlidingWindowLimiter(int limit, base::Duration window)
    : limit_(std::max(1, limit)), window_(window) {}

void SlidingWindowLimiter::Prune(std::deque<base::TimePoint>& log, base::TimePoint now) const {
  // The window is (now - window, now]: a request exactly `window` ago has left it.
  while (!log.empty() && log.front() <= now - window_) log.pop_front();
}

void SlidingWindowLimiter::Receive(Log& log, base::TimePoint now) {
  Prune(log.received, now);
  log.received.push_back(now);
  log.max_received = std::max(log.max_received, log.received.size());
  max_received_ = std::max(max_received_, log.max_received);
}

SlidingWindowLimiter::Decision SlidingWindowLimiter::Admit(const std::string& client,
                                                           base::TimePoint now) {
  Log& log = logs_[client];
  Receive(log, now);
  Prune(log.accepted, now);
  Decision d;
  if (log.accepted.size() < static_cast<size_t>(limit_)) {
    log.accepted.push_back(now);
    return d;
  }
  d.allowed = false;
  d.retry_after = log.accepted.front() + window_ - now;
  return d;
}

void SlidingWindowLimiter::RecordRefused(const std::string& client, base::TimePoint now) {
  Receive(logs_[client], now);
}

std::map<std::string, size_t> SlidingWindowLimiter::MaxReceivedByClient() const {
  std::map<std::string, size_t> out;
  for (const auto& [client, log] : logs_) out[client] = log.max_received;
  return out;
}

void SlidingWindowLimiter::Reset() {
  logs_.clear();
  max_received_ = 0;
}

}  // namespace aura::simulator
