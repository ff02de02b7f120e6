#include "pkg/reconcile/executor.h"

#include <algorithm>

namespace aura::reconcile {
namespace {

using base::Status;
using base::StatusCode;

nlohmann::json Fields(const Status& s, const std::string& request_id) {
  nlohmann::json f = base::StatusFields(s);
  if (!request_id.empty()) f["request_id"] = request_id;
  return f;
}

}  // namespace

bool CreateDefinitelyRefused(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
    case StatusCode::kThrottled:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict:
    case StatusCode::kCancelled:  // the client cancels only before sending
      return true;
    case StatusCode::kUnavailable:
      // Only a failure to connect proves the request never left.
      return s.reason() == "connect" && s.http_status() == 0;
    default:
      return false;  // kAmbiguous, kDeadlineExceeded, kInternal, kDataLoss, ...
  }
}

bool IsTerminal(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
    case StatusCode::kAlreadyExists:
      return true;
    default:
      return false;
  }
}

Executor::Executor(api::AuraApi& api, store::Journal& journal, store::CredentialStore& credentials,
                   const base::Clock& clock, metrics::Metrics& metrics, base::Logger log)
    : api_(api),
      journal_(journal),
      credentials_(credentials),
      clock_(clock),
      metrics_(metrics),
      log_(std::move(log)) {
  MarkOrphanIntents();
}

void Executor::MarkOrphanIntents() {
  auto entries = journal_.List();
  if (!entries.ok()) return;  // the controller reports an unreadable journal on its own
  for (auto& [key, e] : *entries) {
    if (!e.intent || e.intent->ambiguous) continue;
    e.intent->ambiguous = true;
    const base::Logger log = log_.With({{"key", key}, {"aura_name", e.intent->aura_name}});
    if (Status s = PutEntry(e); !s.ok()) {
      log.Debug("could not mark a create intent left by an earlier run", base::StatusFields(s));
      continue;
    }
    log.Info(
        "create intent left by an earlier run marked ambiguous: its POST may have been sent "
        "before that run died; the settle window counts from now");
  }
}

base::Logger Executor::Log(const Action& a) const {
  return log_.With({{"key", a.key}, {"action", std::string(ActionTypeName(a.type))}});
}

base::StatusOr<store::JournalEntry> Executor::EntryFor(const std::string& key) {
  auto e = journal_.Get(key);
  if (e.ok()) return e;
  if (e.status().code() != StatusCode::kNotFound) return e.status();
  store::JournalEntry fresh;
  fresh.key = key;
  return fresh;
}

Status Executor::PutEntry(store::JournalEntry e) {
  e.updated = clock_.SystemNow();
  Status s = journal_.Put(e);
  std::lock_guard<std::mutex> g(journal_error_mu_);
  journal_error_ = s.ok() ? "" : s.ToString();
  return s;
}

std::string Executor::JournalError() const {
  std::lock_guard<std::mutex> g(journal_error_mu_);
  return journal_error_;
}

InstanceObservation Executor::Observation(const api::Instance& i,
                                          const std::string& request_id) const {
  InstanceObservation o;
  o.found = true;
  o.instance = i;
  o.observed_at = clock_.SystemNow();
  o.request_id = request_id;
  return o;
}

ActionResult Executor::Execute(const Action& a) {
  // Every call is a chance to save credentials that failed to save earlier.
  (void)FlushUnsavedCredentials();
  switch (a.type) {
    case ActionType::kCreate:
      return Create(a);
    case ActionType::kRecordCreated:
      return RecordCreated(a);
    case ActionType::kRecordDuplicates:
      return RecordDuplicates(a);
    case ActionType::kAdopt:
      return Adopt(a);
    case ActionType::kPatch:
      return Patch(a);
    case ActionType::kUpgrade:
      return Upgrade(a);
    case ActionType::kPause:
    case ActionType::kResume:
      return PowerChange(a);
    case ActionType::kDelete:
      return Delete(a);
    case ActionType::kForget:
      return Forget(a);
    case ActionType::kRecordPolicy:
      return RecordPolicy(a);
    case ActionType::kMarkUnobservable:
      return MarkUnobservable(a);
    case ActionType::kRecordVanished:
      return RecordVanished(a);
  }
  return {base::InternalError("unknown action"), "", std::nullopt, false};
}

