// The exactly-once rules of the planner (DESIGN.md "Exactly-once create"): adopting or creating
// a key without an instance, resolving a create intent from a LIST, late duplicates.
#include <algorithm>
#include <cctype>

#include "pkg/reconcile/planner_internal.h"

namespace aura::reconcile::detail {

using spec::InstanceSpec;
using store::JournalEntry;

// Same-named instances in the tenant's listing that no other key owns, oldest first. Those
// another key owns go to `others` when given.
std::vector<api::InstanceSummary> SameNamed(const TenantListing& listing,
                                            const std::string& aura_name, const Owners& owners,
                                            const std::string& key,
                                            std::vector<std::string>* others) {
  std::vector<api::InstanceSummary> out;
  std::vector<const api::InstanceSummary*> named;
  if (listing.indexed) {
    for (std::uint32_t i : listing.Named(aura_name)) named.push_back(&listing.instances[i]);
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
  if (!s.customer_managed_key_id.empty()) r.customer_managed_key_id = s.customer_managed_key_id;
  return r;
}

// No journal knowledge of an instance for this key: adopt, report a conflict, or create.
// What adopting `i` brings: "memory 8GB -> 2GB, storage 16GB -> 4GB, pause".
std::string AdoptionConsequences(const InstanceSpec& s, const api::Instance& i) {
  std::string out;
  auto add = [&out](const std::string& what) { out += (out.empty() ? "" : ", ") + what; };
  if (i.type != s.type && !i.type.empty()) add("type " + i.type + " differs from " + s.type);
  for (const FieldChange& c : Changes(s, i)) {
    add(c.field + " " + c.observed.value_or("(not reported)") + " -> " + c.desired);
  }
  if (s.paused && i.status == "running") add("pause");
  if (!s.paused && i.status == "paused") add("resume");
  return out;
}

void PlanWithoutInstance(const InstanceSpec& s, const JournalEntry* entry,
                         const TenantListing& listing, const Observed& observed,
                         const Owners& owners, std::string why, KeyPlan* p) {
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
    // What the adoption changes is part of it: read the instance before deciding.
    auto detail = observed.instances.find(same[0].id);
    if (detail == observed.instances.end()) {
      p->need_detail = true;
      p->status.aura_id = same[0].id;
      SetWaiting(p, kPhasePending, "reading instance " + same[0].id + " before adopting it");
      return;
    }
    std::string reason = "adopt existing instance " + same[0].id + " named \"" + s.aura_name + "\"";
    bool as_specified = false;
    if (detail->second.found) {
      const std::string then = AdoptionConsequences(s, detail->second.instance);
      as_specified = then.empty();
      reason += then.empty() ? ", as specified" : ", then " + then;
    }
    reason += " (password: unknown, instance not created here)";
    Action a = MakeAction(ActionType::kAdopt, s.key(), std::move(reason));
    a.instance_id = same[0].id;
    a.as_specified = as_specified;
    a.delete_on_removal = s.deletion_policy == spec::DeletionPolicy::kDelete;
    p->actions.push_back(std::move(a));
    p->status.phase = std::string(kPhasePending);
    p->status.drifted = true;
    p->status.message = "adopting " + same[0].id;
    return;
  }
  Action a = MakeAction(ActionType::kCreate, s.key(), std::move(why));
  a.create = CreateRequestFor(s);
  if (!PlanSource(s, observed, owners, &a.create, p)) return;
  if (a.create.source_instance_id) {
    a.reason += "; clone of " + *a.create.source_instance_id +
                (a.create.source_snapshot_id ? " snapshot " + *a.create.source_snapshot_id : "");
  }
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
  PlanWithoutInstance(*s, &e, listing, observed, owners,
                      "previous create (attempt " + std::to_string(intent.attempt) +
                          ") never landed: no instance named \"" + intent.aura_name +
                          "\" after the settle window",
                      p);
}

// The key has an instance id in the journal.
// Same-named instances that appeared after this key's instance was recorded (a lagging LIST
// hid them when an ambiguous create was resolved, or someone made one by hand): recorded as
// duplicates of this key, so they are alarmed, never adopted by another key and never deleted.
void PlanLateDuplicates(const JournalEntry& e, const Observed& observed, const Owners& owners,
                        KeyPlan* p) {
  auto it = observed.listings.find(e.tenant_id);
  if (it == observed.listings.end() || e.aura_name.empty()) return;
  if (it->second.indexed) {
    // The usual case, at every key of every pass: the name lists this key's own instances only.
    const TenantListing& l = it->second;
    const std::vector<std::uint32_t> named = l.Named(e.aura_name);
    const bool only_known = std::all_of(named.begin(), named.end(), [&](std::uint32_t i) {
      const std::string& id = l.instances[i].id;
      return id == e.instance_id ||
             std::find(e.duplicate_ids.begin(), e.duplicate_ids.end(), id) != e.duplicate_ids.end();
    });
    if (only_known) return;
  }
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

}  // namespace aura::reconcile::detail
