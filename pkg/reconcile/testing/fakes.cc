#include "pkg/reconcile/testing/fakes.h"

#include <cstdio>
#include <ctime>

namespace aura::reconcile::testing {
namespace {

std::string Rfc3339(base::SystemTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

void FakeAuraApi::ScriptCreate(CreateFault f) {
  std::lock_guard<std::mutex> g(mu_);
  create_faults_.push_back(f);
}

void FakeAuraApi::ScriptError(const std::string& method, base::Status s) {
  std::lock_guard<std::mutex> g(mu_);
  errors_[method].push_back(std::move(s));
}

std::optional<base::Status> FakeAuraApi::TakeError(const std::string& method) {
  ++calls_[method];
  auto it = errors_.find(method);
  if (it == errors_.end() || it->second.empty()) return std::nullopt;
  base::Status s = it->second.front();
  it->second.pop_front();
  if (s.request_id().empty()) s.SetRequestId("req-err-" + std::to_string(next_request_++));
  return s;
}

std::string FakeAuraApi::NextRequestId() { return "req-" + std::to_string(next_request_++); }

std::string FakeAuraApi::AddInstance(const std::string& tenant, const std::string& name,
                                     const std::string& status, const std::string& memory) {
  std::lock_guard<std::mutex> g(mu_);
  char id[16];
  std::snprintf(id, sizeof id, "%08x", 0xe0000000u + static_cast<unsigned>(next_id_++));
  Inst in;
  in.i.id = id;
  in.i.name = name;
  in.i.status = status;
  in.i.tenant_id = tenant;
  in.i.cloud_provider = "gcp";
  in.i.region = "europe-west1";
  in.i.type = "professional-db";
  in.i.memory = memory;
  in.i.storage = std::to_string(2 * std::stoi(memory)) + "GB";
  in.created = clock_->SystemNow();
  in.i.created_at = Rfc3339(in.created);
  in.i.vector_optimized = false;
  in.i.graph_analytics_plugin = false;
  instances_[id] = in;
  return id;
}

void FakeAuraApi::SetStatus(const std::string& id, const std::string& status) {
  std::lock_guard<std::mutex> g(mu_);
  instances_.at(id).i.status = status;
}

void FakeAuraApi::Remove(const std::string& id) {
  std::lock_guard<std::mutex> g(mu_);
  instances_.at(id).deleted = true;
}

void FakeAuraApi::SettleAll() {
  std::lock_guard<std::mutex> g(mu_);
  for (auto& [id, in] : instances_) {
    const std::string& s = in.i.status;
    if (s == "creating" || s == "updating" || s == "resuming") in.i.status = "running";
    if (s == "pausing") in.i.status = "paused";
    if (s == "destroying") in.deleted = true;
  }
  for (auto& [id, k] : keys_) {
    if (k.status == "pending") k.status = "ready";
  }
}

std::map<std::string, int> FakeAuraApi::calls() const {
  std::lock_guard<std::mutex> g(mu_);
  return calls_;
}

int FakeAuraApi::creates_landed() const {
  std::lock_guard<std::mutex> g(mu_);
  return creates_landed_;
}

std::vector<api::Instance> FakeAuraApi::instances() const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<api::Instance> out;
  for (const auto& [_, in] : instances_) {
    if (!in.deleted) out.push_back(in.i);
  }
  return out;
}

std::optional<api::Instance> FakeAuraApi::instance(const std::string& id) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = instances_.find(id);
  if (it == instances_.end() || it->second.deleted) return std::nullopt;
  return it->second.i;
}

std::vector<std::string> FakeAuraApi::passwords() const {
  std::lock_guard<std::mutex> g(mu_);
  return passwords_;
}

base::StatusOr<api::Reply<std::vector<api::InstanceSummary>>> FakeAuraApi::ListInstances(
    std::string_view tenant_id, api::Priority) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("list")) return *e;
  api::Reply<std::vector<api::InstanceSummary>> r;
  const base::SystemTime now = clock_->SystemNow();
  for (const auto& [id, in] : instances_) {
    if (in.deleted || (!tenant_id.empty() && in.i.tenant_id != tenant_id)) continue;
    if (now - in.created < list_lag_) continue;
    r.data.push_back({id, in.i.name, in.i.tenant_id, in.i.cloud_provider, in.i.created_at});
  }
  r.request_id = NextRequestId();
  return r;
}

base::StatusOr<api::Reply<api::Instance>> FakeAuraApi::GetInstance(std::string_view id,
                                                                   api::Priority) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("get")) return *e;
  auto it = instances_.find(std::string(id));
  if (it == instances_.end() || it->second.deleted) {
    return base::NotFoundError("instance not found")
        .SetHttpStatus(404)
        .SetReason("db-not-found")
        .SetRequestId(NextRequestId());
  }
  return api::Reply<api::Instance>{it->second.i, NextRequestId()};
}

