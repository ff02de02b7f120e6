// /v1/customer-managed-keys: list (optionally ?tenantId=), create (202, `pending`), get, delete
// (204; 400 encryption-key-is-active while a live instance uses the key). A key is `pending`
// for --create-seconds after its create, then `ready`. Both profiles write the OpenAPI's
// CustomerManagedKey shapes: there is no evidence of the live service differing.
#include <algorithm>

#include "pkg/simulator/catalog.h"
#include "pkg/simulator/engine.h"
#include "pkg/simulator/engine_resources.h"

namespace aura::simulator {
namespace {

using nlohmann::json;
using namespace resources;  // NOLINT: the resource handlers' helpers

SimResponse KeyNotFound(const std::string& id) {
  return Reply(404, AuraErrorBody("encryption-key-not-found", "Encryption Key not found: " + id));
}

bool ValidKeyName(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n >= 1 && n <= 30 && !space(s.front()) && !space(s.back());
}

}  // namespace

KeyRecord* Engine::FindLiveKey(const std::string& id, const Client& c) {
  for (auto& k : state_.keys) {
    if (k.id == id && !k.deleted && CanSee(c, k.tenant_id)) return &k;
  }
  return nullptr;
}

json Engine::KeyJson(const KeyRecord& k) const {
  const bool ready = clock_->SystemNow() >= k.ready_at;
  return {{"id", k.id},
          {"name", k.name},
          {"cloud_provider", k.cloud_provider},
          {"region", k.region},
          {"instance_type", k.instance_type},
          {"key_id", k.key_id},
          {"created", FormatRfc3339(k.created)},
          {"status", ready ? "ready" : "pending"},
          {"tenant_id", k.tenant_id}};
}

SimResponse Engine::ListKeys(const SimRequest& req, const Client& c) {
  const auto tenant = req.query.find("tenantId");
  if (tenant != req.query.end() && !CanSee(c, tenant->second)) {
    return Reply(404,
                 AuraErrorBody("tenant-not-found", "The tenant you specified could not be found"));
  }
  json items = json::array();
  for (const auto& k : state_.keys) {
    if (k.deleted || !CanSee(c, k.tenant_id)) continue;
    if (tenant != req.query.end() && k.tenant_id != tenant->second) continue;
    items.push_back({{"id", k.id}, {"name", k.name}, {"tenant_id", k.tenant_id}});
  }
  return Data(200, items);
}

SimResponse Engine::CreateKey(const SimRequest& req, const Client& c) {
  bool ok = false;
  json body = ParseBody(req.body, &ok);
  if (!ok) return NotAnObject();
  // Unknown fields and values that are not strings first, as for instances.
  FieldErrors errs = OnlyStringFields(
      body, {"name", "key_id", "region", "instance_type", "tenant_id", "cloud_provider"});
  auto str = [&](const char* key) -> std::string {
    auto it = body.find(key);
    if (it == body.end()) {
      errs.Add(key, std::string("Missing required field: ") + key);
      return "";
    }
    return it->is_string() ? it->get<std::string>() : "";
  };
  const std::string name = str("name");
  const std::string key_id = str("key_id");
  const std::string region = str("region");
  const std::string instance_type = str("instance_type");
  const std::string tenant_id = str("tenant_id");
  const std::string provider = str("cloud_provider");
  if (body.contains("name") && body["name"].is_string() && !ValidKeyName(name)) {
    errs.Add("name", "name must be 1 to 30 characters without leading or trailing whitespace");
  }
  if (!instance_type.empty() && instance_type != "enterprise-db" &&
      instance_type != "enterprise-ds") {
    errs.Add("instance_type", "instance_type must be enterprise-db or enterprise-ds");
  }
  if (!provider.empty() && !IsCloudProvider(provider)) {
    errs.Add("cloud_provider", "cloud_provider must be one of gcp, aws, azure");
  }
  if (body.contains("key_id") && body["key_id"].is_string() && key_id.empty()) {
    errs.Add("key_id", "key_id must not be empty");
  }
  if (!errs.empty()) return errs.Response();
  if (!CanSee(c, tenant_id)) {
    errs.Add("tenant_id", "Project not found: " + tenant_id);
    return errs.Response();
  }
  const base::SystemTime now = clock_->SystemNow();
  KeyRecord k;
  k.id = NewUuid();
  k.name = name;
  k.tenant_id = tenant_id;
  k.cloud_provider = provider;
  k.region = region;
  k.instance_type = instance_type;
  k.key_id = key_id;
  k.status = "pending";
  k.created = now;
  k.ready_at = now + Sys(options_.durations.create);
  state_.keys.push_back(k);
  dirty_ = true;
  return Data(202, KeyJson(k));
}

SimResponse Engine::GetKey(const std::string& id, const Client& c) {
  const KeyRecord* k = FindLiveKey(id, c);
  if (k == nullptr) return KeyNotFound(id);
  return Data(200, KeyJson(*k));
}

SimResponse Engine::DeleteKey(const std::string& id, const Client& c) {
  KeyRecord* k = FindLiveKey(id, c);
  if (k == nullptr) return KeyNotFound(id);
  const bool in_use = std::any_of(
      state_.instances.begin(), state_.instances.end(),
      [&](const InstanceRecord& r) { return !r.deleted && r.customer_managed_key_id == id; });
  if (in_use) {
    return Reply(400, AuraErrorBody("encryption-key-is-active",
                                    "Can not delete encryption key " + id +
                                        ". The key is linked to an active instance."));
  }
  k->deleted = true;
  dirty_ = true;
  return Reply(204, "");
}

}  // namespace aura::simulator
