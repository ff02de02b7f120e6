#include "pkg/reconcile/controller.h"

#include <algorithm>
#include <random>
#include <thread>

namespace aura::reconcile {
namespace {

using base::Status;
using base::StatusCode;

bool IsTerminal(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
    case StatusCode::kAlreadyExists:
      return true;
    default:
      return false;
  }
}

base::Duration Jittered(base::Duration d, double jitter, std::mt19937_64* rng) {
  std::uniform_real_distribution<double> u(1.0 - jitter, 1.0 + jitter);
  return std::chrono::duration_cast<base::Duration>(d * u(*rng));
}

}  // namespace

Controller::Controller(ControllerOptions options, api::AuraApi& api, store::Journal& journal,
                       store::CredentialStore& credentials, SpecSource& specs, base::Clock& clock,
                       metrics::Metrics& metrics, base::Logger log)
    : options_(options),
      api_(api),
      journal_(journal),
      specs_(specs),
      clock_(clock),
      metrics_(metrics),
      log_(log),
      executor_(api, journal, credentials, clock, metrics, log),
      queue_(clock, WorkQueueOptions{options.failure_base, options.failure_max, options.seed}) {}

Controller::~Controller() { queue_.ShutDown(); }

bool Controller::RefreshSpecs(bool force) {
  std::string fp = specs_.Fingerprint();
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    if (!force && specs_loaded_ && fp == fingerprint_) return false;
  }
  spec::LoadResult r = specs_.Load();
  for (const auto& d : r.errors) {
    log_.Warn("spec error", {{"key", d.key}, {"error", d.Format()}});
  }
  std::set<std::string> keys;
  const std::size_t valid = r.specs.size();
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    for (const auto& [k, _] : desired_) keys.insert(k);
    desired_.clear();
    // Moved, and the loader's vector freed: at 10,000 specs a second copy cost ~25 MiB at the
    // controller's peak (docs/BENCHMARKS.md).
    for (auto& s : r.specs) {
      std::string key = s.key();
      desired_.insert_or_assign(std::move(key), std::move(s));
    }
    r.specs = {};
    invalid_keys_ = r.invalid_keys;
    complete_ = r.complete;
    fingerprint_ = fp;
    specs_loaded_ = true;
    for (const auto& [k, _] : desired_) keys.insert(k);
    keys.insert(invalid_keys_.begin(), invalid_keys_.end());
  }
  log_.Info("specs loaded", {{"files", r.files},
                             {"documents", r.documents},
                             {"valid", valid},
                             {"invalid", r.invalid_keys.size()},
                             {"skipped", r.skipped},
                             {"complete", r.complete}});
  (void)journal_.ForEach([&keys](const store::JournalEntry& e) { keys.insert(e.key); });
  for (const auto& k : keys) queue_.Add(k);
  return true;
}

std::set<std::string> Controller::AllKeys() const {
  std::set<std::string> keys;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    for (const auto& [k, _] : desired_) keys.insert(k);
    keys.insert(invalid_keys_.begin(), invalid_keys_.end());
  }
  (void)journal_.ForEach([&keys](const store::JournalEntry& e) { keys.insert(e.key); });
  return keys;
}

