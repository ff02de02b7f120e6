#include "pkg/reconcile/workqueue.h"

#include <algorithm>
#include <cmath>

namespace aura::reconcile {

WorkQueue::WorkQueue(base::Clock& clock, WorkQueueOptions options)
    : clock_(clock), options_(options), rng_(options.seed) {}

void WorkQueue::ScheduleLocked(const std::string& key, base::TimePoint at) {
  if (processing_.contains(key)) {
    auto [it, inserted] = deferred_.emplace(key, at);
    if (!inserted) it->second = std::min(it->second, at);
    return;
  }
  auto it = due_.find(key);
  if (it != due_.end()) {
    if (it->second <= at) return;
    order_.erase({it->second, key});
    it->second = at;
  } else {
    due_.emplace(key, at);
  }
  order_.insert({at, key});
  cv_.notify_all();
}

void WorkQueue::Add(const std::string& key) { AddAfter(key, base::Duration::zero()); }

void WorkQueue::AddAfter(const std::string& key, base::Duration delay) {
  std::lock_guard<std::mutex> g(mu_);
  if (shut_down_) return;
  ScheduleLocked(key, clock_.Now() + delay);
}

void WorkQueue::AddUnlessBackingOff(const std::string& key) {
  std::lock_guard<std::mutex> g(mu_);
  if (shut_down_) return;
  auto f = failures_.find(key);
  if (f != failures_.end() && f->second > 0 && (due_.contains(key) || processing_.contains(key))) {
    return;
  }
  ScheduleLocked(key, clock_.Now());
}

base::Duration WorkQueue::AddRateLimited(const std::string& key) {
  std::lock_guard<std::mutex> g(mu_);
  const int n = ++failures_[key];
  const double base_s = base::ToSeconds(options_.base_delay);
  const double cap_s = base::ToSeconds(options_.max_delay);
  const double exp_s = std::min(cap_s, base_s * std::pow(2.0, std::min(n - 1, 40)));
  // Equal jitter: half fixed, half random, so a failing key never retries at once.
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  const auto delay = std::chrono::duration_cast<base::Duration>(
      std::chrono::duration<double>(exp_s * jitter(rng_)));
  if (!shut_down_) ScheduleLocked(key, clock_.Now() + delay);
  return delay;
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard<std::mutex> g(mu_);
  failures_.erase(key);
}

int WorkQueue::Failures(const std::string& key) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<std::string> WorkQueue::PopReadyLocked() {
  if (order_.empty() || order_.begin()->first > clock_.Now()) return std::nullopt;
  std::string key = order_.begin()->second;
  order_.erase(order_.begin());
  due_.erase(key);
  processing_.insert(key);
  return key;
}

std::optional<std::string> WorkQueue::Get(std::stop_token stop) {
  // Registered before locking: it runs at once, taking mu_, when stop was already requested.
  std::stop_callback on_stop(stop, [this] {
    std::lock_guard<std::mutex> g(mu_);
    cv_.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu_);
  while (!shut_down_ && !stop.stop_requested()) {
    if (auto key = PopReadyLocked()) return key;
    const base::TimePoint wake =
        order_.empty() ? clock_.Now() + std::chrono::hours(1) : order_.begin()->first;
    clock_.WaitUntil(lock, cv_, wake);
  }
  return std::nullopt;
}

std::optional<std::string> WorkQueue::TryGet() {
  std::lock_guard<std::mutex> g(mu_);
  if (shut_down_) return std::nullopt;
  return PopReadyLocked();
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> g(mu_);
  processing_.erase(key);
  auto it = deferred_.find(key);
  if (it != deferred_.end()) {
    base::TimePoint at = it->second;
    deferred_.erase(it);
    if (!shut_down_) ScheduleLocked(key, at);
  }
}

std::optional<base::TimePoint> WorkQueue::NextReady() const {
  std::lock_guard<std::mutex> g(mu_);
  if (order_.empty()) return std::nullopt;
  return order_.begin()->first;
}

std::size_t WorkQueue::Depth() const {
  std::lock_guard<std::mutex> g(mu_);
  return due_.size();
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> g(mu_);
  shut_down_ = true;
  cv_.notify_all();
}

}  // namespace aura::reconcile
