// Engine: the Aura API v1 simulator without HTTP. Handle() takes one request and returns the
// response the server must send, with how to send it (now, later, or not at all: a dropped
// connection). Routing, OAuth tokens, the per-client rate limit, the asynchronous instance
// lifecycle, fault injection, the /_sim/ admin surface and --state persistence all live here;
// the binary only moves bytes (cmd/aura-simulator).
//
// Request pipeline for Aura routes (/oauth/token and /v1/...):
//   1. a unique X-Request-Id; the client is identified by its token or Basic credentials
//      ("anonymous" otherwise) and the request is counted in its window;
//   2. a throttle fault, or the sliding-window limiter -> 429 + Retry-After, nothing processed;
//      then, for POST /oauth/token, the token limit (--token-limit) -> 429 + Retry-After with an
//      OAuth-style body;
//   3. an error fault -> 5xx (with Retry-After if configured), nothing processed;
//   4. authentication (401 unknown/missing token, 403 expired), 415, validation, the handler;
//   5. a create fault on a committed POST /v1/instances (500, drop, or a late 202);
//   6. a malformed-body fault on a 2xx; 7. added latency and a trickled body.
// Every /v1 response carries X-Tyk-Api-Expires when --api-expires is set. Before each request,
// every instance is brought up to the request's time: transitions that ended, and Aura's own
// lifecycle (free-db idle pause and paused delete, paid paused resume), each event at the time
// it was due, in order, however far the clock jumped.
// Time comes only from the injected Clock: lifecycles and token expiry use SystemNow(), the
// limiters Now().
//
// Thread-safety: Handle() and SaveState() may be called concurrently; one lock serializes them.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pkg/base/clock.h"
#include "pkg/base/status.h"
#include "pkg/simulator/catalog.h"
#include "pkg/simulator/faults.h"
#include "pkg/simulator/options.h"
#include "pkg/simulator/rate_limiter.h"
#include "pkg/simulator/state.h"

namespace aura::simulator {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct SimRequest {
  std::string method;                        // "GET", "POST", ...
  std::string path;                          // decoded, without the query: "/v1/instances/2f49c2b3"
  std::map<std::string, std::string> query;  // decoded
  HeaderList headers;
  std::string body;

  // Case-insensitive; "" when absent.
  std::string Header(std::string_view name) const;
};

enum class Disposition {
  kReply,           // send the response (after `delay`)
  kDropConnection,  // send nothing and reset the connection (after `delay`)
};

struct SimResponse {
  int status = 200;
  HeaderList headers;  // X-Request-Id and Content-Type included
  std::string body;
  Disposition disposition = Disposition::kReply;
  base::Duration delay{0};  // wait this long before replying or dropping
  // When trickle_chunk > 0 the body is sent trickle_chunk bytes at a time, one chunk every
  // trickle_interval (the headers at once).
  int64_t trickle_chunk = 0;
  base::Duration trickle_interval{0};
  std::string route;  // template, e.g. "GET /v1/instances/{instanceId}"
  std::string request_id;
  // The faults that shaped this response, for logs: "malformed_truncate,trickle".
  std::string faults;

  std::string Header(std::string_view name) const;
};

class Engine {
 public:
  // Loads options.state_file when it exists. REQUIRES: `clock` outlives the engine.
  [[nodiscard]] static base::StatusOr<std::unique_ptr<Engine>> Create(SimulatorOptions options,
                                                                      base::Clock* clock);

  SimResponse Handle(const SimRequest& request);

  // A fresh X-Request-Id, for answers the server gives without Handle() (unreadable requests).
  std::string NewRequestId();

  // Writes the state file now (a no-op without --state).
  [[nodiscard]] base::Status SaveState();

  // Shutdown has begun: API requests from now on are answered 503 and change nothing. A request
  // still on its way from an open connection would otherwise commit (a create, with its
  // password) after the server stopped writing answers, and its answer would be lost.
  void BeginShutdown() { shutting_down_.store(true); }

  const SimulatorOptions& options() const { return options_; }

 private:
  struct Client {
    std::string id;
    std::string secret;
    std::vector<std::string> tenants;
  };
  struct Route {
    std::string name;  // template with method; "other" when unknown
    std::vector<std::string> params;
    bool admin = false;
    bool known_path = false;  // the path exists (maybe not with this method)
  };
  struct Stats {
    std::map<std::string, std::map<std::string, int64_t>> by_route;
    // client id ("anonymous" when unidentified) -> route -> code -> count
    std::map<std::string, std::map<std::string, std::map<std::string, int64_t>>> by_client;
    int64_t requests_total = 0;
    int64_t throttled_total = 0;
    int64_t post_instances = 0;
    int64_t creates_committed = 0;
    int64_t tokens_issued = 0;
    int64_t token_requests_total = 0;  // POST /oauth/token received, refused ones included
    std::map<std::string, int64_t> token_requests_by_client;
    int64_t token_throttled_total = 0;  // refused by the token limit
    int64_t auto_paused = 0;            // Aura's own lifecycle events
    int64_t auto_resumed = 0;
    int64_t auto_deleted = 0;
    std::map<std::string, int64_t> faults;
  };

  Engine(SimulatorOptions options, base::Clock* clock);

