// The planner for a key whose instance is known: immutable changes, the PATCH of what drifted,
// pause and resume, and waiting out Aura's operations.
#include <algorithm>
#include <cctype>

#include "pkg/aura/instance_status.h"
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

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& x : parts) out += (out.empty() ? "" : "; ") + x;
  return out;
}

}  // namespace

std::vector<FieldChange> Changes(const InstanceSpec& s, const api::Instance& i) {
  std::vector<FieldChange> out;
  auto opt = [](const std::string& v) {
    return v.empty() ? std::nullopt : std::optional<std::string>(v);
  };
  // Name, memory and storage have no default: when Aura does not report them, nothing is known
  // and nothing is sent.
  if (!i.name.empty() && s.aura_name != i.name) out.push_back({"name", s.aura_name, i.name});
  if (!i.memory.empty() && !SameSize(s.memory, i.memory)) {
    out.push_back({"memory", s.memory, i.memory});
  }
  if (!s.storage.empty() && !i.storage.empty() && !SameSize(s.storage, i.storage)) {
    out.push_back({"storage", s.storage, i.storage});
  }
  // Flags and CDC default to off: not reported is taken as off, and the patch guard notices a
  // value that never reads back.
  auto flag = [&](const char* field, bool want, const std::optional<bool>& have) {
    if (want != have.value_or(false)) {
      out.push_back({field, BoolText(want),
                     have ? std::optional<std::string>(BoolText(*have)) : std::nullopt});
    }
  };
  flag("vectorOptimized", s.vector_optimized, i.vector_optimized);
  flag("graphAnalyticsPlugin", s.graph_analytics_plugin, i.graph_analytics_plugin);
  // CDC is set by PATCH once the instance runs (never at create), and Aura turns it off while
  // paused: a paused instance gets it when resumed.
  if (s.cdc_enrichment_mode && i.status != "paused" &&
      *s.cdc_enrichment_mode != i.cdc_enrichment_mode.value_or("OFF")) {
    out.push_back({"cdcEnrichmentMode", *s.cdc_enrichment_mode,
                   i.cdc_enrichment_mode ? opt(*i.cdc_enrichment_mode) : std::nullopt});
  }
  // Secondaries likewise: by PATCH once running, never while paused; not reported is 0.
  if (s.secondaries_count && i.status != "paused" &&
      *s.secondaries_count != i.secondaries_count.value_or(0)) {
    out.push_back({"secondariesCount", std::to_string(*s.secondaries_count),
                   i.secondaries_count
                       ? std::optional<std::string>(std::to_string(*i.secondaries_count))
                       : std::nullopt});
  }
  return out;
}

void AddToPatch(const FieldChange& c, api::UpdateInstanceRequest* p) {
  if (c.field == "name") p->name = c.desired;
  if (c.field == "memory") p->memory = c.desired;
  if (c.field == "storage") p->storage = c.desired;
  if (c.field == "vectorOptimized") p->vector_optimized = c.desired == "true";
  if (c.field == "graphAnalyticsPlugin") p->graph_analytics_plugin = c.desired == "true";
  if (c.field == "cdcEnrichmentMode") p->cdc_enrichment_mode = c.desired;
  if (c.field == "secondariesCount") p->secondaries_count = std::stoi(c.desired);
}

std::string Describe(const FieldChange& c) {
  const std::string was = c.observed ? *c.observed : "(not reported)";
  if (c.field == "name") return "name \"" + was + "\" -> \"" + c.desired + "\"";
  return c.field + " " + was + " -> " + c.desired;
}

