// TokenSource: OAuth2 client-credentials access tokens for the Aura API (AURA_API.md
// "Authentication").
//
// POSTs `grant_type=client_credentials` with HTTP Basic auth to the token URL (not under /v1),
// through the shared rate limiter (Priority::kWrite: every other request needs the token), and
// caches the token until expires_in minus a margin, measured from when the request was sent.
// Aura limits token requests too (announced: 15 an hour per client), so a token is fetched only
// when there is none or it expired, or after a /v1 call said it was refused (Invalidate). With
// a TokenCache (a 0600 file in the state folder) consecutive processes (`plan`, `apply`) reuse
// one token for its whole life.
// However many callers need a token at once, exactly one fetch is in flight; the others wait
// for it and share its result, success or failure. Token fetches have no side effect on the
// server, so they are retried like GETs (5xx, 429, transport errors) with backoff. A fetch that
// failed all the same (refused credentials, an endpoint down for longer than its retries) is
// not repeated before a cooldown that doubles with each consecutive failure (15 s up to 15 min;
// after a 429, the Retry-After it gave), and while failing each fetch is a single request:
// callers in between get its error (or the cached token, when it was not refused) without a
// request, so failing credentials or a throttled endpoint cost at most 4 token requests an hour
// once the cooldown has grown, not one per caller. The client
// secret, the Basic header and every token are registered with base::RegisterSecret and never
// appear in errors or logs.
//
// Errors: kUnauthenticated (the credentials were refused: 401), kInvalidArgument (other 4xx: the
// request is wrong), kThrottled, kUnavailable, kDeadlineExceeded (after the retries),
// kDataLoss (an unreadable 200), kCancelled (stop requested or Stop()).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "pkg/backoff/backoff.h"
#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/base/status.h"
#include "pkg/http/transport.h"
#include "pkg/metrics/metrics.h"
#include "pkg/ratelimit/limiter.h"

namespace aura::api {

inline constexpr char kDefaultTokenUrl[] = "https://api.neo4j.io/oauth/token";

// Where an access token outlives the process (TokenSourceOptions::cache). Implementations keep it
// private (0600) and must be thread-safe; errors are theirs to log: the token source only loses
// the reuse.
class TokenCache {
 public:
  struct Entry {
    std::string access_token;
    base::SystemTime expires_at{};
  };
  virtual ~TokenCache() = default;
  virtual std::optional<Entry> Load() = 0;
  virtual void Save(const Entry& entry) = 0;
  virtual void Clear() = 0;
};

struct TokenSourceOptions {
  std::string token_url = kDefaultTokenUrl;
  std::string client_id;
  std::string client_secret;
  // A token is used until expires_in - refresh_margin after it was requested (half its life
  // when it lives less than twice the margin).
  base::Duration refresh_margin = std::chrono::seconds(60);
  std::chrono::milliseconds request_timeout{30000};
  backoff::Policy retry;  // bounded attempts of one fetch
  // The cooldown after a failed fetch: failure_cooldown, doubled per consecutive failure, at
  // most failure_cooldown_max (4 an hour); after a 429, its Retry-After instead.
  base::Duration failure_cooldown = std::chrono::seconds(15);
  base::Duration failure_cooldown_max = std::chrono::minutes(15);
  TokenCache* cache = nullptr;  // not owned; may be null
};

class TokenSource {
 public:
  // The pointers are not owned and must outlive this object; `metrics` may be null.
  TokenSource(TokenSourceOptions options, http::Transport* transport, ratelimit::Limiter* limiter,
              base::Clock* clock, metrics::Metrics* metrics,
              base::Logger logger = base::DefaultLogger(),
              backoff::Random random = backoff::NewRandom());
  TokenSource(const TokenSource&) = delete;
  TokenSource& operator=(const TokenSource&) = delete;

  // A valid access token: the cached one, or a fresh one.
  [[nodiscard]] base::StatusOr<std::string> Token(std::stop_token stop = {});

  // Drops `token` if it is still the cached one (in memory and in the TokenCache): a /v1 call
  // answered 401, or 403 saying the token expired. Callers that used an older token do not
  // throw away a newer one.
  void Invalidate(std::string_view token);

  // Waiters and later calls return kCancelled. A fetch already sent finishes in the background
  // of its caller (bounded by request_timeout).
  void Stop();

  // HTTP requests sent to the token endpoint so far (retries included).
  std::int64_t fetches() const;

 private:
  base::StatusOr<std::string> Fetch(std::stop_token stop, base::TimePoint* sent_at,
                                    base::Duration* lifetime);
  base::Status SleepBackoff(int attempt, std::optional<base::Duration> floor, std::stop_token stop);

  const TokenSourceOptions options_;
  http::Transport* const transport_;
  ratelimit::Limiter* const limiter_;
  base::Clock* const clock_;
  metrics::Metrics* const metrics_;
  const base::Logger logger_;
  const backoff::Backoff backoff_;
  std::string basic_auth_;     // "Basic <base64(id:secret)>"
  std::stop_source stop_all_;  // requested by Stop()

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::string token_;             // GUARDED_BY(mu_): "" when none is cached
  base::TimePoint refresh_at_{};  // GUARDED_BY(mu_)
  bool fetching_ = false;         // GUARDED_BY(mu_)
  std::uint64_t generation_ = 0;  // GUARDED_BY(mu_): completed fetches
  base::Status last_result_;      // GUARDED_BY(mu_): of the last completed fetch
  int failures_ = 0;              // GUARDED_BY(mu_): consecutive failed fetches
  base::TimePoint retry_at_{};    // GUARDED_BY(mu_): no new fetch before, after a failure
  bool stopped_ = false;          // GUARDED_BY(mu_)
  std::int64_t fetches_ = 0;      // GUARDED_BY(mu_)
  bool cache_read_ = false;       // GUARDED_BY(mu_): the TokenCache was looked at
  std::optional<base::Duration> retry_after_;  // GUARDED_BY(mu_): of the last 429, if any
};

}  // namespace aura::api
