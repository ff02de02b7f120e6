// The planner: a pure function from (desired specs, observed account, journal, now, options) to
// ordered actions with reasons and each spec's status. No I/O, no clock, no randomness: the same
// inputs give the same plan, which is what `aura-controller plan` prints and what the
// controller executes.
//
// The exactly-once rules (DESIGN.md) live here:
//  - never a create while a journal intent for the key is unresolved;
//  - an intent is resolved only from a LIST fetched at/after the intent: a same-named instance
//    created at/after the intent (minus the allowed clock skew) is recorded as created, several
//    are recorded as the oldest plus duplicates (alarmed, never deleted); none, with a LIST
//    fetched after the settle window, allows a new attempt. The window counts from the intent,
//    or for an intent marked ambiguous from the entry's last write (`updated`: after the POST
//    was sent, which may be long after the intent);
//  - without a journal entry, a visible same-named instance is adopted (IfExists) or reported
//    as a conflict (Never): never a second instance of a name the controller can see;
//  - deletes only for keys the journal says this controller created or adopted, only with
//    allow_delete, and never while the spec load is incomplete.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pkg/aura/model.h"
#include "pkg/base/atom.h"
#include "pkg/base/clock.h"
#include "pkg/reconcile/observed.h"
#include "pkg/spec/spec.h"
#include "pkg/store/journal.h"

namespace aura::reconcile {

enum class ActionType {
  kRecordPolicy,      // journal: remember the spec's deletionPolicy (no API call)
  kRecordCreated,     // journal: an intent resolved to an instance id (+ duplicates)
  kRecordDuplicates,  // journal: more same-named instances appeared later: alarmed, kept
  kAdopt,             // journal: take over an existing same-named instance
  kCreate,            // journal intent, then POST /instances
  kPatch,             // PATCH /instances/{id} with the changed fields only
  kUpgrade,           // POST /instances/{id}/upgrade: professional-db to business-critical
  kPause,
  kResume,
  kDelete,            // DELETE /instances/{id}
  kForget,            // journal: drop the key, leave the instance alone
  kMarkUnobservable,  // journal: PATCHed fields that never read back are "set, not observable"
  kRecordVanished,    // journal: the instance disappeared; keep its id as history
};

std::string_view ActionTypeName(ActionType t);

// Whether the action writes to the key's existing instance (PATCH, upgrade, pause, resume,
// delete) or records a decision taken from its observation (a field that never reads back).
bool ActsOnExistingInstance(ActionType t);

struct Action {
  ActionType type = ActionType::kRecordPolicy;
  std::string key;
  std::string reason;                      // for people: "memory 4GB -> 8GB"
  std::string instance_id;                 // patch, pause, resume, delete, adopt, created
  api::CreateInstanceRequest create;       // kCreate
  int attempt = 0;                         // kCreate: 1 for the first POST of the key
  api::UpdateInstanceRequest patch;        // kPatch
  api::UpgradeInstanceRequest upgrade;     // kUpgrade
  std::vector<std::string> duplicate_ids;  // kRecordCreated
  bool delete_on_removal = false;          // kRecordPolicy, kCreate, kAdopt
  // kPatch: what the journal remembers of each field once the PATCH is accepted (the executor
  // sets sent_at).
  std::map<std::string, store::FieldPatch> patch_records;
  std::vector<std::string> fields;  // kMarkUnobservable: spec field names
  bool repause = false;             // kPause: Aura resumed an instance the controller paused
  // kAdopt: the instance is as the spec says; adopting changes nothing in Aura (plan counts it
  // apart from changes: the round trip of `import` plans no change).
  bool as_specified = false;

