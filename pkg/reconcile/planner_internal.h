// The planner's parts, shared by its files (planner.cc: the whole plan; plan_create.cc:
// exactly-once creates and adoption; plan_changes.cc: a known instance's drift; plan_removal.cc:
// removed specs). Not part of pkg/reconcile's interface.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/reconcile/planner.h"

namespace aura::reconcile::detail {

Action MakeAction(ActionType t, const std::string& key, std::string reason);
void SetWaiting(KeyPlan* p, std::string_view phase, std::string message);
std::string FormatDuration(base::Duration d);
// Why a known instance's password is not in the credentials store, for people.
std::string CredentialsNote(const store::JournalEntry& e);

// plan_create.cc
// Same-named instances in the tenant's listing that no other key owns, oldest first. Those
// another key owns go to `others` when given.
std::vector<api::InstanceSummary> SameNamed(const TenantListing& listing,
                                            const std::string& aura_name, const Owners& owners,
                                            const std::string& key,
                                            std::vector<std::string>* others = nullptr);
api::CreateInstanceRequest CreateRequestFor(const spec::InstanceSpec& s);
// No journal knowledge of an instance for this key: adopt, report a conflict, or create.
void PlanWithoutInstance(const spec::InstanceSpec& s, const store::JournalEntry* entry,
                         const TenantListing& listing, const Observed& observed,
                         const Owners& owners, std::string why, KeyPlan* p);
// Resolves entry.intent from the tenant's listing (DESIGN.md step 3). When the POST never
// landed, `spec` decides: a new attempt when present, forgetting the key when removed.
void PlanIntent(const spec::InstanceSpec* s, const store::JournalEntry& e, const Observed& observed,
                const Owners& owners, base::SystemTime now, const PlanOptions& o, KeyPlan* p);
// Same-named instances that appeared after this key's instance was recorded: duplicates.
void PlanLateDuplicates(const store::JournalEntry& e, const Observed& observed,
                        const Owners& owners, KeyPlan* p);

// plan_changes.cc
// One PATCHable field where the spec and Aura differ.
struct FieldChange {
  std::string field;                    // spec field name: "memory", "cdcEnrichmentMode", ...
  std::string desired;                  // as the PATCH sends it
  std::optional<std::string> observed;  // nullopt: Aura did not report it (absent or null)
};
// The PATCHable fields that differ. Fields Aura does not report are left alone unless they
// have a default (flags and CDC are off unless reported otherwise).
std::vector<FieldChange> Changes(const spec::InstanceSpec& s, const api::Instance& i);

// A PATCH of the same value for the same field at most this many times in a row without the
// observation moving; then it is a reported problem.
inline constexpr int kMaxPatchRepeats = 3;

// What the patch guard makes of the changes, given what the journal remembers of earlier
// PATCHes: what to send now, what to mark "set, not observable", what is stalled, and how long
// to wait for a PATCH within its settle window to read back.
struct PatchDecision {
  api::UpdateInstanceRequest patch;
  std::map<std::string, store::FieldPatch> records;  // for the fields in `patch`
  std::string reason;
  std::vector<std::string> unobservable;  // fields to mark
  std::vector<std::string> stalled;       // descriptions
  std::vector<std::string> notes;
  std::optional<base::SystemTime> wait_until;
};
PatchDecision DecidePatches(const std::vector<FieldChange>& changes, const store::JournalEntry& e,
                            base::SystemTime now, const PlanOptions& o);
// professional-db to business-critical: the one type change Aura makes in place
// (POST /instances/{id}/upgrade).
inline bool IsUpgrade(const std::string& from, const std::string& to) {
  return from == "professional-db" && to == "business-critical";
}
// A change Aura cannot make in place, or "" when there is none.
std::string ImmutableChange(const spec::InstanceSpec& s, const store::JournalEntry& e,
                            const InstanceObservation* obs);
void PlanKnownInstance(const spec::InstanceSpec& s, const store::JournalEntry& e,
                       const Observed& observed, const Owners& owners, base::SystemTime now,
                       const PlanOptions& o, KeyPlan* p);

// plan_source.cc
// spec.source of a create: fills req's source_instance_id/source_snapshot_id and returns true,
// or plans a wait (the source spec has no instance yet, the source is not stable) or a
// refusal (an instanceId no LIST holds) and returns false. True when the spec has no source.
bool PlanSource(const spec::InstanceSpec& s, const Observed& observed, const Owners& owners,
                api::CreateInstanceRequest* req, KeyPlan* p);
// "spec ns/name snapshot ID", for people.
std::string SourceDescription(const spec::SourceSpec& src);
// For a key that has an instance: spec.source has no effect any more; says so in the status.
void NoteSourceWithoutEffect(const spec::InstanceSpec& s, KeyPlan* p);

// plan_removal.cc
void PlanRemoved(const store::JournalEntry& e, const Observed& observed, const Owners& owners,
                 base::SystemTime now, const PlanOptions& o, KeyPlan* p);

}  // namespace aura::reconcile::detail