std::shared_ptr<const Owners> Controller::CurrentOwners() {
  std::lock_guard<std::mutex> g(owners_mu_);
  if (!owners_) {
    auto journal = journal_.List();
    if (!journal.ok()) return std::make_shared<const Owners>();
    owners_ = std::make_shared<const Owners>(OwnersOf(*journal));
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

Status Controller::FetchDetail(const std::string& id, ratelimit::Priority priority) {
  const base::SystemTime sent = clock_.SystemNow();
  auto r = api_.GetInstance(id, priority);
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
  std::unique_lock<std::shared_mutex> g(obs_mu_);
  observed_.instances[id] = std::move(o);
  return Status();
}

std::set<std::string> Controller::TenantsLocked() const {
  std::set<std::string> tenants;
  for (const auto& [_, s] : desired_) tenants.insert(s.tenant_id);
  return tenants;
}

void Controller::CheckConfigurations(bool force) {
  if (!options_.check_configurations) return;
  std::vector<spec::InstanceSpec> specs;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    const bool fresh = configs_checked_ && configs_checked_fingerprint_ == fingerprint_ &&
                       clock_.Now() - *configs_checked_ < options_.configurations_refresh;
    if (fresh && !force) return;
    for (const auto& [_, s] : desired_) specs.push_back(s);
  }
  std::set<std::string> tenants;
  for (const auto& s : specs) tenants.insert(s.tenant_id);
  std::map<std::string, std::vector<spec::Combination>> offered;
  for (const auto& t : tenants) {
    auto r = api_.GetTenant(t, ratelimit::Priority::kPoll);
    if (!r.ok()) {
      // Unchecked, not invalid: the create itself will be refused if the combination is wrong.
      log_.Warn("could not fetch the tenant's instance configurations", [&] {
        nlohmann::json f = base::StatusFields(r.status());
        f["tenant_id"] = t;
        return f;
      }());
      continue;
    }
    auto& list = offered[t];
    for (const auto& c : r->data.instance_configurations) {
      list.push_back({c.cloud_provider, c.region, c.type, c.memory, c.storage, c.version});
    }
  }
  std::map<std::string, std::string> errors;
  for (const auto& d : spec::CheckConfigurations(specs, offered)) {
    errors[d.key] = d.Format();
    log_.Warn("spec not offered by its tenant", {{"key", d.key}, {"error", d.Format()}});
  }
  std::lock_guard<std::mutex> g(desired_mu_);
  config_errors_ = std::move(errors);
  configs_checked_ = clock_.Now();
  configs_checked_fingerprint_ = fingerprint_;
}

std::string Controller::ConfigError(const std::string& key) const {
  std::lock_guard<std::mutex> g(desired_mu_);
  auto it = config_errors_.find(key);
  return it == config_errors_.end() ? "" : it->second;
}

std::size_t Controller::BusyKeys() const {
  std::vector<std::string> desired;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    for (const auto& [k, s] : desired_) {
      if (!s.suspend) desired.push_back(k);
    }
  }
  std::size_t busy = 0;
  std::lock_guard<std::mutex> g(state_mu_);
  for (const auto& k : desired) {
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
  CheckConfigurations(false);
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
  Status list_status;
  const base::SystemTime now = clock_.SystemNow();
  for (const auto& t : tenants) {
    Status s = FetchListing(t, now);
    if (!s.ok()) {
      list_status = s;
      log_.Warn("LIST failed", base::StatusFields(s));
    }
  }
  {
    std::lock_guard<std::mutex> g(state_mu_);
    if (list_status.ok()) health_.last_list_ok = clock_.Now();
    health_.last_error = list_status.ok() ? "" : list_status.ToString();
    deletes_this_pass_ = 0;
  }
  // Drift checks: the oldest observations first, within the budget's share for this pass, less
  // one per key that has work of its own (a create, a change, an operation to poll, a retry):
  // that work comes first (DESIGN.md priorities), and a drift GET sent while it is pending takes
  // one of its slots, since workers send whatever is ready when the limiter has room.
  const double passes_per_window =
      base::ToSeconds(options_.rate_window) / std::max(1e-9, base::ToSeconds(options_.resync));
  auto budget = static_cast<std::size_t>(options_.rate_limit * options_.drift_share /
                                         std::max(1.0, passes_per_window));
  const std::size_t busy = BusyKeys();
  budget = budget > busy ? budget - busy : 0;
  std::vector<std::pair<std::string, std::string>> settled;  // key, instance id
  (void)journal_.ForEach([&settled](const store::JournalEntry& e) {
    if (!e.instance_id.empty() && !e.intent) settled.emplace_back(e.key, e.instance_id);
  });
  std::vector<std::pair<base::SystemTime, std::string>> candidates;
  {
    std::shared_lock<std::shared_mutex> g(obs_mu_);
    for (const auto& [k, id] : settled) {
      auto o = observed_.instances.find(id);
      if (o == observed_.instances.end() || !o->second.found) continue;
      if (!IsStable(o->second.instance.status)) continue;
      if (now - o->second.observed_at < options_.resync / 2) continue;
      candidates.emplace_back(o->second.observed_at, k);
    }
  }
  std::sort(candidates.begin(), candidates.end());
  if (candidates.size() > budget) candidates.resize(budget);
  {
    std::lock_guard<std::mutex> g(state_mu_);
    for (const auto& [_, k] : candidates) keys_[k].drift_due = true;
  }
  for (const auto& k : AllKeys()) queue_.AddUnlessBackingOff(k);
  UpdateGauges();
  return list_status;
}

int Controller::ProcessReady() {
  int n = 0;
  const int bound = 20 * static_cast<int>(AllKeys().size()) + 100;
  while (n < bound) {
    auto key = queue_.TryGet();
    if (!key) break;
    ReconcileKey(*key);
    queue_.Done(*key);
    ++n;
  }
  UpdateGauges();
  return n;
}

void Controller::ReconcileKey(const std::string& key) {
  const base::TimePoint started = clock_.Now();
  std::optional<spec::InstanceSpec> spec;
  bool invalid = false;
  PlanOptions popts = options_.plan;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    auto it = desired_.find(key);
    if (it != desired_.end()) spec = it->second;
    invalid = invalid_keys_.contains(key) || config_errors_.contains(key);
    popts.deletions_safe = popts.deletions_safe && complete_;
  }
  Status result;
  std::string request_id;
  KeyPlan plan;
  auto finish = [&](std::string_view outcome) {
    metrics_.ReconcileTotal(outcome).Increment();
    metrics_.reconcile_duration.Observe(base::ToSeconds(clock_.Now() - started));
  };

  std::optional<store::JournalEntry> entry_value;
  if (auto e = journal_.Get(key); e.ok()) {
    entry_value = std::move(*e);
  } else if (e.status().code() != StatusCode::kNotFound) {
    result = e.status().WithContext("reading the journal");
    queue_.AddRateLimited(key);
    Record(key, plan, result, "");
    finish("error");
    return;
  }
  const store::JournalEntry* entry = entry_value ? &*entry_value : nullptr;
  if (!spec && !entry && !invalid) {
    // Neither desired nor remembered (e.g. just forgotten): nothing to do or report.
    std::lock_guard<std::mutex> g(state_mu_);
    keys_.erase(key);
    metrics_.ReconcileTotal("success").Increment();
    return;
  }
  const std::shared_ptr<const Owners> owners = CurrentOwners();

  // Refresh the instance's details when needed: unknown, an operation in flight, or a drift
  // check chosen by the pass.
  bool fetched_detail = false;
  if (entry && !entry->instance_id.empty() && !entry->intent && !invalid &&
      !(spec && spec->suspend)) {
    bool need = false;
    auto priority = ratelimit::Priority::kPoll;
    {
      std::shared_lock<std::shared_mutex> g(obs_mu_);
      auto o = observed_.instances.find(entry->instance_id);
      need = o == observed_.instances.end() ||
             (o->second.found && !IsStable(o->second.instance.status));
    }
    {
      std::lock_guard<std::mutex> g(state_mu_);
      KeyState& ks = keys_[key];
      if (ks.drift_due && !need) {
        need = true;
        priority = ratelimit::Priority::kDrift;
      }
      ks.drift_due = false;
    }
    if (need) {
      result = FetchDetail(entry->instance_id, priority);
      fetched_detail = true;
    }
  }

  for (int round = 0; result.ok() && round < 4; ++round) {
    {
      std::shared_lock<std::shared_mutex> g(obs_mu_);
      plan = PlanKey(spec ? &*spec : nullptr, invalid, entry, observed_, *owners,
                     clock_.SystemNow(), popts);
    }
    if (std::string e = ConfigError(key); !e.empty()) plan.status.message = e;
    if (plan.need_listing_after && *plan.need_listing_after <= clock_.SystemNow()) {
      base::SystemTime after = *plan.need_listing_after;
      {
        std::shared_lock<std::shared_mutex> g(obs_mu_);
        auto l = observed_.listings.find(plan.tenant_id);
        if (l != observed_.listings.end() && l->second.fetched_at >= after) break;
      }
      result = FetchListing(plan.tenant_id, after);
      continue;
    }
    if (plan.need_detail && !fetched_detail && !plan.status.aura_id.empty()) {
      result = FetchDetail(plan.status.aura_id, ratelimit::Priority::kPoll);
      fetched_detail = true;
      continue;
    }
    break;
  }

  bool wrote = false;
  std::optional<ActionType> write_kind;
  bool journal_only = false;
  if (result.ok()) {
    for (const Action& a : plan.actions) {
      if (a.type == ActionType::kDelete) {
        std::lock_guard<std::mutex> g(state_mu_);
        if (deletes_this_pass_ >= options_.plan.max_deletes) {
          plan.status.message = "delete held: --max-deletes (" +
                                std::to_string(options_.plan.max_deletes) +
                                ") reached in this pass";
          break;
        }
        ++deletes_this_pass_;
      }
      ActionResult r = executor_.Execute(a);
      if (r.journal_changed) InvalidateOwners();
      if (r.observation) {
        std::unique_lock<std::shared_mutex> g(obs_mu_);
        observed_.instances[r.observation->first] = r.observation->second;
      }
      if (!r.request_id.empty()) request_id = r.request_id;
      if (!r.status.ok()) {
        result = r.status;
        break;
      }
      if (a.IsApiWrite()) {
        wrote = true;
        write_kind = a.type;
      } else {
        journal_only = true;
      }
    }
  }

  std::string outcome = "success";
  if (!result.ok()) {
    const Status& s = result;
    if (s.code() == StatusCode::kCancelled) {
      outcome = "requeue";
    } else if (s.code() == StatusCode::kConflict) {
      queue_.AddAfter(key, options_.poll_initial);
      outcome = "requeue";
    } else if (s.code() == StatusCode::kThrottled) {
      queue_.AddAfter(
          key, s.retry_after().value_or(
                   std::chrono::duration_cast<std::chrono::milliseconds>(options_.poll_initial)));
      outcome = "requeue";
    } else if (s.code() == StatusCode::kAmbiguous) {
      queue_.AddAfter(key, options_.poll_initial);
      outcome = "error";
    } else if (IsTerminal(s)) {
      queue_.AddRateLimited(key);
      outcome = "terminal";
    } else {
      queue_.AddRateLimited(key);
      outcome = "error";
    }
    log_.Log(outcome == "requeue" ? base::LogLevel::kInfo : base::LogLevel::kWarn,
             "reconcile did not complete", [&] {
               nlohmann::json f = base::StatusFields(s);
               f["key"] = key;
               return f;
             }());
  } else {
    queue_.Forget(key);
    base::Duration poll{};
    {
      std::lock_guard<std::mutex> g(state_mu_);
      KeyState& ks = keys_[key];
      const bool repeated = wrote && write_kind == ks.last_write;
      if (wrote && !repeated) {
        // A new operation: its polls start again from the shortest interval, whatever the
        // previous operation's polls had grown to.
        ks.poll_delay = options_.poll_initial;
        ks.last_write = write_kind;
      } else if (repeated || (plan.need_detail && plan.actions.empty())) {
        ks.poll_delay = ks.poll_delay == base::Duration::zero()
                            ? options_.poll_initial
                            : std::min(ks.poll_delay * 2, options_.poll_max);
      } else {
        ks.poll_delay = base::Duration::zero();
        ks.last_write.reset();
      }
      poll = ks.poll_delay;
    }
    if (plan.requeue_after) {
      queue_.AddAfter(
          key, std::max<base::Duration>(*plan.requeue_after, std::chrono::milliseconds(100)));
    } else if (poll > base::Duration::zero()) {
      queue_.AddAfter(key, poll);
    } else if (journal_only) {
      queue_.Add(key);  // e.g. after adopting: observe the instance now
    } else if (plan.need_listing_after) {
      queue_.AddAfter(key, options_.poll_initial);
    }
    if (plan.status.phase == kPhaseSuspended || invalid) outcome = "skipped";
  }
  Record(key, plan, result, request_id);
  finish(outcome);
}