  // True when the action sends a request that changes the Aura account.
  bool IsApiWrite() const;
};

// Phases shown in status.
inline constexpr std::string_view kPhasePending = "Pending";
inline constexpr std::string_view kPhaseCreating = "Creating";
inline constexpr std::string_view kPhaseReady = "Ready";
inline constexpr std::string_view kPhaseUpdating = "Updating";
inline constexpr std::string_view kPhasePausing = "Pausing";
inline constexpr std::string_view kPhasePaused = "Paused";
inline constexpr std::string_view kPhaseResuming = "Resuming";
inline constexpr std::string_view kPhaseDeleting = "Deleting";
inline constexpr std::string_view kPhaseMissing = "Missing";
inline constexpr std::string_view kPhaseConflict = "Conflict";
inline constexpr std::string_view kPhaseError = "Error";
inline constexpr std::string_view kPhaseSuspended = "Suspended";
inline constexpr std::string_view kPhaseRemoved = "Removed";
// Aura stopped the instance on its own and a person must act (suspended, loading failed).
inline constexpr std::string_view kPhaseFailed = "Failed";
// Aura reports a status this controller does not know, for longer than the patience.
inline constexpr std::string_view kPhaseUnknown = "UnknownStatus";
// A PATCH Aura accepts but does not apply, sent kMaxPatchRepeats times: not sent again.
inline constexpr std::string_view kPhaseStalled = "Stalled";
// The instance disappeared (GET 404 and a LIST without it).
inline constexpr std::string_view kPhaseVanished = "Vanished";

struct SpecStatus {
  std::string key;
  base::Atom phase;    // values of small variety are interned (base::Atom)
  bool ready = false;  // condition Ready: exists, stable, as the spec says
  base::Atom ready_reason;
  bool synced = false;  // condition Synced: the last reconcile succeeded
  base::Atom synced_reason;
  std::string message;
  std::string aura_id;
  std::string aura_name;
  base::Atom aura_status;
  std::string last_request_id;
  std::string last_error;
  bool drifted = false;         // observed differs from desired (an action is planned)
  bool pending_create = false;  // an unresolved create intent
  bool conflict = false;        // adoption refused or ambiguous ownership
  bool credentials_known = false;
  // Why the one-time password is unknown ("" when known or not applicable), for people.
  std::string credentials_note;
  std::vector<std::string> duplicate_ids;
  bool failed = false;             // Aura reports a failed status (phase Failed)
  bool unknown_status = false;     // an unknown status for longer than the patience
  bool stalled = false;            // the patch guard stopped a PATCH that does not take effect
  bool vanished = false;           // the instance disappeared
  std::vector<std::string> notes;  // e.g. "cdcEnrichmentMode FULL: set, not observable"
  // Condition SecretSynced (--connection-secrets; connection_secrets.h). `secret` is
  // "namespace/name", empty when no Secret is managed for this key.
  std::string secret;
  bool secret_synced = false;
  std::string secret_reason;
  std::string secret_message;
};

// A connection Secret change that `plan` shows (connection_secrets.h); never executed from a
// plan: the controller decides again when it syncs.
struct SecretChange {
  std::string op;      // "secret-create", "secret-update", "secret-delete", "secret-conflict"
  std::string secret;  // "namespace/name"
  std::string reason;  // for people: which keys change (never values), or why not
};

struct PlanOptions {
  // How long Aura's LIST may lag behind a create (DESIGN.md step 3).
  base::Duration settle_window = std::chrono::seconds(60);
  // Allowed difference between this host's clock and Aura's created_at.
  base::Duration clock_skew = std::chrono::minutes(5);
  bool allow_delete = false;
  int max_deletes = 1;  // per pass (Plan applies it; the controller too)
  // False when the spec load was incomplete: nothing is deleted or forgotten.
  bool deletions_safe = true;
  // How long a status unknown to this controller counts as transitional before it is reported.
  base::Duration unknown_status_patience = std::chrono::minutes(30);
};

struct KeyPlan {
  std::string key;
  std::vector<Action> actions;  // in execution order
  SpecStatus status;
  // Observations the plan waits for before it can decide:
  std::optional<base::SystemTime> need_listing_after;  // a LIST of `tenant_id` sent at/after
  std::string tenant_id;
  bool need_detail = false;                     // a GET of status.aura_id
  std::optional<base::Duration> requeue_after;  // come back then (settle, polling)
  bool terminal = false;                        // only a spec change can fix it
  std::vector<SecretChange> secret_changes;     // plan only, with --connection-secrets
};

// The desired state as loaded.
struct DesiredState {
  std::vector<spec::InstanceSpec> specs;
  std::set<std::string> invalid_keys;
  bool complete = true;
};

// Plans one key. `spec` is null when no valid spec has this key; `invalid` says a spec with
// this key exists but has errors; `entry` is null without a journal entry. `owners` maps the
// instance ids journal entries own (instance and duplicates) to their keys: an id another key
// owns is never adopted or recorded by this one.
using Owners = std::map<std::string, std::string>;
KeyPlan PlanKey(const spec::InstanceSpec* spec, bool invalid, const store::JournalEntry* entry,
                const Observed& observed, const Owners& owners, base::SystemTime now,
                const PlanOptions& options);

// The owners map of a whole journal.
Owners OwnersOf(const std::map<std::string, store::JournalEntry>& journal);
// Adds one entry's instances (its instance and its duplicates) to `owners`.
void AddOwners(const store::JournalEntry& e, Owners* owners);

// A customer-managed key change (AuraCustomerManagedKey specs; controller_keys_lifecycle.cc)
// that `plan` shows. op: "key-create", "key-adopt", "key-delete", "key-forget" (changes) or
// "key-wait" (nothing can be done now: the message says why).
struct KeyChange {
  std::string op;
  std::string spec_key;  // namespace/name of the key spec
  std::string aura_name;
  std::string tenant_id;
  std::string key_id;  // Aura's id, when known
  std::string message;
  // A wait that resolves without a person (a settle window, a key still in use, a failing
  // request): `apply --wait` keeps passing until it is gone.
  bool retry = false;
  bool IsChange() const { return op != "key-wait"; }
};

struct Plan {
  std::vector<KeyPlan> keys;            // sorted by key
  std::vector<KeyChange> key_changes;   // customer-managed keys, by key spec
  std::vector<Action> Actions() const;  // every action, ordered: journal-only first, then
                                        // creates, patches, pause/resume, deletes
  bool HasChanges() const;              // any action or Secret change (conflicts aside)
};

// Plans every key in desired ∪ journal, applying max_deletes across keys.
Plan PlanAll(const DesiredState& desired, const std::map<std::string, store::JournalEntry>& journal,
             const Observed& observed, base::SystemTime now, const PlanOptions& options);

// Parses Aura's RFC 3339 created_at ("2024-01-31T12:34:56Z", fractions and offsets allowed).
std::optional<base::SystemTime> ParseRfc3339(const std::string& s);

}  // namespace aura::reconcile
