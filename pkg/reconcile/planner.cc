#include "pkg/reconcile/planner.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace aura::reconcile {
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

// Same-named instances in the tenant's listing that no other key owns, oldest first. Those
// another key owns go to `others` when given.
std::vector<api::InstanceSummary> SameNamed(const TenantListing& listing,
                                            const std::string& aura_name, const Owners& owners,
                                            const std::string& key,
                                            std::vector<std::string>* others = nullptr) {
  std::vector<api::InstanceSummary> out;
  std::vector<const api::InstanceSummary*> named;
  if (listing.indexed) {
    auto it = listing.by_name.find(aura_name);
    if (it != listing.by_name.end()) {
      for (std::size_t i : it->second) named.push_back(&listing.instances[i]);
    }
  } else {
    for (const auto& s : listing.instances) {
      if (s.name == aura_name) named.push_back(&s);
    }
  }
  for (const api::InstanceSummary* sp : named) {
    const api::InstanceSummary& s = *sp;
    auto owner = owners.find(s.id);
    if (owner == owners.end() || owner->second == key) {
      out.push_back(s);
    } else if (others != nullptr && !owner->second.empty()) {
      others->push_back(s.id + " (owned by " + owner->second + ")");
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    auto ta = ParseRfc3339(a.created_at);
    auto tb = ParseRfc3339(b.created_at);
    if (ta && tb && *ta != *tb) return *ta < *tb;
    if (ta.has_value() != tb.has_value()) return ta.has_value();  // unparsable last
    return a.id < b.id;
  });
  return out;
}

api::CreateInstanceRequest CreateRequestFor(const InstanceSpec& s) {
  api::CreateInstanceRequest r;
  r.name = s.aura_name;
  r.version = s.version;
  r.region = s.region;
  r.memory = s.memory;
  r.type = s.type;
  r.tenant_id = s.tenant_id;
  r.cloud_provider = s.cloud_provider;
  if (!s.storage.empty()) r.storage = s.storage;
  if (s.vector_optimized) r.vector_optimized = true;
  if (s.graph_analytics_plugin) r.graph_analytics_plugin = true;
  return r;
}

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

Action MakeAction(ActionType t, const std::string& key, std::string reason) {
  Action a;
  a.type = t;
  a.key = key;
  a.reason = std::move(reason);
  return a;
}

void SetWaiting(KeyPlan* p, std::string_view phase, std::string message) {
  p->status.phase = std::string(phase);
  p->status.message = std::move(message);
}

std::string FormatDuration(base::Duration d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return std::to_string(s) + "s";
}

// No journal knowledge of an instance for this key: adopt, report a conflict, or create.
void PlanWithoutInstance(const InstanceSpec& s, const JournalEntry* entry,
                         const TenantListing& listing, const Owners& owners, std::string why,
                         KeyPlan* p) {
  std::vector<std::string> owned_by_others;
  auto same = SameNamed(listing, s.aura_name, owners, s.key(), &owned_by_others);
  if (same.empty() && !owned_by_others.empty()) {
    // Never a second instance of a name the controller can see, even one it manages for
    // another key (e.g. a rename not applied yet): wait for the name to be free.
    p->status.phase = std::string(kPhaseConflict);
    p->status.conflict = true;
    p->status.message = "the name \"" + s.aura_name + "\" is in use by " + owned_by_others[0] +
                        "; waiting for it to be free";
    p->requeue_after = std::chrono::seconds(60);
    return;
  }
  if (!same.empty()) {
    std::string ids;
    for (const auto& i : same) ids += (ids.empty() ? "" : ", ") + i.id;
    if (s.adoption == spec::Adoption::kNever) {
      p->status.phase = std::string(kPhaseConflict);
      p->status.conflict = true;
      p->status.message = "an instance named \"" + s.aura_name + "\" already exists (" + ids +
                          ") and adoption is Never: rename the spec or allow adoption";
      p->terminal = true;
      return;
    }
    if (same.size() > 1) {
      p->status.phase = std::string(kPhaseConflict);
      p->status.conflict = true;
      p->status.message = std::to_string(same.size()) + " instances named \"" + s.aura_name +
                          "\" exist (" + ids +
                          "): refusing to guess which to adopt; delete or rename the extras";
      p->terminal = true;
      return;
    }
    Action a =
        MakeAction(ActionType::kAdopt, s.key(),
                   "adopt existing instance " + same[0].id + " named \"" + s.aura_name + "\"");
    a.instance_id = same[0].id;
    a.delete_on_removal = s.deletion_policy == spec::DeletionPolicy::kDelete;
    p->actions.push_back(std::move(a));
    p->status.phase = std::string(kPhasePending);
    p->status.drifted = true;
    p->status.message = "adopting " + same[0].id;
    return;
  }
  Action a = MakeAction(ActionType::kCreate, s.key(), std::move(why));
  a.create = CreateRequestFor(s);
  a.attempt = entry && entry->intent ? entry->intent->attempt + 1 : 1;
  a.delete_on_removal = s.deletion_policy == spec::DeletionPolicy::kDelete;
  p->actions.push_back(std::move(a));
  p->status.phase = std::string(kPhaseCreating);
  p->status.drifted = true;
  p->status.message = "creating \"" + s.aura_name + "\"";
}

