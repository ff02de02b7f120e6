#include "pkg/aura/token_source.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "pkg/aura/internal.h"
#include "pkg/aura/model_json.h"
#include "pkg/backoff/retry_after.h"
#include "pkg/base/base64.h"

namespace aura::api {

TokenSource::TokenSource(TokenSourceOptions options, http::Transport* transport,
                         ratelimit::Limiter* limiter, base::Clock* clock, metrics::Metrics* metrics,
                         base::Logger logger, backoff::Random random)
    : options_(std::move(options)),
      transport_(transport),
      limiter_(limiter),
      clock_(clock),
      metrics_(metrics),
      logger_(logger.With({{"component", "token"}})),
      backoff_(options_.retry, std::move(random)) {
  basic_auth_ = "Basic " + base::Base64Encode(options_.client_id + ":" + options_.client_secret);
  base::RegisterSecret(options_.client_secret);
  base::RegisterSecret(basic_auth_.substr(6));
}

void TokenSource::Stop() {
  std::lock_guard<std::mutex> g(mu_);
  stopped_ = true;
  stop_all_.request_stop();
  cv_.notify_all();
}

std::int64_t TokenSource::fetches() const {
  std::lock_guard<std::mutex> g(mu_);
  return fetches_;
}

void TokenSource::Invalidate(std::string_view token) {
  std::lock_guard<std::mutex> g(mu_);
  if (!token_.empty() && token_ == token) {
    token_.clear();
    if (options_.cache != nullptr) options_.cache->Clear();
    logger_.Info("access token refused by the API; dropped it");
  }
}

base::StatusOr<std::string> TokenSource::Token(std::stop_token stop) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cache_read_ && options_.cache != nullptr) {
    cache_read_ = true;
    if (std::optional<TokenCache::Entry> c = options_.cache->Load()) {
      // Used until the same margin before its expiry as a fresh one.
      const base::Duration left = c->expires_at - clock_->SystemNow();
      if (!c->access_token.empty() && left > options_.refresh_margin) {
        base::RegisterSecret(c->access_token);
        token_ = c->access_token;
        refresh_at_ = clock_->Now() + (left - options_.refresh_margin);
        logger_.Info(
            "reusing the cached access token",
            {{"expires_in_s", std::chrono::duration_cast<std::chrono::seconds>(left).count()}});
      }
    }
  }
  for (;;) {
    if (stopped_ || stop.stop_requested()) return base::CancelledError("token source: stopped");
    if (!token_.empty() && clock_->Now() < refresh_at_) return token_;
    if (!fetching_ && failures_ > 0 && clock_->Now() < retry_at_) {
      // Cooling down after a failed fetch: the token it failed to refresh may still work.
      if (!token_.empty()) return token_;
      return last_result_;
    }
    if (!fetching_) break;
    // Someone else's fetch is in flight: wait for it and share its outcome.
    const std::uint64_t generation = generation_;
    cv_.wait(lock, stop, [&] { return generation_ != generation || stopped_; });
    if (generation_ != generation && !last_result_.ok() &&
        last_result_.code() != base::StatusCode::kCancelled) {
      return last_result_;
    }
  }
  fetching_ = true;
  lock.unlock();

  base::TimePoint sent_at;
  base::Duration lifetime{};
  base::StatusOr<std::string> fetched = Fetch(stop, &sent_at, &lifetime);

  lock.lock();
  fetching_ = false;
  ++generation_;
  last_result_ = fetched.status();
  if (fetched.ok()) {
    token_ = *fetched;
    const base::Duration margin =
        lifetime >= 2 * options_.refresh_margin ? options_.refresh_margin : lifetime / 2;
    refresh_at_ = sent_at + lifetime - margin;
    failures_ = 0;
    if (options_.cache != nullptr) {
      options_.cache->Save({token_, clock_->SystemNow() - (clock_->Now() - sent_at) + lifetime});
    }
  } else if (fetched.status().code() != base::StatusCode::kCancelled) {
    base::Duration cooldown = options_.failure_cooldown;
    for (int i = 0; i < failures_ && cooldown < options_.failure_cooldown_max; ++i) cooldown *= 2;
    cooldown = std::min(cooldown, options_.failure_cooldown_max);
    // A throttled token endpoint says when to come back: that is the cooldown.
    if (retry_after_) cooldown = std::max<base::Duration>(*retry_after_, std::chrono::seconds(1));
    retry_after_.reset();
    ++failures_;
    retry_at_ = clock_->Now() + cooldown;
    logger_.Warn(
        "token request failed; no new one before the cooldown",
        {{"cooldown_s", std::chrono::duration_cast<std::chrono::seconds>(cooldown).count()},
         {"consecutive_failures", failures_}});
  }
  cv_.notify_all();
  return fetched;
}

base::Status TokenSource::SleepBackoff(int attempt, std::optional<base::Duration> floor,
                                       std::stop_token stop) {
  if (!clock_->SleepFor(backoff_.Next(attempt, floor), std::move(stop))) {
    return base::CancelledError("token source: cancelled during backoff");
  }
  return base::Status();
}

