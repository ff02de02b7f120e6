// spec.source: cloning a new instance from another (issue 22). Used only at create: the source
// must exist (in a tenant LIST the controller holds) when the create is planned, so that `plan`
// shows a missing source instead of a POST Aura would refuse; afterwards the field has no
// effect, and the plan says so.
#include <algorithm>

#include "pkg/reconcile/planner_internal.h"

namespace aura::reconcile::detail {
namespace {

// The tenants whose LIST holds `id`, and whether any holds it.
bool Listed(const Observed& observed, const std::string& id) {
  for (const auto& [tenant, listing] : observed.listings) {
    for (const auto& i : listing.instances) {
      if (i.id == id) return true;
    }
  }
  return false;
}

std::string ListedTenants(const Observed& observed) {
  std::string out;
  for (const auto& [tenant, _] : observed.listings) out += (out.empty() ? "" : ", ") + tenant;
  return out.empty() ? "none" : out;
}

}  // namespace

bool PlanSource(const spec::InstanceSpec& s, const Observed& observed, const Owners& owners,
                api::CreateInstanceRequest* req, KeyPlan* p) {
  if (!s.source) return true;
  const spec::SourceSpec& src = *s.source;
  std::string id = src.instance_id;
  if (!src.instance_key.empty()) {
    // The instance the journal gives the other spec (its duplicates are never a source).
    std::vector<std::string> owned;
    for (const auto& [instance, key] : owners) {
      if (key == src.instance_key && Listed(observed, instance)) owned.push_back(instance);
    }
    if (owned.empty()) {
      SetWaiting(p, kPhasePending,
                 "spec.source.instance " + src.instance_key +
                     ": that spec has no instance yet; the clone is created once it has one");
      p->requeue_after = std::chrono::seconds(30);
      return false;
    }
    if (owned.size() > 1) {
      std::string ids;
      for (const auto& i : owned) ids += (ids.empty() ? "" : ", ") + i;
      p->status.phase = std::string(kPhaseConflict);
      p->status.conflict = true;
      p->status.message = "spec.source.instance " + src.instance_key + " has several instances (" +
                          ids + "): refusing to guess which to clone; use spec.source.instanceId";
      p->requeue_after = std::chrono::seconds(60);
      return false;
    }
    id = owned[0];
  } else if (!Listed(observed, id)) {
    p->status.phase = std::string(kPhaseError);
    p->status.message = "spec.source.instanceId: instance " + id +
                        " not found in the instance lists of tenant(s) " + ListedTenants(observed) +
                        "; the source of a clone must exist: fix spec.source";
    p->terminal = true;
    p->requeue_after = std::chrono::seconds(60);
    return false;
  }
  if (auto o = observed.instances.find(id); o != observed.instances.end() && o->second.found &&
                                            !o->second.instance.status.empty() &&
                                            !IsStable(o->second.instance.status)) {
    SetWaiting(p, kPhasePending,
               "source instance " + id + " is " + o->second.instance.status +
                   "; the clone is created once it is stable");
    p->requeue_after = std::chrono::seconds(30);
    return false;
  }
  req->source_instance_id = id;
  if (!src.snapshot_id.empty()) req->source_snapshot_id = src.snapshot_id;
  return true;
}

std::string SourceDescription(const spec::SourceSpec& src) {
  std::string out =
      src.instance_key.empty() ? "instance " + src.instance_id : "spec " + src.instance_key;
  if (!src.snapshot_id.empty()) out += " snapshot " + src.snapshot_id;
  return out;
}

void NoteSourceWithoutEffect(const spec::InstanceSpec& s, KeyPlan* p) {
  if (!s.source) return;
  const std::string note = "spec.source (" + SourceDescription(*s.source) +
                           ") is used only at create: no effect on the existing instance";
  p->status.notes.push_back(note);
  p->status.message += (p->status.message.empty() ? "" : "; ") + note;
}

}  // namespace aura::reconcile::detail
