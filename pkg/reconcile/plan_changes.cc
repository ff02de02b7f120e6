// The planner for a key whose instance is known: immutable changes, the PATCH of what drifted,
// pause and resume, and waiting out Aura's operations.
#include <algorithm>
#include <cctype>

#include "pkg/reconcile/planner_internal.h"

namespace aura::reconcile::detail {
namespace {

using spec::InstanceSpec;
using store::JournalEntry;

bool SameSize(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

std::string BoolText(bool b) { return b ? "true" : "false"; }

void AppendReason(std::string* reason, const std::string& part) {
  if (!reason->empty()) *reason += ", ";
  *reason += part;
}

}  // namespace

// The fields of `spec` that differ from the observed instance, as a PATCH.
api::UpdateInstanceRequest Diff(const InstanceSpec& s, const api::Instance& i,
                                std::string* reason) {
  api::UpdateInstanceRequest p;
  if (s.aura_name != i.name) {
    p.name = s.aura_name;
    AppendReason(reason, "name \"" + i.name + "\" -> \"" + s.aura_name + "\"");
  }
  if (!SameSize(s.memory, i.memory)) {
    p.memory = s.memory;
    AppendReason(reason, "memory " + i.memory + " -> " + s.memory);
  }
  if (!s.storage.empty() && !SameSize(s.storage, i.storage)) {
    p.storage = s.storage;
    AppendReason(reason,
                 "storage " + (i.storage.empty() ? "(none)" : i.storage) + " -> " + s.storage);
  }
  if (s.vector_optimized != i.vector_optimized.value_or(false)) {
    p.vector_optimized = s.vector_optimized;
    AppendReason(reason, "vectorOptimized -> " + BoolText(s.vector_optimized));
  }
  if (s.graph_analytics_plugin != i.graph_analytics_plugin.value_or(false)) {
    p.graph_analytics_plugin = s.graph_analytics_plugin;
    AppendReason(reason, "graphAnalyticsPlugin -> " + BoolText(s.graph_analytics_plugin));
  }
  if (s.cdc_enrichment_mode && *s.cdc_enrichment_mode != i.cdc_enrichment_mode.value_or("OFF")) {
    p.cdc_enrichment_mode = *s.cdc_enrichment_mode;
    AppendReason(reason, "cdcEnrichmentMode " + i.cdc_enrichment_mode.value_or("OFF") + " -> " +
                             *s.cdc_enrichment_mode);
  }
  return p;
}

// A change Aura cannot make in place, or "" when there is none.
std::string ImmutableChange(const InstanceSpec& s, const JournalEntry& e,
                            const InstanceObservation* obs) {
  auto check = [](const char* field, const std::string& was, const std::string& now) {
    if (was.empty() || was == now) return std::string();
    return std::string("spec.") + field + " changed from \"" + was + "\" to \"" + now +
           "\": Aura cannot change it in place; revert it, or remove this spec and add a new "
           "one";
  };
  const api::Instance* i = obs && obs->found ? &obs->instance : nullptr;
  for (const std::string& m :
       {check("tenantId", e.tenant_id, s.tenant_id),
        check("cloudProvider", e.cloud_provider.empty() && i ? i->cloud_provider : e.cloud_provider,
              s.cloud_provider),
        check("region", e.region.empty() && i ? i->region : e.region, s.region),
        check("type", e.type.empty() && i ? i->type : e.type, s.type),
        check("version", e.version, s.version)}) {
    if (!m.empty()) return m;
  }
  return "";
}

void PlanKnownInstance(const InstanceSpec& s, const JournalEntry& e, const Observed& observed,
                       const Owners& owners, KeyPlan* p) {
  PlanLateDuplicates(e, observed, owners, p);
  auto obs_it = observed.instances.find(e.instance_id);
  const InstanceObservation* obs = obs_it == observed.instances.end() ? nullptr : &obs_it->second;
  if (std::string m = ImmutableChange(s, e, obs); !m.empty()) {
    p->status.phase = std::string(kPhaseError);
    p->status.message = m;
    p->status.last_error = m;
    p->terminal = true;
    return;
  }
  if (obs == nullptr) {
    p->need_detail = true;
    SetWaiting(p, kPhasePending, "waiting for the details of instance " + e.instance_id);
    return;
  }
  p->status.last_request_id = obs->request_id;
  if (!obs->found) {
    auto it = observed.listings.find(s.tenant_id);
    if (it == observed.listings.end()) {
      p->need_listing_after = base::SystemTime{};
      p->tenant_id = s.tenant_id;
      SetWaiting(p, kPhaseMissing, "instance " + e.instance_id + " is gone; listing the tenant");
      return;
    }
    p->status.aura_id.clear();
    Owners without_gone = owners;  // a lagging LIST may still show the gone instance
    without_gone[e.instance_id] = "";
    PlanWithoutInstance(s, &e, it->second, without_gone,
                        "instance " + e.instance_id +
                            " recorded in the journal is gone (404): "
                            "recreating",
                        p);
    if (p->status.phase == kPhaseCreating) p->status.phase = std::string(kPhaseMissing);
    return;
  }
  const api::Instance& i = obs->instance;
  p->status.aura_status = i.status;
  if (!IsStable(i.status)) {
    std::string_view phase = kPhaseUpdating;
    if (i.status == "creating") phase = kPhaseCreating;
    if (i.status == "pausing") phase = kPhasePausing;
    if (i.status == "resuming") phase = kPhaseResuming;
    if (i.status == "destroying") phase = kPhaseDeleting;
    SetWaiting(p, phase, "instance is " + i.status);
    p->need_detail = true;  // poll until stable
    return;
  }
  std::string reason;
  api::UpdateInstanceRequest patch = Diff(s, i, &reason);
  const bool running = i.status == "running";
  if (!running && !s.paused) {
    Action a = MakeAction(ActionType::kResume, s.key(), "spec says paused: false");
    a.instance_id = e.instance_id;
    p->actions.push_back(std::move(a));
    p->status.drifted = true;
    SetWaiting(p, kPhaseResuming, "resuming" + (reason.empty() ? "" : "; then " + reason));
    return;
  }
  if (!patch.empty()) {
    Action a = MakeAction(ActionType::kPatch, s.key(), reason);
    a.instance_id = e.instance_id;
    a.patch = patch;
    p->actions.push_back(std::move(a));
    p->status.drifted = true;
    SetWaiting(p, kPhaseUpdating, "updating: " + reason);
    return;
  }
  if (running && s.paused) {
    Action a = MakeAction(ActionType::kPause, s.key(), "spec says paused: true");
    a.instance_id = e.instance_id;
    p->actions.push_back(std::move(a));
    p->status.drifted = true;
    SetWaiting(p, kPhasePausing, "pausing");
    return;
  }
  p->status.phase = std::string(running ? kPhaseReady : kPhasePaused);
  p->status.ready = true;
  p->status.ready_reason = running ? "Running" : "Paused";
  p->status.message = running ? "running as specified" : "paused as specified";
}

}  // namespace aura::reconcile::detail