base::StatusOr<api::Reply<api::CreatedInstance>> FakeAuraApi::CreateInstance(
    const api::CreateInstanceRequest& req) {
  CreateFault fault = CreateFault::kNone;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!create_faults_.empty()) {
      fault = create_faults_.front();
      create_faults_.pop_front();
    }
    if (auto e = TakeError("create")) return *e;
  }
  switch (fault) {
    case CreateFault::kRefuse400:
      return base::InvalidArgumentError("invalid memory")
          .SetHttpStatus(400)
          .SetRequestId("req-400");
    case CreateFault::kThrottle:
      return base::ThrottledError("rate limited").SetHttpStatus(429).SetRequestId("req-429");
    case CreateFault::kConnectFailure:
      return base::UnavailableError("connection refused").SetReason("connect");
    case CreateFault::kLostBefore500:
      return base::AmbiguousError("internal error").SetHttpStatus(500).SetRequestId("req-500");
    default:
      break;
  }
  std::string id = AddInstance(req.tenant_id, req.name, "creating", req.memory);
  std::lock_guard<std::mutex> g(mu_);
  Inst& in = instances_.at(id);
  in.i.cloud_provider = req.cloud_provider;
  in.i.region = req.region;
  in.i.type = req.type;
  in.i.storage = req.storage.value_or(in.i.storage);
  in.i.vector_optimized = req.vector_optimized.value_or(false);
  in.i.graph_analytics_plugin = req.graph_analytics_plugin.value_or(false);
  in.i.customer_managed_key_id = req.customer_managed_key_id;
  ++creates_landed_;
  if (fault == CreateFault::kCommitThen500) {
    return base::AmbiguousError("internal error after commit")
        .SetHttpStatus(500)
        .SetRequestId("req-500c");
  }
  if (fault == CreateFault::kCommitThenReset) {
    return base::AmbiguousError("connection reset").SetReason("io");
  }
  api::CreatedInstance c;
  c.id = id;
  c.name = req.name;
  c.connection_url = "neo4j+s://" + id + ".databases.neo4j.io";
  c.username = "neo4j";
  c.password = "pw-" + id + "-secret";
  passwords_.push_back(c.password);
  if (fault == CreateFault::kNoPassword) c.password.clear();
  if (fault == CreateFault::kNoId) {
    c = api::CreatedInstance{};
    c.password = passwords_.back();
    c.complete = false;
  }
  c.tenant_id = req.tenant_id;
  c.cloud_provider = req.cloud_provider;
  c.region = req.region;
  c.type = req.type;
  c.created_at = in.i.created_at;
  return api::Reply<api::CreatedInstance>{c, NextRequestId()};
}

base::StatusOr<api::Reply<api::Instance>> FakeAuraApi::UpdateInstance(
    std::string_view id, const api::UpdateInstanceRequest& req) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("patch")) return *e;
  auto it = instances_.find(std::string(id));
  if (it == instances_.end() || it->second.deleted) {
    return base::NotFoundError("not found").SetHttpStatus(404).SetRequestId(NextRequestId());
  }
  api::Instance& i = it->second.i;
  if (i.status != "running" && i.status != "paused") {
    return base::ConflictError("ongoing-database-operation")
        .SetHttpStatus(409)
        .SetRequestId(NextRequestId());
  }
  if (req.name) i.name = *req.name;
  const bool resize = req.memory || req.storage;
  if (req.memory) i.memory = *req.memory;
  if (req.storage) i.storage = *req.storage;
  if (req.vector_optimized) i.vector_optimized = *req.vector_optimized;
  if (req.graph_analytics_plugin) i.graph_analytics_plugin = *req.graph_analytics_plugin;
  if (req.cdc_enrichment_mode) i.cdc_enrichment_mode = *req.cdc_enrichment_mode;
  if (resize) i.status = "updating";
  return api::Reply<api::Instance>{i, NextRequestId()};
}

base::StatusOr<api::Reply<api::DeleteResult>> FakeAuraApi::DeleteInstance(std::string_view id) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("delete")) return *e;
  auto it = instances_.find(std::string(id));
  if (it == instances_.end() || it->second.deleted) {
    return api::Reply<api::DeleteResult>{{true}, NextRequestId()};
  }
  it->second.i.status = "destroying";
  return api::Reply<api::DeleteResult>{{false}, NextRequestId()};
}

