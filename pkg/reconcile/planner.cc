#include "pkg/reconcile/planner.h"

#include <algorithm>

#include "pkg/reconcile/planner_internal.h"

namespace aura::reconcile {
namespace detail {

std::string CredentialsNote(const store::JournalEntry& e) {
  if (e.origin == store::Origin::kAdopted || e.credentials_note == "adopted") {
    return "password unknown: instance not created here (adopted)";
  }
  if (e.credentials_note == "reply-without-password") {
    return "password unknown: Aura's create reply carried none; reset it in the Aura console";
  }
  if (e.credentials_note == "unsaved") {
    return "password received but not saved yet (the credentials store failed); retrying";
  }
  return "password unknown: the create's reply was lost; reset it in the Aura console";
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

}  // namespace detail

using namespace detail;  // NOLINT: the planner's own helpers
using store::JournalEntry;

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
    case ActionType::kUpgrade:
      return "upgrade";
    case ActionType::kPause:
      return "pause";
    case ActionType::kResume:
      return "resume";
    case ActionType::kDelete:
      return "delete";
    case ActionType::kForget:
      return "forget";
    case ActionType::kMarkUnobservable:
      return "mark-unobservable";
    case ActionType::kRecordVanished:
      return "record-vanished";
  }
  return "unknown";
}

bool ActsOnExistingInstance(ActionType t) {
  switch (t) {
    case ActionType::kPatch:
    case ActionType::kUpgrade:
    case ActionType::kPause:
    case ActionType::kResume:
    case ActionType::kDelete:
    case ActionType::kMarkUnobservable:
      return true;
    default:
      return false;
  }
}

bool Action::IsApiWrite() const {
  switch (type) {
    case ActionType::kCreate:
    case ActionType::kPatch:
    case ActionType::kUpgrade:
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
    if (!e->credentials_saved && !e->instance_id.empty()) {
      p.status.credentials_note = CredentialsNote(*e);
    }
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
    PlanKnownInstance(*s, *e, observed, owners, now, o, &p);
    NoteSourceWithoutEffect(*s, &p);
    return p;
  }
  const bool vanished = e && !e->vanished_ids.empty();
  if (vanished && s->recreate == spec::Recreate::kNever) {
    p.status.phase = std::string(kPhaseVanished);
    p.status.vanished = true;
    p.status.message = "instance " + e->vanished_ids.back() +
                       " vanished and recreate is Never: remove the spec, or set recreate: "
                       "IfMissing to create a new one";
    p.terminal = true;
    return p;
  }
  auto it = observed.listings.find(s->tenant_id);
  if (it == observed.listings.end()) {
    p.need_listing_after = base::SystemTime{};
    SetWaiting(&p, kPhasePending, "waiting for the tenant's instance list");
    return p;
  }
  PlanWithoutInstance(
      *s, e, it->second, observed, owners,
      vanished
          ? "instance " + e->vanished_ids.back() + " vanished; re-creating it (recreate: IfMissing)"
          : "no instance named \"" + s->aura_name + "\" in tenant " + s->tenant_id,
      &p);
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
    case ActionType::kMarkUnobservable:
    case ActionType::kRecordVanished:
      return 0;
    case ActionType::kCreate:
      return 1;
    case ActionType::kPatch:
    case ActionType::kUpgrade:
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
  if (std::any_of(key_changes.begin(), key_changes.end(),
                  [](const KeyChange& c) { return c.IsChange(); })) {
    return true;
  }
  return std::any_of(keys.begin(), keys.end(), [](const KeyPlan& k) {
    return std::any_of(k.actions.begin(), k.actions.end(),
                       [](const Action& a) { return !a.as_specified; }) ||
           std::any_of(k.secret_changes.begin(), k.secret_changes.end(),
                       [](const SecretChange& c) { return c.op != "secret-conflict"; });
  });
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
  plan.keys.reserve(keys.size());  // no growth by doubling: at 100,000 keys that was +80 MiB
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

void AddOwners(const JournalEntry& e, Owners* owners) {
  if (!e.instance_id.empty()) (*owners)[e.instance_id] = e.key;
  for (const auto& d : e.duplicate_ids) (*owners)[d] = e.key;
}

Owners OwnersOf(const std::map<std::string, JournalEntry>& journal) {
  Owners owners;
  for (const auto& [k, e] : journal) AddOwners(e, &owners);
  return owners;
}

}  // namespace aura::reconcile