ActionResult Executor::Create(const Action& a) {
  ActionResult out;
  const base::Logger log = Log(a).With({{"aura_name", a.create.name}, {"attempt", a.attempt}});
  auto entry_or = EntryFor(a.key);
  if (!entry_or.ok()) {
    out.status = entry_or.status().WithContext("reading the journal before create");
    return out;
  }
  store::JournalEntry entry = *entry_or;
  store::CreateIntent intent;
  intent.aura_name = a.create.name;
  intent.tenant_id = a.create.tenant_id;
  intent.intent_time = clock_.SystemNow();
  intent.attempt = a.attempt;
  entry.intent = intent;
  entry.instance_id.clear();
  entry.origin = store::Origin::kCreated;
  entry.aura_name = a.create.name;
  entry.tenant_id = a.create.tenant_id;
  entry.cloud_provider = a.create.cloud_provider;
  entry.region = a.create.region;
  entry.type = a.create.type;
  entry.version = a.create.version;
  entry.credentials_saved = false;
  entry.delete_on_removal = a.delete_on_removal;
  // 1. The intent must be durable before anything is sent.
  if (Status s = PutEntry(entry); !s.ok()) {
    out.status = s.WithContext("create intent could not be written, so nothing was sent");
    log.Error("create not sent: the intent is not durable", base::StatusFields(out.status));
    return out;
  }
  out.journal_changed = true;
  log.Info("create intent recorded; sending POST /instances", {{"reason", a.reason}});

  // 2. POST, exactly once.
  auto reply = api_.CreateInstance(a.create);
  if (reply.ok()) {
    const api::CreatedInstance& c = reply->data;
    out.request_id = reply->request_id;
    metrics_.Creates("accepted").Increment();
    // Id and password first: the password is saved before anything else happens.
    Status saved = Status::Ok();
    if (!c.password.empty()) {
      base::RegisterSecret(c.password);
      store::Credentials creds{c.id, c.connection_url, c.username, c.password};
      saved = credentials_.Save(a.key, creds);
      if (!saved.ok()) {
        std::lock_guard<std::mutex> g(mu_);
        unsaved_[a.key] = creds;
        log.Error(
            "instance created but its credentials could not be saved yet; keeping them in "
            "memory and retrying",
            Fields(saved, reply->request_id));
      }
    }
    if (c.id.empty()) {
      // A password without an id (a reply cut short): kept above; which instance it belongs
      // to is resolved from a LIST, like any create of unknown outcome.
      entry.intent->ambiguous = true;
      entry.intent->last_request_id = reply->request_id;
      if (Status s = PutEntry(entry); !s.ok()) {
        log.Warn("could not mark the intent ambiguous", base::StatusFields(s));
      }
      out.status = base::AmbiguousError(
                       "create accepted but its reply named no instance id; resolving it from a "
                       "LIST")
                       .SetRequestId(reply->request_id);
      log.Warn("create reply without an instance id; the intent resolves it from a LIST",
               {{"request_id", reply->request_id}, {"password_saved", saved.ok()}});
      return out;
    }
    entry.intent.reset();
    entry.instance_id = c.id;
    entry.credentials_saved = !c.password.empty() && saved.ok();
    entry.credentials_note = c.password.empty() ? "reply-without-password"
                             : !saved.ok()      ? "unsaved"
                                                : "";
    if (Status s = PutEntry(entry); !s.ok()) {
      // The intent is still on disk: the next pass resolves it from the LIST.
      out.status = s.WithContext("instance " + c.id + " created but the journal write failed");
      log.Error("journal write after create failed; the pending intent will resolve it",
                Fields(out.status, reply->request_id));
      return out;
    }
    api::Instance i;
    i.id = c.id;
    i.name = c.name.empty() ? a.create.name : c.name;
    i.status = "creating";
    i.connection_url = c.connection_url;
    i.tenant_id = c.tenant_id.empty() ? a.create.tenant_id : c.tenant_id;
    i.cloud_provider = c.cloud_provider.empty() ? a.create.cloud_provider : c.cloud_provider;
    i.region = c.region.empty() ? a.create.region : c.region;
    i.type = c.type.empty() ? a.create.type : c.type;
    i.memory = a.create.memory;
    i.storage = a.create.storage.value_or("");
    i.created_at = c.created_at;
    i.vector_optimized = a.create.vector_optimized.value_or(false);
    i.graph_analytics_plugin = a.create.graph_analytics_plugin.value_or(false);
    out.observation = {c.id, Observation(i, reply->request_id)};
    if (c.password.empty()) {
      log.Warn(
          "instance created, but Aura's reply carried no password: the credentials are unknown "
          "(reset the password in the Aura console)",
          {{"instance_id", c.id}, {"request_id", reply->request_id}});
    }
    log.Info("instance created", {{"instance_id", c.id},
                                  {"request_id", reply->request_id},
                                  {"password_received", !c.password.empty()},
                                  {"credentials_saved", entry.credentials_saved}});
    return out;
  }

  const Status& err = reply.status();
  out.status = err;
  out.request_id = err.request_id();
  if (CreateDefinitelyRefused(err)) {
    metrics_.Creates("rejected").Increment();
    entry.intent.reset();
    Status s = entry.instance_id.empty() && entry.duplicate_ids.empty() ? journal_.Remove(a.key)
                                                                        : PutEntry(entry);
    if (!s.ok()) {
      log.Warn("could not clear the refused create's intent; it will be resolved from a LIST",
               base::StatusFields(s));
    }
    log.Warn("create refused", Fields(err, err.request_id()));
    return out;
  }
  metrics_.Creates("ambiguous").Increment();
  entry.intent->ambiguous = true;
  entry.intent->last_request_id = err.request_id();
  if (Status s = PutEntry(entry); !s.ok()) {
    // The unmarked intent is on disk already and still resolves from a LIST, but its settle
    // window counts from the intent instead of from now (until a restart marks it).
    log.Warn("could not mark the intent ambiguous", base::StatusFields(s));
  }
  out.status = base::AmbiguousError("create outcome unknown: " + err.message())
                   .SetRequestId(err.request_id())
                   .SetHttpStatus(err.http_status())
                   .SetReason(err.reason());
  log.Warn(
      "create outcome unknown; keeping the intent and resolving it from a later LIST "
      "(never re-POSTing)",
      Fields(err, err.request_id()));
  return out;
}