void Controller::Record(const std::string& key, const KeyPlan& plan, const Status& result,
                        const std::string& request_id) {
  std::lock_guard<std::mutex> g(state_mu_);
  const bool forgotten =
      !plan.actions.empty() && result.ok() && plan.actions.back().type == ActionType::kForget;
  if (forgotten) {
    keys_.erase(key);
    return;
  }
  KeyState& ks = keys_[key];
  const std::string previous_request_id = ks.status.last_request_id;
  ks.status = plan.status;
  ks.status.key = key;
  ks.has_status = true;
  ks.terminal = plan.terminal || (!result.ok() && IsTerminal(result));
  ks.status.synced = result.ok() && !plan.terminal;
  ks.status.synced_reason = result.ok() ? (plan.terminal ? "Blocked" : "ReconcileSucceeded")
                                        : std::string(base::StatusCodeName(result.code()));
  if (!result.ok()) {
    ks.status.last_error = result.ToString();
    if (ks.status.message.empty()) ks.status.message = result.message();
  }
  if (!request_id.empty()) {
    ks.status.last_request_id = request_id;
  } else if (!result.ok() && !result.request_id().empty()) {
    ks.status.last_request_id = result.request_id();
  } else if (ks.status.last_request_id.empty()) {
    ks.status.last_request_id = previous_request_id;
  }
  if (ks.status.ready_reason.empty()) ks.status.ready_reason = ks.status.phase;
}

