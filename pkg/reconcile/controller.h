// Controller: the reconcile loop (controller-runtime's internal controller, for Aura).
//
// Level-based: a work item is only a spec key; ReconcileKey() re-reads the spec, the journal
// and the observations, plans (planner.h) and executes (executor.h). A pass, every resync
// period (jittered), reloads specs when they changed, LISTs each tenant once, picks the drift
// checks that fit the budget (oldest observation first) and enqueues every key. Operations in
// flight are polled with per-key backoff; failures back off per key.
//
// Rate budget: every request goes through the client's shared limiter; drift checks (detail
// GETs of stable instances) are limited to `drift_share` of the budget per pass, less one per
// key with work of its own (creates, changes, polls), and sent with the lowest priority, so
// writes the user asked for and polls come first.
//
// Thread-safety: public methods may be called from any thread. Run() owns its threads.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "pkg/aura/api.h"
#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/metrics/metrics.h"
#include "pkg/reconcile/connection_secrets.h"
#include "pkg/reconcile/executor.h"
#include "pkg/reconcile/observed.h"
#include "pkg/reconcile/planner.h"
#include "pkg/reconcile/spec_source.h"
#include "pkg/reconcile/workqueue.h"
#include "pkg/store/instance_journal.h"
#include "pkg/store/journal.h"
#include "pkg/store/operations.h"

namespace aura::reconcile {

struct ControllerOptions {
  PlanOptions plan;
  base::Duration resync = std::chrono::seconds(60);
  double resync_jitter = 0.1;                          // +-10%
  base::Duration spec_poll = std::chrono::seconds(5);  // how often to look for spec changes
  int workers = 4;
  base::Duration poll_initial = std::chrono::seconds(5);  // first poll of an operation
  base::Duration poll_max = std::chrono::seconds(60);
  base::Duration failure_base = std::chrono::seconds(1);
  base::Duration failure_max = std::chrono::minutes(5);
  // Share of the rate budget that drift checks may use per pass.
  double drift_share = 0.3;
  // Keep each instance's last observation in the journal when it changes, and start Run from
  // them (a restart or an HA takeover then sends no GET per instance; issue 21).
  bool keep_observations = true;
  // Operations operator commands recorded (restore, overwrite; store/operations.h): read each
  // pass; while one is in force for a key, nothing is written to its instance. Null: none.
  store::OperationLog* operations = nullptr;
  int rate_limit = 125;
  // When set, the limit in force now (the limiter may learn the account's), used instead of
  // rate_limit.
  std::function<int()> current_rate_limit;
  base::Duration rate_window = std::chrono::seconds(60);
  std::uint64_t seed = 1;
  // Check each spec's (provider, region, type, version, memory, storage) against its tenant's
  // instance_configurations (one GET /tenants/{id} per tenant), at most this often.
  bool check_configurations = true;
  base::Duration configurations_refresh = std::chrono::minutes(10);
};

struct Health {
  bool specs_loaded = false;
  std::optional<base::TimePoint> last_list_ok;  // last fully successful round of LISTs
  base::TimePoint heartbeat{};                  // the loop's last sign of life
  std::string last_error;
  // Tenants whose LIST fails while others work (a wrong tenantId, a project the API client may
  // not see): tenant id -> the error. Only their specs wait.
  std::map<std::string, std::string> tenant_errors;
  // Why the journal cannot be written (the file and the errno), "" when it can: not ready.
  std::string journal_error;
};

class Controller {
 public:
  Controller(ControllerOptions options, api::AuraApi& api, store::Journal& journal,
             store::CredentialStore& credentials, SpecSource& specs, base::Clock& clock,
             metrics::Metrics& metrics, base::Logger log);
  ~Controller();

  // Reloads specs when their fingerprint changed (always when `force`), enqueueing every key
  // on a change. Returns true when they changed.
  bool RefreshSpecs(bool force = false);
  // A pass: refresh specs, LIST every tenant, choose drift checks, enqueue every key.
  base::Status StartPass();
  // Reconciles every key that is ready now, in the calling thread. Returns how many.
  int ProcessReady();
  void ReconcileKey(const std::string& key);

  // The long-running loop: a scheduler thread (passes, spec polling) and `workers` workers.
  // Returns after `stop` is requested and in-flight keys have finished.
  void Run(std::stop_token stop);

  // apply: a pass, then reconcile until nothing is ready now; with `wait`, until converged,
  // `deadline`, or only terminal problems remain. `progress` is called after each step.
  base::Status Apply(bool wait, base::TimePoint deadline,
                     const std::function<void(const std::vector<SpecStatus>&)>& progress,
                     std::stop_token stop = {});

  // Observes without acting: LIST each tenant and GET each known instance, then plans.
  base::StatusOr<Plan> PlanOnly();

