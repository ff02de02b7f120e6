// Controller: creating and deleting customer-managed keys from AuraCustomerManagedKey specs,
// exactly once like instances (DESIGN.md "Exactly-once create", issue 22).
//
// Each key spec has a journal entry under spec.journal_key() ("cmk/<namespace>/<name>"; the
// InstanceJournal view hides it from everything about instances): instance_id holds the key's
// Aura id once known; an intent is written durably before every POST. A key spec without a known
// id is resolved from a LIST of its tenant's keys first: one key of its Aura name is adopted
// (recorded), several are reported and nothing is done, none is created - unless an intent of
// unknown outcome is pending and the settle window since it has not passed, so that a LIST that
// lags is never taken for a create that did not land. A create is never resent on its own path.
//
// A removed key spec: Retain forgets the entry (the key stays in Aura); Delete deletes the key
// when deletes are allowed (--allow-delete) and every spec file loaded, once no instance spec
// refers to it and no instance observed uses it; Aura's 400 (the key is in use) is reported and
// tried again on the next pass.
#include <algorithm>

#include "pkg/reconcile/controller.h"

namespace aura::reconcile {

namespace {

using base::Status;
using base::StatusCode;

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

KeyChange Change(std::string op, const std::string& spec_key, const store::JournalEntry* e,
                 std::string message) {
  KeyChange c;
  c.op = std::move(op);
  c.spec_key = spec_key;
  if (e != nullptr) {
    c.aura_name = e->intent ? e->intent->aura_name : e->aura_name;
    c.tenant_id = e->intent ? e->intent->tenant_id : e->tenant_id.str();
    c.key_id = e->instance_id;
  }
  c.message = std::move(message);
  return c;
}

// A new journal entry for `key`: what the spec says, no id yet.
store::JournalEntry EntryFor(const spec::CustomerManagedKeySpec& key) {
  store::JournalEntry e;
  e.key = key.journal_key();
  e.aura_name = key.aura_name;
  e.tenant_id = key.tenant_id;
  e.cloud_provider = key.cloud_provider;
  e.region = key.region;
  e.type = key.instance_type;
  return e;
}

// "ns/name" of a key entry's journal key "cmk/ns/name".
std::string SpecKeyOf(const std::string& journal_key) {
  return journal_key.substr(store::kKeyEntryPrefix.size());
}

}  // namespace

KeyChange Controller::CreateCustomerManagedKey(const spec::CustomerManagedKeySpec& key,
                                               int attempt) {
  const std::string jk = key.journal_key();
  const base::Logger log = log_.With(
      {{"key", jk}, {"action", "key-create"}, {"aura_name", key.aura_name}, {"attempt", attempt}});
  store::JournalEntry e = EntryFor(key);
  store::CreateIntent intent;
  intent.aura_name = key.aura_name;
  intent.tenant_id = key.tenant_id;
  intent.intent_time = clock_.SystemNow();
  intent.attempt = attempt;
  e.intent = intent;
  e.delete_on_removal = key.deletion_policy == spec::DeletionPolicy::kDelete;
  e.updated = clock_.SystemNow();
  KeyChange c = Change("key-create", key.key(), &e, "");
  // 1. The intent is durable before anything is sent.
  if (Status s = raw_journal_.Put(e); !s.ok()) {
    c.op = "key-wait";
    c.retry = true;
    c.message = "create intent could not be written, so nothing was sent: " + s.ToString();
    log.Error("key create not sent: the intent is not durable", base::StatusFields(s));
    return c;
  }
  log.Info("key create intent recorded; sending POST /customer-managed-keys");
  // 2. POST, exactly once.
  api::CreateCustomerManagedKeyRequest req{key.aura_name, key.tenant_id,     key.cloud_provider,
                                           key.region,    key.instance_type, key.key_id};
  auto reply = api_.CreateCustomerManagedKey(req);
  NoteApi(reply.status());
  if (reply.ok() && !reply->data.id.empty()) {
    e.intent.reset();
    e.instance_id = reply->data.id;
    e.updated = clock_.SystemNow();
    c.key_id = reply->data.id;
    c.message = "created customer-managed key " + Quoted(key.aura_name) + " (" + reply->data.id +
                ") in tenant " + key.tenant_id;
    if (Status s = raw_journal_.Put(e); !s.ok()) {
      // The intent is still on disk: the next pass adopts the key from the LIST.
      c.message += "; the journal write failed (" + s.ToString() + "): resolved from a LIST";
      log.Error("journal write after the key create failed; the intent will resolve it",
                base::StatusFields(s));
    }
    log.Info("customer-managed key created",
             {{"key_id", reply->data.id}, {"request_id", reply->request_id}});
    return c;
  }
  if (!reply.ok() && CreateDefinitelyRefused(reply.status())) {
    const Status& err = reply.status();
    if (Status s = raw_journal_.Remove(jk); !s.ok()) {
      log.Warn("could not clear the refused key create's intent; a LIST resolves it",
               base::StatusFields(s));
    }
    c.op = "key-wait";
    c.message = "Aura refused to create customer-managed key " + Quoted(key.aura_name) + ": " +
                err.ToString();
    log.Warn("key create refused", base::StatusFields(err));
    return c;
  }
  // Unknown outcome (or a reply without an id): keep the intent, never re-POST on this path.
  const Status err =
      reply.ok() ? base::AmbiguousError("create reply named no key id") : reply.status();
  e.intent->ambiguous = true;
  e.intent->last_request_id = reply.ok() ? reply->request_id : err.request_id();
  e.updated = clock_.SystemNow();
  if (Status s = raw_journal_.Put(e); !s.ok()) {
    log.Warn("could not mark the key intent ambiguous", base::StatusFields(s));
  }
  c.op = "key-wait";
  c.retry = true;
  c.message = "outcome of the create of customer-managed key " + Quoted(key.aura_name) +
              " is unknown (" + err.message() + "); resolving it from a later LIST";
  log.Warn("key create outcome unknown; keeping the intent (never re-POSTing)",
           base::StatusFields(err));
  return c;
}

std::vector<KeyChange> Controller::ReconcileCustomerManagedKeys(bool execute) {
  std::vector<KeyChange> out;
  std::map<std::string, spec::CustomerManagedKeySpec> specs;  // by journal key
  std::set<std::string> invalid;
  std::map<std::string, std::string> refs;  // key spec key -> an instance spec referring to it
  std::map<std::string, std::string> ids;   // key id -> an instance spec naming it
  bool complete = true;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    for (const auto& [_, k] : key_specs_) specs[k.journal_key()] = k;
    invalid = invalid_keys_;
    complete = complete_;
    for (const auto& [k, s] : desired_) {
      if (!s->customer_managed_key_ref.empty()) refs.emplace(s->customer_managed_key_ref, k);
      if (!s->customer_managed_key_id.empty()) ids.emplace(s->customer_managed_key_id, k);
    }
  }
  std::map<std::string, store::JournalEntry> entries;  // the keys' entries only, not a copy of all
  const Status read = raw_journal_.ForEach([&entries](const store::JournalEntry& e) {
    if (store::IsKeyEntry(e.key)) entries.emplace(e.key, e);
  });
  if (!read.ok()) {
    out.push_back(Change("key-wait", "", nullptr, "reading the journal fails: " + read.ToString()));
    return out;
  }
  const base::SystemTime now = clock_.SystemNow();
  const base::Duration settle = options_.plan.settle_window;