void Controller::UpdateGauges() {
  std::lock_guard<std::mutex> g(state_mu_);
  int desired = 0, observed = 0, in_sync = 0, drifted = 0, pending = 0, conflict = 0;
  {
    std::lock_guard<std::mutex> d(desired_mu_);
    desired = static_cast<int>(desired_.size());
  }
  for (const auto& [k, ks] : keys_) {
    if (!ks.has_status) continue;
    if (!ks.status.aura_status.empty()) ++observed;
    if (ks.status.ready) ++in_sync;
    if (ks.status.drifted) ++drifted;
    if (ks.status.pending_create) ++pending;
    if (ks.status.conflict) ++conflict;
  }
  metrics_.Instances("desired").Set(desired);
  metrics_.Instances("observed").Set(observed);
  metrics_.Instances("in_sync").Set(in_sync);
  metrics_.Instances("drifted").Set(drifted);
  metrics_.Instances("pending_create").Set(pending);
  metrics_.Instances("conflict").Set(conflict);
  metrics_.workqueue_depth.Set(static_cast<double>(queue_.Depth()));

  std::size_t duplicates = 0;
  std::optional<base::SystemTime> oldest;
  std::vector<std::string> ids;  // not the whole journal: this runs every --spec-poll
  Status read = journal_.ForEach([&](const store::JournalEntry& e) {
    duplicates += e.duplicate_ids.size();
    if (!e.instance_id.empty()) ids.push_back(e.instance_id);
  });
  if (read.ok()) {
    std::shared_lock<std::shared_mutex> o(obs_mu_);
    for (const std::string& id : ids) {
      auto it = observed_.instances.find(id);
      if (it == observed_.instances.end()) continue;
      if (!oldest || it->second.observed_at < *oldest) oldest = it->second.observed_at;
    }
  }
  metrics_.duplicate_instances.Set(static_cast<double>(duplicates));
  metrics_.observation_staleness.Set(
      oldest ? std::max(0.0, base::ToSeconds(clock_.SystemNow() - *oldest)) : 0.0);
}