  std::vector<SpecStatus> Statuses() const;
  // Every spec is as desired and no create is pending.
  bool Converged() const;
  // True when every key that is not converged needs a spec change (terminal).
  bool OnlyTerminalLeft() const;
  Health GetHealth() const;
  // Set when the Aura API has not answered for at least `threshold` (since `since` when it never
  // did): how long, and the last error ("connection refused").
  struct ApiOutage {
    base::Duration duration{};
    std::string last_error;
  };
  std::optional<ApiOutage> Outage(base::Duration threshold, base::TimePoint since) const;
  std::string LastApiError() const;
  // "KEY (FILE)" of each loaded spec of `tenant`: what a failing tenant holds up.
  std::vector<std::string> SpecsOfTenant(const std::string& tenant) const;
  // Passwords received whose save failed (kept in memory, retried): their keys.
  std::vector<std::string> UnsavedCredentialKeys() const {
    return executor_.UnsavedCredentialKeys();
  }
  // One more attempt to save them now (shutdown). OK when none remain.
  base::Status FlushUnsavedCredentials() { return executor_.FlushUnsavedCredentials(); }
  WorkQueue& queue() { return queue_; }
  // The observations the journal kept (issue 21), as stale ones: Run starts with it (with
  // options.keep_observations). Instances already observed by this controller keep theirs.
  void LoadStoredObservations();

  // Writes each spec's connection Secret to `secrets` (connection_secrets.h), reading passwords
  // from `credentials` (the store the executor saves them in). Off unless called.
  // REQUIRES: before Run, Apply, PlanOnly or ReconcileKey; both outlive the controller.
  void EnableConnectionSecrets(SecretStore& secrets, store::CredentialStore& credentials,
                               ConnectionSecretOptions options);

 private:
  struct KeyState {
    SpecStatus status;
    bool terminal = false;
    bool drift_due = false;
    base::Duration poll_delay{};
    // The kind of the last API write while the key has been busy (reset once it is settled):
    // the same write again (a PATCH Aura took but did not apply) keeps doubling the poll
    // interval; a different one (the pause after a create) starts from poll_initial.
    std::optional<ActionType> last_write;
    bool has_status = false;
    // When the next poll of an operation in flight is queued (issue 21, finding 6): a pass
    // does not pull it forward, so an instance still creating or updating is not GET ahead of
    // its schedule. Unset when no poll is scheduled.
    std::optional<base::TimePoint> poll_at;
  };

  // Instance id -> owning key, rebuilt from the journal after it changes.
  std::shared_ptr<const Owners> CurrentOwners();
  void InvalidateOwners();
  base::Status FetchListing(const std::string& tenant, base::SystemTime after);
  // `key`: the spec key owning the instance, when the caller knows it (its observation is then
  // kept in that journal entry; otherwise the owners map, rebuilt once per pass, says).
  base::Status FetchDetail(const std::string& id, ratelimit::Priority priority,
                           const std::string& key = "");
  // Stores an observation, keeping when its status was first seen (unknown-status patience).
  void StoreObservation(const std::string& id, InstanceObservation o, const std::string& key = "");
  // Reads the operator operations in force (options_.operations) for this pass.
  void LoadOperations();
  // While an operator's operation on the key's instance is in force, takes every write to it
  // out of `plan` and says why. True when it did.
  bool HoldForOperation(const std::string& key, KeyPlan* plan);
  // Whether the instance's observation came from the journal and was not fetched since.
  bool ObservationStale(const std::string& id) const;
  // "ns/a: message; ns/b: message" for the keys only a person can unblock.
  std::string TerminalSummary() const;
  // Refreshes config_errors_ from the tenants' instance_configurations when due (or `force`).
  void CheckConfigurations(bool force);
  // The spec error for `key` from the online check, or "".
  std::string ConfigError(const std::string& key) const;
  // spec.customerManagedKeyRef (controller_keys.cc): sets spec->customer_managed_key_id to the
  // Aura id of the referenced key when Aura lists exactly one key of the key spec's name in its
  // tenant and that key is ready (remembered from then on: a key's id never changes). Returns
  // "" when resolved (or no reference), else why the spec waits; nothing is then done for it.
  std::string ResolveKeyRef(spec::InstanceSpec* spec);
  // AuraCustomerManagedKey specs (controller_keys_lifecycle.cc): creates each key exactly once
  // (journal intent under spec.journal_key() before the POST; an ambiguous or interrupted create
  // is resolved from a LIST, adopting the one same-named key, never creating a second), and
  // deletes or forgets the keys of removed specs (deletionPolicy; --allow-delete; only when no
  // instance uses them). With `execute` false nothing is written or sent but LISTs: the
  // changes are only returned (plan). Returns every change and wait, by key spec.
  std::vector<KeyChange> ReconcileCustomerManagedKeys(bool execute);
  // The create of one key, exactly once (intent first). Returns the change made.
  KeyChange CreateCustomerManagedKey(const spec::CustomerManagedKeySpec& key, int attempt);
  std::set<std::string> TenantsLocked() const;
  // Desired keys, not suspended, that are neither ready nor blocked on a spec change: they
  // have requests of their own to send.
  std::size_t BusyKeys() const;
  void UpdateGauges();
  void Record(const std::string& key, const KeyPlan& plan, const base::Status& result,
              const std::string& request_id);
  // Connection Secrets (controller_secrets.cc). Each returns when to reconcile the key again
  // for its Secret (nullopt: no need).
  // A removed key about to be forgotten keeps its journal entry until its Secrets are deleted
  // (deletionPolicy Delete): the forget is taken out of `plan` while they are not.
  std::optional<base::Duration> HoldForgetForSecrets(const spec::InstanceSpec* spec,
                                                     const store::JournalEntry* entry,
                                                     KeyPlan* plan);
  // After the key's actions: its Secret written when due; the SecretSynced status set.
  std::optional<base::Duration> SyncConnectionSecret(const std::string& key,
                                                     const spec::InstanceSpec* spec, bool invalid,
                                                     KeyPlan* plan);
  // `plan`'s Secret changes. REQUIRES: obs_mu_ held (shared) by the caller; `observed` is it.
  base::Status PlanConnectionSecrets(const DesiredState& desired,
                                     const std::map<std::string, store::JournalEntry>& journal,
                                     const Observed& observed, Plan* plan);
  // Keys whose Secret is not in place yet, and those of them only a person can unblock.
  void SecretBacklog(std::set<std::string>* pending, std::set<std::string>* terminal) const;