// Resolves entry.intent from the tenant's listing (DESIGN.md step 3). When the POST never
// landed, `spec` decides: a new attempt when present, forgetting the key when removed.
void PlanIntent(const InstanceSpec* s, const JournalEntry& e, const Observed& observed,
                const Owners& owners, base::SystemTime now, const PlanOptions& o, KeyPlan* p) {
  const store::CreateIntent& intent = *e.intent;
  p->status.pending_create = true;
  p->tenant_id = intent.tenant_id;
  auto it = observed.listings.find(intent.tenant_id);
  if (it == observed.listings.end() || it->second.fetched_at < intent.intent_time) {
    p->need_listing_after = intent.intent_time;
    SetWaiting(p, kPhaseCreating,
               "create of \"" + intent.aura_name +
                   "\" pending: waiting for a LIST sent after "
                   "the intent");
    return;
  }
  const TenantListing& listing = it->second;
  auto same = SameNamed(listing, intent.aura_name, owners, p->key);
  std::vector<api::InstanceSummary> newer;
  for (const auto& i : same) {
    auto t = ParseRfc3339(i.created_at);
    // Unparsable timestamps count as newer: adopting beats creating a duplicate.
    if (!t || *t >= intent.intent_time - o.clock_skew) newer.push_back(i);
  }
  if (!newer.empty()) {
    Action a = MakeAction(ActionType::kRecordCreated, p->key,
                          "create of \"" + intent.aura_name + "\" resolved: instance " +
                              newer[0].id + " appeared after the intent");
    a.instance_id = newer[0].id;
    for (size_t k = 1; k < newer.size(); ++k) a.duplicate_ids.push_back(newer[k].id);
    if (!a.duplicate_ids.empty()) {
      a.reason +=
          "; " + std::to_string(a.duplicate_ids.size()) + " duplicate(s) found, kept and reported";
      p->status.duplicate_ids = a.duplicate_ids;
    }
    p->actions.push_back(std::move(a));
    SetWaiting(p, kPhaseCreating, "create resolved to " + newer[0].id);
    p->status.aura_id = newer[0].id;
    return;
  }
  // The POST may leave well after its intent was written: the token and the shared limiter
  // come first (a 429 holds every request for its Retry-After). An instance it created can
  // appear in LIST only `settle_window` after the send, so the window counts from the last
  // journal write of an intent whose outcome is known (marked ambiguous after the POST
  // returned, hence after it was sent), not from the intent.
  base::SystemTime settle_from = intent.intent_time;
  if (intent.ambiguous) settle_from = std::max(settle_from, e.updated);
  const base::SystemTime settled = settle_from + o.settle_window;
  if (listing.fetched_at < settled) {
    p->need_listing_after = settled;
    p->requeue_after = std::max<base::Duration>(settled - now, base::Duration::zero());
    SetWaiting(p, kPhaseCreating,
               std::string(intent.ambiguous ? "outcome of the create is unknown" : "create sent") +
                   "; no instance named \"" + intent.aura_name +
                   "\" listed yet; waiting up to the settle window (" +
                   FormatDuration(o.settle_window) + ") before deciding");
    return;
  }
  // The POST never landed.
  if (s == nullptr) {
    p->actions.push_back(
        MakeAction(ActionType::kForget, p->key, "spec removed and its create never landed"));
    SetWaiting(p, kPhaseRemoved, "forgetting");
    return;
  }
  PlanWithoutInstance(*s, &e, listing, owners,
                      "previous create (attempt " + std::to_string(intent.attempt) +
                          ") never landed: no instance named \"" + intent.aura_name +
                          "\" after the settle window",
                      p);
}

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
}

