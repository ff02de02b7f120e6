// Client: AuraApi over HTTP (AURA_API.md, docs/spec/aura-api-v1.openapi.yaml).
//
// Every request, retries included, first takes a slot from the shared ratelimit::Limiter (the
// caller's Priority; writes use kWrite) and a token from the TokenSource, then goes through the
// Transport with `Authorization: Bearer`, and `Content-Type: application/json` on every POST
// and PATCH (pause, resume, snapshot and restore send `{}`).
//
// Retries inside a call:
// - GET and DELETE (idempotent): 5xx, 429 and transport errors, with exponential backoff and
//   full jitter, the server's Retry-After as a floor, at most ClientOptions::retry.max_attempts
//   tries. A Retry-After longer than max_retry_wait is not waited out: the call returns.
// - POST and PATCH are never resent after they may have reached the server: 5xx, a timeout or
//   a broken connection after sending is kAmbiguous; a failure to connect ("connect": nothing
//   was sent) is kUnavailable; a 429 is kThrottled (not processed).
// - 401/403 on any call, POST included: the token is dropped, a new one fetched, and the call
//   sent once more. This is safe for POST because a 401/403 is a definite refusal (DESIGN.md
//   "Exactly-once create": refused at the gateway, nothing was created).
// Every 429 also pauses the shared limiter (everyone waits) and lowers its rate.
//
// Write guard (HA fencing): when ClientOptions::write_guard is set, it is called for every
// request that is not a GET (POST, PATCH, DELETE; token fetches excepted: they change nothing
// in Aura) after the limiter granted its slot and immediately before the Transport sends it,
// on every try. A non-OK answer fails the call with kCancelled, reason "write_guard": the
// request was NOT sent (CreateDefinitelyRefused's "not sent" case).
//
// Errors follow AuraApi's contract; each carries http_status, reason, field and the
// X-Request-Id of the response it came from (transport errors have no response, hence no id).
// A 2xx whose body cannot be read is kDataLoss for GETs and kAmbiguous for the others (the
// server accepted the request; re-observe). Secrets (tokens, the password of a created instance)
// are registered with base::RegisterSecret and never put into errors or logs.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/aura/api.h"
#include "pkg/aura/model_json.h"
#include "pkg/aura/token_source.h"
#include "pkg/backoff/backoff.h"
#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/http/transport.h"
#include "pkg/metrics/metrics.h"
#include "pkg/ratelimit/limiter.h"

namespace aura::api {

inline constexpr char kDefaultApiUrl[] = "https://api.neo4j.io/v1";

struct ClientOptions {
  std::string api_url = kDefaultApiUrl;  // the versioned base, no trailing slash needed
  std::chrono::milliseconds request_timeout{30000};
  backoff::Policy retry;  // transport retries of GET and DELETE
  base::Duration max_retry_wait = std::chrono::seconds(60);
  std::string user_agent = std::string("aura-controller/") + AURA_VERSION;
  // Called right before each non-GET request is sent (see "Write guard" above); OK lets it
  // go. Must be quick and thread-safe. Empty: no guard (single-process mode).
  std::function<base::Status()> write_guard;
};

class Client final : public AuraApi {
 public:
  // The pointers are not owned and must outlive the client; `metrics` may be null.
  Client(ClientOptions options, http::Transport* transport, TokenSource* tokens,
         ratelimit::Limiter* limiter, base::Clock* clock, metrics::Metrics* metrics,
         base::Logger logger = base::DefaultLogger(),
         backoff::Random random = backoff::NewRandom());
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Shutdown: calls waiting for the limiter, a token or a backoff return kCancelled, and so
  // does every later call. An HTTP exchange already under way ends within request_timeout.
  void Stop();

