// The idempotency journal (DESIGN.md "Exactly-once create"): what this controller knows about
// each spec key that Aura cannot tell it, durably.
//
// A Put() that returns OK is on stable storage (FileJournal: fsync'd file, atomic rename,
// fsync'd folder; etcd: a committed, fenced transaction). Nothing may be sent to Aura that
// depends on a write that has not returned OK: "no POST without a durable intent".
//
// Thread-safety: implementations are safe for concurrent use; writes are serialized.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pkg/base/atom.h"
#include "pkg/base/clock.h"
#include "pkg/base/status.h"

namespace aura::store {

// Written before every POST /instances; resolved from a LIST fetched after it.
struct CreateIntent {
  std::string aura_name;
  std::string tenant_id;
  base::SystemTime intent_time{};  // wall clock, compared with Aura's created_at
  int attempt = 1;                 // 1 for the first POST of this key, +1 per new attempt
  bool ambiguous = false;          // the POST's outcome is unknown (5xx, timeout, reset)
  std::string last_request_id;     // X-Request-Id of the POST, when there was a response
};

enum class Origin { kCreated, kAdopted };

// A field the controller PATCHed, kept until the field is PATCHed again (reconcile's "no endless
// PATCH" rule: a field that Aura accepted but never reads back is not sent on every pass).
struct FieldPatch {
  std::string value;  // as the spec said and the PATCH sent it ("FULL", "8GB", "true")
  base::SystemTime sent_at{};
  int repeats = 1;              // PATCHes of this value in a row without the observation moving
  std::string observed_before;  // what Aura reported before the last PATCH ("" = not readable)
  bool unobservable = false;    // accepted, then read back as null: "set, not observable"
};

// The last detail GET of an entry's instance (issue 21): Aura's instance object as JSON text
// (the store does not read it), when it was fetched and since when its status was seen. A
// restarted controller, or a new HA leader, starts from it as stale instead of a GET per
// instance. A cache: losing it costs one GET.
struct StoredObservation {
  std::string instance_json;
  base::SystemTime observed_at{};
  base::SystemTime status_since{};
  bool operator==(const StoredObservation&) const = default;
};

struct JournalEntry {
  std::string key;                     // namespace/name
  std::optional<CreateIntent> intent;  // a create in progress or of unknown outcome
  std::string instance_id;             // set once the instance is known (Created / Adopted)
  Origin origin = Origin::kCreated;
  std::string aura_name;           // the name it was created or adopted under
  base::Atom tenant_id;            // interned (base::Atom), as the other values of small variety
  bool credentials_saved = false;  // the one-time password is in the credentials store
  std::vector<std::string> duplicate_ids;  // extra same-named instances: alarmed, never deleted
  // From the spec, remembered because the spec may be gone when they matter:
  bool delete_on_removal = false;  // deletionPolicy: Delete when the spec was last seen
  base::Atom cloud_provider;       // immutable parameters the instance was created with
  base::Atom region;
  base::Atom type;
  base::Atom version;  // "" when adopted (Aura does not report it)
  // By spec field name ("cdcEnrichmentMode", "memory", ...).
  std::map<std::string, FieldPatch> patches;
  // Earlier instances of this key that disappeared (deleted outside the controller, or by Aura
  // itself): history, never acted on again.
  std::vector<std::string> vanished_ids;
  bool paused_here = false;  // the last power change the controller made was a pause
  // Why the one-time password is not in the credentials store, when it is not ("" otherwise):
  // "adopted", "reply-without-password", "resolved-from-list", "unsaved".
  std::string credentials_note;
  // Connection Secrets (--connection-secrets) this key may have written, in its namespace:
  // recorded before each is first written and dropped once deleted, so a renamed or removed
  // spec's Secret is found again even after a restart (the spec no longer names it).
  std::vector<std::string> connection_secrets;
  // The instance's last observation (see StoredObservation), written with PutObservation.
  std::optional<StoredObservation> observation;
  base::SystemTime updated{};
};

// A Put never takes an entry's observation back in time: the caller's copy of the entry may
// have been read before the observation was last written (PutObservation). `incoming` keeps
// the newer of the two when both are of the same instance.
inline void KeepNewerObservation(const JournalEntry& stored, JournalEntry* incoming) {
  if (!stored.observation || stored.instance_id != incoming->instance_id) return;
  if (!incoming->observation ||
      incoming->observation->observed_at < stored.observation->observed_at) {
    incoming->observation = stored.observation;
  }
}

// The account a journal was made for (issue: state not bound to an account). Pointing a
// journal at another API made the controller create new instances and overwrite the saved
// passwords of the old ones; the binding refuses that unless it is asked for.
struct StateBinding {
  std::string api_url;  // the --api-url it was first used with
  std::string client;   // store::AccountFingerprint of the client id (never the id itself)
  bool empty() const { return api_url.empty() && client.empty(); }
  bool operator==(const StateBinding&) const = default;
};

class Journal {
 public:
  virtual ~Journal() = default;