PatchDecision DecidePatches(const std::vector<FieldChange>& changes, const JournalEntry& e,
                            base::SystemTime now, const PlanOptions& o) {
  PatchDecision d;
  for (const FieldChange& c : changes) {
    auto rec = e.patches.find(c.field);
    const bool same_value = rec != e.patches.end() && rec->second.value == c.desired;
    if (same_value) {
      const store::FieldPatch& r = rec->second;
      const base::SystemTime settled = r.sent_at + o.settle_window;
      if (!c.observed) {
        // Sent, accepted, and Aura still reads it back as null.
        if (r.unobservable) {
          d.notes.push_back(c.field + " " + c.desired + ": set, not observable");
        } else if (now < settled) {
          d.wait_until = d.wait_until ? std::min(*d.wait_until, settled) : settled;
          d.notes.push_back(c.field + " " + c.desired + ": sent, waiting for it to read back");
        } else {
          d.unobservable.push_back(c.field);
          d.notes.push_back(c.field + " " + c.desired + ": set, not observable");
        }
        continue;
      }
      if (now < settled) {
        d.wait_until = d.wait_until ? std::min(*d.wait_until, settled) : settled;
        d.notes.push_back(c.field + " " + c.desired + ": sent, waiting for it to read back");
        continue;
      }
      if (r.repeats >= kMaxPatchRepeats && *c.observed == r.observed_before) {
        d.stalled.push_back(c.field + " " + c.desired + " (sent " + std::to_string(r.repeats) +
                            " times; Aura still reports " + *c.observed + ")");
        continue;
      }
    }
    store::FieldPatch next;
    next.value = c.desired;
    next.observed_before = c.observed.value_or("");
    next.repeats = same_value && rec->second.observed_before == next.observed_before
                       ? rec->second.repeats + 1
                       : 1;
    d.records[c.field] = next;
    AddToPatch(c, &d.patch);
    if (!d.reason.empty()) d.reason += ", ";
    d.reason += Describe(c);
  }
  return d;
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
  const std::string was_type = e.type.empty() && i ? i->type : e.type;
  std::string type_change;
  if (!was_type.empty() && was_type != s.type && !IsUpgrade(was_type, s.type)) {
    type_change = "spec.type changed from \"" + was_type + "\" to \"" + s.type +
                  "\": Aura cannot change it in place (only professional-db to "
                  "business-critical, by an upgrade); revert it, or remove this spec and add a "
                  "new one";
  }
  // The key a known instance was created with, when Aura reports it (none reported with a key
  // in the spec: not checked, it may just be missing from the reply).
  std::string key_change;
  if (i && i->customer_managed_key_id && *i->customer_managed_key_id != s.customer_managed_key_id) {
    key_change = "spec.customerManagedKeyId changed from \"" + *i->customer_managed_key_id +
                 "\" to \"" + s.customer_managed_key_id +
                 "\": Aura cannot change it in place; revert it, or remove this spec and add a "
                 "new one";
  }
  for (const std::string& m :
       {check("tenantId", e.tenant_id, s.tenant_id),
        check("cloudProvider", e.cloud_provider.empty() && i ? i->cloud_provider : e.cloud_provider,
              s.cloud_provider),
        check("region", e.region.empty() && i ? i->region : e.region, s.region), type_change,
        check("version", e.version, s.version), key_change}) {
    if (!m.empty()) return m;
  }
  return "";
}

namespace {

std::string_view PhaseForStatus(const std::string& status) {
  if (status == "creating") return kPhaseCreating;
  if (status == "pausing") return kPhasePausing;
  if (status == "resuming") return kPhaseResuming;
  if (status == "destroying" || status == "deleting") return kPhaseDeleting;
  return kPhaseUpdating;
}

// GET said 404: vanished when a LIST sent after that GET does not show it either.
void PlanGone(const InstanceSpec& s, const JournalEntry& e, const InstanceObservation& obs,
              const Observed& observed, KeyPlan* p) {
  const std::string tenant = e.tenant_id.empty() ? s.tenant_id : e.tenant_id;
  auto it = observed.listings.find(tenant);
  if (it == observed.listings.end() || it->second.fetched_at < obs.observed_at) {
    p->need_listing_after = obs.observed_at;
    p->tenant_id = tenant;
    SetWaiting(p, kPhaseMissing,
               "instance " + e.instance_id + " not found (404); confirming with a LIST");
    return;
  }
  for (const auto& i : it->second.instances) {
    if (i.id == e.instance_id) {
      // LIST and GET disagree: look again rather than decide on one of them.
      p->need_detail = true;
      SetWaiting(p, kPhaseMissing,
                 "instance " + e.instance_id + " answered 404 but is still listed; checking again");
      return;
    }
  }
  Action a = MakeAction(ActionType::kRecordVanished, s.key(),
                        "instance " + e.instance_id +
                            " vanished (a GET 404 and a LIST without it): deleted outside the "
                            "controller, or by Aura (Free instances are deleted after 30 days "
                            "paused)");
  a.instance_id = e.instance_id;
  p->actions.push_back(std::move(a));
  p->status.vanished = true;
  p->status.drifted = true;
  SetWaiting(p, kPhaseVanished,
             "instance " + e.instance_id + " vanished; " +
                 (s.recreate == spec::Recreate::kNever
                      ? "recreate: Never, so it is not re-created"
                      : "re-creating it (recreate: IfMissing; the old credentials stay in the "
                        "history)"));
}

// Aura reports a status this controller does not know (or none): transitional for a while,
// then a reported problem.
void PlanUnknownStatus(const InstanceObservation& obs, base::SystemTime now, const PlanOptions& o,
                       KeyPlan* p) {
  const std::string& st = obs.instance.status;
  const std::string shown = st.empty() ? "no status" : "status \"" + st + "\"";
  p->need_detail = true;
  const base::Duration waited = now - obs.status_since;
  if (waited < o.unknown_status_patience) {
    SetWaiting(p, kPhaseUpdating,
               "Aura reports " + shown + ", unknown to this controller; waiting (up to " +
                   FormatDuration(o.unknown_status_patience) + ") for a known one");
    return;
  }
  p->status.phase = std::string(kPhaseUnknown);
  p->status.unknown_status = true;
  p->status.message = "Aura has reported " + shown + " for " + FormatDuration(waited) +
                      "; this controller does not know it: check the instance in the Aura "
                      "console";
  p->terminal = true;
}

}  // namespace