std::vector<SpecStatus> Controller::Statuses() const {
  std::vector<SpecStatus> out;
  std::lock_guard<std::mutex> g(state_mu_);
  for (const auto& [k, ks] : keys_) {
    if (ks.has_status) out.push_back(ks.status);
  }
  return out;
}

bool Controller::Converged() const {
  std::set<std::string> desired;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    if (!specs_loaded_ || !invalid_keys_.empty() || !config_errors_.empty()) return false;
    for (const auto& [k, _] : desired_) desired.insert(k);
  }
  if (executor_.HasUnsavedCredentials()) return false;
  std::lock_guard<std::mutex> g(state_mu_);
  for (const auto& k : desired) {
    auto it = keys_.find(k);
    if (it == keys_.end() || !it->second.has_status) return false;
    const SpecStatus& s = it->second.status;
    if (!(s.ready || s.phase == kPhaseSuspended) || s.pending_create) return false;
  }
  for (const auto& [k, ks] : keys_) {
    if (desired.contains(k) || !ks.has_status) continue;
    // A removed spec still in the journal: converged only when nothing more will happen
    // (a delete held for --allow-delete, or incomplete specs).
    if (ks.status.phase != kPhaseRemoved || ks.status.pending_create) return false;
    if (ks.status.message.empty()) return false;
  }
  return true;
}

bool Controller::OnlyTerminalLeft() const {
  std::set<std::string> desired;
  std::set<std::string> invalid;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    for (const auto& [k, _] : desired_) desired.insert(k);
    invalid = invalid_keys_;
  }
  std::lock_guard<std::mutex> g(state_mu_);
  bool any = !invalid.empty();
  for (const auto& k : desired) {
    auto it = keys_.find(k);
    if (it == keys_.end() || !it->second.has_status) return false;
    const SpecStatus& s = it->second.status;
    if (s.ready || s.phase == kPhaseSuspended) continue;
    if (!it->second.terminal) return false;
    any = true;
  }
  return any;
}

Health Controller::GetHealth() const {
  Health h;
  {
    std::lock_guard<std::mutex> g(state_mu_);
    h = health_;
  }
  std::lock_guard<std::mutex> g(desired_mu_);
  h.specs_loaded = specs_loaded_;
  return h;
}