base::StatusOr<std::string> TokenSource::Fetch(std::stop_token caller_stop,
                                               base::TimePoint* sent_at, base::Duration* lifetime) {
  // Stop() must also end this fetch's waits: link it to the caller's token.
  internal::StopLink link(std::move(caller_stop), stop_all_.get_token());
  const std::stop_token stop = link.token();

  http::HttpRequest req;
  req.method = "POST";
  req.url = options_.token_url;
  req.headers = {{"Authorization", basic_auth_},
                 {"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = "grant_type=client_credentials";
  req.timeout = options_.request_timeout;
  const std::string route(metrics::kRouteToken);
  bool failing = false;  // a streak of failed fetches: one request each
  {
    std::lock_guard<std::mutex> g(mu_);
    failing = failures_ > 0;
  }
  auto can_retry = [&](int attempt) { return !failing && backoff_.CanRetry(attempt); };
  auto count = [&](std::string_view result) {
    if (metrics_ != nullptr) metrics_->TokenRequests(result).Increment();
  };

  for (int attempt = 1;; ++attempt) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (stopped_) return base::CancelledError("token source: stopped");
    }
    // Counted until its answer arrives (and a window after): the request may reach the server
    // at any moment before that.
    AURA_ASSIGN_OR_RETURN(ratelimit::Permit permit,
                          limiter_->AcquirePermit(ratelimit::Priority::kWrite, stop));
    *sent_at = clock_->Now();
    {
      std::lock_guard<std::mutex> g(mu_);
      ++fetches_;
    }
    if (metrics_ != nullptr) metrics_->token_refreshes.Increment();
    base::StatusOr<http::HttpResponse> resp = transport_->Send(req);
    const base::Duration took = clock_->Now() - *sent_at;
    if (metrics_ != nullptr)
      metrics_->ApiRequestDuration("POST", route).Observe(base::ToSeconds(took));

    if (!resp.ok()) {
      if (metrics_ != nullptr) metrics_->ApiRequests("POST", route, "error").Increment();
      count("error");
      base::Status e = resp.status().WithContext("fetching an access token");
      const bool transport_kind =
          e.reason() == "connect" || e.reason() == "timeout" || e.reason() == "io";
      if (transport_kind && can_retry(attempt)) {
        if (metrics_ != nullptr) metrics_->ApiRetries("transport").Increment();
        logger_.Warn("token request failed; retrying", base::StatusFields(e));
        permit = ratelimit::Permit();  // not held while backing off
        AURA_RETURN_IF_ERROR(SleepBackoff(attempt, std::nullopt, stop));
        continue;
      }
      return e;
    }
    const int code = resp->status;
    const std::string request_id = resp->Header("X-Request-Id");
    if (metrics_ != nullptr) metrics_->ApiRequests("POST", route, std::to_string(code)).Increment();

    if (code == 200) {
      count("ok");
      base::StatusOr<TokenResponse> t = ParseTokenResponse(resp->body);
      if (!t.ok()) {
        return base::Status(t.status())
            .WithContext("token endpoint")
            .SetHttpStatus(code)
            .SetRequestId(request_id);
      }
      base::RegisterSecret(t->access_token);
      if (!http::EqualsIgnoreCase(t->token_type, "bearer")) {
        return base::DataLossError("token endpoint returned token_type '" + t->token_type +
                                   "', expected bearer")
            .SetHttpStatus(code)
            .SetRequestId(request_id);
      }
      *lifetime = t->expires_in;
      logger_.Info("fetched an access token",
                   {{"expires_in_s", t->expires_in.count()}, {"request_id", request_id}});
      return t->access_token;
    }

    const ApiErrorBody body = ParseErrorBody(resp->body);
    std::optional<std::chrono::milliseconds> retry_after =
        backoff::ParseRetryAfter(resp->Header("Retry-After"), clock_->SystemNow());
    count(code == 429 ? "throttled" : (code >= 500 || code == 408) ? "error" : "refused");
    if (code == 429) {
      if (metrics_ != nullptr) metrics_->api_throttled.Increment();
      // The token endpoint has a limit of its own (15 an hour): it says nothing of the API's,
      // and waiting it out inside this fetch would only spend more of it.
      limiter_->OnThrottled(retry_after, *sent_at, /*may_learn=*/false);
      std::lock_guard<std::mutex> g(mu_);
      retry_after_ = retry_after;
    }
    const bool transient = code >= 500 || code == 408;
    if (transient && can_retry(attempt)) {
      if (metrics_ != nullptr) {
        metrics_->ApiRetries(code == 429 ? "429" : code >= 500 ? "5xx" : "transport").Increment();
      }
      logger_.Warn("token request failed; retrying",
                   {{"http_status", code}, {"request_id", request_id}});
      permit = ratelimit::Permit();  // not held while backing off
      AURA_RETURN_IF_ERROR(SleepBackoff(attempt, retry_after, stop));
      continue;
    }
    std::string message = "token endpoint answered HTTP " + std::to_string(code);
    if (!body.message.empty()) message += ": " + body.message;
    base::Status s = code == 401
                         ? base::UnauthenticatedError(message + " (check the client id and secret)")
                     : code == 429 ? base::ThrottledError(message)
                     : transient   ? base::UnavailableError(message)
                                   : base::InvalidArgumentError(message);
    s.SetHttpStatus(code).SetRequestId(request_id).SetReason(body.reason).SetField(body.field);
    if (retry_after) s.SetRetryAfter(*retry_after);
    logger_.Warn("token request failed", base::StatusFields(s));
    return s;
  }
}

}  // namespace aura::api