void PlanKnownInstance(const InstanceSpec& s, const JournalEntry& e, const Observed& observed,
                       const Owners& owners, base::SystemTime now, const PlanOptions& o,
                       KeyPlan* p) {
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
    PlanGone(s, e, *obs, observed, p);
    return;
  }
  const api::Instance& i = obs->instance;
  p->status.aura_status = i.status;
  switch (api::KindOf(i.status)) {
    case api::StatusKind::kStable:
      break;
    case api::StatusKind::kTransitional:
      SetWaiting(p, PhaseForStatus(std::string(api::FindStatus(i.status)->name)),
                 "instance is " + i.status);
      p->need_detail = true;  // poll until stable
      return;
    case api::StatusKind::kFailed:
      p->status.phase = std::string(kPhaseFailed);
      p->status.failed = true;
      p->status.message = "Aura reports the instance " + i.status + ": " +
                          std::string(api::FindStatus(i.status)->meaning) +
                          ". Nothing is changed until it recovers.";
      p->terminal = true;
      p->need_detail = true;  // keep watching for a recovery
      return;
    case api::StatusKind::kUnknown:
      PlanUnknownStatus(*obs, now, o, p);
      return;
  }
  const bool running = api::FindStatus(i.status)->name == "running";
  PatchDecision d = DecidePatches(Changes(s, i), e, now, o);
  p->status.notes = d.notes;
  if (!d.unobservable.empty()) {
    Action a = MakeAction(ActionType::kMarkUnobservable, s.key(),
                          "accepted but never read back: " + Join(d.unobservable));
    a.instance_id = e.instance_id;
    a.fields = d.unobservable;
    p->actions.push_back(std::move(a));
  }
  if (!d.stalled.empty()) {
    p->status.stalled = true;
    p->status.message = "PATCH not taking effect: " + Join(d.stalled) +
                        "; not sent again until the spec or the instance changes";
  }
  if (!running && !s.paused) {
    Action a = MakeAction(ActionType::kResume, s.key(),
                          e.paused_here ? "spec says paused: false"
                                        : "spec says paused: false (paused outside the "
                                          "controller, e.g. by Aura after 72 h idle)");
    a.instance_id = e.instance_id;
    p->actions.push_back(std::move(a));
    p->status.drifted = true;
    SetWaiting(p, kPhaseResuming, "resuming" + (d.reason.empty() ? "" : "; then " + d.reason));
    return;
  }
  // An upgrade first: a resize that comes with it goes in the same request.
  if (const std::string now_type = i.type.empty() ? e.type : i.type; IsUpgrade(now_type, s.type)) {
    Action a = MakeAction(ActionType::kUpgrade, s.key(),
                          "type " + now_type + " -> " + s.type + " (upgrade)");
    a.instance_id = e.instance_id;
    if ((!i.memory.empty() && i.memory != s.memory) ||
        (!s.storage.empty() && !i.storage.empty() && i.storage != s.storage)) {
      a.upgrade.memory = s.memory;
      a.upgrade.storage = s.storage;
      auto dash = [](const std::string& v) { return v.empty() ? std::string("-") : v; };
      a.reason += ", memory " + dash(i.memory) + " -> " + s.memory + ", storage " +
                  dash(i.storage) + " -> " + s.storage;
    }
    p->actions.push_back(std::move(a));
    p->status.drifted = true;
    SetWaiting(p, kPhaseUpdating, "upgrading to " + s.type);
    return;
  }
  if (!d.patch.empty()) {
    Action a = MakeAction(ActionType::kPatch, s.key(), d.reason);
    a.instance_id = e.instance_id;
    a.patch = d.patch;
    a.patch_records = d.records;
    p->actions.push_back(std::move(a));
    p->status.drifted = true;
    SetWaiting(p, kPhaseUpdating, "updating: " + d.reason);
    return;
  }
  if (running && s.paused) {
    Action a = MakeAction(ActionType::kPause, s.key(),
                          e.paused_here ? "spec says paused: true; resumed outside the controller "
                                          "(Aura resumes paid instances after 30 days paused)"
                                        : "spec says paused: true");
    a.instance_id = e.instance_id;
    a.repause = e.paused_here;
    p->actions.push_back(std::move(a));
    p->status.drifted = true;
    SetWaiting(p, kPhasePausing, "pausing");
    return;
  }
  if (d.wait_until) {
    // A PATCH was accepted within the settle window and has not read back yet.
    p->requeue_after = *d.wait_until - now;
    p->need_detail = true;
    SetWaiting(p, kPhaseUpdating, Join(d.notes));
    return;
  }
  if (p->status.stalled) {
    p->status.phase = std::string(kPhaseStalled);
    p->terminal = true;
    return;
  }
  p->status.phase = std::string(running ? kPhaseReady : kPhasePaused);
  p->status.ready = true;
  p->status.ready_reason = running ? "Running" : "Paused";
  p->status.message = running ? "running as specified" : "paused as specified";
  if (!d.notes.empty()) p->status.message += "; " + Join(d.notes);
}

}  // namespace aura::reconcile::detail
