#include "pkg/ratelimit/limiter.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace aura::ratelimit {
namespace {

size_t Index(Priority p) {
  size_t i = static_cast<size_t>(p);
  return i < kNumPriorities ? i : kNumPriorities - 1;
}

}  // namespace

base::Status Validate(const Options& o) {
  if (o.limit < 1) return base::InvalidArgumentError("rate limit must be at least 1");
  if (o.window <= Duration::zero()) {
    return base::InvalidArgumentError("rate window must be positive");
  }
  if (o.safety_margin < 0 || o.safety_margin >= o.limit) {
    return base::InvalidArgumentError("safety margin must be in [0, limit), got " +
                                      std::to_string(o.safety_margin));
  }
  if (o.window_margin < Duration::zero()) {
    return base::InvalidArgumentError("window margin must not be negative");
  }
  if (!(o.throttle_factor > 0.0 && o.throttle_factor <= 1.0)) {
    return base::InvalidArgumentError("throttle factor must be in (0, 1]");
  }
  if (o.throttle_windows < 0) {
    return base::InvalidArgumentError("throttle windows must not be negative");
  }
  if (!(o.recovery_step > 0.0)) {
    return base::InvalidArgumentError("recovery step must be positive");
  }
  return base::Status();
}

Limiter::Limiter(Options options, base::Clock* clock, metrics::Metrics* metrics,
                 backoff::Random random)
    : options_(std::move(options)),
      clock_(clock),
      metrics_(metrics),
      random_(std::move(random)),
      limit_(options_.limit) {
  if (metrics_ != nullptr) {
    metrics_->ratelimit_in_window.Set(0);
    metrics_->ratelimit_paused.Set(0);
  }
}

Limiter::~Limiter() { Stop(); }

int Limiter::BaseLimit() const {
  return std::max(1, limit_ - std::max(0, std::min(options_.safety_margin, limit_ - 1)));
}

std::vector<TimePoint> Limiter::RecentGrants() const {
  std::lock_guard<std::mutex> g(mu_);
  const TimePoint now = clock_->Now();
  std::vector<TimePoint> out;
  for (TimePoint t : log_) {
    if (t + Span() > now) out.push_back(t);
  }
  // A request still in flight counts for at least a window from now.
  out.insert(out.end(), static_cast<size_t>(in_flight_), now);
  return out;
}

void Limiter::Preload(const std::vector<TimePoint>& times) {
  std::lock_guard<std::mutex> g(mu_);
  const TimePoint now = clock_->Now();
  for (TimePoint t : times) {
    // A time a little ahead of now (another process's estimate of when Aura counted it) still
    // counts, as of now at the latest.
    if (t + Span() > now) {
      log_.push_back(std::min(t, now));
      grants_.push_back(std::min(t, now));
    }
  }
  std::sort(log_.begin(), log_.end());
  std::sort(grants_.begin(), grants_.end());
  UpdateGaugesLocked(now);
}

int Limiter::Limit() const {
  std::lock_guard<std::mutex> g(mu_);
  return limit_;
}

bool Limiter::probing() const {
  std::lock_guard<std::mutex> g(mu_);
  return ProbingLocked();
}

Permit& Permit::operator=(Permit&& o) noexcept {
  if (this != &o) {
    if (limiter_ != nullptr) limiter_->Release(probe_, outcome_);
    limiter_ = std::exchange(o.limiter_, nullptr);
    granted_at_ = o.granted_at_;
    probe_ = o.probe_;
    outcome_ = o.outcome_;
  }
  return *this;
}

Permit::~Permit() {
  if (limiter_ != nullptr) limiter_->Release(probe_, outcome_);
}

