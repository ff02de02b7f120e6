#include "pkg/reconcile/connection_secrets.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "pkg/reconcile/planner_internal.h"

namespace aura::reconcile {
namespace {

using base::Status;
using base::StatusCode;

const std::string_view kManagedKeys[] = {kSecretUri, kSecretUsername, kSecretPassword,
                                         kSecretInstanceId, kSecretInstanceName};

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string NamespaceOf(const std::string& key) { return key.substr(0, key.find('/')); }

std::string Value(const std::map<std::string, std::string>& m, std::string_view k) {
  auto it = m.find(std::string(k));
  return it == m.end() ? "" : it->second;
}

// The SecretSynced condition's reason for a failure (CamelCase, as Kubernetes reasons are).
std::string ReasonFor(const Status& s) {
  if (s.reason() == "PasswordNotSaved") return s.reason();
  switch (s.code()) {
    case StatusCode::kPermissionDenied:
      return "Forbidden";
    case StatusCode::kUnauthenticated:
      return "Unauthorized";
    case StatusCode::kUnavailable:
      return "Unavailable";
    case StatusCode::kDeadlineExceeded:
      return "Timeout";
    case StatusCode::kThrottled:
      return "Throttled";
    case StatusCode::kConflict:
      return "Conflict";
    case StatusCode::kInvalidArgument:
      return "Invalid";
    case StatusCode::kDataLoss:
      return "CredentialsUnreadable";
    case StatusCode::kFailedPrecondition:
      return "FailedPrecondition";
    default:
      return "Error";
  }
}

}  // namespace

std::string ConnectionSecretName(const spec::InstanceSpec& s) {
  return s.connection_secret.empty() ? s.name + "-aura" : s.connection_secret;
}

bool ManagedFor(const SecretObject& s, const std::string& key) {
  return Value(s.labels, kManagedByLabel) == kManagedByValue &&
         Value(s.annotations, kSpecKeyAnnotation) == key;
}

DesiredSecret DesiredSecretFor(const std::string& key, const spec::InstanceSpec& spec,
                               const store::JournalEntry& entry,
                               const InstanceObservation* observation,
                               const store::Credentials* credentials) {
  (void)key;
  DesiredSecret d;
  d.namespace_name = spec.namespace_name;
  d.name = ConnectionSecretName(spec);
  d.instance_id = entry.instance_id;
  const bool seen = observation != nullptr && observation->found;
  const bool creds = credentials != nullptr && credentials->instance_id == entry.instance_id;
  d.data[std::string(kSecretInstanceId)] = entry.instance_id;
  std::string name = seen ? observation->instance.name : "";
  d.name_observed = !name.empty();
  if (name.empty()) name = entry.aura_name.empty() ? spec.aura_name : entry.aura_name;
  d.data[std::string(kSecretInstanceName)] = name;
  std::string uri = seen ? observation->instance.connection_url : "";
  d.uri_observed = !uri.empty();
  if (uri.empty() && creds) uri = credentials->connection_url;
  if (!uri.empty()) d.data[std::string(kSecretUri)] = uri;
  // Aura's first user is always neo4j; the create reply says so too.
  d.data[std::string(kSecretUsername)] =
      creds && !credentials->username.empty() ? credentials->username : "neo4j";
  d.password_saved = entry.credentials_saved;
  if (entry.credentials_saved && creds && !credentials->password.empty()) {
    d.data[std::string(kSecretPassword)] = credentials->password;
  } else if (!entry.credentials_saved) {
    d.password_note = detail::CredentialsNote(entry);
  }
  return d;
}

SecretDecision DecideSecret(const std::string& key, const DesiredSecret& desired,
                            const std::optional<SecretObject>& current, bool compare_password) {
  SecretDecision out;
  const std::string password(kSecretPassword);
  if (!current) {
    out.op = SecretDecision::Op::kCreate;
    out.write.namespace_name = desired.namespace_name;
    out.write.name = desired.name;
    out.write.data = desired.data;
    out.write.labels[std::string(kManagedByLabel)] = std::string(kManagedByValue);
    out.write.annotations[std::string(kSpecKeyAnnotation)] = key;
    for (const auto& [k, _] : desired.data) out.changed.push_back(k);
    if (!compare_password && desired.password_saved && !desired.data.contains(password)) {
      out.changed.push_back(password);
      std::sort(out.changed.begin(), out.changed.end());
    }
    return out;
  }
  if (!ManagedFor(*current, key)) {
    out.op = SecretDecision::Op::kConflict;
    const std::string owner = Value(current->annotations, kSpecKeyAnnotation);
    const std::string manager = Value(current->labels, kManagedByLabel);
    if (manager == kManagedByValue && !owner.empty()) {
      out.conflict = "Secret " + current->namespace_name + "/" + current->name +
                     " is managed for spec " + owner + ", not " + key +
                     ": left untouched; give one of the specs another spec.connectionSecret.name";
    } else {
      out.conflict = "Secret " + current->namespace_name + "/" + current->name +
                     " exists and is not managed by aura-controller (no label " +
                     std::string(kManagedByLabel) + "=" + std::string(kManagedByValue) +
                     " with annotation " + std::string(kSpecKeyAnnotation) + "=" + key +
                     "): left untouched; delete or rename it, or set spec.connectionSecret.name";
    }
    return out;
  }
  if (current->type != "Opaque") {
    out.op = SecretDecision::Op::kConflict;
    out.conflict = "Secret " + current->namespace_name + "/" + current->name + " has type " +
                   current->type + ", not Opaque (a Secret's type cannot change): delete it";
    return out;
  }
  out.write = *current;
  const bool same_instance = Value(current->data, kSecretInstanceId) == desired.instance_id;
  for (std::string_view k : kManagedKeys) {
    const std::string name(k);
    auto want = desired.data.find(name);
    auto have = out.write.data.find(name);
    if (want != desired.data.end()) {
      const bool observed = k == kSecretUri            ? desired.uri_observed
                            : k == kSecretInstanceName ? desired.name_observed
                                                       : true;
      if (!observed && same_instance && have != out.write.data.end()) {
        continue;  // not observed now (paused, or not read yet): what was written stays
      }
      if (have == out.write.data.end() || have->second != want->second) {
        out.write.data[name] = want->second;
        out.changed.push_back(name);
      }
      continue;
    }
    if (name == password && desired.password_saved && !compare_password) {
      if (have == out.write.data.end()) out.changed.push_back(name);  // it will be added
      continue;
    }
    // Unknown now: a password (or the URI of a paused instance) written earlier, or by hand,
    // stays while the Secret is for the same instance; one of another instance goes.
    const bool keep = same_instance && (k == kSecretPassword || k == kSecretUri);
    if (have != out.write.data.end() && !keep) {
      out.write.data.erase(have);
      out.changed.push_back(name);
    }
  }
  out.op = out.changed.empty() ? SecretDecision::Op::kNone : SecretDecision::Op::kUpdate;
  return out;
}

ConnectionSecrets::ConnectionSecrets(SecretStore& secrets, store::Journal& journal,
                                     store::CredentialStore& credentials, base::Clock& clock,
                                     metrics::Metrics& metrics, base::Logger log,
                                     ConnectionSecretOptions options)
    : secrets_(secrets),
      journal_(journal),
      credentials_(credentials),
      clock_(clock),
      metrics_(metrics),
      log_(log.With({{"component", "connection-secrets"}})),
      options_(options) {}

base::Duration ConnectionSecrets::Backoff(int failures) const {
  base::Duration d = options_.retry_base;
  for (int i = 1; i < failures && d < options_.retry_max; ++i) d *= 2;
  return std::min(d, options_.retry_max);
}

void ConnectionSecrets::Set(const std::string& key, KeyState st) {
  std::lock_guard<std::mutex> g(mu_);
  keys_[key] = std::move(st);
}

base::Duration ConnectionSecrets::Failed(const std::string& key, const std::string& secret,
                                         const Status& s, std::size_t fingerprint) {
  const bool forbidden = s.code() == StatusCode::kPermissionDenied;
  const bool no_namespace = s.code() == StatusCode::kFailedPrecondition && s.http_status() == 404;
  std::string reason = no_namespace ? "NamespaceNotFound" : ReasonFor(s);
  metrics_.ConnectionSecretWrites(forbidden ? "forbidden" : "error").Increment();
  base::Duration delay;
  {
    std::lock_guard<std::mutex> g(mu_);
    KeyState& st = keys_[key];
    st.secret = secret;
    st.synced = false;
    st.reason = reason;
    st.message = s.message();
    st.state = forbidden || no_namespace ? SecretState::kTerminal : SecretState::kPending;
    st.fingerprint = fingerprint;
    ++st.failures;
    delay = Backoff(st.failures);
    st.next_try = clock_.Now() + delay;
  }
  nlohmann::json f = base::StatusFields(s);
  f["key"] = key;
  f["secret"] = secret;
  f["retry_in_s"] = base::ToSeconds(delay);
  log_.Warn("connection Secret not in place yet", f);
  return delay;
}

base::Status ConnectionSecrets::Record(const std::string& key, const std::string& add,
                                       const std::vector<std::string>& drop) {
  auto e = journal_.Get(key);
  if (!e.ok()) return e.status().WithContext("recording the connection Secret in the journal");
  std::vector<std::string>& names = e->connection_secrets;
  const std::vector<std::string> before = names;
  names.erase(std::remove_if(names.begin(), names.end(),
                             [&](const std::string& n) {
                               return std::find(drop.begin(), drop.end(), n) != drop.end();
                             }),
              names.end());
  if (!add.empty() && std::find(names.begin(), names.end(), add) == names.end()) {
    names.push_back(add);
  }
  if (names == before) return Status();
  e->updated = clock_.SystemNow();
  return journal_.Put(*e).WithContext("recording the connection Secret in the journal");
}

base::StatusOr<SecretDecision> ConnectionSecrets::WriteOnce(const std::string& key,
                                                            const DesiredSecret& desired) {
  const std::string secret = desired.namespace_name + "/" + desired.name;
  for (int attempt = 0; attempt <= options_.conflict_retries; ++attempt) {
    std::optional<SecretObject> current;
    auto got = secrets_.Get(desired.namespace_name, desired.name);
    if (got.ok()) {
      current = std::move(*got);
    } else if (got.status().code() != StatusCode::kNotFound) {
      return got.status();
    }
    SecretDecision d = DecideSecret(key, desired, current, /*compare_password=*/true);
    if (d.op == SecretDecision::Op::kNone || d.op == SecretDecision::Op::kConflict) return d;
    Status put = secrets_.Put(d.write);
    if (put.ok()) {
      const bool created = d.op == SecretDecision::Op::kCreate;
      metrics_.ConnectionSecretWrites(created ? "created" : "updated").Increment();
      log_.Info(created ? "connection Secret created" : "connection Secret updated",
                {{"key", key}, {"secret", secret}, {"keys", d.changed}});
      return d;
    }
    // Someone wrote or deleted it since it was read: read it again and decide again.
    if (put.code() == StatusCode::kConflict || put.code() == StatusCode::kAlreadyExists ||
        put.code() == StatusCode::kNotFound) {
      log_.Info("connection Secret changed while being written; reading it again",
                {{"key", key}, {"secret", secret}, {"attempt", attempt + 1}});
      continue;
    }
    return put;
  }
  return base::ConflictError("connection Secret " + secret + " kept changing while written (" +
                             std::to_string(options_.conflict_retries + 1) + " reads)");
}

base::Status ConnectionSecrets::DeleteManaged(const std::string& key, const std::string& ns,
                                              const std::string& name) {
  for (int attempt = 0; attempt <= options_.conflict_retries; ++attempt) {
    auto got = secrets_.Get(ns, name);
    if (!got.ok()) {
      return got.status().code() == StatusCode::kNotFound ? Status() : got.status();
    }
    if (!ManagedFor(*got, key)) {
      log_.Info("not deleting a Secret this key does not manage",
                {{"key", key}, {"secret", ns + "/" + name}});
      return Status();
    }
    Status s = secrets_.Delete(ns, name, got->resource_version);
    if (s.ok()) {
      metrics_.ConnectionSecretWrites("deleted").Increment();
      log_.Info("connection Secret deleted", {{"key", key}, {"secret", ns + "/" + name}});
      return s;
    }
    if (s.code() != StatusCode::kConflict) return s;
  }
  return base::ConflictError("connection Secret " + ns + "/" + name +
                             " kept changing while being deleted");
}

std::optional<base::Duration> ConnectionSecrets::Sync(const spec::InstanceSpec& spec,
                                                      const store::JournalEntry* entry,
                                                      const InstanceObservation* observation) {
  const std::string key = spec.key();
  const std::string name = ConnectionSecretName(spec);
  const std::string secret = spec.namespace_name + "/" + name;
  auto waiting = [&](std::string message) {
    KeyState st;
    st.secret = secret;
    st.reason = "WaitingForInstance";
    st.message = std::move(message);
    st.state = SecretState::kWaiting;
    Set(key, std::move(st));
    return std::nullopt;
  };
  if (entry == nullptr || entry->instance_id.empty() || entry->intent) {
    return waiting("written once the instance exists");
  }
  const bool url_seen =
      observation != nullptr && observation->found && !observation->instance.connection_url.empty();
  const bool unsaved = entry->credentials_note == "unsaved";
  if (!entry->credentials_saved && !unsaved && observation == nullptr) {
    return waiting("written once the instance's details (its URI) have been read");
  }
  // Everything the Secret depends on but the password, which is fixed per instance once saved.
  std::string facts = secret + '\n' + entry->instance_id + '\n' +
                      (entry->credentials_saved ? "saved" : entry->credentials_note) + '\n' +
                      entry->aura_name + '\n' + spec.aura_name + '\n';
  if (observation != nullptr && observation->found) {
    facts += observation->instance.name + '\n' + observation->instance.connection_url + '\n';
  }
  for (const auto& n : entry->connection_secrets) {
    if (n != name) facts += n + ',';  // old names still to delete
  }
  const std::size_t fingerprint = std::hash<std::string>{}(facts);
  const base::TimePoint now = clock_.Now();
  bool reading_back = false;  // in sync with these facts: only checking it is still there
  {
    // In sync and read back recently: nothing to do. Failed with the same facts: back off.
    std::lock_guard<std::mutex> g(mu_);
    auto it = keys_.find(key);
    if (it != keys_.end() && it->second.fingerprint == fingerprint && it->second.secret == secret) {
      const KeyState& st = it->second;
      if (st.synced && now < st.verified + options_.verify_interval) return std::nullopt;
      if (!st.synced && now < st.next_try) return st.next_try - now;
      reading_back = st.synced;
    }
  }
  auto failed = [&](const Status& s) {
    const bool transient = s.IsRetryable() || s.code() == StatusCode::kDeadlineExceeded;
    if (!reading_back || !transient) return Failed(key, secret, s, fingerprint);
    // A read-back that could not be made says nothing against the Secret written: it stays
    // synced (not pending), and the read-back is tried again after a backoff.
    std::lock_guard<std::mutex> g(mu_);
    KeyState& st = keys_[key];
    ++st.failures;
    const base::Duration delay = Backoff(st.failures);
    st.verified = now + delay - options_.verify_interval;
    st.message = "written; the last read-back failed (retried): " + s.message();
    return delay;
  };
  if (unsaved) {
    // Never ahead of the store: the executor retries the save; the journal says when it is in.
    return failed(base::UnavailableError(
                      "the password is not saved in the credential store yet (retried); the "
                      "Secret is written after it")
                      .SetReason("PasswordNotSaved"));
  }
  std::optional<store::Credentials> creds;
  if (entry->credentials_saved || !url_seen) {
    auto c = credentials_.Load(key);
    if (c.ok()) {
      creds = std::move(*c);
    } else if (entry->credentials_saved) {
      return failed(c.status().WithContext("reading the saved password"));
    }
  }
  if (entry->credentials_saved && (!creds || creds->instance_id != entry->instance_id)) {
    return failed(base::DataLossError("the credential store holds no password for instance " +
                                      entry->instance_id + " under " + key));
  }
  const DesiredSecret desired =
      DesiredSecretFor(key, spec, *entry, observation, creds ? &*creds : nullptr);
  if (std::find(entry->connection_secrets.begin(), entry->connection_secrets.end(), name) ==
      entry->connection_secrets.end()) {
    // Recorded before it is first written: a removed or renamed spec's Secret is found again.
    if (Status s = Record(key, name, {}); !s.ok()) return failed(s);
  }
  auto decision = WriteOnce(key, desired);
  if (!decision.ok()) return failed(decision.status());
  if (decision->op == SecretDecision::Op::kConflict) {
    bool first = false;
    {
      std::lock_guard<std::mutex> g(mu_);
      first = keys_[key].reason != "Conflict";
    }
    if (first) metrics_.ConnectionSecretWrites("conflict").Increment();
    base::Duration delay;
    {
      std::lock_guard<std::mutex> g(mu_);
      KeyState& st = keys_[key];
      st.secret = secret;
      st.synced = false;
      st.reason = "Conflict";
      st.message = decision->conflict;
      st.state = SecretState::kTerminal;
      st.fingerprint = fingerprint;
      ++st.failures;
      delay = Backoff(st.failures);
      st.next_try = now + delay;
    }
    if (first) log_.Warn("connection Secret conflict", {{"key", key}, {"why", decision->conflict}});
    return delay;
  }
  // A renamed Secret: the old managed ones go once the new one is in place.
  std::vector<std::string> stale;
  std::string cleanup_error;
  for (const auto& old : entry->connection_secrets) {
    if (old == name) continue;
    if (Status s = DeleteManaged(key, spec.namespace_name, old); !s.ok()) {
      cleanup_error = "the old Secret " + spec.namespace_name + "/" + old +
                      " is not deleted yet: " + s.message();
      break;
    }
    stale.push_back(old);
  }
  if (!stale.empty()) {
    if (Status s = Record(key, "", stale); !s.ok()) cleanup_error = s.message();
  }
  KeyState st;
  st.secret = secret;
  st.synced = true;
  st.state = SecretState::kSynced;
  st.fingerprint = fingerprint;
  st.verified = now;
  if (!desired.password_note.empty()) {
    st.reason = "PasswordUnknown";
    st.message = "written without NEO4J_PASSWORD: " + desired.password_note;
  } else {
    st.reason = "Synced";
    st.message = decision->op == SecretDecision::Op::kNone
                     ? "up to date"
                     : "written (" + Join(decision->changed) + ")";
  }
  if (!desired.data.contains(std::string(kSecretUri))) {
    st.message += "; NEO4J_URI unknown while the instance is paused";
  }
  if (!cleanup_error.empty()) {
    st.message += "; " + cleanup_error;
    st.reason = "OldSecretNotDeleted";
    st.state = SecretState::kPending;
    st.synced = false;
    st.failures = 1;
    st.next_try = now + Backoff(1);
    Set(key, st);
    return Backoff(1);
  }
  Set(key, std::move(st));
  return std::nullopt;
}

base::Status ConnectionSecrets::BeforeForget(const store::JournalEntry& entry,
                                             base::Duration* retry_after) {
  const std::string& key = entry.key;
  if (!entry.delete_on_removal || entry.connection_secrets.empty()) {
    if (!entry.connection_secrets.empty()) {
      log_.Info("spec removed with deletionPolicy Retain: its connection Secret stays",
                {{"key", key}, {"secrets", entry.connection_secrets}});
    }
    Forget(key);
    return Status();
  }
  const std::string ns = NamespaceOf(key);
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = keys_.find(key);
    if (it != keys_.end() && clock_.Now() < it->second.next_try) {
      *retry_after = it->second.next_try - clock_.Now();
      return base::UnavailableError(it->second.message);
    }
  }
  for (const auto& name : entry.connection_secrets) {
    Status s = DeleteManaged(key, ns, name);
    if (!s.ok()) {
      Status held = s.WithContext("deleting connection Secret " + ns + "/" + name);
      *retry_after = Failed(key, ns + "/" + name, held, 0);
      std::lock_guard<std::mutex> g(mu_);
      keys_[key].removing = true;
      return held;
    }
  }
  Forget(key);
  return Status();
}

