#include "pkg/reconcile/controller.h"

#include <algorithm>
#include <random>
#include <thread>

namespace aura::reconcile {
namespace {

using base::Status;
using base::StatusCode;

// Whether `plan` writes to its instance, or records something about it that an observation
// decided (a field that never reads back).
bool ActsOnInstance(const KeyPlan& plan) {
  return std::any_of(plan.actions.begin(), plan.actions.end(),
                     [](const Action& a) { return ActsOnExistingInstance(a.type); });
}

// The shortest time before a key comes back for its connection Secret.
constexpr base::Duration kMinRequeue = std::chrono::milliseconds(100);

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
      raw_journal_(journal),
      instance_journal_(journal),
      journal_(instance_journal_),
      specs_(specs),
      clock_(clock),
      metrics_(metrics),
      log_(log),
      executor_(api, journal, credentials, clock, metrics, log),
      queue_(clock, WorkQueueOptions{options.failure_base, options.failure_max, options.seed}) {}

Controller::~Controller() { queue_.ShutDown(); }

int Controller::ProcessReady() {
  int n = 0;
  // A bound against keys that re-add themselves as ready: 20 turns each of what is queued.
  const int bound = 20 * static_cast<int>(queue_.Depth()) + 100;
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
  // The loaded spec, shared with the loader (not copied: at 100,000 keys a copy per reconcile
  // was ~3% of a pass); a copy only to resolve a customer-managed key reference into.
  std::shared_ptr<const spec::InstanceSpec> shared;
  std::optional<spec::InstanceSpec> resolved;
  bool invalid = false;
  PlanOptions popts = options_.plan;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    auto it = desired_.find(key);
    if (it != desired_.end()) shared = it->second;
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
  const spec::InstanceSpec* spec = shared.get();
  if (spec && !invalid && !spec->suspend && !spec->customer_managed_key_ref.empty()) {
    resolved = *spec;
    spec = &*resolved;
    if (std::string waiting = ResolveKeyRef(&*resolved); !waiting.empty()) {
      // Never planned without its key: a create would make an unencrypted instance.
      plan.key = key;
      plan.tenant_id = spec->tenant_id;
      plan.status.aura_name = spec->aura_name;
      plan.status.phase = std::string(kPhasePending);
      plan.status.message = waiting;
      if (entry != nullptr) plan.status.aura_id = entry->instance_id;
      log_.Info("waiting for a customer-managed key", {{"key", key}, {"reason", waiting}});
      queue_.AddAfter(key, options_.poll_initial);
      Record(key, plan, result, "");
      finish("requeue");
      return;
    }
  }
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
      result = FetchDetail(entry->instance_id, priority, key);
      fetched_detail = true;
    }
  }

  for (int round = 0; result.ok() && round < 4; ++round) {
    {
      std::shared_lock<std::shared_mutex> g(obs_mu_);
      plan = PlanKey(spec, invalid, entry, observed_, *owners, clock_.SystemNow(), popts);
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
      if (!result.ok()) {
        // Only this tenant's specs wait; the message says which tenant and why.
        plan.status.message =
            "tenant " + plan.tenant_id + " fails: " + result.message() + "; this spec waits for it";
        if (IsTerminal(result)) plan.status.phase = std::string(kPhaseError);
      }
      continue;
    }
    if (plan.need_detail && !fetched_detail && !plan.status.aura_id.empty()) {
      result = FetchDetail(plan.status.aura_id, ratelimit::Priority::kPoll, key);
      fetched_detail = true;
      continue;
    }
    // Nothing is written to an instance on the word of an observation kept from before a
    // restart: it is fetched first, at the priority of the change (not the drift budget's).
    if (!fetched_detail && !plan.status.aura_id.empty() && ActsOnInstance(plan) &&
        ObservationStale(plan.status.aura_id)) {
      result = FetchDetail(plan.status.aura_id, ratelimit::Priority::kPoll, key);
      fetched_detail = true;
      continue;
    }
    break;
  }

  if (result.ok()) HoldForOperation(key, &plan);

  bool wrote = false;
  std::optional<ActionType> write_kind;
  bool journal_only = false;
  std::optional<base::Duration> secret_retry;
  if (result.ok()) secret_retry = HoldForgetForSecrets(spec, entry, &plan);
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
      if (r.observation) StoreObservation(r.observation->first, r.observation->second, key);
      if (!r.request_id.empty()) request_id = r.request_id;
      if (!r.status.ok()) {
        result = r.status;
        if (a.type == ActionType::kCreate) {
          if (const std::string j = executor_.JournalError(); !j.empty()) {
            // Nothing was sent: no Creating phase, and the reason is the journal.
            plan.status.phase = std::string(kPhasePending);
            plan.status.message = "create not sent: the journal cannot be written (" + j + ")";
          }
        }
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

  if (auto r = SyncConnectionSecret(key, spec, invalid, &plan)) {
    secret_retry = secret_retry ? std::min(*secret_retry, *r) : *r;
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
      ks.poll_at.reset();
      if (!plan.requeue_after && poll > base::Duration::zero()) ks.poll_at = clock_.Now() + poll;
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
  if (secret_retry) queue_.AddAfter(key, std::max<base::Duration>(*secret_retry, kMinRequeue));
  Record(key, plan, result, request_id);
  finish(outcome);
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
    bool key_work = false;
    {
      std::lock_guard<std::mutex> g(state_mu_);
      key_work = key_work_pending_;
    }
    // Customer-managed keys are created and deleted by passes: the next one comes soon.
    if (key_work) {
      next_pass =
          std::min(next_pass, clock_.Now() + std::min(options_.resync, options_.poll_initial));
    }
    if (!key_work && OnlyTerminalLeft()) {
      return base::FailedPreconditionError("these specs cannot converge without a person: " +
                                           TerminalSummary());
    }
    const base::TimePoint now = clock_.Now();
    if (now >= deadline) {
      const std::string last = LastApiError();
      return base::DeadlineExceededError(
          "not converged before --timeout" +
          (last.empty() ? std::string() : "; the last Aura API error: " + last));
    }
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
  if (options_.keep_observations) LoadStoredObservations();
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