  StatusOr<Reply<std::vector<InstanceSummary>>> ListInstances(
      std::string_view tenant_id, Priority priority = Priority::kPoll) override;
  StatusOr<Reply<Instance>> GetInstance(std::string_view id,
                                        Priority priority = Priority::kPoll) override;
  StatusOr<Reply<CreatedInstance>> CreateInstance(const CreateInstanceRequest& req) override;
  // A 202 (resize) may carry no instance (the contract allows `{}`): the reply then holds only
  // the id and status "updating".
  StatusOr<Reply<Instance>> UpdateInstance(std::string_view id,
                                           const UpdateInstanceRequest& req) override;
  StatusOr<Reply<DeleteResult>> DeleteInstance(std::string_view id) override;
  StatusOr<Reply<Instance>> PauseInstance(std::string_view id) override;
  StatusOr<Reply<Instance>> ResumeInstance(std::string_view id) override;
  StatusOr<Reply<Instance>> OverwriteInstance(std::string_view id,
                                              std::string_view source_instance_id,
                                              std::string_view source_snapshot_id) override;
  StatusOr<Reply<Instance>> UpgradeInstance(std::string_view id,
                                            const UpgradeInstanceRequest& req) override;
  StatusOr<Reply<std::vector<Tenant>>> ListTenants(Priority priority = Priority::kPoll) override;
  StatusOr<Reply<TenantDetail>> GetTenant(std::string_view tenant_id,
                                          Priority priority = Priority::kPoll) override;
  StatusOr<Reply<std::vector<CustomerManagedKey>>> ListCustomerManagedKeys(
      std::string_view tenant_id, Priority priority = Priority::kPoll) override;
  StatusOr<Reply<CustomerManagedKey>> CreateCustomerManagedKey(
      const CreateCustomerManagedKeyRequest& req) override;
  StatusOr<Reply<CustomerManagedKey>> GetCustomerManagedKey(
      std::string_view id, Priority priority = Priority::kPoll) override;
  StatusOr<Reply<DeleteResult>> DeleteCustomerManagedKey(std::string_view id) override;
  StatusOr<Reply<std::vector<Snapshot>>> ListSnapshots(std::string_view instance_id) override;
  StatusOr<Reply<std::string>> CreateSnapshot(std::string_view instance_id) override;
  StatusOr<Reply<Snapshot>> GetSnapshot(std::string_view instance_id,
                                        std::string_view snapshot_id) override;
  StatusOr<Reply<Instance>> RestoreSnapshot(std::string_view instance_id,
                                            std::string_view snapshot_id) override;

 private:
  struct Call {
    std::string method;  // GET, POST, PATCH, DELETE
    std::string path;    // below api_url, e.g. "/instances/2f49c2b3"; query included
    std::string body;    // sent when has_body
    bool has_body = false;
    Priority priority = Priority::kWrite;
    bool idempotent() const { return method == "GET" || method == "DELETE"; }
  };

  // Sends `call` with rate limiting, authentication and the retries allowed for its method.
  // Returns the final response whatever its status; errors are failures to get one.
  base::StatusOr<http::HttpResponse> Execute(const Call& call);
  // The Status for a non-success response.
  base::Status ErrorFor(const Call& call, const http::HttpResponse& resp) const;
  // The Status for a transport failure of the last try.
  base::Status TransportError(const Call& call, const base::Status& error) const;
  // A 2xx body that did not parse.
  base::Status UnreadableBody(const Call& call, const http::HttpResponse& resp,
                              const base::Status& parse_error) const;
  base::Status Sleep(base::Duration d, std::stop_token stop) const;
  // Logs each overlooked field (model_json.h) once per route and field, at debug level.
  void LogDecodeNotes(const Call& call, const DecodeNotes& notes);
  // X-Tyk-Api-Expires (a deprecated API version): a warning the first time a date is seen, and
  // aura_api_deprecation_expiry_timestamp_seconds.
  void NoteDeprecation(const http::HttpResponse& resp);

  template <typename T, typename Parse>
  StatusOr<Reply<T>> Fetch(const Call& call, Parse parse);

  const ClientOptions options_;
  std::string api_url_;  // without a trailing slash
  http::Transport* const transport_;
  TokenSource* const tokens_;
  ratelimit::Limiter* const limiter_;
  base::Clock* const clock_;
  metrics::Metrics* const metrics_;
  const base::Logger logger_;
  const backoff::Backoff backoff_;
  std::stop_source stop_;
  std::mutex notes_mu_;
  std::set<std::string> noted_;   // GUARDED_BY(notes_mu_): "route field: what" already logged
  std::string deprecation_seen_;  // GUARDED_BY(notes_mu_): the last X-Tyk-Api-Expires logged
};

}  // namespace aura::api
