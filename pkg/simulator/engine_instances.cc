// The /v1 resources of Engine: instances, their lifecycle (Aura's own included), snapshots and
// tenants, in the shapes of the active profile.
#include <algorithm>
#include <optional>
#include <set>

#include "pkg/simulator/engine.h"
#include "pkg/simulator/engine_resources.h"

namespace aura::simulator {
namespace {

using nlohmann::json;
using namespace resources;  // NOLINT: the helpers shared with engine_upgrade.cc

// Statuses an admin may set that refuse writes with 400 rather than 409 (and allow DELETE).
bool FailedStatus(const InstanceRecord& r) {
  return r.status_pinned && (r.status == "suspended" || r.status == "loading failed");
}

// An unknown field in profile real's replies: the live service sends fields the OpenAPI does
// not describe, and a client must ignore them.
constexpr char kUnknownCreateField[] = "aura_db_status_url";
constexpr char kUnknownInstanceField[] = "maintenance_window";

std::string UtcDate(base::SystemTime t) { return FormatRfc3339(t).substr(0, 10); }

// Number of UTF-8 code points.
size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool ValidName(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  size_t n = Utf8Length(s);
  return n >= 1 && n <= 30 && !space(s.front()) && !space(s.back());
}

}  // namespace

const TenantOptions* Engine::FindTenant(const std::string& id) const {
  for (const auto& t : options_.tenants) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

bool Engine::CanSee(const Client& c, const std::string& tenant_id) const {
  return std::find(c.tenants.begin(), c.tenants.end(), tenant_id) != c.tenants.end() &&
         FindTenant(tenant_id) != nullptr;
}

InstanceRecord* Engine::FindLive(const std::string& id, const Client& c) {
  for (auto& r : state_.instances) {
    if (r.id == id && !r.deleted && CanSee(c, r.tenant_id)) return &r;
  }
  return nullptr;
}

SnapshotRecord* Engine::FindSnapshot(const std::string& instance_id, const std::string& sid) {
  for (auto& s : state_.snapshots) {
    if (s.instance_id == instance_id && s.snapshot_id == sid) return &s;
  }
  return nullptr;
}

std::string Engine::RandomString(size_t n, std::string_view alphabet) {
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(alphabet[pick(rng_)]);
  return s;
}

std::string Engine::NewInstanceId() {
  for (;;) {
    std::string id = RandomString(8, "0123456789abcdef");
    bool taken = std::any_of(state_.instances.begin(), state_.instances.end(),
                             [&](const InstanceRecord& r) { return r.id == id; });
    if (!taken) return id;
  }
}

std::string Engine::NewUuid() {
  std::string h = RandomString(32, "0123456789abcdef");
  h[12] = '4';
  h[16] = "89ab"[rng_() % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

void Engine::AdvanceLifecycles(base::SystemTime now) {
  for (auto& r : state_.instances) {
    // Events in the order they were due, each at its own time, however far the clock jumped.
    base::SystemTime at;
    while (NextEvent(r, &at) && at <= now) {
      ApplyEvent(r, at);
      dirty_ = true;
    }
  }
  for (auto& s : state_.snapshots) {
    if (s.status == "InProgress" && now >= s.done_at) {
      s.status = "Completed";
      dirty_ = true;
    }
  }
}

bool Engine::NextEvent(const InstanceRecord& r, base::SystemTime* at) const {
  if (r.deleted || r.status_pinned) return false;
  const bool free = r.type == "free-db";
  const base::Duration zero(0);
  if (Transitional(r.status)) {
    *at = r.status_until;
  } else if (r.status == "running" && free && options_.free_idle_pause > zero) {
    *at = std::max(r.status_since, r.last_write) + Sys(options_.free_idle_pause);
  } else if (r.status == "paused" && free && options_.free_paused_delete > zero) {
    *at = r.status_since + Sys(options_.free_paused_delete);
  } else if (r.status == "paused" && !free && options_.paid_paused_resume > zero) {
    *at = r.status_since + Sys(options_.paid_paused_resume);
  } else {
    return false;
  }
  return true;
}

void Engine::ApplyEvent(InstanceRecord& r, base::SystemTime at) {
  if (r.status == "running") {  // Aura pauses an idle free instance
    Become(r, "pausing", at);
    r.status_until = at + Sys(options_.durations.pause);
    ++r.auto_paused;
    ++stats_.auto_paused;
  } else if (r.status == "paused" && r.type == "free-db") {  // deleted after long paused
    r.deleted = true;
    r.deleted_at = at;
    r.auto_deleted = true;
    ++stats_.auto_deleted;
  } else if (r.status == "paused") {  // a paid instance is resumed
    Become(r, "resuming", at);
    r.status_until = at + Sys(options_.durations.resume);
    ++r.auto_resumed;
    ++stats_.auto_resumed;
  } else if (r.status == "pausing") {
    Become(r, "paused", at);
  } else if (r.status == "destroying") {
    r.deleted = true;
    r.deleted_at = at;
  } else {
    if (r.status == "updating" || r.status == "resizing") {
      const json& u = r.pending_update;
      if (u.contains("type")) r.type = u["type"].get<std::string>();  // an upgrade
      if (u.contains("memory")) {
        r.memory = u["memory"].get<std::string>();
        r.storage = GbString(2 * SizeGb(r.memory));
      }
      if (u.contains("storage")) r.storage = u["storage"].get<std::string>();
      if (u.contains("vector_optimized")) r.vector_optimized = u["vector_optimized"].get<bool>();
      if (u.contains("graph_analytics_plugin")) {
        r.graph_analytics_plugin = u["graph_analytics_plugin"].get<bool>();
      }
      if (u.contains("secondaries_count")) {
        r.secondaries_count = u["secondaries_count"].get<int>();
      }
      if (u.contains("cdc_enrichment_mode")) {
        r.cdc_enrichment_mode = u["cdc_enrichment_mode"].get<std::string>();
      }
      r.pending_update = json::object();
    }
    Become(r, "running", at);  // creating, resuming, updating, resizing, restoring
  }
}

std::optional<SimResponse> Engine::PinnedRefusal(const InstanceRecord& r) const {
  if (!r.status_pinned) return std::nullopt;
  if (r.status == "suspended") {
    return Reply(400, AuraErrorBody("instance-suspended",
                                    "The instance is suspended and cannot be changed"));
  }
  if (r.status == "loading failed") {
    return Reply(
        400, AuraErrorBody("instance-failed", "The instance failed to load and cannot be changed"));
  }
  return Busy(r);
}

json Engine::InstanceJson(const InstanceRecord& r) const {
  json j = StrictInstanceJson(r);
  if (!Real()) return j;
  // The live service, as public clients and their fixtures show it (AURA_API.md "Where the
  // real service differs"): no created_at, counts as numbers, nulls, fields the OpenAPI lacks.
  j.erase("created_at");
  if (r.status == "paused") j["connection_url"] = nullptr;
  j["graph_nodes"] = 0;
  j["graph_relationships"] = 0;
  j["metrics_integration_url"] = nullptr;
  if (r.type == "business-critical") j["cdc_enrichment_mode"] = nullptr;
  j[kUnknownInstanceField] = "sunday-02:00-utc";
  return j;
}

json Engine::StrictInstanceJson(const InstanceRecord& r) const {
  json j = {
      {"id", r.id},
      {"name", r.name},
      {"status", r.status},
      {"connection_url", r.status == "paused" ? "" : "neo4j+s://" + r.id + ".databases.neo4j.io"},
      {"tenant_id", r.tenant_id},
      {"cloud_provider", r.cloud_provider},
      {"region", r.region},
      {"type", r.type},
      {"memory", r.memory},
      {"created_at", FormatRfc3339(r.created)},
      {"vector_optimized", r.vector_optimized},
      {"graph_analytics_plugin", r.graph_analytics_plugin}};
  // The schema requires storage; its description says free instances do not return it.
  // Default to the schema (DESIGN.md: responses must satisfy it); --omit-free-storage follows
  // the description, to exercise clients that must tolerate both.
  if (r.type != "free-db" || !options_.omit_free_storage) j["storage"] = r.storage;
  if (r.type == "free-db") {
    j["graph_nodes"] = "0";
    j["graph_relationships"] = "0";
  }
  if (SupportsSecondaries(r.type)) j["secondaries_count"] = r.secondaries_count.value_or(0);
  if (SupportsCdc(r.type)) j["cdc_enrichment_mode"] = r.cdc_enrichment_mode.value_or("OFF");
  if (!r.customer_managed_key_id.empty()) {
    j["customer_managed_key_id"] = r.customer_managed_key_id;
  }
  return j;
}

SimResponse Engine::ListInstances(const SimRequest& req, const Client& c) {
  std::string tenant;
  if (auto it = req.query.find("tenantId"); it != req.query.end()) {
    tenant = it->second;
    if (!CanSee(c, tenant)) {
      return Reply(403, GatewayErrorBody("You do not have access to project " + tenant));
    }
  }
  const base::SystemTime now = clock_->SystemNow();
  const auto lag = Sys(std::chrono::duration_cast<base::Duration>(
      std::chrono::duration<double>(faults_.config().list_lag_seconds)));
  json items = json::array();
  for (const auto& r : state_.instances) {
    if (r.deleted || !CanSee(c, r.tenant_id)) continue;
    if (!tenant.empty() && r.tenant_id != tenant) continue;
    if (now < r.created + lag) continue;  // lagging LIST fault
    json item = {{"id", r.id},
                 {"name", r.name},
                 {"tenant_id", r.tenant_id},
                 {"cloud_provider", r.cloud_provider}};
    if (!Real()) item["created_at"] = FormatRfc3339(r.created);
    items.push_back(std::move(item));
  }
  return Data(200, items);
}

SimResponse Engine::CreateInstance(const SimRequest& req, const Client& c) {
  bool ok = false;
  json body = ParseBody(req.body, &ok);
  if (!ok) return NotAnObject();
  static const std::set<std::string> kKnown = {"version",
                                               "region",
                                               "memory",
                                               "name",
                                               "type",
                                               "tenant_id",
                                               "cloud_provider",
                                               "storage",
                                               "vector_optimized",
                                               "graph_analytics_plugin",
                                               "source_instance_id",
                                               "source_snapshot_id",
                                               "customer_managed_key_id"};
  FieldErrors errs;
  for (const auto& [k, v] : body.items()) {
    if (!kKnown.count(k)) errs.Add(k, "Unknown field: " + k);
  }
  auto str = [&](const char* key, bool required) -> std::string {
    auto it = body.find(key);
    if (it == body.end()) {
      if (required) errs.Add(key, std::string("Missing required field: ") + key);
      return "";
    }
    if (!it->is_string()) {
      errs.Add(key, std::string(key) + " must be a string");
      return "";
    }
    return it->get<std::string>();
  };
  auto boolean = [&](const char* key) -> bool {
    auto it = body.find(key);
    if (it == body.end()) return false;
    if (!it->is_boolean()) {
      errs.Add(key, std::string(key) + " must be a boolean");
      return false;
    }
    return it->get<bool>();
  };
  const std::string name = str("name", true);
  const std::string version = str("version", true);
  const std::string region = str("region", true);
  const std::string memory = str("memory", true);
  const std::string type = str("type", true);
  const std::string tenant_id = str("tenant_id", true);
  const std::string provider = str("cloud_provider", true);
  std::string storage = str("storage", false);
  const std::string source_instance = str("source_instance_id", false);
  const std::string source_snapshot = str("source_snapshot_id", false);
  const std::string cmk = str("customer_managed_key_id", false);
  const bool vector_optimized = boolean("vector_optimized");
  const bool gds_plugin = boolean("graph_analytics_plugin");
  if (body.contains("name") && body["name"].is_string() && !ValidName(name)) {
    errs.Add("name", "name must be 1 to 30 characters without leading or trailing whitespace");
  }
  if (!type.empty() && !IsInstanceType(type)) errs.Add("type", "Unknown instance type: " + type);
  if (!provider.empty() && !IsCloudProvider(provider)) {
    errs.Add("cloud_provider", "cloud_provider must be one of gcp, aws, azure");
  }
  if (!version.empty() && !IsVersion(version))
    errs.Add("version", "version must be \"4\" or \"5\"");
  if (!memory.empty() && !IsMemorySize(memory)) errs.Add("memory", "Invalid memory: " + memory);
  if (!storage.empty() && SizeGb(storage) < 0) errs.Add("storage", "Invalid storage: " + storage);
  if (!source_snapshot.empty() && source_instance.empty()) {
    errs.Add("source_snapshot_id", "source_snapshot_id requires source_instance_id");
  }
  if (!cmk.empty() && type != "enterprise-db" && type != "enterprise-ds") {
    errs.Add("customer_managed_key_id",
             "Customer managed keys need enterprise-db or enterprise-ds");
  }
  if (!errs.empty()) return errs.Response();

  const TenantOptions* tenant = FindTenant(tenant_id);
  if (tenant == nullptr || !CanSee(c, tenant_id)) {
    errs.Add("tenant_id", "Project not found: " + tenant_id);
    return errs.Response();
  }
  if (tenant->missing_billing) {
    return Reply(400, AuraErrorBody("missing-billing-details",
                                    "You must provide billing details in the Aura Console "
                                    "before creating an instance"));
  }
  // Which field makes the combination unavailable in this project.
  std::vector<const InstanceConfiguration*> configs;
  for (const auto& ic : DefaultInstanceConfigurations()) configs.push_back(&ic);
  auto narrow = [&](const char* field, const std::string& value,
                    std::string InstanceConfiguration::*member) {
    std::vector<const InstanceConfiguration*> kept;
    for (const auto* ic : configs) {
      if ((*ic).*member == value) kept.push_back(ic);
    }
    if (kept.empty() && errs.empty()) {
      errs.Add(field, std::string(field) + " " + value +
                          " is not available for this configuration in the project");
    }
    configs = std::move(kept);
  };
  narrow("cloud_provider", provider, &InstanceConfiguration::cloud_provider);
  narrow("region", region, &InstanceConfiguration::region);
  narrow("type", type, &InstanceConfiguration::type);
  narrow("version", version, &InstanceConfiguration::version);
  narrow("memory", memory, &InstanceConfiguration::memory);
  if (!errs.empty()) return errs.Response();
  const bool free = type == "free-db";
  if (vector_optimized && SizeGb(memory) < 4) {
    errs.Add("vector_optimized", "Vector optimization needs at least 4GB of memory");
  }
  if (!free && !storage.empty() && SizeGb(storage) < SizeGb(memory)) {
    errs.Add("storage", "storage must be at least the memory");
  }
  const InstanceRecord* source = nullptr;
  if (!source_instance.empty()) {
    source = FindLive(source_instance, c);
    if (source == nullptr) {
      errs.Add("source_instance_id", "Source instance not found: " + source_instance);
    } else if (!source_snapshot.empty()) {
      SnapshotRecord* s = FindSnapshot(source_instance, source_snapshot);
      if (s == nullptr || s->status != "Completed" || !s->exportable) {
        errs.Add("source_snapshot_id", "Snapshot not found or not exportable: " + source_snapshot);
      }
    }
  }
  if (!cmk.empty()) {
    // Aura encrypts the instance with the key: it must be one of the project's, and ready.
    const KeyRecord* key = FindLiveKey(cmk, c);
    if (key == nullptr || key->tenant_id != tenant_id) {
      errs.Add("customer_managed_key_id",
               "Encryption Key not found in project " + tenant_id + ": " + cmk);
    } else if (clock_->SystemNow() < key->ready_at) {
      errs.Add("customer_managed_key_id",
               "Encryption Key " + cmk + " is not ready (status pending)");
    }
  }
  if (!errs.empty()) return errs.Response();

  int live = 0;
  bool has_free = false;
  for (const auto& r : state_.instances) {
    if (r.deleted || r.tenant_id != tenant_id) continue;
    ++live;
    has_free = has_free || r.type == "free-db";
  }
  if (free && has_free) {
    return Reply(405, AuraErrorBody("free-instance-limit-reached",
                                    "Only one free instance is allowed per project"));
  }
  if (live >= tenant->instance_quota) {
    return Reply(405, AuraErrorBody("instance-quota-reached",
                                    "Creating instances is not permitted: the project has "
                                    "reached its limit of " +
                                        std::to_string(tenant->instance_quota) + " instances"));
  }

  const base::SystemTime now = clock_->SystemNow();
  InstanceRecord r;
  r.id = NewInstanceId();
  r.name = r.created_name = name;
  r.tenant_id = tenant_id;
  r.cloud_provider = provider;
  r.region = region;
  r.type = type;
  r.memory = memory;
  r.storage = free || storage.empty() ? GbString(2 * SizeGb(memory)) : storage;
  r.version = version;
  Become(r, "creating", now);
  r.created = now;
  r.status_until = now + Sys(options_.durations.create);
  r.vector_optimized = vector_optimized;
  r.graph_analytics_plugin = gds_plugin;
  r.customer_managed_key_id = cmk;
  r.source_instance_id = source_instance;
  r.created_by = c.id;
  r.password = RandomString(43, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
  r.create_response_code = "202";  // Handle() records what was really sent
  state_.instances.push_back(r);
  ++stats_.creates_committed;
  dirty_ = true;
  if (Real()) {
    // What Neo4j's own CLI and Terraform provider read from a create reply, and one field the
    // OpenAPI does not have.
    return Data(202, {{"id", r.id},
                      {"name", r.name},
                      {"tenant_id", r.tenant_id},
                      {"cloud_provider", r.cloud_provider},
                      {"region", r.region},
                      {"type", r.type},
                      {"connection_url", "neo4j+s://" + r.id + ".databases.neo4j.io"},
                      {"username", "neo4j"},
                      {"password", r.password},
                      {kUnknownCreateField, nullptr}});
  }
  return Data(202, {{"id", r.id},
                    {"connection_url", "neo4j+s://" + r.id + ".databases.neo4j.io"},
                    {"username", "neo4j"},
                    {"password", r.password},
                    {"tenant_id", r.tenant_id},
                    {"cloud_provider", r.cloud_provider},
                    {"region", r.region},
                    {"type", r.type},
                    {"name", r.name},
                    {"created_at", FormatRfc3339(r.created)},
                    {"vector_optimized", r.vector_optimized},
                    {"graph_analytics_plugin", r.graph_analytics_plugin}});
}

SimResponse Engine::GetInstance(const std::string& id, const Client& c) {
  InstanceRecord* r = FindLive(id, c);
  if (r == nullptr) return DbNotFound(id);
  return Data(200, InstanceJson(*r));
}

SimResponse Engine::UpdateInstance(const SimRequest& req, const std::string& id, const Client& c) {
  InstanceRecord* r = FindLive(id, c);
  if (r == nullptr) return DbNotFound(id);
  r->last_write = clock_->SystemNow();  // a write request, whatever its outcome
  dirty_ = true;
  bool ok = false;
  json body = ParseBody(req.body, &ok);
  if (!ok) return NotAnObject();
  FieldErrors errs;
  if (body.empty()) errs.Add("body", "Nothing to update");
  json update = json::object();
  std::string new_name;
  for (const auto& [k, v] : body.items()) {
    if (v.is_null()) {
      errs.Add(k, k + " must not be null");
    } else if (k == "name") {
      if (!v.is_string() || !ValidName(v.get<std::string>())) {
        errs.Add(k, "name must be 1 to 30 characters without leading or trailing whitespace");
      } else {
        new_name = v.get<std::string>();
      }
    } else if (k == "memory") {
      if (!v.is_string() || !IsMemorySize(v.get<std::string>())) {
        errs.Add(k, "Invalid memory");
      } else {
        update[k] = v;
      }
    } else if (k == "storage") {
      if (!v.is_string() || SizeGb(v.get<std::string>()) < 0) {
        errs.Add(k, "Invalid storage");
      } else {
        update[k] = v;
      }
    } else if (k == "vector_optimized" || k == "graph_analytics_plugin") {
      if (!v.is_boolean()) {
        errs.Add(k, k + " must be a boolean");
      } else {
        update[k] = v;
      }
    } else if (k == "secondaries_count") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 15) {
        errs.Add(k, "secondaries_count must be an integer from 0 to 15");
      } else if (!SupportsSecondaries(r->type)) {
        errs.Add(k, "Secondaries are only available for Virtual Dedicated Cloud instances");
      } else {
        update[k] = v;
      }
    } else if (k == "cdc_enrichment_mode") {
      std::string m = v.is_string() ? v.get<std::string>() : "";
      if (m != "OFF" && m != "DIFF" && m != "FULL") {
        errs.Add(k, "cdc_enrichment_mode must be OFF, DIFF or FULL");
      } else if (!SupportsCdc(r->type)) {
        errs.Add(k, "CDC is only available for business-critical and enterprise instances");
      } else {
        update[k] = v;
      }
    } else {
      errs.Add(k, "Unknown field: " + k);
    }
  }
  if (!errs.empty()) return errs.Response();
  if (!update.empty()) {
    if (r->type == "free-db") {
      errs.Add(update.begin().key(), "Free instances cannot be changed");
      return errs.Response();
    }
    if (update.contains("memory")) {
      bool offered = false;
      for (const auto& ic : DefaultInstanceConfigurations()) {
        offered = offered || (ic.cloud_provider == r->cloud_provider && ic.region == r->region &&
                              ic.type == r->type && ic.version == r->version &&
                              ic.memory == update["memory"].get<std::string>());
      }
      if (!offered) errs.Add("memory", "memory is not available for this instance");
    }
    const std::string memory = update.value("memory", r->memory);
    if (update.value("vector_optimized", r->vector_optimized) && SizeGb(memory) < 4) {
      errs.Add("vector_optimized", "Vector optimization needs at least 4GB of memory");
    }
    if (update.contains("storage") &&
        SizeGb(update["storage"].get<std::string>()) < SizeGb(memory)) {
      errs.Add("storage", "storage must be at least the memory");
    }
    if (!errs.empty()) return errs.Response();
  }
  if (auto refused = PinnedRefusal(*r)) return *refused;
  if (Transitional(r->status)) return Busy(*r);
  if (!update.empty() && r->status == "paused") {
    return Reply(400, AuraErrorBody("instance-paused", "A paused instance cannot be changed"));
  }
  if (!new_name.empty()) r->name = new_name;
  dirty_ = true;
  if (update.empty()) return Data(200, InstanceJson(*r));  // a rename takes effect at once
  r->pending_update = update;
  // The live service reports a memory or storage change as `resizing`.
  const bool resize = update.contains("memory") || update.contains("storage");
  Become(*r, Real() && resize ? "resizing" : "updating", clock_->SystemNow());
  r->status_until = r->status_since + Sys(options_.durations.update);
  return Data(202, InstanceJson(*r));
}

SimResponse Engine::DeleteInstance(const std::string& id, const Client& c) {
  InstanceRecord* r = FindLive(id, c);
  if (r == nullptr || r->status == "destroying") return DbNotFound(id);
  // A suspended or failed instance can still be deleted; other statuses an admin set are busy.
  if (Transitional(r->status) && !FailedStatus(*r)) return Busy(*r);
  r->status_pinned = false;
  Become(*r, "destroying", clock_->SystemNow());
  r->status_until = r->status_since + Sys(options_.durations.destroy);
  dirty_ = true;
  return Data(202, InstanceJson(*r));
}

SimResponse Engine::PauseInstance(const std::string& id, const Client& c) {
  InstanceRecord* r = FindLive(id, c);
  if (r == nullptr) return DbNotFound(id);
  r->last_write = clock_->SystemNow();
  dirty_ = true;
  if (r->type == "free-db") {
    return Reply(
        400, AuraErrorBody("free-instance-cannot-be-paused", "Free instances cannot be paused"));
  }
  if (auto refused = PinnedRefusal(*r)) return *refused;
  if (r->status != "running") return Busy(*r);
  Become(*r, "pausing", clock_->SystemNow());
  r->status_until = r->status_since + Sys(options_.durations.pause);
  dirty_ = true;
  return Data(202, InstanceJson(*r));
}

SimResponse Engine::ResumeInstance(const std::string& id, const Client& c) {
  InstanceRecord* r = FindLive(id, c);
  if (r == nullptr) return DbNotFound(id);
  r->last_write = clock_->SystemNow();
  dirty_ = true;
  if (auto refused = PinnedRefusal(*r)) return *refused;
  if (r->status != "paused") return Busy(*r);
  Become(*r, "resuming", clock_->SystemNow());
  r->status_until = r->status_since + Sys(options_.durations.resume);
  dirty_ = true;
  return Data(202, InstanceJson(*r));
}

SimResponse Engine::ListSnapshots(const SimRequest& req, const std::string& id, const Client& c) {
  if (FindLive(id, c) == nullptr) return DbNotFound(id);
  std::string date = UtcDate(clock_->SystemNow());
  if (auto it = req.query.find("date"); it != req.query.end()) {
    const std::string& d = it->second;
    bool valid = d.size() == 10 && d[4] == '-' && d[7] == '-';
    for (size_t i = 0; valid && i < d.size(); ++i) {
      valid = (i == 4 || i == 7) || (d[i] >= '0' && d[i] <= '9');
    }
    if (!valid) {
      return Reply(400, AuraErrorBody("validation-error", "date must be YYYY-MM-DD", "date"));
    }
    date = d;
  }
  json items = json::array();
  for (const auto& s : state_.snapshots) {
    if (s.instance_id != id || UtcDate(s.timestamp) != date) continue;
    items.push_back({{"instance_id", s.instance_id},
                     {"profile", s.profile},
                     {"snapshot_id", s.snapshot_id},
                     {"status", s.status},
                     {"timestamp", FormatRfc3339(s.timestamp)},
                     {"exportable", s.exportable}});
  }
  return Data(200, items);
}

SimResponse Engine::CreateSnapshot(const std::string& id, const Client& c) {
  InstanceRecord* r = FindLive(id, c);
  if (r == nullptr) return DbNotFound(id);
  if (r->status != "running") return Busy(*r);
  const base::SystemTime now = clock_->SystemNow();
  SnapshotRecord s;
  s.snapshot_id = NewUuid();
  s.instance_id = id;
  s.profile = "AdHoc";
  s.status = "InProgress";
  s.timestamp = now;
  s.done_at = now + Sys(options_.durations.snapshot);
  s.exportable = true;
  state_.snapshots.push_back(s);
  dirty_ = true;
  return Data(202, {{"snapshot_id", s.snapshot_id}});
}

SimResponse Engine::GetSnapshot(const std::string& id, const std::string& sid, const Client& c) {
  if (FindLive(id, c) == nullptr) return DbNotFound(id);
  SnapshotRecord* s = FindSnapshot(id, sid);
  if (s == nullptr) {
    return Reply(404, AuraErrorBody("snapshot-not-found", "Snapshot not found: " + sid));
  }
  return Data(200, {{"instance_id", s->instance_id},
                    {"profile", s->profile},
                    {"snapshot_id", s->snapshot_id},
                    {"status", s->status},
                    {"timestamp", FormatRfc3339(s->timestamp)},
                    {"exportable", s->exportable}});
}

SimResponse Engine::RestoreSnapshot(const std::string& id, const std::string& sid,
                                    const Client& c) {
  InstanceRecord* r = FindLive(id, c);
  if (r == nullptr) return DbNotFound(id);
  SnapshotRecord* s = FindSnapshot(id, sid);
  if (s == nullptr) {
    return Reply(404, AuraErrorBody("snapshot-not-found", "Snapshot not found: " + sid));
  }
  if (r->status != "running") return Busy(*r);
  if (s->status != "Completed") {
    return Reply(
        409, AuraErrorBody("snapshot-not-ready", "The snapshot is not completed: " + s->status));
  }
  Become(*r, "restoring", clock_->SystemNow());
  r->status_until = r->status_since + Sys(options_.durations.restore);
  dirty_ = true;
  return Data(202, InstanceJson(*r));
}

SimResponse Engine::ListTenants(const Client& c) {
  json items = json::array();
  for (const auto& t : options_.tenants) {
    if (CanSee(c, t.id)) items.push_back({{"id", t.id}, {"name", t.name}});
  }
  return Data(200, items);
}

SimResponse Engine::GetTenant(const std::string& id, const Client& c) {
  const TenantOptions* t = FindTenant(id);
  if (t == nullptr || !CanSee(c, id)) {
    return Reply(404,
                 AuraErrorBody("tenant-not-found", "The tenant you specified could not be found"));
  }
  json configs = json::array();
  for (const auto& ic : DefaultInstanceConfigurations()) {
    configs.push_back({{"cloud_provider", ic.cloud_provider},
                       {"region", ic.region},
                       {"region_name", ic.region_name},
                       {"type", ic.type},
                       {"memory", ic.memory},
                       {"storage", ic.storage},
                       {"version", ic.version}});
  }
  return Data(200, {{"id", t->id}, {"name", t->name}, {"instance_configurations", configs}});
}

}  // namespace aura::simulator