base::StatusOr<api::Reply<api::Instance>> FakeAuraApi::PauseInstance(std::string_view id) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("pause")) return *e;
  auto it = instances_.find(std::string(id));
  if (it == instances_.end() || it->second.deleted) {
    return base::NotFoundError("not found").SetHttpStatus(404);
  }
  if (it->second.i.status != "running") {
    return base::ConflictError("ongoing-database-operation").SetHttpStatus(409);
  }
  it->second.i.status = "pausing";
  it->second.i.connection_url.clear();
  return api::Reply<api::Instance>{it->second.i, NextRequestId()};
}

base::StatusOr<api::Reply<api::Instance>> FakeAuraApi::ResumeInstance(std::string_view id) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("resume")) return *e;
  auto it = instances_.find(std::string(id));
  if (it == instances_.end() || it->second.deleted) {
    return base::NotFoundError("not found").SetHttpStatus(404);
  }
  if (it->second.i.status != "paused") {
    return base::ConflictError("ongoing-database-operation").SetHttpStatus(409);
  }
  it->second.i.status = "resuming";
  return api::Reply<api::Instance>{it->second.i, NextRequestId()};
}

base::StatusOr<api::Reply<api::Instance>> FakeAuraApi::UpgradeInstance(
    std::string_view id, const api::UpgradeInstanceRequest& req) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("upgrade")) return *e;
  auto it = instances_.find(std::string(id));
  if (it == instances_.end() || it->second.deleted) {
    return base::NotFoundError("not found").SetHttpStatus(404);
  }
  if (it->second.i.type != "professional-db") {
    return base::InvalidArgumentError("only professional-db can be upgraded").SetHttpStatus(400);
  }
  if (it->second.i.status != "running") {
    return base::ConflictError("ongoing-database-operation").SetHttpStatus(409);
  }
  it->second.i.type = "business-critical";
  if (req.memory) it->second.i.memory = *req.memory;
  if (req.storage) it->second.i.storage = *req.storage;
  it->second.i.status = "updating";
  return api::Reply<api::Instance>{it->second.i, NextRequestId()};
}

base::StatusOr<api::Reply<std::vector<api::Tenant>>> FakeAuraApi::ListTenants(api::Priority) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("tenants")) return *e;
  return api::Reply<std::vector<api::Tenant>>{{{"tenant-1", "Tenant One"}}, NextRequestId()};
}

base::StatusOr<api::Reply<api::TenantDetail>> FakeAuraApi::GetTenant(std::string_view id,
                                                                     api::Priority) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("tenant")) return *e;
  api::TenantDetail t;
  t.id = std::string(id);
  t.name = "Tenant";
  for (const char* mem : {"1GB", "2GB", "4GB", "8GB", "16GB"}) {
    t.instance_configurations.push_back({"gcp", "europe-west1", "Belgium", "professional-db", mem,
                                         std::to_string(2 * std::atoi(mem)) + "GB", "5"});
  }
  return api::Reply<api::TenantDetail>{t, NextRequestId()};
}

base::StatusOr<api::Reply<std::vector<api::Snapshot>>> FakeAuraApi::ListSnapshots(
    std::string_view) {
  return base::InternalError("not faked");
}
base::StatusOr<api::Reply<std::string>> FakeAuraApi::CreateSnapshot(std::string_view) {
  return base::InternalError("not faked");
}
base::StatusOr<api::Reply<api::Snapshot>> FakeAuraApi::GetSnapshot(std::string_view,
                                                                   std::string_view) {
  return base::InternalError("not faked");
}
base::StatusOr<api::Reply<api::Instance>> FakeAuraApi::RestoreSnapshot(std::string_view,
                                                                       std::string_view) {
  return base::InternalError("not faked");
}

// --- MemJournal ---

base::StatusOr<std::map<std::string, store::JournalEntry>> MemJournal::List() const {
  std::lock_guard<std::mutex> g(mu_);
  return entries_;
}

base::StatusOr<store::JournalEntry> MemJournal::Get(const std::string& key) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return base::NotFoundError("no journal entry for " + key);
  return it->second;
}

base::Status MemJournal::Put(const store::JournalEntry& e) {
  std::lock_guard<std::mutex> g(mu_);
  if (fail_writes_ > 0) {
    --fail_writes_;
    return fail_status_;
  }
  ++writes_;
  store::JournalEntry stored = e;
  if (auto it = entries_.find(e.key); it != entries_.end()) {
    store::KeepNewerObservation(it->second, &stored);
  }
  entries_[e.key] = std::move(stored);
  return base::Status();
}

base::Status MemJournal::PutObservation(const std::string& key, const std::string& instance_id,
                                        const store::StoredObservation& o) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.instance_id != instance_id || it->second.intent) {
    return base::Status();
  }
  ++observation_writes_;
  it->second.observation = o;
  return base::Status();
}

