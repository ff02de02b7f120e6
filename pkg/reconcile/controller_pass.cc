// Controller: observing the account (LISTs, detail GETs within the drift budget) and starting
// passes; PlanOnly for `plan`.
#include <algorithm>
#include <queue>

#include "pkg/reconcile/controller.h"
#include "pkg/reconcile/stored_observation.h"

namespace aura::reconcile {

using base::Status;
using base::StatusCode;

std::shared_ptr<const Owners> Controller::CurrentOwners() {
  std::lock_guard<std::mutex> g(owners_mu_);
  if (!owners_) {
    // Read in place, not copied: at 100,000 entries a List() copy was ~5% of a pass.
    auto owners = std::make_shared<Owners>();
    if (!journal_.ForEach([&owners](const store::JournalEntry& e) { AddOwners(e, owners.get()); })
             .ok()) {
      return std::make_shared<const Owners>();
    }
    owners_ = std::move(owners);
  }
  return owners_;
}

void Controller::InvalidateOwners() {
  std::lock_guard<std::mutex> g(owners_mu_);
  owners_.reset();
}

Status Controller::FetchListing(const std::string& tenant, base::SystemTime after) {
  std::lock_guard<std::mutex> one_at_a_time(list_mu_);
  {
    std::shared_lock<std::shared_mutex> g(obs_mu_);
    auto it = observed_.listings.find(tenant);
    if (it != observed_.listings.end() && it->second.fetched_at >= after) return Status();
  }
  // Taken before the request: the LIST shows everything created before it was sent.
  const base::SystemTime sent = clock_.SystemNow();
  auto r = api_.ListInstances(tenant, ratelimit::Priority::kPoll);
  NoteApi(r.status());
  if (!r.ok()) return r.status().WithContext("listing tenant " + tenant);
  TenantListing l;
  l.instances = std::move(r->data);
  l.fetched_at = sent;
  l.request_id = r->request_id;
  l.Index();
  std::unique_lock<std::shared_mutex> g(obs_mu_);
  observed_.listings[tenant] = std::move(l);
  return Status();
}

void Controller::StoreObservation(const std::string& id, InstanceObservation o,
                                  const std::string& key) {
  std::optional<store::StoredObservation> keep;
  {
    std::unique_lock<std::shared_mutex> g(obs_mu_);
    InstanceObservation& slot = observed_.instances[id];
    const bool same_status = slot.found && o.found && slot.instance.status == o.instance.status &&
                             slot.status_since != base::SystemTime{};
    o.status_since = same_status ? slot.status_since : o.observed_at;
    // Kept in the journal when it says something new (issue 21): a restart starts from it.
    // An unchanged instance is not rewritten on every drift check; its stored time then lags,
    // so after a restart it is among the first refreshed.
    if (o.found && options_.keep_observations) {
      std::string now_json = EncodeObservedInstance(o.instance);
      if (!slot.found || slot.stale || EncodeObservedInstance(slot.instance) != now_json) {
        keep = store::StoredObservation{std::move(now_json), o.observed_at, o.status_since};
      }
    }
    slot = std::move(o);
  }
  if (!keep) return;
  std::string owner = key;
  if (owner.empty()) {
    const std::shared_ptr<const Owners> owners = CurrentOwners();
    auto it = owners->find(id);
    if (it == owners->end()) return;
    owner = it->second;
  }
  // A cache: a failed write costs a GET after the next restart, nothing else. The journal
  // ignores it when the entry no longer has this instance.
  if (Status s = journal_.PutObservation(owner, id, *keep); !s.ok()) {
    nlohmann::json fields = base::StatusFields(s);
    fields["key"] = owner;
    log_.Debug("observation not kept in the journal", fields);
  }
}

bool Controller::ObservationStale(const std::string& id) const {
  std::shared_lock<std::shared_mutex> g(obs_mu_);
  auto it = observed_.instances.find(id);
  return it != observed_.instances.end() && it->second.stale;
}

void Controller::LoadStoredObservations() {
  std::vector<std::pair<std::string, store::StoredObservation>> stored;  // instance id
  Status read = journal_.ForEach([&stored](const store::JournalEntry& e) {
    if (e.observation && !e.instance_id.empty() && !e.intent) {
      stored.emplace_back(e.instance_id, *e.observation);
    }
  });
  if (!read.ok()) {
    log_.Warn("stored observations not loaded", base::StatusFields(read));
    return;
  }
  std::size_t loaded = 0;
  std::unique_lock<std::shared_mutex> g(obs_mu_);
  for (auto& [id, so] : stored) {
    std::optional<api::Instance> instance = DecodeObservedInstance(so.instance_json);
    if (!instance || observed_.instances.count(id) > 0) continue;
    InstanceObservation o;
    o.found = true;
    o.instance = std::move(*instance);
    if (o.instance.id.empty()) o.instance.id = id;
    o.observed_at = so.observed_at;
    o.status_since = so.status_since;
    o.stale = true;
    observed_.instances.emplace(id, std::move(o));
    ++loaded;
  }
  if (loaded > 0) {
    log_.Info("started from the observations kept in the journal (refreshed oldest first)",
              {{"instances", loaded}});
  }
}

Status Controller::FetchDetail(const std::string& id, ratelimit::Priority priority,
                               const std::string& key) {
  const base::SystemTime sent = clock_.SystemNow();
  auto r = api_.GetInstance(id, priority);
  NoteApi(r.status());
  InstanceObservation o;
  o.observed_at = sent;
  if (r.ok()) {
    o.found = true;
    o.instance = std::move(r->data);
    o.request_id = r->request_id;
  } else if (r.status().code() == StatusCode::kNotFound) {
    o.found = false;
    o.request_id = r.status().request_id();
  } else {
    return r.status().WithContext("getting instance " + id);
  }
  StoreObservation(id, std::move(o), key);
  return Status();
}

std::set<std::string> Controller::TenantsLocked() const {
  std::set<std::string> tenants;
  for (const auto& [_, s] : desired_) tenants.insert(s->tenant_id);
  return tenants;
}

std::size_t Controller::BusyKeys() const {
  std::size_t busy = 0;
  // state_mu_ before desired_mu_, as UpdateGauges takes them.
  std::lock_guard<std::mutex> g(state_mu_);
  std::lock_guard<std::mutex> d(desired_mu_);
  for (const auto& [k, s] : desired_) {
    if (s->suspend) continue;
    auto it = keys_.find(k);
    if (it == keys_.end() || !it->second.has_status) {
      ++busy;  // never reconciled yet: a new spec
    } else if (!it->second.terminal && !it->second.status.ready) {
      ++busy;
    }
  }
  return busy;
}

Status Controller::StartPass() {
  RefreshSpecs(false);
  LoadOperations();
  CheckConfigurations(false);
  bool key_work = false;
  for (const KeyChange& c : ReconcileCustomerManagedKeys(/*execute=*/true)) {
    key_work = key_work || c.IsChange() || c.retry;
    log_.Info(c.IsChange() ? "customer-managed key change" : "customer-managed key waits",
              {{"key", c.spec_key}, {"action", c.op}, {"key_id", c.key_id}, {"reason", c.message}});
  }
  {
    std::lock_guard<std::mutex> g(state_mu_);
    key_work_pending_ = key_work;
  }
  std::set<std::string> tenants;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    tenants = TenantsLocked();
  }
  Status read = journal_.ForEach([&tenants](const store::JournalEntry& e) {
    if (!e.tenant_id.empty()) tenants.insert(e.tenant_id);
    if (e.intent) tenants.insert(e.intent->tenant_id);
  });
  if (!read.ok()) return read.WithContext("reading the journal");
  InvalidateOwners();
  // With nothing to list, one unfiltered LIST still proves the API and credentials work.
  if (tenants.empty()) tenants.insert("");
  // A tenant that fails blocks only its own specs; the pass fails when none works.
  Status list_status;
  std::map<std::string, std::string> tenant_errors;
  int listed = 0;
  const base::SystemTime now = clock_.SystemNow();
  for (const auto& t : tenants) {
    Status s = FetchListing(t, now);
    if (!s.ok()) {
      list_status = s;
      tenant_errors[t] = s.ToString();
      nlohmann::json fields = base::StatusFields(s);
      fields["tenant_id"] = t;
      log_.Warn("LIST failed", fields);
    } else {
      ++listed;
    }
  }
  if (listed > 0) list_status = Status();
  {
    std::lock_guard<std::mutex> g(state_mu_);
    if (listed > 0) health_.last_list_ok = clock_.Now();
    health_.last_error = list_status.ok() ? "" : list_status.ToString();
    health_.tenant_errors = listed > 0 ? std::move(tenant_errors) : decltype(tenant_errors){};
    deletes_this_pass_ = 0;
  }
  // Drift checks: the oldest observations first, within the budget's share for this pass, less
  // one per key that has work of its own (a create, a change, an operation to poll, a retry):
  // that work comes first (DESIGN.md priorities), and a drift GET sent while it is pending takes
  // one of its slots, since workers send whatever is ready when the limiter has room.
  const double passes_per_window =
      base::ToSeconds(options_.rate_window) / std::max(1e-9, base::ToSeconds(options_.resync));
  const int rate_limit =
      options_.current_rate_limit ? options_.current_rate_limit() : options_.rate_limit;
  auto budget = static_cast<std::size_t>(rate_limit * options_.drift_share /
                                         std::max(1.0, passes_per_window));
  const std::size_t busy = BusyKeys();
  budget = budget > busy ? budget - busy : 0;
  // The `budget` oldest observations of settled instances (stable, seen at least half a resync
  // ago), by (time, key): a bounded heap filled while the journal is read in place, inside the
  // observations' read lock (never the other way round). Copying every (key, id) first and
  // sorting them all was ~10% of a pass at 100,000 keys.
  using Candidate = std::pair<base::SystemTime, std::string>;
  std::priority_queue<Candidate> oldest;  // top: the newest of those kept
  if (budget > 0) {
    std::shared_lock<std::shared_mutex> g(obs_mu_);
    (void)journal_.ForEach([&](const store::JournalEntry& e) {
      if (e.instance_id.empty() || e.intent) return;
      auto o = observed_.instances.find(e.instance_id);
      if (o == observed_.instances.end() || !o->second.found) return;
      if (!IsStable(o->second.instance.status)) return;
      const base::SystemTime at = o->second.observed_at;
      if (now - at < options_.resync / 2) return;
      if (oldest.size() < budget) {
        oldest.emplace(at, e.key);
      } else if (at < oldest.top().first ||
                 (at == oldest.top().first && e.key < oldest.top().second)) {
        oldest.pop();
        oldest.emplace(at, e.key);
      }
    });
  }
  std::vector<Candidate> candidates;
  candidates.reserve(oldest.size());
  for (; !oldest.empty(); oldest.pop()) candidates.push_back(oldest.top());
  {
    std::lock_guard<std::mutex> g(state_mu_);
    for (const auto& [_, k] : candidates) keys_[k].drift_due = true;
  }
  // Every key, but those whose operation's next poll is already queued for later: the poll
  // comes at its time, not with the pass (a GET then would only see it still in flight).
  std::set<std::string> polls_pending;
  {
    const base::TimePoint mono_now = clock_.Now();
    std::lock_guard<std::mutex> g(state_mu_);
    for (const auto& [k, ks] : keys_) {
      if (ks.poll_at && *ks.poll_at > mono_now) polls_pending.insert(k);
    }
  }
  // Enqueued straight from where the keys are (the queue ignores a key already queued): at
  // 100,000 keys a set of every key first was ~7% of a pass.
  auto add = [&](const std::string& k) {
    if (!polls_pending.contains(k)) queue_.AddUnlessBackingOff(k);
  };
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    for (const auto& [k, _] : desired_) add(k);
    for (const auto& k : invalid_keys_) add(k);
  }
  (void)journal_.ForEach([&add](const store::JournalEntry& e) { add(e.key); });
  UpdateGauges();
  return list_status;
}