base::StatusOr<std::vector<SecretChange>> ConnectionSecrets::PlanFor(
    const std::string& key, const spec::InstanceSpec* spec, const store::JournalEntry* entry,
    const InstanceObservation* observation, bool removed_will_forget) {
  std::vector<SecretChange> out;
  auto read = [&](const std::string& ns,
                  const std::string& name) -> base::StatusOr<std::optional<SecretObject>> {
    auto got = secrets_.Get(ns, name);
    if (got.ok()) return std::optional<SecretObject>(std::move(*got));
    if (got.status().code() == StatusCode::kNotFound) return std::optional<SecretObject>();
    return got.status().WithContext("reading connection Secret " + ns + "/" + name);
  };
  const std::string ns = spec ? spec->namespace_name.str() : NamespaceOf(key);
  if (spec != nullptr) {
    const std::string name = ConnectionSecretName(*spec);
    const std::string secret = ns + "/" + name;
    AURA_ASSIGN_OR_RETURN(std::optional<SecretObject> current, read(ns, name));
    const bool known = entry != nullptr && !entry->instance_id.empty() && !entry->intent;
    if (known) {
      DesiredSecret d = DesiredSecretFor(key, *spec, *entry, observation, nullptr);
      SecretDecision dec = DecideSecret(key, d, current, /*compare_password=*/false);
      switch (dec.op) {
        case SecretDecision::Op::kCreate:
          out.push_back({"secret-create", secret, "keys " + Join(dec.changed)});
          break;
        case SecretDecision::Op::kUpdate:
          out.push_back({"secret-update", secret, "changed " + Join(dec.changed)});
          break;
        case SecretDecision::Op::kConflict:
          out.push_back({"secret-conflict", secret, dec.conflict});
          break;
        case SecretDecision::Op::kNone:
          break;
      }
    } else if (current && !ManagedFor(*current, key)) {
      SecretDecision dec = DecideSecret(key, DesiredSecret{}, current, false);
      out.push_back({"secret-conflict", secret, dec.conflict});
    } else {
      out.push_back(
          {current ? "secret-update" : "secret-create", secret, "once the instance exists"});
    }
    if (entry != nullptr) {
      for (const auto& old : entry->connection_secrets) {
        if (old == name) continue;
        AURA_ASSIGN_OR_RETURN(std::optional<SecretObject> o, read(ns, old));
        if (o && ManagedFor(*o, key)) {
          out.push_back(
              {"secret-delete", ns + "/" + old, "spec.connectionSecret.name is now " + name});
        }
      }
    }
    return out;
  }
  if (entry != nullptr && removed_will_forget && entry->delete_on_removal) {
    for (const auto& name : entry->connection_secrets) {
      AURA_ASSIGN_OR_RETURN(std::optional<SecretObject> o, read(ns, name));
      if (o && ManagedFor(*o, key)) {
        out.push_back({"secret-delete", ns + "/" + name,
                       "spec removed (deletionPolicy Delete): once the instance is gone"});
      }
    }
  }
  return out;
}

