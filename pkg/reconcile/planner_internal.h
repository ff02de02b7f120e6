// The planner's parts, shared by its files (planner.cc: the whole plan; plan_create.cc:
// exactly-once creates and adoption; plan_changes.cc: a known instance's drift; plan_removal.cc:
// removed specs). Not part of pkg/reconcile's interface.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pkg/reconcile/planner.h"

namespace aura::reconcile::detail {

Action MakeAction(ActionType t, const std::string& key, std::string reason);
void SetWaiting(KeyPlan* p, std::string_view phase, std::string message);
std::string FormatDuration(base::Duration d);

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
                         const TenantListing& listing, const Owners& owners, std::string why,
                         KeyPlan* p);
// Resolves entry.intent from the tenant's listing (DESIGN.md step 3). When the POST never
// landed, `spec` decides: a new attempt when present, forgetting the key when removed.
void PlanIntent(const spec::InstanceSpec* s, const store::JournalEntry& e, const Observed& observed,
                const Owners& owners, base::SystemTime now, const PlanOptions& o, KeyPlan* p);
// Same-named instances that appeared after this key's instance was recorded: duplicates.
void PlanLateDuplicates(const store::JournalEntry& e, const Observed& observed,
                        const Owners& owners, KeyPlan* p);

// plan_changes.cc
// The fields of `spec` that differ from the observed instance, as a PATCH.
api::UpdateInstanceRequest Diff(const spec::InstanceSpec& s, const api::Instance& i,
                                std::string* reason);
// A change Aura cannot make in place, or "" when there is none.
std::string ImmutableChange(const spec::InstanceSpec& s, const store::JournalEntry& e,
                            const InstanceObservation* obs);
void PlanKnownInstance(const spec::InstanceSpec& s, const store::JournalEntry& e,
                       const Observed& observed, const Owners& owners, KeyPlan* p);

// plan_removal.cc
void PlanRemoved(const store::JournalEntry& e, const Observed& observed, const Owners& owners,
                 base::SystemTime now, const PlanOptions& o, KeyPlan* p);

}  // namespace aura::reconcile::detail