  ControllerOptions options_;
  api::AuraApi& api_;
  // The whole journal (customer-managed keys' entries included) and the view of it without
  // them that everything about instances reads (journal_).
  store::Journal& raw_journal_;
  store::InstanceJournal instance_journal_;
  store::Journal& journal_;
  SpecSource& specs_;
  base::Clock& clock_;
  metrics::Metrics& metrics_;
  base::Logger log_;
  Executor executor_;
  WorkQueue queue_;
  std::unique_ptr<ConnectionSecrets> secrets_;  // null unless EnableConnectionSecrets

  // Desired state.
  mutable std::mutex desired_mu_;
  // Shared with the spec loader's cache (never copied whole: 100,000 specs, docs/BENCHMARKS.md).
  std::map<std::string, std::shared_ptr<const spec::InstanceSpec>>
      desired_;                                       // GUARDED_BY(desired_mu_)
  std::set<std::string> invalid_keys_;                // GUARDED_BY(desired_mu_)
  bool complete_ = true;                              // GUARDED_BY(desired_mu_)
  std::string fingerprint_;                           // GUARDED_BY(desired_mu_)
  bool specs_loaded_ = false;                         // GUARDED_BY(desired_mu_)
  std::map<std::string, std::string> config_errors_;  // GUARDED_BY(desired_mu_)
  // AuraCustomerManagedKey specs by namespace/name, and the Aura ids of the ready keys that
  // references resolved to, by "tenant/Aura name".
  std::map<std::string, spec::CustomerManagedKeySpec> key_specs_;  // GUARDED_BY(desired_mu_)
  std::map<std::string, std::string> resolved_keys_;               // GUARDED_BY(desired_mu_)
  std::optional<base::TimePoint> configs_checked_;                 // GUARDED_BY(desired_mu_)
  std::string configs_checked_fingerprint_;                        // GUARDED_BY(desired_mu_)

  // Observations: planned under a shared lock, updated under an exclusive one.
  mutable std::shared_mutex obs_mu_;
  Observed observed_;   // GUARDED_BY(obs_mu_)
  std::mutex list_mu_;  // one LIST at a time, so concurrent keys share it

  std::mutex owners_mu_;
  std::shared_ptr<const Owners> owners_;  // GUARDED_BY(owners_mu_); null = stale

  mutable std::mutex state_mu_;
  std::map<std::string, KeyState> keys_;  // GUARDED_BY(state_mu_)
  // Operator operations in force, by key, as read at the start of the pass.
  std::map<std::string, store::OperationRecord> operations_;  // GUARDED_BY(state_mu_)
  int deletes_this_pass_ = 0;                                 // GUARDED_BY(state_mu_)
  // The last pass made a customer-managed key change or met a wait that resolves on its own:
  // not converged, and `apply` passes again soon.
  bool key_work_pending_ = false;  // GUARDED_BY(state_mu_)
  Health health_;                  // GUARDED_BY(state_mu_)
  // The last answer from the Aura API (any HTTP reply counts) and the last failure to get one.
  std::optional<base::TimePoint> last_api_answer_;  // GUARDED_BY(state_mu_)
  std::string last_api_error_;                      // GUARDED_BY(state_mu_)
  void NoteApi(const base::Status& s);
};

}  // namespace aura::reconcile