  // Same-named keys of a tenant, listed now (after every intent: sent after it was written).
  auto same_named = [&](const std::string& tenant, const std::string& name,
                        std::vector<std::string>* found) -> Status {
    auto list = api_.ListCustomerManagedKeys(tenant, ratelimit::Priority::kPoll);
    NoteApi(list.status());
    if (!list.ok()) return list.status();
    for (const api::CustomerManagedKey& k : list->data) {
      if (k.name == name && (k.tenant_id.empty() || k.tenant_id == tenant)) found->push_back(k.id);
    }
    return Status();
  };
  auto record = [&](store::JournalEntry e, const std::string& id, bool adopted) -> Status {
    e.origin = e.intent || !adopted ? store::Origin::kCreated : store::Origin::kAdopted;
    e.intent.reset();
    e.instance_id = id;
    e.updated = clock_.SystemNow();
    return raw_journal_.Put(e);
  };
  // The settle window of a pending intent: a LIST sent before its end may not show the key yet.
  auto settled = [&](const store::JournalEntry& e) {
    base::SystemTime from = e.intent->intent_time;
    if (e.intent->ambiguous) from = std::max(from, e.updated);
    return now >= from + settle;
  };

  // Key specs: resolve, adopt or create.
  for (const auto& [jk, key] : specs) {
    auto it = entries.find(jk);
    const store::JournalEntry* e = it == entries.end() ? nullptr : &it->second;
    const bool delete_on_removal = key.deletion_policy == spec::DeletionPolicy::kDelete;
    if (e && !e->instance_id.empty() && !e->intent) {
      if (execute && e->delete_on_removal != delete_on_removal) {
        store::JournalEntry u = *e;
        u.delete_on_removal = delete_on_removal;
        u.updated = now;
        (void)raw_journal_.Put(u);  // tried again on the next pass
      }
      continue;  // known: ResolveKeyRef reads it
    }
    std::vector<std::string> found;
    if (Status s = same_named(key.tenant_id, key.aura_name, &found); !s.ok()) {
      KeyChange c = Change("key-wait", key.key(), e, "listing keys fails: " + s.message());
      c.retry = true;
      c.aura_name = key.aura_name;
      c.tenant_id = key.tenant_id;
      out.push_back(std::move(c));
      continue;
    }
    store::JournalEntry base_entry = e ? *e : EntryFor(key);
    base_entry.delete_on_removal = delete_on_removal;
    KeyChange c = Change("key-wait", key.key(), &base_entry, "");
    c.aura_name = key.aura_name;
    c.tenant_id = key.tenant_id;
    if (found.size() > 1) {
      std::string list;
      for (const auto& id : found) list += (list.empty() ? "" : ", ") + id;
      c.message = "Aura lists several customer-managed keys named " + Quoted(key.aura_name) + " (" +
                  list + "): none is adopted and none created; rename all but one";
      out.push_back(std::move(c));
      continue;
    }
    if (found.size() == 1) {
      c.op = "key-adopt";
      c.key_id = found[0];
      c.message = (e && e->intent ? "create resolved from the LIST: key " : "adopt the key ") +
                  found[0] + " named " + Quoted(key.aura_name);
      if (execute) {
        if (Status s = record(base_entry, found[0], !(e && e->intent)); !s.ok()) {
          c.op = "key-wait";
          c.retry = true;
          c.message = "recording key " + found[0] + " fails: " + s.ToString();
        } else {
          log_.Info("customer-managed key recorded",
                    {{"key", jk}, {"key_id", found[0]}, {"reason", c.message}});
        }
      }
      out.push_back(std::move(c));
      continue;
    }
    // None listed.
    int attempt = 1;
    if (e && e->intent) {
      if (!settled(*e)) {
        c.message = std::string(e->intent->ambiguous ? "outcome of the key create is unknown"
                                                     : "key create sent") +
                    "; no key named " + Quoted(key.aura_name) +
                    " listed yet: waiting for the settle window before deciding";
        c.retry = true;
        out.push_back(std::move(c));
        continue;
      }
      attempt = e->intent->attempt + 1;  // the earlier POST never landed
    }
    if (!execute) {
      c.op = "key-create";
      c.message =
          "create customer-managed key " + Quoted(key.aura_name) + " in tenant " + key.tenant_id;
      out.push_back(std::move(c));
      continue;
    }
    out.push_back(CreateCustomerManagedKey(key, attempt));
  }