// The key has an instance id in the journal.
// Same-named instances that appeared after this key's instance was recorded (a lagging LIST
// hid them when an ambiguous create was resolved, or someone made one by hand): recorded as
// duplicates of this key, so they are alarmed, never adopted by another key and never deleted.
void PlanLateDuplicates(const JournalEntry& e, const Observed& observed, const Owners& owners,
                        KeyPlan* p) {
  auto it = observed.listings.find(e.tenant_id);
  if (it == observed.listings.end() || e.aura_name.empty()) return;
  std::vector<std::string> extras;
  for (const auto& i : SameNamed(it->second, e.aura_name, owners, p->key)) {
    if (i.id == e.instance_id) continue;
    if (std::find(e.duplicate_ids.begin(), e.duplicate_ids.end(), i.id) != e.duplicate_ids.end()) {
      continue;
    }
    extras.push_back(i.id);
  }
  if (extras.empty()) return;
  std::string ids;
  for (const auto& id : extras) ids += (ids.empty() ? "" : ", ") + id;
  Action a = MakeAction(ActionType::kRecordDuplicates, p->key,
                        std::to_string(extras.size()) + " more instance(s) named \"" + e.aura_name +
                            "\" appeared in the tenant (" + ids + "): recorded as duplicates of " +
                            e.instance_id + ", never deleted");
  a.instance_id = e.instance_id;
  a.duplicate_ids = extras;
  p->actions.push_back(std::move(a));
  p->status.duplicate_ids.insert(p->status.duplicate_ids.end(), extras.begin(), extras.end());
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

}  // namespace

std::string_view ActionTypeName(ActionType t) {
  switch (t) {
    case ActionType::kRecordPolicy:
      return "record-policy";
    case ActionType::kRecordCreated:
      return "resolve-create";
    case ActionType::kRecordDuplicates:
      return "record-duplicates";
    case ActionType::kAdopt:
      return "adopt";
    case ActionType::kCreate:
      return "create";
    case ActionType::kPatch:
      return "patch";
    case ActionType::kPause:
      return "pause";
    case ActionType::kResume:
      return "resume";
    case ActionType::kDelete:
      return "delete";
    case ActionType::kForget:
      return "forget";
  }
  return "unknown";
}

bool Action::IsApiWrite() const {
  switch (type) {
    case ActionType::kCreate:
    case ActionType::kPatch:
    case ActionType::kPause:
    case ActionType::kResume:
    case ActionType::kDelete:
      return true;
    default:
      return false;
  }
}

KeyPlan PlanKey(const spec::InstanceSpec* s, bool invalid, const JournalEntry* e,
                const Observed& observed, const Owners& owners, base::SystemTime now,
                const PlanOptions& o) {
  KeyPlan p;
  p.key = s ? s->key() : (e ? e->key : "");
  p.status.key = p.key;
  if (e) {
    p.status.aura_id = e->instance_id;
    p.status.aura_name = e->aura_name;
    p.status.credentials_known = e->credentials_saved;
    p.status.duplicate_ids = e->duplicate_ids;
    p.status.pending_create = e->intent.has_value();
  }
  if (invalid) {
    p.status.phase = std::string(kPhaseError);
    p.status.message =
        "the spec has errors (run `aura-controller validate`); nothing is done "
        "for this key until it is fixed";
    p.terminal = true;
    return p;
  }
  if (s == nullptr) {
    if (e != nullptr) PlanRemoved(*e, observed, owners, now, o, &p);
    return p;
  }
  p.status.aura_name = s->aura_name;
  p.tenant_id = s->tenant_id;
  if (s->suspend) {
    p.status.phase = std::string(kPhaseSuspended);
    p.status.message = "suspend: true; not reconciled";
    return p;
  }
  const bool wants_delete = s->deletion_policy == spec::DeletionPolicy::kDelete;
  if (e && e->delete_on_removal != wants_delete) {
    Action a =
        MakeAction(ActionType::kRecordPolicy, p.key,
                   std::string("deletionPolicy is now ") + (wants_delete ? "Delete" : "Retain"));
    a.delete_on_removal = wants_delete;
    p.actions.push_back(std::move(a));
  }
  if (e && e->intent) {
    PlanIntent(s, *e, observed, owners, now, o, &p);
    return p;
  }
  if (e && !e->instance_id.empty()) {
    PlanKnownInstance(*s, *e, observed, owners, &p);
    return p;
  }
  auto it = observed.listings.find(s->tenant_id);
  if (it == observed.listings.end()) {
    p.need_listing_after = base::SystemTime{};
    SetWaiting(&p, kPhasePending, "waiting for the tenant's instance list");
    return p;
  }
  PlanWithoutInstance(*s, e, it->second, owners,
                      "no instance named \"" + s->aura_name + "\" in tenant " + s->tenant_id, &p);
  return p;
}

