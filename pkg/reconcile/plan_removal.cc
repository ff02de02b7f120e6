// The planner for a key whose spec is gone: forget, or delete (deletionPolicy, --allow-delete).
#include <algorithm>
#include <cctype>

#include "pkg/reconcile/planner_internal.h"

namespace aura::reconcile::detail {

using store::JournalEntry;

void PlanRemoved(const JournalEntry& e, const Observed& observed, const Owners& owners,
                 base::SystemTime now, const PlanOptions& o, KeyPlan* p) {
  p->status.phase = std::string(kPhaseRemoved);
  p->status.aura_id = e.instance_id;
  if (!o.deletions_safe) {
    p->status.message =
        "spec not found, but some spec files could not be read: nothing is deleted or "
        "forgotten until they load";
    return;
  }
  if (e.intent) {
    PlanIntent(nullptr, e, observed, owners, now, o, p);
    if (!p->actions.empty() || p->need_listing_after) return;
  }
  if (e.instance_id.empty()) {
    p->actions.push_back(MakeAction(ActionType::kForget, p->key, "spec removed; no instance"));
    return;
  }
  if (!e.delete_on_removal) {
    p->actions.push_back(MakeAction(
        ActionType::kForget, p->key,
        "spec removed; deletionPolicy Retain: instance " + e.instance_id + " is left alone"));
    p->status.message = "forgetting; the instance is kept";
    return;
  }
  if (!o.allow_delete) {
    p->status.message =
        "spec removed with deletionPolicy Delete, but deletes are not allowed: "
        "run with --allow-delete to delete instance " +
        e.instance_id;
    return;
  }
  auto obs = observed.instances.find(e.instance_id);
  if (obs == observed.instances.end()) {
    p->need_detail = true;
    p->status.message = "checking instance " + e.instance_id + " before deleting it";
    return;
  }
  if (!obs->second.found) {
    p->actions.push_back(MakeAction(ActionType::kForget, p->key,
                                    "spec removed; instance " + e.instance_id + " is gone"));
    return;
  }
  if (obs->second.instance.status == "destroying") {
    p->status.phase = std::string(kPhaseDeleting);
    p->status.aura_status = "destroying";
    p->status.message = "waiting for instance " + e.instance_id + " to be destroyed";
    p->need_detail = true;
    return;
  }
  Action a = MakeAction(ActionType::kDelete, p->key,
                        "spec removed; deletionPolicy Delete: delete instance " + e.instance_id);
  a.instance_id = e.instance_id;
  p->actions.push_back(std::move(a));
  p->status.phase = std::string(kPhaseDeleting);
  p->status.message = "deleting instance " + e.instance_id + " (deletionPolicy Delete)";
}

}  // namespace aura::reconcile::detail