void Limiter::Release(bool probe, Permit::Outcome outcome) {
  bool confirmed = false;
  int limit = 0;
  {
    std::lock_guard<std::mutex> g(mu_);
    const TimePoint now = clock_->Now();
    // The request reached the server at the latest now: it counts for a window from here.
    in_flight_ = std::max(0, in_flight_ - 1);
    log_.push_back(now);
    if (probe) {
      probes_in_flight_ = std::max(0, probes_in_flight_ - 1);
      // A request beyond the lowest tier was answered: the account has the larger one.
      if (outcome == Permit::Outcome::kAnswered && ProbingLocked()) {
        tier_known_ = confirmed = true;
        limit = limit_;
      }
    }
    DispatchLocked(now);
  }
  if (confirmed && options_.on_learned) options_.on_learned(limit, true);
}

int Limiter::EffectiveLimitAt(TimePoint t) const {
  const int base = BaseLimit();
  if (!throttled_) return base;
  if (t < slow_until_) return std::min(base, reduced_limit_);
  const auto windows = std::min<Duration::rep>((t - slow_until_) / options_.window + 1, 1 << 20);
  const double step = std::max(options_.recovery_step, 1e-3) * options_.limit;
  const double v = reduced_limit_ + static_cast<double>(windows) * step;
  return v >= base ? base : std::max(1, static_cast<int>(std::ceil(v)));
}

int Limiter::AliveAt(TimePoint t) const {
  auto first_alive = std::upper_bound(log_.begin(), log_.end(), t - Span());
  return static_cast<int>(log_.end() - first_alive) + in_flight_;
}

void Limiter::PruneLocked(TimePoint now) {
  while (!log_.empty() && log_.front() + Span() <= now) log_.pop_front();
  while (!grants_.empty() && grants_.front() + Span() <= now) grants_.pop_front();
}

Limiter::Waiter* Limiter::FrontLocked() const {
  for (const auto& q : queues_) {
    if (!q.empty()) return q.front();
  }
  return nullptr;
}

void Limiter::RemoveLocked(Waiter* w) {
  auto& q = queues_[Index(w->priority)];
  q.erase(std::remove(q.begin(), q.end(), w), q.end());
}

void Limiter::UpdateGaugesLocked(TimePoint now) {
  const bool paused = now < paused_until_;
  if (metrics_ != nullptr) {
    metrics_->ratelimit_in_window.Set(static_cast<double>(UsedLocked()));
    if (paused != paused_gauge_) metrics_->ratelimit_paused.Set(paused ? 1 : 0);
  }
  paused_gauge_ = paused;
}

void Limiter::DispatchLocked(TimePoint now) {
  PruneLocked(now);
  if (now >= paused_until_) {
    const int limit = EffectiveLimitAt(now);
    if (throttled_ && now >= slow_until_ && limit >= BaseLimit()) throttled_ = false;
    while (UsedLocked() < limit) {
      // Probing: beyond probe_above in the window, one request at a time.
      const bool beyond = ProbingLocked() && UsedLocked() >= options_.probe_above;
      if (beyond && probes_in_flight_ > 0) break;
      Waiter* w = FrontLocked();
      if (w == nullptr) break;
      queues_[Index(w->priority)].pop_front();
      w->granted = true;
      if (beyond) {
        ++probes_in_flight_;
        // A plain Acquire has no answer to wait for: it cannot hold the others back.
        w->probe = w->permit;
        if (!w->permit) --probes_in_flight_;
      }
      // A Permit counts as in flight until released; a plain Acquire from its grant.
      if (w->permit) {
        ++in_flight_;
      } else {
        log_.push_back(now);
      }
      grants_.push_back(now);
      if (options_.observer.granted) options_.observer.granted(w->ticket, w->priority, now);
      w->cv.notify_all();
    }
  }
  UpdateGaugesLocked(now);
}