void ConnectionSecrets::Annotate(const std::string& key, SpecStatus* status) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  status->secret = it->second.secret;
  status->secret_synced = it->second.synced;
  status->secret_reason = it->second.reason;
  status->secret_message = it->second.message;
}

SecretState ConnectionSecrets::State(const std::string& key) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = keys_.find(key);
  return it == keys_.end() ? SecretState::kNotApplicable : it->second.state;
}

std::map<std::string, SecretState> ConnectionSecrets::States() const {
  std::lock_guard<std::mutex> g(mu_);
  std::map<std::string, SecretState> out;
  for (const auto& [k, st] : keys_) out[k] = st.state;
  return out;
}

void ConnectionSecrets::SpecRemoved(const std::string& key) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = keys_.find(key);
  if (it != keys_.end() && !it->second.removing) keys_.erase(it);
}

void ConnectionSecrets::Forget(const std::string& key) {
  std::lock_guard<std::mutex> g(mu_);
  keys_.erase(key);
}

std::size_t ConnectionSecrets::Pending() const {
  std::lock_guard<std::mutex> g(mu_);
  std::size_t n = 0;
  for (const auto& [_, st] : keys_) {
    n += st.state == SecretState::kPending || st.state == SecretState::kTerminal ? 1 : 0;
  }
  return n;
}

}  // namespace aura::reconcile
