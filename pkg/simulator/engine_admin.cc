// The /_sim/ admin surface: instances (duplicates included) and their statuses on demand,
// stats, the active profile, faults, reset.
#include <algorithm>

#include "pkg/simulator/engine.h"
#include "pkg/simulator/engine_internal.h"

namespace aura::simulator {

using namespace detail;  // NOLINT: the engine's own helpers
using nlohmann::json;

SimResponse Engine::HandleAdmin(const SimRequest& req, const Route& route) {
  if (!route.known_path) return JsonResponse(404, GatewayErrorBody("no such admin endpoint"));
  if (route.name == "other") return JsonResponse(405, GatewayErrorBody("Method Not Allowed"));
  if (route.name == "GET /_sim/instances") return JsonResponse(200, AdminInstancesJson().dump());
  if (route.name == "GET /_sim/stats") return JsonResponse(200, StatsJson().dump());
  if (route.name == "GET /_sim/profile") return JsonResponse(200, ProfileJson().dump());
  if (route.name == "POST /_sim/instances/{instanceId}/status") {
    return SetInstanceStatus(req, route.params[0]);
  }
  if (route.name == "GET /_sim/faults") {
    return JsonResponse(200, FaultsToJson(faults_.config()).dump());
  }
  if (route.name == "POST /_sim/reset") {
    Reset();
    return JsonResponse(200, json{{"reset", true}}.dump());
  }
  // POST /_sim/faults
  json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return JsonResponse(400, GatewayErrorBody("body is not JSON"));
  auto parsed = ParseFaults(body, faults_.config());
  if (!parsed.ok()) return JsonResponse(400, GatewayErrorBody(parsed.status().message()));
  FaultConfig config = std::move(parsed).value();
  if (config.expire_tokens_now) {
    const base::SystemTime now = clock_->SystemNow();
    for (auto& [token, t] : state_.tokens) t.expires_at = std::min(t.expires_at, now);
    ++stats_.faults["tokens_expired_now"];
    config.expire_tokens_now = false;
    dirty_ = true;
  }
  faults_.Configure(std::move(config));
  return JsonResponse(200, FaultsToJson(faults_.config()).dump());
}

void Engine::Reset() {
  state_.instances.clear();
  state_.snapshots.clear();
  state_.keys.clear();
  stats_ = Stats();
  limiter_.Reset();
  token_limiter_.Reset();
  faults_ = FaultInjector(options_.seed, options_.faults);
  dirty_ = true;
}

json Engine::StatsJson() const {
  json by_route = json::object();
  for (const auto& [route, codes] : stats_.by_route) {
    for (const auto& [code, n] : codes) by_route[route][code] = n;
  }
  json by_client = json::object();
  for (const auto& [client, n] : limiter_.MaxReceivedByClient()) by_client[client] = n;
  json requests_by_client = json::object();
  for (const auto& [client, routes] : stats_.by_client) {
    for (const auto& [route, codes] : routes) {
      for (const auto& [code, n] : codes) requests_by_client[client][route][code] = n;
    }
  }
  json faults = json::object();
  for (const auto& [kind, n] : stats_.faults) faults[kind] = n;
  json token_by_client = json::object();
  for (const auto& [client, n] : stats_.token_requests_by_client) token_by_client[client] = n;
  return {{"profile", ProfileName(options_.profile)},
          {"requests_total", stats_.requests_total},
          {"requests", by_route},
          {"requests_by_client", requests_by_client},
          {"throttled_total", stats_.throttled_total},
          {"post_instances", stats_.post_instances},
          {"creates_committed", stats_.creates_committed},
          {"tokens_issued", stats_.tokens_issued},
          {"max_requests_in_window", limiter_.max_received_in_window()},
          {"max_requests_in_window_by_client", by_client},
          {"rate_limit", options_.rate_limit},
          {"rate_window_seconds", base::ToSeconds(options_.rate_window)},
          {"token_requests_total", stats_.token_requests_total},
          {"token_requests_by_client", token_by_client},
          {"token_throttled_total", stats_.token_throttled_total},
          {"token_limit", options_.token_limit},
          {"token_window_seconds", base::ToSeconds(options_.token_window)},
          {"auto_paused_total", stats_.auto_paused},
          {"auto_resumed_total", stats_.auto_resumed},
          {"auto_deleted_total", stats_.auto_deleted},
          {"faults_injected", faults}};
}

json Engine::ProfileJson() const {
  const bool real = Real();
  return {
      {"profile", ProfileName(options_.profile)},
      {"lean_replies", real},
      {"resize_status", real ? "resizing" : "updating"},
      {"rate_limit", options_.rate_limit},
      {"rate_window_seconds", base::ToSeconds(options_.rate_window)},
      {"token_limit", options_.token_limit},
      {"token_window_seconds", base::ToSeconds(options_.token_window)},
      {"free_idle_pause_seconds", base::ToSeconds(options_.free_idle_pause)},
      {"free_paused_delete_seconds", base::ToSeconds(options_.free_paused_delete)},
      {"paid_paused_resume_seconds", base::ToSeconds(options_.paid_paused_resume)},
      {"api_expires", options_.api_expires.empty() ? json(nullptr) : json(options_.api_expires)}};
}

SimResponse Engine::SetInstanceStatus(const SimRequest& req, const std::string& id) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("status") ||
      !body["status"].is_string() || body["status"].get<std::string>().empty()) {
    return JsonResponse(400, GatewayErrorBody(R"(want {"status": "<a non-empty string>"})"));
  }
  InstanceRecord* r = nullptr;
  for (auto& i : state_.instances) {
    if (i.id == id && !i.deleted) r = &i;
  }
  if (r == nullptr) return JsonResponse(404, GatewayErrorBody("no live instance " + id));
  const std::string status = body["status"].get<std::string>();
  // "running" and "paused" hand the instance back to the normal lifecycle in that state; any
  // other status is kept as is. An operation in flight is abandoned either way.
  r->status = status;
  r->status_pinned = status != "running" && status != "paused";
  r->status_since = clock_->SystemNow();
  r->status_until = r->status_since;
  r->pending_update = json::object();
  dirty_ = true;
  return JsonResponse(200, AdminInstanceJson(*r).dump());
}