  // engine.cc: pipeline, auth, admin.
  Route Match(const SimRequest& req) const;
  std::string IdentifyClient(const SimRequest& req, const Route& route) const;
  SimResponse Dispatch(const SimRequest& req, const Route& route, const std::string& client);
  SimResponse HandleAdmin(const SimRequest& req, const Route& route);
  SimResponse HandleToken(const SimRequest& req);
  // Sets *client to the authenticated client, or returns the 401/403 response.
  bool Authenticate(const SimRequest& req, const Client** client, SimResponse* error);
  void ApplyPostFaults(const Route& route, SimResponse* resp);
  std::string RetryAfterValue(base::Duration d) const;
  std::string NextRequestId();
  nlohmann::json StatsJson() const;
  nlohmann::json ProfileJson() const;
  nlohmann::json AdminInstancesJson() const;
  nlohmann::json AdminInstanceJson(const InstanceRecord& r) const;
  SimResponse SetInstanceStatus(const SimRequest& req, const std::string& id);
  void Reset();
  void SaveIfDirty();

  // engine_instances.cc: the /v1 resources.
  void AdvanceLifecycles(base::SystemTime now);
  // The next event of `r` (a transition's end or Aura's own action) and when it is due;
  // false when none is coming.
  bool NextEvent(const InstanceRecord& r, base::SystemTime* at) const;
  void ApplyEvent(InstanceRecord& r, base::SystemTime at);
  // The refusal of a write (PATCH, pause, resume) on an instance whose status an admin set,
  // or nullopt.
  std::optional<SimResponse> PinnedRefusal(const InstanceRecord& r) const;
  SimResponse ListInstances(const SimRequest& req, const Client& c);
  SimResponse CreateInstance(const SimRequest& req, const Client& c);
  SimResponse GetInstance(const std::string& id, const Client& c);
  SimResponse UpdateInstance(const SimRequest& req, const std::string& id, const Client& c);
  SimResponse DeleteInstance(const std::string& id, const Client& c);
  SimResponse PauseInstance(const std::string& id, const Client& c);
  SimResponse ResumeInstance(const std::string& id, const Client& c);
  // engine_upgrade.cc
  SimResponse OverwriteInstance(const SimRequest& req, const std::string& id, const Client& c);
  SimResponse UpgradeInstance(const SimRequest& req, const std::string& id, const Client& c);
  SimResponse ListSnapshots(const SimRequest& req, const std::string& id, const Client& c);
  SimResponse CreateSnapshot(const std::string& id, const Client& c);
  SimResponse GetSnapshot(const std::string& id, const std::string& sid, const Client& c);
  SimResponse RestoreSnapshot(const std::string& id, const std::string& sid, const Client& c);
  // engine_keys.cc: /v1/customer-managed-keys.
  SimResponse ListKeys(const SimRequest& req, const Client& c);
  SimResponse CreateKey(const SimRequest& req, const Client& c);
  SimResponse GetKey(const std::string& id, const Client& c);
  SimResponse DeleteKey(const std::string& id, const Client& c);
  KeyRecord* FindLiveKey(const std::string& id, const Client& c);
  nlohmann::json KeyJson(const KeyRecord& k) const;
  SimResponse ListTenants(const Client& c);
  SimResponse GetTenant(const std::string& id, const Client& c);
  InstanceRecord* FindLive(const std::string& id, const Client& c);
  SnapshotRecord* FindSnapshot(const std::string& instance_id, const std::string& sid);
  const TenantOptions* FindTenant(const std::string& id) const;
  bool CanSee(const Client& c, const std::string& tenant_id) const;
  // The Instance as /v1 replies carry it in the active profile; StrictInstanceJson as the
  // OpenAPI has it (profile strict, and /_sim/instances in both profiles).
  nlohmann::json InstanceJson(const InstanceRecord& r) const;
  nlohmann::json StrictInstanceJson(const InstanceRecord& r) const;
  bool Real() const { return options_.profile == Profile::kReal; }
  std::string NewInstanceId();
  std::string NewUuid();
  std::string RandomString(size_t n, std::string_view alphabet);

  const SimulatorOptions options_;
  base::Clock* const clock_;

  mutable std::mutex mu_;
  std::atomic<bool> shutting_down_{false};
  std::vector<Client> clients_;
  State state_;
  Stats stats_;
  SlidingWindowLimiter limiter_;
  SlidingWindowLimiter token_limiter_;  // used when options_.token_limit > 0
  FaultInjector faults_;
  std::mt19937_64 rng_;
  uint64_t request_salt_;
  uint64_t request_counter_ = 0;
  bool dirty_ = false;
};

// Error bodies, as Aura sends them: {"errors":[{message, reason[, field]}]} from the API,
// {"error": "..."} from the gateway. The spec's 401/403/415/429/5xx responses are
// oneOf(Error, MiddlewareError), and MiddlewareError has no required property, so an Error body
// matches both and breaks the oneOf: those statuses always use the gateway form.
std::string AuraErrorBody(std::string_view reason, std::string_view message,
                          std::string_view field = {});
std::string GatewayErrorBody(std::string_view message);
// RFC 3339 UTC with seconds, as Aura's created_at: "2023-01-20T13:44:42Z".
std::string FormatRfc3339(base::SystemTime t);
// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string FormatHttpDate(base::SystemTime t);

}  // namespace aura::simulator