TimePoint Limiter::NextEventLocked(TimePoint now) const {
  if (now < paused_until_) return paused_until_;
  TimePoint next = TimePoint::max();
  const int limit = EffectiveLimitAt(now);
  // Slots that must leave the window before the next grant; those in flight leave only when
  // released, which dispatches by itself.
  const int must_expire = UsedLocked() - limit + 1;
  if (must_expire > 0 && must_expire <= static_cast<int>(log_.size())) {
    next = log_[static_cast<size_t>(must_expire - 1)] + Span();
  }
  if (throttled_) {
    // The effective limit changes at slow_until_ and at every window boundary after it.
    TimePoint change = slow_until_;
    if (now >= slow_until_) change += ((now - slow_until_) / options_.window + 1) * options_.window;
    next = std::min(next, change);
  }
  if (next == TimePoint::max() || next <= now) next = now + Span();
  return next;
}

base::Status Limiter::Acquire(Priority priority, std::stop_token stop) {
  TimePoint granted_at;
  bool probe = false;
  return AcquireImpl(priority, /*permit=*/false, std::move(stop), &granted_at, &probe);
}

base::StatusOr<Permit> Limiter::AcquirePermit(Priority priority, std::stop_token stop) {
  TimePoint granted_at;
  bool probe = false;
  AURA_RETURN_IF_ERROR(
      AcquireImpl(priority, /*permit=*/true, std::move(stop), &granted_at, &probe));
  return Permit(this, granted_at, probe);
}