json Engine::AdminInstancesJson() const {
  json instances = json::array();
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  for (const auto& r : state_.instances) {
    instances.push_back(AdminInstanceJson(r));
    ++counts[{r.tenant_id, r.created_name}];
  }
  json creations = json::array();
  int64_t max_count = 0;
  for (const auto& [key, n] : counts) {
    creations.push_back({{"tenant_id", key.first}, {"name", key.second}, {"count", n}});
    max_count = std::max(max_count, n);
  }
  return {
      {"instances", instances}, {"creations", creations}, {"max_creations_per_name", max_count}};
}

json Engine::AdminInstanceJson(const InstanceRecord& r) const {
  json j = StrictInstanceJson(r);
  j["version"] = r.version;
  j["deleted"] = r.deleted;
  if (r.deleted) j["deleted_at"] = FormatRfc3339(r.deleted_at);
  j["created_by"] = r.created_by;
  j["created_name"] = r.created_name;
  // For exactly-once tests: the commit time (ms since the epoch; created_at has whole
  // seconds), the password the create generated and how its response went ("202", "500" or
  // "dropped", sent create_response_delay_ms late). A client received the password only
  // from a "202" that arrived before it gave up.
  j["created_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(r.created.time_since_epoch()).count();
  j["password"] = r.password;
  j["create_response_code"] = r.create_response_code;
  j["create_response_delay_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(r.create_response_delay).count();
  // The faults that shaped that response (a "malformed_truncate" 202 carried an unreadable
  // password) and its body's size.
  j["create_response_faults"] = r.create_response_faults;
  j["create_response_bytes"] = r.create_response_bytes;
  j["create_response_password"] = r.create_response_password;
  if (!r.source_instance_id.empty()) j["source_instance_id"] = r.source_instance_id;
  // Statuses set by POST /_sim/instances/{id}/status, and what Aura did on its own.
  j["status_pinned"] = r.status_pinned;
  j["status_since"] = FormatRfc3339(r.status_since);
  j["auto_paused"] = r.auto_paused;
  j["auto_resumed"] = r.auto_resumed;
  j["auto_deleted"] = r.auto_deleted;
  return j;
}

}  // namespace aura::simulator
