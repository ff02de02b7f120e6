#include "pkg/simulator/reply_scheduler.h"

#include <vector>

namespace aura::simulator {

ReplyScheduler::ReplyScheduler(base::Clock* clock)
    : clock_(clock), thread_([this](std::stop_token stop) { Loop(stop); }) {}

ReplyScheduler::~ReplyScheduler() { Shutdown(); }

void ReplyScheduler::At(base::TimePoint when, std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopped_) {
      queue_.emplace(when, std::move(fn));
      cv_.notify_all();
      return;
    }
  }
  fn();
}

void ReplyScheduler::Loop(std::stop_token stop) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop.stop_requested()) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = queue_.begin();
    if (clock_->Now() < first->first) {
      clock_->WaitUntil(lock, cv_, first->first);
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    queue_.erase(first);
    lock.unlock();
    fn();
    lock.lock();
  }
}

void ReplyScheduler::Shutdown() {
  std::multimap<base::TimePoint, std::function<void()>> rest;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    thread_.request_stop();
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    rest.swap(queue_);
  }
  for (auto& [when, fn] : rest) fn();
}

size_t ReplyScheduler::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

}  // namespace aura::simulator