ActionResult Executor::RecordCreated(const Action& a) {
  ActionResult out;
  auto entry_or = EntryFor(a.key);
  if (!entry_or.ok()) {
    out.status = entry_or.status();
    return out;
  }
  store::JournalEntry entry = *entry_or;
  entry.intent.reset();
  entry.instance_id = a.instance_id;
  entry.origin = store::Origin::kCreated;
  for (const auto& d : a.duplicate_ids) {
    if (std::find(entry.duplicate_ids.begin(), entry.duplicate_ids.end(), d) ==
        entry.duplicate_ids.end()) {
      entry.duplicate_ids.push_back(d);
    }
  }
  auto saved = credentials_.Load(a.key);
  if (saved.ok() && saved->instance_id.empty() && !saved->password.empty()) {
    // A password that arrived without an id (a reply cut short): now we know whose it is.
    store::Credentials linked = *saved;
    linked.instance_id = a.instance_id;
    if (credentials_.Save(a.key, linked).ok()) saved = linked;
  }
  entry.credentials_saved = saved.ok() && saved->instance_id == a.instance_id;
  if (!entry.credentials_saved && credentials_.LoadInstance(a.instance_id).ok()) {
    entry.credentials_saved = credentials_.Link(a.key, a.instance_id).ok();
  }
  entry.credentials_note = entry.credentials_saved ? "" : "resolved-from-list";
  out.status = PutEntry(entry);
  out.journal_changed = out.status.ok();
  const base::Logger log = Log(a).With({{"instance_id", a.instance_id}});
  if (!out.status.ok()) {
    log.Error("could not record the resolved create", base::StatusFields(out.status));
    return out;
  }
  if (!a.duplicate_ids.empty()) {
    log.Error("DUPLICATE instances after an ambiguous create: kept the oldest, deleted nothing",
              {{"duplicates", a.duplicate_ids}});
  }
  log.Info(entry.credentials_saved
               ? "pending create resolved"
               : "pending create resolved; the one-time password was not received (the "
                 "create's response was lost): reset it in the Aura console",
           {{"reason", a.reason}});
  return out;
}

ActionResult Executor::RecordDuplicates(const Action& a) {
  ActionResult out;
  auto entry = journal_.Get(a.key);
  if (!entry.ok()) {
    out.status = entry.status();
    return out;
  }
  for (const auto& d : a.duplicate_ids) {
    if (std::find(entry->duplicate_ids.begin(), entry->duplicate_ids.end(), d) ==
        entry->duplicate_ids.end()) {
      entry->duplicate_ids.push_back(d);
    }
  }
  out.status = PutEntry(*entry);
  out.journal_changed = out.status.ok();
  const base::Logger log = Log(a).With({{"instance_id", a.instance_id}});
  if (!out.status.ok()) {
    log.Error("could not record duplicate instances", base::StatusFields(out.status));
    return out;
  }
  log.Error("DUPLICATE instances with this spec's name: recorded, kept, deleted nothing",
            {{"duplicates", a.duplicate_ids}, {"reason", a.reason}});
  return out;
}