int MemJournal::observation_writes() const {
  std::lock_guard<std::mutex> g(mu_);
  return observation_writes_;
}

base::Status MemJournal::Remove(const std::string& key) {
  std::lock_guard<std::mutex> g(mu_);
  if (fail_writes_ > 0) {
    --fail_writes_;
    return fail_status_;
  }
  ++writes_;
  entries_.erase(key);
  return base::Status();
}

void MemJournal::FailWrites(int n, base::Status s) {
  std::lock_guard<std::mutex> g(mu_);
  fail_writes_ = n;
  fail_status_ = std::move(s);
}

int MemJournal::writes() const {
  std::lock_guard<std::mutex> g(mu_);
  return writes_;
}

// --- MemCredentialStore ---

base::Status MemCredentialStore::Save(const std::string& key, const store::Credentials& c) {
  std::lock_guard<std::mutex> g(mu_);
  if (fail_ > 0) {
    --fail_;
    return base::UnavailableError("disk full");
  }
  store::Credentials r = c;
  r.key = key;
  if (!c.instance_id.empty() && !by_id_.contains(c.instance_id)) by_id_[c.instance_id] = r;
  creds_[key] = r;
  return base::Status();
}

base::StatusOr<store::Credentials> MemCredentialStore::LoadInstance(const std::string& id) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return base::NotFoundError("no credentials for instance " + id);
  return it->second;
}

base::StatusOr<std::vector<store::Credentials>> MemCredentialStore::History(
    const std::string& key) const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<store::Credentials> out;
  auto cur = creds_.find(key);
  if (cur != creds_.end()) out.push_back(cur->second);
  for (const auto& [id, c] : by_id_) {
    if (c.key == key && (cur == creds_.end() || cur->second.instance_id != id)) out.push_back(c);
  }
  return out;
}

base::Status MemCredentialStore::Link(const std::string& key, const std::string& id) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return base::NotFoundError("no credentials for instance " + id);
  creds_[key] = it->second;
  return base::Status();
}

base::StatusOr<store::Credentials> MemCredentialStore::Load(const std::string& key) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = creds_.find(key);
  if (it == creds_.end()) return base::NotFoundError("no credentials for " + key);
  return it->second;
}

void MemCredentialStore::FailSaves(int n) {
  std::lock_guard<std::mutex> g(mu_);
  fail_ = n;
}

std::map<std::string, store::Credentials> MemCredentialStore::all() const {
  std::lock_guard<std::mutex> g(mu_);
  return creds_;
}

// --- StaticSpecSource ---

void StaticSpecSource::Set(std::vector<spec::InstanceSpec> specs, std::set<std::string> invalid,
                           bool complete) {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<spec::CustomerManagedKeySpec> keys = std::move(result_.keys);
  result_ = spec::LoadResult();
  result_.keys = std::move(keys);
  result_.specs = std::move(specs);
  result_.invalid_keys = std::move(invalid);
  result_.complete = complete;
  result_.documents = static_cast<int>(result_.specs.size() + result_.invalid_keys.size());
  ++version_;
}

void StaticSpecSource::SetKeys(std::vector<spec::CustomerManagedKeySpec> keys) {
  std::lock_guard<std::mutex> g(mu_);
  result_.keys = std::move(keys);
  ++version_;
}

spec::LoadDelta StaticSpecSource::Load() {
  std::lock_guard<std::mutex> g(mu_);
  return spec::FullDelta(result_);
}

std::string StaticSpecSource::Fingerprint() {
  std::lock_guard<std::mutex> g(mu_);
  return std::to_string(version_);
}

spec::InstanceSpec MakeSpec(const std::string& name, const std::string& tenant) {
  spec::InstanceSpec s;
  s.name = name;
  s.aura_name = name;
  s.tenant_id = tenant;
  s.cloud_provider = "gcp";
  s.region = "europe-west1";
  s.type = "professional-db";
  s.version = "5";
  s.memory = "4GB";
  s.storage = "8GB";
  return s;
}

bool Converge(Controller& c, FakeAuraApi& api, base::FakeClock& clock, int limit,
              bool first_pass_ok) {
  const base::Status first = c.StartPass();
  if (first_pass_ok && !first.ok()) return false;
  for (int i = 0; i < limit; ++i) {
    c.ProcessReady();
    if (c.Converged()) return true;
    api.SettleAll();
    clock.Advance(std::chrono::seconds(5));
    if (i % 12 == 11) (void)c.StartPass();
  }
  return c.Converged();
}

}  // namespace aura::reconcile::testing