namespace {
int ActionRank(ActionType t) {
  switch (t) {
    case ActionType::kRecordPolicy:
    case ActionType::kRecordCreated:
    case ActionType::kRecordDuplicates:
    case ActionType::kAdopt:
    case ActionType::kForget:
      return 0;
    case ActionType::kCreate:
      return 1;
    case ActionType::kPatch:
      return 2;
    case ActionType::kPause:
    case ActionType::kResume:
      return 3;
    case ActionType::kDelete:
      return 4;
  }
  return 5;
}
}  // namespace

std::vector<Action> Plan::Actions() const {
  std::vector<Action> out;
  for (const auto& k : keys) out.insert(out.end(), k.actions.begin(), k.actions.end());
  std::stable_sort(out.begin(), out.end(), [](const Action& a, const Action& b) {
    return ActionRank(a.type) < ActionRank(b.type);
  });
  return out;
}

bool Plan::HasChanges() const {
  return std::any_of(keys.begin(), keys.end(), [](const KeyPlan& k) { return !k.actions.empty(); });
}

Plan PlanAll(const DesiredState& desired, const std::map<std::string, JournalEntry>& journal,
             const Observed& observed, base::SystemTime now, const PlanOptions& o) {
  std::map<std::string, const spec::InstanceSpec*> specs;
  for (const auto& s : desired.specs) specs[s.key()] = &s;
  std::set<std::string> keys;
  for (const auto& [k, _] : specs) keys.insert(k);
  for (const auto& [k, _] : journal) keys.insert(k);
  for (const auto& k : desired.invalid_keys) keys.insert(k);

  const Owners owners = OwnersOf(journal);
  PlanOptions opts = o;
  opts.deletions_safe = o.deletions_safe && desired.complete;
  Plan plan;
  int deletes = 0;
  for (const auto& k : keys) {
    auto s = specs.find(k);
    auto e = journal.find(k);
    KeyPlan kp = PlanKey(s == specs.end() ? nullptr : s->second, desired.invalid_keys.contains(k),
                         e == journal.end() ? nullptr : &e->second, observed, owners, now, opts);
    if (kp.key.empty()) kp.key = kp.status.key = k;
    for (auto it = kp.actions.begin(); it != kp.actions.end();) {
      if (it->type == ActionType::kDelete && deletes >= o.max_deletes) {
        kp.status.message = "delete held: --max-deletes (" + std::to_string(o.max_deletes) +
                            ") reached in this pass";
        it = kp.actions.erase(it);
        continue;
      }
      if (it->type == ActionType::kDelete) ++deletes;
      ++it;
    }
    plan.keys.push_back(std::move(kp));
  }
  return plan;
}

Owners OwnersOf(const std::map<std::string, JournalEntry>& journal) {
  Owners owners;
  for (const auto& [k, e] : journal) {
    if (!e.instance_id.empty()) owners[e.instance_id] = k;
    for (const auto& d : e.duplicate_ids) owners[d] = k;
  }
  return owners;
}

std::optional<base::SystemTime> ParseRfc3339(const std::string& s) {
  int y, mo, d, h, mi, sec;
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) !=
      6) {
    return std::nullopt;
  }
  std::string_view rest(s.c_str() + consumed);
  long long nanos = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    int digits = 0;
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
      if (digits < 9) nanos = nanos * 10 + (rest.front() - '0');
      ++digits;
      rest.remove_prefix(1);
    }
    if (digits == 0) return std::nullopt;
    for (int k = digits; k < 9; ++k) nanos *= 10;
  }
  int offset_minutes = 0;
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &oh, &om) != 2) {
      return std::nullopt;
    }
    offset_minutes = (rest[0] == '+' ? 1 : -1) * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const std::time_t t = timegm(&tm);
  return base::SystemTime(std::chrono::seconds(t) - std::chrono::minutes(offset_minutes)) +
         std::chrono::duration_cast<base::SystemTime::duration>(std::chrono::nanoseconds(nanos));
}

}  // namespace aura::reconcile