ActionResult Executor::Adopt(const Action& a) {
  ActionResult out;
  auto entry_or = EntryFor(a.key);
  if (!entry_or.ok()) {
    out.status = entry_or.status();
    return out;
  }
  store::JournalEntry entry = *entry_or;
  entry.intent.reset();
  entry.instance_id = a.instance_id;
  entry.origin = store::Origin::kAdopted;
  // An instance this controller created under another key (a renamed spec) has its record.
  entry.credentials_saved =
      credentials_.LoadInstance(a.instance_id).ok() && credentials_.Link(a.key, a.instance_id).ok();
  entry.credentials_note = entry.credentials_saved ? "" : "adopted";
  entry.delete_on_removal = a.delete_on_removal;
  out.status = PutEntry(entry);
  out.journal_changed = out.status.ok();
  if (out.status.ok()) {
    metrics_.adoptions.Increment();
    Log(a).Info("adopted existing instance", {{"instance_id", a.instance_id}});
  }
  return out;
}

ActionResult Executor::Patch(const Action& a) {
  ActionResult out;
  auto reply = api_.UpdateInstance(a.instance_id, a.patch);
  const base::Logger log = Log(a).With({{"instance_id", a.instance_id}});
  if (!reply.ok()) return NotApplied(a, log, reply.status(), /*gone_on_404=*/true, "update");
  out.request_id = reply->request_id;
  out.observation = {a.instance_id, Observation(reply->data, reply->request_id)};
  log.Info("update accepted", {{"reason", a.reason}, {"request_id", reply->request_id}});
  // Remember what was sent, so that a field Aura takes but never applies or reads back is not
  // sent on every pass (planner: the patch guard), and the new name.
  auto entry = journal_.Get(a.key);
  if (!entry.ok()) return out;
  bool changed = false;
  for (const auto& [field, record] : a.patch_records) {
    store::FieldPatch r = record;
    r.sent_at = clock_.SystemNow();
    entry->patches[field] = r;
    changed = true;
  }
  if (a.patch.name && entry->aura_name != *a.patch.name) {
    entry->aura_name = *a.patch.name;
    changed = true;
  }
  if (changed) {
    if (Status s = PutEntry(*entry); !s.ok()) {
      log.Warn("could not record the PATCH in the journal", base::StatusFields(s));
    } else {
      out.journal_changed = true;
    }
  }
  return out;
}

ActionResult Executor::NotApplied(const Action& a, const base::Logger& log, const Status& s,
                                  bool gone_on_404, std::string_view what) const {
  ActionResult out;
  out.status = s;
  out.request_id = s.request_id();
  if (gone_on_404 && s.code() == StatusCode::kNotFound) {
    InstanceObservation gone;
    gone.observed_at = clock_.SystemNow();
    gone.request_id = out.request_id;
    out.observation = {a.instance_id, gone};
  }
  log.Log(s.code() == StatusCode::kConflict ? base::LogLevel::kInfo : base::LogLevel::kWarn,
          std::string(what) + " not applied", base::StatusFields(s));
  return out;
}

ActionResult Executor::PowerChange(const Action& a) {
  ActionResult out;
  const bool pause = a.type == ActionType::kPause;
  auto reply = pause ? api_.PauseInstance(a.instance_id) : api_.ResumeInstance(a.instance_id);
  const base::Logger log = Log(a).With({{"instance_id", a.instance_id}});
  if (!reply.ok()) {
    return NotApplied(a, log, reply.status(), /*gone_on_404=*/false, pause ? "pause" : "resume");
  }
  out.request_id = reply->request_id;
  out.observation = {a.instance_id, Observation(reply->data, reply->request_id)};
  log.Info(pause ? "pause accepted" : "resume accepted",
           {{"request_id", reply->request_id}, {"reason", a.reason}});
  if (pause && a.repause) metrics_.instances_repaused.Increment();
  auto entry = journal_.Get(a.key);
  // Aura turns CDC off while paused: after a resume it is sent afresh, not counted as a repeat.
  const bool forget_cdc = !pause && entry.ok() && entry->patches.erase("cdcEnrichmentMode") > 0;
  if (entry.ok() && (entry->paused_here != pause || forget_cdc)) {
    entry->paused_here = pause;
    if (Status s = PutEntry(*entry); !s.ok()) {
      log.Warn("could not record the power change in the journal", base::StatusFields(s));
    } else {
      out.journal_changed = true;
    }
  }
  return out;
}