base::Status Limiter::AcquireImpl(Priority priority, bool permit, std::stop_token stop,
                                  TimePoint* granted_at, bool* probe) {
  const TimePoint start = clock_->Now();
  base::Status result;
  Waiter w(priority);
  w.permit = permit;
  {
    // Constructed before mu_ is taken: with `stop` already requested it runs at once.
    std::stop_callback on_stop(stop, [this, &w] {
      std::lock_guard<std::mutex> g(mu_);
      w.cancelled = true;
      w.cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(mu_);
    if (stopped_ || w.cancelled) return base::CancelledError("rate limiter: stopped");
    w.ticket = next_ticket_++;
    queues_[Index(priority)].push_back(&w);
    if (options_.observer.enqueued) options_.observer.enqueued(w.ticket, priority, clock_->Now());
    for (;;) {
      const TimePoint now = clock_->Now();
      DispatchLocked(now);
      if (w.granted) {
        *granted_at = now;
        *probe = w.probe;
        break;
      }
      if (stopped_ || w.cancelled) {
        RemoveLocked(&w);
        if (options_.observer.cancelled) options_.observer.cancelled(w.ticket, priority, now);
        result = base::CancelledError("rate limiter: cancelled while waiting for a send slot");
        break;
      }
      clock_->WaitUntil(lock, w.cv, NextEventLocked(now));
    }
  }  // on_stop is destroyed without mu_ held: its callback may be running and need mu_.
  if (result.ok() && metrics_ != nullptr) {
    metrics_->ratelimit_wait.Observe(base::ToSeconds(clock_->Now() - start));
  }
  return result;
}

bool Limiter::TryAcquire(Priority priority) {
  std::lock_guard<std::mutex> g(mu_);
  const TimePoint now = clock_->Now();
  DispatchLocked(now);
  if (stopped_ || now < paused_until_) return false;
  for (size_t i = 0; i <= Index(priority); ++i) {
    if (!queues_[i].empty()) return false;
  }
  if (UsedLocked() >= EffectiveLimitAt(now)) return false;
  if (ProbingLocked() && UsedLocked() >= options_.probe_above && probes_in_flight_ > 0) {
    return false;
  }
  log_.push_back(now);
  grants_.push_back(now);
  if (options_.observer.granted) options_.observer.granted(next_ticket_++, priority, now);
  UpdateGaugesLocked(now);
  if (metrics_ != nullptr) metrics_->ratelimit_wait.Observe(0);
  return true;
}

void Limiter::OnThrottled(std::optional<Duration> retry_after) {
  OnThrottled(retry_after, clock_->Now());
}

void Limiter::OnThrottled(std::optional<Duration> retry_after, TimePoint sent_at, bool may_learn) {
  int learned = 0;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (may_learn && options_.learn_limit && !tier_known_) {
      // Grants in the window before the refused request (sent at `sent_at`, granted at or
      // before it): what the server let through.
      const auto from = std::upper_bound(grants_.begin(), grants_.end(), sent_at - Span());
      const auto to = std::upper_bound(grants_.begin(), grants_.end(), sent_at);
      const int before = std::max(0, static_cast<int>(to - from) - 1);
      if (before < limit_) {
        learned = limit_ = std::max(1, before);
        tier_known_ = true;
        // 429s for requests sent before this one arrived belong to the same burst.
        last_throttle_ = clock_->Now();
      }
    }
    OnThrottledLocked(retry_after, sent_at, /*slow_down=*/learned == 0);
  }
  if (learned > 0 && options_.on_learned) options_.on_learned(learned, false);
}

void Limiter::OnThrottledLocked(std::optional<Duration> retry_after, TimePoint sent_at,
                                bool slow_down) {
  const TimePoint now = clock_->Now();
  const bool new_burst = slow_down && sent_at >= last_throttle_;
  if (new_burst) {
    if (now - last_throttle_ > options_.window) throttle_streak_ = 0;
    ++throttle_streak_;
    const int current = EffectiveLimitAt(now);
    reduced_limit_ = std::max(
        1, static_cast<int>(std::floor(current * std::clamp(options_.throttle_factor, 0.0, 1.0))));
    throttled_ = true;
    last_throttle_ = now;
  }
  Duration pause = retry_after
                       ? std::max(*retry_after, Duration::zero())
                       : backoff::Delay(options_.pause_backoff, std::max(throttle_streak_, 1),
                                        random_ ? random_() : 1.0);
  paused_until_ = std::max(paused_until_, now + pause);
  const TimePoint slow_until = paused_until_ + options_.throttle_windows * options_.window;
  if (throttled_) slow_until_ = new_burst ? slow_until : std::max(slow_until_, slow_until);
  UpdateGaugesLocked(now);
  // Waiters sleep until the next event they knew of; the limit now changes at new instants.
  for (const auto& q : queues_) {
    for (Waiter* w : q) w->cv.notify_all();
  }
}

void Limiter::Stop() {
  std::lock_guard<std::mutex> g(mu_);
  stopped_ = true;
  for (const auto& q : queues_) {
    for (Waiter* w : q) w->cv.notify_all();
  }
}

Snapshot Limiter::Stats() const {
  std::lock_guard<std::mutex> g(mu_);
  Snapshot s;
  s.now = clock_->Now();
  s.limit = limit_;
  s.effective_limit = EffectiveLimitAt(s.now);
  s.in_window = AliveAt(s.now);
  s.paused = s.now < paused_until_;
  s.paused_until = paused_until_;
  s.throttled = throttled_ && s.effective_limit < BaseLimit();
  s.available = s.paused ? 0 : std::max(0, s.effective_limit - s.in_window);
  for (size_t i = 0; i < kNumPriorities; ++i) s.waiting[i] = static_cast<int>(queues_[i].size());
  return s;
}

int Limiter::Budget(Priority priority, Duration horizon) const {
  std::lock_guard<std::mutex> g(mu_);
  const TimePoint now = clock_->Now();
  const TimePoint start = std::max(now, paused_until_);
  const TimePoint end = now + horizon;
  if (end <= start) return 0;
  const int limit = EffectiveLimitAt(start);
  // Grants sent before `start` that still count at `end` limit what fits in the first span.
  const int still_counted = AliveAt(end);
  double grants = std::max(0, limit - still_counted);
  const Duration span = end - start;
  if (span > Span()) {
    grants += limit * (base::ToSeconds(span - Span()) / base::ToSeconds(Span()));
  }
  int ahead = 0;
  for (size_t i = 0; i <= Index(priority); ++i) ahead += static_cast<int>(queues_[i].size());
  return std::max(0, static_cast<int>(grants) - ahead);
}

}  // namespace aura::ratelimit