  // The account this journal is bound to; empty when it was never used with one.
  virtual base::StatusOr<StateBinding> GetBinding() const = 0;
  // Binds it (durably). The caller checks the existing binding first.
  [[nodiscard]] virtual base::Status SetBinding(const StateBinding& b) = 0;

  // Every entry, by key.
  virtual base::StatusOr<std::map<std::string, JournalEntry>> List() const = 0;
  // Calls `visit` with every entry, by key, without a copy of the journal where the
  // implementation can (FileJournal: under its lock, so `visit` must not use the journal or
  // take a lock that is held while calling it). This default visits a List().
  virtual base::Status ForEach(const std::function<void(const JournalEntry&)>& visit) const {
    base::StatusOr<std::map<std::string, JournalEntry>> entries = List();
    if (!entries.ok()) return entries.status();
    for (const auto& [_, e] : *entries) visit(e);
    return base::Status::Ok();
  }
  // kNotFound when absent.
  virtual base::StatusOr<JournalEntry> Get(const std::string& key) const = 0;
  // Inserts or replaces the entry for e.key, durably.
  [[nodiscard]] virtual base::Status Put(const JournalEntry& e) = 0;
  // Removes the entry, durably. OK when already absent.
  [[nodiscard]] virtual base::Status Remove(const std::string& key) = 0;
  // Sets only the observation of `key`'s entry, when the entry still refers to `instance_id`
  // (OK and nothing written otherwise), under the journal's own lock: a Put from an older Get
  // can never be overwritten by it. This default is a Get and a Put, for test journals.
  [[nodiscard]] virtual base::Status PutObservation(const std::string& key,
                                                    const std::string& instance_id,
                                                    const StoredObservation& o) {
    base::StatusOr<JournalEntry> e = Get(key);
    if (!e.ok())
      return e.status().code() == base::StatusCode::kNotFound ? base::Status::Ok() : e.status();
    if (e->instance_id != instance_id || e->intent) return base::Status::Ok();
    e->observation = o;
    return Put(*e);
  }
};

// The credentials Aura returns once, on create.
struct Credentials {
  std::string instance_id;  // "" for a password that arrived without an id (linked later)
  std::string connection_url;
  std::string username;
  std::string password;
  // Filled by Load/LoadInstance/History: the key it was saved under and when.
  std::string key = {};
  base::SystemTime saved_at{};
};

// Where one-time passwords go before the journal records Created. Records are kept by instance
// id, with the spec key as an index to the current one: a record is never overwritten by
// another instance's (a spec's instance replaced, a state folder pointed at another account),
// an earlier instance's record stays as history, and a renamed spec that adopts the same
// instance finds its password again (Link).
class CredentialStore {
 public:
  virtual ~CredentialStore() = default;
  // Durable (0600 file written atomically and fsync'd, or an encrypted etcd value): the record
  // of c.instance_id, then `key`'s index pointing at it. With an empty instance_id only the key's
  // current record is written (a password waiting for its id).
  [[nodiscard]] virtual base::Status Save(const std::string& key, const Credentials& c) = 0;
  // The current record of `key`. kNotFound when none.
  virtual base::StatusOr<Credentials> Load(const std::string& key) const = 0;
  // The record of instance `id`, whatever key saved it. kNotFound when none.
  virtual base::StatusOr<Credentials> LoadInstance(const std::string& id) const = 0;
  // Every record saved under `key` (the current one included), newest first.
  virtual base::StatusOr<std::vector<Credentials>> History(const std::string& key) const = 0;
  // Makes instance `id`'s record the current one of `key`. kNotFound when there is none.
  [[nodiscard]] virtual base::Status Link(const std::string& key, const std::string& id) = 0;
};

}  // namespace aura::store