ActionResult Executor::Delete(const Action& a) {
  ActionResult out;
  auto reply = api_.DeleteInstance(a.instance_id);
  const base::Logger log = Log(a).With({{"instance_id", a.instance_id}});
  if (!reply.ok()) {
    out.status = reply.status();
    out.request_id = out.status.request_id();
    log.Warn("delete not applied", base::StatusFields(out.status));
    return out;
  }
  out.request_id = reply->request_id;
  InstanceObservation o;
  o.observed_at = clock_.SystemNow();
  o.request_id = reply->request_id;
  if (reply->data.already_gone) {
    o.found = false;
  } else {
    o.found = true;
    o.instance.id = a.instance_id;
    o.instance.status = "destroying";
  }
  out.observation = {a.instance_id, o};
  log.Info(reply->data.already_gone ? "instance already gone" : "delete accepted",
           {{"request_id", reply->request_id}, {"reason", a.reason}});
  return out;
}

ActionResult Executor::Forget(const Action& a) {
  ActionResult out;
  out.status = journal_.Remove(a.key);
  out.journal_changed = out.status.ok();
  if (out.status.ok()) Log(a).Info("forgotten", {{"reason", a.reason}});
  return out;
}

ActionResult Executor::RecordPolicy(const Action& a) {
  ActionResult out;
  auto entry = journal_.Get(a.key);
  if (!entry.ok()) {
    out.status = entry.status();
    return out;
  }
  entry->delete_on_removal = a.delete_on_removal;
  out.status = PutEntry(*entry);
  out.journal_changed = out.status.ok();
  return out;
}

ActionResult Executor::MarkUnobservable(const Action& a) {
  ActionResult out;
  auto entry = journal_.Get(a.key);
  if (!entry.ok()) {
    out.status = entry.status();
    return out;
  }
  for (const std::string& f : a.fields) {
    auto it = entry->patches.find(f);
    if (it != entry->patches.end()) it->second.unobservable = true;
  }
  out.status = PutEntry(*entry);
  out.journal_changed = out.status.ok();
  if (out.status.ok()) {
    Log(a).Info(
        "PATCHed fields never read back: recorded as set, not observable; sent again "
        "only when the spec's value changes",
        {{"fields", a.fields}, {"instance_id", a.instance_id}});
  }
  return out;
}

ActionResult Executor::RecordVanished(const Action& a) {
  ActionResult out;
  auto entry = journal_.Get(a.key);
  if (!entry.ok()) {
    out.status = entry.status();
    return out;
  }
  if (entry->instance_id != a.instance_id) return out;  // already recorded
  entry->vanished_ids.push_back(a.instance_id);
  entry->instance_id.clear();
  entry->patches.clear();
  entry->paused_here = false;
  entry->credentials_saved = false;
  entry->credentials_note.clear();
  out.status = PutEntry(*entry);
  out.journal_changed = out.status.ok();
  if (out.status.ok()) {
    metrics_.instances_vanished.Increment();
    Log(a).Warn("instance VANISHED: recorded in the journal's history",
                {{"reason", a.reason}, {"instance_id", a.instance_id}});
  }
  return out;
}

Status Executor::FlushUnsavedCredentials() {
  std::lock_guard<std::mutex> g(mu_);
  Status last;
  for (auto it = unsaved_.begin(); it != unsaved_.end();) {
    Status s = credentials_.Save(it->first, it->second);
    if (!s.ok()) {
      last = s;
      ++it;
      continue;
    }
    auto entry = journal_.Get(it->first);
    if (entry.ok() && entry->instance_id == it->second.instance_id && !entry->credentials_saved) {
      entry->credentials_saved = true;
      entry->credentials_note.clear();
      (void)PutEntry(*entry);  // best effort: the file is what matters
    }
    log_.Info("saved credentials that had failed to save earlier", {{"key", it->first}});
    it = unsaved_.erase(it);
  }
  return last;
}

std::vector<std::string> Executor::UnsavedCredentialKeys() const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<std::string> out;
  for (const auto& [k, _] : unsaved_) out.push_back(k);
  return out;
}

bool Executor::HasUnsavedCredentials() const {
  std::lock_guard<std::mutex> g(mu_);
  return !unsaved_.empty();
}

}  // namespace aura::reconcile
