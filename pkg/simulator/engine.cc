#include "pkg/simulator/engine.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "pkg/base/log.h"
#include "pkg/simulator/engine_internal.h"

namespace aura::simulator {
namespace {

using namespace detail;  // NOLINT: the engine's own helpers
using nlohmann::json;

struct RoutePattern {
  std::string_view method;
  std::string_view pattern;
  bool admin;
};

constexpr RoutePattern kRoutes[] = {
    {"POST", "/oauth/token", false},
    {"GET", "/v1/instances", false},
    {"POST", "/v1/instances", false},
    {"GET", "/v1/instances/{instanceId}", false},
    {"PATCH", "/v1/instances/{instanceId}", false},
    {"DELETE", "/v1/instances/{instanceId}", false},
    {"POST", "/v1/instances/{instanceId}/pause", false},
    {"POST", "/v1/instances/{instanceId}/resume", false},
    {"POST", "/v1/instances/{instanceId}/upgrade", false},
    {"POST", "/v1/instances/{instanceId}/overwrite", false},
    {"GET", "/v1/instances/{instanceId}/snapshots", false},
    {"POST", "/v1/instances/{instanceId}/snapshots", false},
    {"GET", "/v1/instances/{instanceId}/snapshots/{snapshotId}", false},
    {"POST", "/v1/instances/{instanceId}/snapshots/{snapshotId}/restore", false},
    {"GET", "/v1/customer-managed-keys", false},
    {"POST", "/v1/customer-managed-keys", false},
    {"GET", "/v1/customer-managed-keys/{customerManagedKeyId}", false},
    {"DELETE", "/v1/customer-managed-keys/{customerManagedKeyId}", false},
    {"GET", "/v1/tenants", false},
    {"GET", "/v1/tenants/{tenantId}", false},
    {"GET", "/_sim/instances", true},
    {"POST", "/_sim/instances/{instanceId}/status", true},
    {"GET", "/_sim/profile", true},
    {"GET", "/_sim/stats", true},
    {"GET", "/_sim/faults", true},
    {"POST", "/_sim/faults", true},
    {"POST", "/_sim/reset", true},
};

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

bool MatchPattern(std::string_view pattern, const std::vector<std::string_view>& segs,
                  std::vector<std::string>* params) {
  std::vector<std::string_view> pat = Split(pattern);
  if (pat.size() != segs.size()) return false;
  std::vector<std::string> p;
  for (size_t i = 0; i < pat.size(); ++i) {
    if (pat[i].starts_with("{")) {
      p.emplace_back(segs[i]);
    } else if (pat[i] != segs[i]) {
      return false;
    }
  }
  *params = std::move(p);
  return true;
}

bool IsV1Path(std::string_view path) { return path == "/v1" || path.starts_with("/v1/"); }

bool IsJsonContentType(std::string_view ct) {
  std::string_view media = ct.substr(0, ct.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return IEquals(media, "application/json");
}

}  // namespace

using namespace detail;  // NOLINT
using nlohmann::json;

Engine::Engine(SimulatorOptions options, base::Clock* clock)
    : options_(std::move(options)),
      clock_(clock),
      limiter_(options_.rate_limit, options_.rate_window),
      token_limiter_(std::max(1, options_.token_limit), options_.token_window),
      faults_(options_.seed, options_.faults),
      rng_(options_.seed) {
  for (const auto& c : options_.clients) {
    Client client{c.id, c.secret, c.tenants};
    if (client.tenants.empty()) {
      for (const auto& t : options_.tenants) client.tenants.push_back(t.id);
    }
    clients_.push_back(std::move(client));
  }
  // Request ids differ between runs even with one seed: the salt mixes in the start time.
  request_salt_ = SplitMix(options_.seed ^
                           static_cast<uint64_t>(clock_->SystemNow().time_since_epoch().count()));
}

base::StatusOr<std::unique_ptr<Engine>> Engine::Create(SimulatorOptions options,
                                                       base::Clock* clock) {
  options.ApplyDefaults();
  std::unique_ptr<Engine> engine(new Engine(std::move(options), clock));
  if (!engine->options_.state_file.empty()) {
    auto state = ReadStateFile(engine->options_.state_file);
    if (state.ok()) {
      engine->state_ = std::move(state).value();
    } else if (state.status().code() != base::StatusCode::kNotFound) {
      return state.status();
    }
  }
  return engine;
}

base::Status Engine::SaveState() {
  std::lock_guard<std::mutex> lock(mu_);
  if (options_.state_file.empty()) return base::Status();
  dirty_ = false;
  return WriteStateFile(options_.state_file, state_);
}

void Engine::SaveIfDirty() {
  if (!dirty_ || options_.state_file.empty()) return;
  dirty_ = false;
  base::Status s = WriteStateFile(options_.state_file, state_);
  if (!s.ok()) base::DefaultLogger().Error("saving simulator state", base::StatusFields(s));
}

std::string Engine::NewRequestId() {
  std::lock_guard<std::mutex> lock(mu_);
  return NextRequestId();
}

std::string Engine::NextRequestId() {
  uint64_t n = ++request_counter_;
  uint64_t a = SplitMix(request_salt_ ^ n);  // a bijection of n: unique per request
  uint64_t b = SplitMix(a ^ 0x5bd1e995ULL);
  uint64_t c = SplitMix(n + request_salt_);
  return Hex64(a) + Hex64(b) + "/" + std::to_string(c);
}

Engine::Route Engine::Match(const SimRequest& req) const {
  Route r;
  r.name = "other";
  std::vector<std::string_view> segs = Split(req.path);
  for (const RoutePattern& p : kRoutes) {
    std::vector<std::string> params;
    if (!MatchPattern(p.pattern, segs, &params)) continue;
    r.known_path = true;
    r.admin = p.admin;
    if (p.method == req.method) {
      r.name = std::string(p.method) + " " + std::string(p.pattern);
      r.params = std::move(params);
      return r;
    }
  }
  if (!segs.empty() && segs[0] == "_sim") r.admin = true;
  return r;
}

std::string Engine::IdentifyClient(const SimRequest& req, const Route& route) const {
  const std::string auth = req.Header("Authorization");
  if (route.name == "POST /oauth/token") {
    std::string id, secret;
    if (ParseBasic(auth, &id, &secret)) {
      for (const auto& c : clients_) {
        if (c.id == id) return id;
      }
    }
    return "anonymous";
  }
  std::string token = BearerToken(auth);
  if (auto it = state_.tokens.find(token); !token.empty() && it != state_.tokens.end()) {
    return it->second.client_id;
  }
  return "anonymous";
}

std::string Engine::RetryAfterValue(base::Duration d) const {
  auto secs = std::chrono::ceil<std::chrono::seconds>(d);
  if (secs.count() < 0) secs = std::chrono::seconds(0);
  if (options_.retry_after_format == RetryAfterFormat::kDeltaSeconds) {
    return std::to_string(secs.count());
  }
  // An HTTP-date has whole seconds: round up so that it never precedes the real deadline.
  auto at = std::chrono::ceil<std::chrono::seconds>(clock_->SystemNow() + d);
  return FormatHttpDate(at);
}

SimResponse Engine::Handle(const SimRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  const base::TimePoint now = clock_->Now();
  AdvanceLifecycles(clock_->SystemNow());
  Route route = Match(req);
  SimResponse resp;
  int64_t committed = -1;  // creates committed before this request reached a handler
  if (route.admin) {
    resp = HandleAdmin(req, route);
  } else if (shutting_down_.load()) {
    resp = JsonResponse(503, GatewayErrorBody("Service Unavailable: the simulator is stopping"));
  } else {
    const std::string client = IdentifyClient(req, route);
    ++stats_.requests_total;
    if (route.name == "POST /v1/instances") ++stats_.post_instances;
    const bool token_route = route.name == "POST /oauth/token";
    if (token_route) {
      ++stats_.token_requests_total;
      ++stats_.token_requests_by_client[client];
    }
    // The token endpoint's own limit: how long until the oldest token request of this client
    // leaves the token window, when it refuses this one.
    auto token_refusal = [&]() -> std::optional<base::Duration> {
      if (!token_route || options_.token_limit <= 0) return std::nullopt;
      auto d = token_limiter_.Admit(client, now);
      if (d.allowed) return std::nullopt;
      return d.retry_after;
    };
    if (const ThrottleFault* t = faults_.Throttle(route.name)) {
      limiter_.RecordRefused(client, now);
      ++stats_.faults["throttle"];
      resp = JsonResponse(429, GatewayErrorBody("API Rate Limit Exceeded"));
      resp.faults = "throttle";
      resp.headers.emplace_back("Retry-After",
                                RetryAfterValue(std::chrono::seconds(t->retry_after_seconds)));
    } else if (auto d = limiter_.Admit(client, now); !d.allowed) {
      resp = JsonResponse(429, GatewayErrorBody("API Rate Limit Exceeded"));
      resp.headers.emplace_back("Retry-After", RetryAfterValue(std::max<base::Duration>(
                                                   d.retry_after, std::chrono::seconds(1))));
    } else if (auto wait = token_refusal()) {
      ++stats_.token_throttled_total;
      resp = JsonResponse(
          429,
          json{{"error", "rate_limited"},
               {"error_description",
                "Too many token requests: at most " + std::to_string(options_.token_limit) +
                    " per " +
                    std::to_string(static_cast<int64_t>(base::ToSeconds(options_.token_window))) +
                    " s per client; cache the token for its expires_in"}}
              .dump());
      resp.headers.emplace_back(
          "Retry-After", RetryAfterValue(std::max<base::Duration>(*wait, std::chrono::seconds(1))));
    } else if (const ErrorFault* e = faults_.Error(route.name)) {
      ++stats_.faults["error"];
      resp = JsonResponse(e->status,
                          GatewayErrorBody(e->status == 500 ? "Internal Server Error"
                                                            : "Service temporarily unavailable"));
      resp.faults = "error";
      if (e->retry_after_seconds) {
        resp.headers.emplace_back("Retry-After",
                                  RetryAfterValue(std::chrono::seconds(*e->retry_after_seconds)));
      }
    } else {
      committed = stats_.creates_committed;
      resp = Dispatch(req, route, client);
      ApplyPostFaults(route, &resp);
    }
    if (resp.status == 429) ++stats_.throttled_total;
    if (auto extra = faults_.Latency(route.name); extra.count() > 0) {
      ++stats_.faults["latency"];
      resp.delay += extra;
      resp.faults += resp.faults.empty() ? "latency" : ",latency";
    }
    if (const TrickleFault* t = faults_.Trickle(route.name);
        t != nullptr && resp.disposition == Disposition::kReply) {
      ++stats_.faults["trickle"];
      resp.faults += resp.faults.empty() ? "trickle" : ",trickle";
      resp.trickle_chunk = t->chunk_bytes;
      resp.trickle_interval = std::chrono::milliseconds(t->interval_ms);
    }
    const std::string code =
        resp.disposition == Disposition::kDropConnection ? "dropped" : std::to_string(resp.status);
    ++stats_.by_route[route.name][code];
    ++stats_.by_client[client][route.name][code];
    if (committed >= 0 && stats_.creates_committed > committed) {
      // This request committed a create: remember how its response went (/_sim/instances).
      InstanceRecord& created = state_.instances.back();
      created.create_response_code = code;
      created.create_response_delay = resp.delay;
      if (resp.trickle_chunk > 0) {
        const int64_t chunks =
            (static_cast<int64_t>(resp.body.size()) + resp.trickle_chunk - 1) / resp.trickle_chunk;
        created.create_response_delay += resp.trickle_interval * chunks;
      }
      created.create_response_faults = resp.faults;
      created.create_response_bytes = static_cast<int64_t>(resp.body.size());
      created.create_response_password =
          resp.disposition == Disposition::kReply &&
          resp.body.find("\"password\":" + json(created.password).dump()) != std::string::npos;
    }
  }
  resp.route = route.name;
  resp.request_id = NextRequestId();
  resp.headers.emplace_back("X-Request-Id", resp.request_id);
  if (!route.admin && IsV1Path(req.path) && !options_.api_expires.empty()) {
    resp.headers.emplace_back("X-Tyk-Api-Expires", options_.api_expires);
  }
  if (resp.Header("Content-Type").empty()) {
    resp.headers.emplace_back("Content-Type", "application/json");
  }
  SaveIfDirty();
  return resp;
}

void Engine::ApplyPostFaults(const Route& route, SimResponse* resp) {
  if (route.name == "POST /v1/instances" && resp->status == 202) {
    if (const CreateFault* c = faults_.CreateFailure()) {
      const std::string kind = "create_" + std::string(CreateFailModeName(c->mode));
      ++stats_.faults[kind];
      switch (c->mode) {
        case CreateFailMode::k500:
          *resp = JsonResponse(500, GatewayErrorBody("Internal Server Error"));
          resp->faults = kind;
          return;
        case CreateFailMode::kDrop:
          resp->disposition = Disposition::kDropConnection;
          resp->faults = kind;
          return;
        case CreateFailMode::kTimeout:
          resp->delay += std::chrono::duration_cast<base::Duration>(
              std::chrono::duration<double>(c->delay_seconds));
          resp->faults = kind;
          break;
      }
    }
  }
  if (resp->status < 200 || resp->status >= 300 || resp->body.empty()) return;
  if (const MalformedFault* m = faults_.Malformed(route.name)) {
    const std::string kind = "malformed_" + std::string(MalformedModeName(m->mode));
    ++stats_.faults[kind];
    resp->faults += resp->faults.empty() ? kind : "," + kind;
    switch (m->mode) {
      case MalformedMode::kTruncate:
        resp->body.resize(resp->body.size() / 2);
        break;
      case MalformedMode::kWrongTypes: {
        json j = json::parse(resp->body, nullptr, false);
        Scramble(j);
        resp->body = j.dump();
        break;
      }
      case MalformedMode::kMissingFields: {
        json j = json::parse(resp->body, nullptr, false);
        DropRequiredFields(j);
        resp->body = j.dump();
        break;
      }
      case MalformedMode::kHuge: {
        // Whitespace before the closing brace keeps the JSON valid whatever its size.
        const size_t want = static_cast<size_t>(m->bytes);
        if (resp->body.size() < want && resp->body.back() == '}') {
          resp->body.insert(resp->body.size() - 1, want - resp->body.size(), ' ');
        }
        break;
      }
    }
  }
}

SimResponse Engine::Dispatch(const SimRequest& req, const Route& route,
                             const std::string& /*client*/) {
  if (route.name == "POST /oauth/token") return HandleToken(req);
  if (!route.known_path) return JsonResponse(404, GatewayErrorBody("Not Found"));
  if (route.name == "other") return JsonResponse(405, GatewayErrorBody("Method Not Allowed"));
  const Client* c = nullptr;
  SimResponse denied;
  if (!Authenticate(req, &c, &denied)) return denied;
  if ((req.method == "POST" || req.method == "PATCH") &&
      !IsJsonContentType(req.Header("Content-Type"))) {
    return JsonResponse(415, GatewayErrorBody("Unsupported Media Type: use application/json"));
  }
  const auto& p = route.params;
  const std::string& n = route.name;
  if (n == "GET /v1/instances") return ListInstances(req, *c);
  if (n == "POST /v1/instances") return CreateInstance(req, *c);
  if (n == "GET /v1/instances/{instanceId}") return GetInstance(p[0], *c);
  if (n == "PATCH /v1/instances/{instanceId}") return UpdateInstance(req, p[0], *c);
  if (n == "DELETE /v1/instances/{instanceId}") return DeleteInstance(p[0], *c);
  if (n == "POST /v1/instances/{instanceId}/pause") return PauseInstance(p[0], *c);
  if (n == "POST /v1/instances/{instanceId}/resume") return ResumeInstance(p[0], *c);
  if (n == "POST /v1/instances/{instanceId}/upgrade") return UpgradeInstance(req, p[0], *c);
  if (n == "POST /v1/instances/{instanceId}/overwrite") return OverwriteInstance(req, p[0], *c);
  if (n == "GET /v1/instances/{instanceId}/snapshots") return ListSnapshots(req, p[0], *c);
  if (n == "POST /v1/instances/{instanceId}/snapshots") return CreateSnapshot(p[0], *c);
  if (n == "GET /v1/instances/{instanceId}/snapshots/{snapshotId}") {
    return GetSnapshot(p[0], p[1], *c);
  }
  if (n == "POST /v1/instances/{instanceId}/snapshots/{snapshotId}/restore") {
    return RestoreSnapshot(p[0], p[1], *c);
  }
  if (n == "GET /v1/customer-managed-keys") return ListKeys(req, *c);
  if (n == "POST /v1/customer-managed-keys") return CreateKey(req, *c);
  if (n == "GET /v1/customer-managed-keys/{customerManagedKeyId}") return GetKey(p[0], *c);
  if (n == "DELETE /v1/customer-managed-keys/{customerManagedKeyId}") return DeleteKey(p[0], *c);
  if (n == "GET /v1/tenants") return ListTenants(*c);
  if (n == "GET /v1/tenants/{tenantId}") return GetTenant(p[0], *c);
  return JsonResponse(404, GatewayErrorBody("Not Found"));
}

}  // namespace aura::simulator