base::StatusOr<Plan> Controller::PlanOnly() {
  RefreshSpecs(true);
  CheckConfigurations(true);
  DesiredState desired;
  std::map<std::string, std::string> config_errors;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    for (const auto& [k, s] : desired_) {
      if (!config_errors_.contains(k)) desired.specs.push_back(*s);
    }
    desired.invalid_keys = invalid_keys_;
    for (const auto& [k, _] : config_errors_) desired.invalid_keys.insert(k);
    desired.complete = complete_;
    config_errors = config_errors_;
  }
  // A spec waiting for its customer-managed key is planned as blocked, never as removed.
  std::map<std::string, std::string> waiting_for_key;
  std::vector<spec::InstanceSpec> ready_specs;
  for (auto& s : desired.specs) {
    if (std::string w = s.suspend ? "" : ResolveKeyRef(&s); !w.empty()) {
      waiting_for_key[s.key()] = w;
      desired.invalid_keys.insert(s.key());
    } else {
      ready_specs.push_back(std::move(s));
    }
  }
  desired.specs = std::move(ready_specs);
  auto journal = journal_.List();
  if (!journal.ok()) return journal.status();
  std::set<std::string> tenants;
  for (const auto& s : desired.specs) tenants.insert(s.tenant_id);
  for (const auto& [_, e] : *journal) {
    if (!e.tenant_id.empty()) tenants.insert(e.tenant_id);
    if (e.intent) tenants.insert(e.intent->tenant_id);
  }
  const base::SystemTime now = clock_.SystemNow();
  // A tenant that fails is reported on its specs; the plan fails only when none works.
  std::map<std::string, Status> tenant_errors;
  for (const auto& t : tenants) {
    if (Status s = FetchListing(t, now); !s.ok()) tenant_errors[t] = s;
  }
  if (!tenants.empty() && tenant_errors.size() == tenants.size()) {
    return tenant_errors.begin()->second;
  }
  for (const auto& [_, e] : *journal) {
    if (!e.instance_id.empty() && !tenant_errors.contains(e.tenant_id)) {
      AURA_RETURN_IF_ERROR(FetchDetail(e.instance_id, ratelimit::Priority::kPoll, e.key));
    }
  }
  auto plan_all = [&] {
    std::shared_lock<std::shared_mutex> g(obs_mu_);
    return PlanAll(desired, *journal, observed_, clock_.SystemNow(), options_.plan);
  };
  Plan plan = plan_all();
  // Instances the plan must read first (an adoption shows what it changes).
  bool fetched = false;
  for (const auto& k : plan.keys) {
    if (!k.need_detail || k.status.aura_id.empty()) continue;
    bool known = false;
    {
      std::shared_lock<std::shared_mutex> g(obs_mu_);
      known = observed_.instances.contains(k.status.aura_id);
    }
    if (!known) {
      AURA_RETURN_IF_ERROR(FetchDetail(k.status.aura_id, ratelimit::Priority::kPoll, k.key));
      fetched = true;
    }
  }
  if (fetched) plan = plan_all();
  plan.key_changes = ReconcileCustomerManagedKeys(/*execute=*/false);
  std::map<std::string, std::string> files;  // key -> spec file
  for (const auto& s : desired.specs) files[s.key()] = s.location.file;
  for (auto& k : plan.keys) {
    auto e = config_errors.find(k.key);
    if (e != config_errors.end()) k.status.message = e->second;
    if (auto w = waiting_for_key.find(k.key); w != waiting_for_key.end()) {
      k.status.phase = std::string(kPhasePending);
      k.status.message = w->second;
      k.terminal = false;
    }
    auto t = tenant_errors.find(k.tenant_id);
    if (t == tenant_errors.end()) continue;
    k.actions.clear();
    k.status.phase = std::string(kPhaseError);
    k.status.message = "tenant " + k.tenant_id + " fails: " + t->second.ToString() +
                       "; nothing is planned for this spec" +
                       (files[k.key].empty() ? "" : " (" + files[k.key] + ")");
  }
  std::shared_lock<std::shared_mutex> g(obs_mu_);
  if (secrets_) AURA_RETURN_IF_ERROR(PlanConnectionSecrets(desired, *journal, observed_, &plan));
  return plan;
}

void Controller::NoteApi(const Status& s) {
  // Unavailable and DeadlineExceeded: no HTTP answer (refused, unresolvable, timed out, 5xx
  // after retries). Anything else is an answer, even a refusal.
  const bool answered =
      s.ok() || (s.code() != StatusCode::kUnavailable &&
                 s.code() != StatusCode::kDeadlineExceeded && s.code() != StatusCode::kCancelled);
  std::lock_guard<std::mutex> g(state_mu_);
  if (answered) {
    last_api_answer_ = clock_.Now();
  } else {
    last_api_error_ = s.message();
  }
}

std::optional<Controller::ApiOutage> Controller::Outage(base::Duration threshold,
                                                        base::TimePoint since) const {
  std::lock_guard<std::mutex> g(state_mu_);
  const base::TimePoint from = last_api_answer_ ? std::max(*last_api_answer_, since) : since;
  const base::Duration d = clock_.Now() - from;
  if (d < threshold || last_api_error_.empty()) return std::nullopt;
  return ApiOutage{d, last_api_error_};
}

std::string Controller::LastApiError() const {
  std::lock_guard<std::mutex> g(state_mu_);
  return last_api_error_;
}

}  // namespace aura::reconcile