base::StatusOr<Plan> Controller::PlanOnly() {
  RefreshSpecs(true);
  CheckConfigurations(true);
  DesiredState desired;
  std::map<std::string, std::string> config_errors;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    for (const auto& [k, s] : desired_) {
      if (!config_errors_.contains(k)) desired.specs.push_back(s);
    }
    desired.invalid_keys = invalid_keys_;
    for (const auto& [k, _] : config_errors_) desired.invalid_keys.insert(k);
    desired.complete = complete_;
    config_errors = config_errors_;
  }
  auto journal = journal_.List();
  if (!journal.ok()) return journal.status();
  std::set<std::string> tenants;
  for (const auto& s : desired.specs) tenants.insert(s.tenant_id);
  for (const auto& [_, e] : *journal) {
    if (!e.tenant_id.empty()) tenants.insert(e.tenant_id);
    if (e.intent) tenants.insert(e.intent->tenant_id);
  }
  const base::SystemTime now = clock_.SystemNow();
  for (const auto& t : tenants) AURA_RETURN_IF_ERROR(FetchListing(t, now));
  for (const auto& [_, e] : *journal) {
    if (!e.instance_id.empty()) {
      AURA_RETURN_IF_ERROR(FetchDetail(e.instance_id, ratelimit::Priority::kPoll));
    }
  }
  std::shared_lock<std::shared_mutex> g(obs_mu_);
  Plan plan = PlanAll(desired, *journal, observed_, clock_.SystemNow(), options_.plan);
  for (auto& k : plan.keys) {
    auto e = config_errors.find(k.key);
    if (e != config_errors.end()) k.status.message = e->second;
  }
  return plan;
}

Status Controller::Apply(bool wait, base::TimePoint deadline,
                         const std::function<void(const std::vector<SpecStatus>&)>& progress,
                         std::stop_token stop) {
  AURA_RETURN_IF_ERROR(StartPass());
  base::TimePoint next_pass = clock_.Now() + options_.resync;
  while (true) {
    ProcessReady();
    if (progress) progress(Statuses());
    if (!wait) return Status();
    if (Converged()) return Status();
    if (OnlyTerminalLeft()) {
      return base::FailedPreconditionError(
          "some specs cannot converge without a change (see status): nothing more to do");
    }
    const base::TimePoint now = clock_.Now();
    if (now >= deadline) return base::DeadlineExceededError("not converged before --timeout");
    base::TimePoint next = std::min(next_pass, deadline);
    if (auto r = queue_.NextReady()) next = std::min(next, *r);
    if (next > now) {
      // Progress ticks at least every second on a terminal.
      next = std::min(next, now + std::chrono::seconds(1));
      if (!clock_.SleepUntil(next, stop)) {
        return base::CancelledError("interrupted");
      }
    }
    if (clock_.Now() >= next_pass) {
      Status s = StartPass();
      if (!s.ok()) log_.Warn("pass failed", base::StatusFields(s));
      next_pass = clock_.Now() + options_.resync;
    }
  }
}

void Controller::Run(std::stop_token stop) {
  std::vector<std::jthread> workers;
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers.emplace_back([this, stop] {
      while (auto key = queue_.Get(stop)) {
        ReconcileKey(*key);
        queue_.Done(*key);
      }
    });
  }
  std::mt19937_64 rng(options_.seed);
  base::TimePoint next_pass = clock_.Now();
  base::TimePoint next_poll = clock_.Now();
  auto& clock = clock_;
  while (!stop.stop_requested()) {
    const base::TimePoint now = clock.Now();
    {
      std::lock_guard<std::mutex> g(state_mu_);
      health_.heartbeat = now;
    }
    if (now >= next_pass) {
      Status s = StartPass();
      if (!s.ok()) log_.Warn("pass incomplete", base::StatusFields(s));
      next_pass = clock.Now() + Jittered(options_.resync, options_.resync_jitter, &rng);
      next_poll = clock.Now() + options_.spec_poll;
    } else if (now >= next_poll) {
      if (RefreshSpecs(false)) UpdateGauges();
      (void)executor_.FlushUnsavedCredentials();
      UpdateGauges();
      next_poll = clock.Now() + options_.spec_poll;
    }
    clock.SleepUntil(std::min(next_pass, next_poll), stop);
  }
  queue_.ShutDown();
  workers.clear();  // joins: each finishes the key it is on, journal write included
}

}  // namespace aura::reconcile