  // Entries whose key spec is gone.
  for (const auto& [jk, e] : entries) {
    if (specs.contains(jk)) continue;
    const std::string spec_key = SpecKeyOf(jk);
    KeyChange c = Change("key-wait", spec_key, &e, "");
    if (invalid.contains(jk)) {
      c.message = "the key spec has errors: nothing is done for its key until it loads";
      out.push_back(std::move(c));
      continue;
    }
    if (!complete) {
      c.message =
          "key spec not found, but some spec files could not be read: nothing is deleted or "
          "forgotten until they load";
      out.push_back(std::move(c));
      continue;
    }
    std::string id = e.instance_id;
    if (e.intent) {
      std::vector<std::string> found;
      if (Status s = same_named(e.intent->tenant_id, e.intent->aura_name, &found); !s.ok()) {
        c.message = "listing keys fails: " + s.message();
        c.retry = true;
        out.push_back(std::move(c));
        continue;
      }
      if (found.size() == 1) {
        id = found[0];
        if (execute && !record(e, id, false).ok()) {
          c.message = "recording key " + id + " fails";
          c.retry = true;
          out.push_back(std::move(c));
          continue;
        }
      } else if (found.size() > 1) {
        c.message = "several keys named " + Quoted(e.intent->aura_name) +
                    " after a create of unknown outcome: deleted nothing";
        out.push_back(std::move(c));
        continue;
      } else if (!settled(e)) {
        c.message =
            "key spec removed while its create is unresolved: waiting for the settle "
            "window";
        c.retry = true;
        out.push_back(std::move(c));
        continue;
      }
    }
    auto forget = [&](std::string why) {
      c.op = "key-forget";
      c.key_id = id;
      c.message = std::move(why);
      if (execute) {
        if (Status s = raw_journal_.Remove(jk); !s.ok()) {
          c.op = "key-wait";
          c.retry = true;
          c.message = "forgetting the key fails: " + s.ToString();
        } else {
          std::lock_guard<std::mutex> g(desired_mu_);
          resolved_keys_.erase(e.tenant_id + "/" + e.aura_name);
        }
      }
      out.push_back(c);
    };
    if (id.empty()) {
      forget("key spec removed; no key was created");
      continue;
    }
    if (!e.delete_on_removal) {
      forget("key spec removed; deletionPolicy Retain: key " + id + " is left in Aura");
      continue;
    }
    if (!options_.plan.allow_delete) {
      c.message =
          "key spec removed with deletionPolicy Delete, but deletes are not allowed: "
          "run with --allow-delete to delete key " +
          id;
      out.push_back(std::move(c));
      continue;
    }
    std::string user;
    if (auto r = refs.find(spec_key); r != refs.end()) {
      user = "instance spec " + r->second + " refers to it";
    } else if (auto i = ids.find(id); i != ids.end()) {
      user = "instance spec " + i->second + " names its id";
    } else {
      std::shared_lock<std::shared_mutex> g(obs_mu_);
      for (const auto& [iid, o] : observed_.instances) {
        if (o.found && o.instance.customer_managed_key_id == id) {
          user = "instance " + iid + " (" + o.instance.status + ") uses it";
          c.retry = o.instance.status == "destroying";
          break;
        }
      }
    }
    if (!user.empty()) {
      c.message = "waiting to delete key " + id + ": " + user;
      out.push_back(std::move(c));
      continue;
    }
    c.op = "key-delete";
    c.key_id = id;
    c.message = "delete customer-managed key " + Quoted(e.aura_name) + " (" + id + ") in tenant " +
                e.tenant_id + " (deletionPolicy Delete)";
    if (!execute) {
      out.push_back(std::move(c));
      continue;
    }
    auto del = api_.DeleteCustomerManagedKey(id);
    NoteApi(del.status());
    if (!del.ok()) {
      c.op = "key-wait";
      c.retry = true;
      c.message =
          (del.status().code() == StatusCode::kInvalidArgument || del.status().http_status() == 400
               ? "Aura refuses to delete key " + id + " while an instance uses it (" +
                     del.status().message() + "); trying again on the next pass"
               : "deleting key " + id + " fails: " + del.status().ToString() +
                     "; trying again on the next pass");
      log_.Warn("customer-managed key not deleted",
                {{"key", jk}, {"key_id", id}, {"error", del.status().ToString()}});
      out.push_back(std::move(c));
      continue;
    }
    log_.Info("customer-managed key deleted",
              {{"key", jk}, {"key_id", id}, {"request_id", del->request_id}});
    if (Status s = raw_journal_.Remove(jk); !s.ok()) {
      c.message += "; forgetting it fails (" + s.ToString() + "): the next pass sees it gone";
    }
    {
      std::lock_guard<std::mutex> g(desired_mu_);
      resolved_keys_.erase(e.tenant_id + "/" + e.aura_name);
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace aura::reconcile
