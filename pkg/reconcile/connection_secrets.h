// Connection Secrets (--connection-secrets): for each spec, an Opaque Secret in the spec's
// namespace, named spec.connectionSecret.name (default <metadata.name>-aura), holding the keys
// of the .env file the Aura console offers after a create, so apps that use it work unchanged:
//   NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD, AURA_INSTANCEID, AURA_INSTANCENAME
// labelled app.kubernetes.io/managed-by=aura-controller and annotated
// aura.neo4j.io/spec-key=<namespace/name>.
//
// Rules:
//  - The credential store is the source of truth. The password is read from it, and only once
//    the journal says it was saved there for this very instance: a password received but not
//    saved yet (the store failed) holds the Secret back, it is never written first.
//  - Idempotent: the Secret is created, or updated only when a value differs. The URI follows
//    the latest observation (else the saved credentials; a paused instance, which has none,
//    keeps the one written), the name follows the instance's Aura name.
//  - Ownership: a Secret is managed only when it carries both the label and this key's
//    annotation. Any other Secret of that name is never written nor deleted: a conflict,
//    reported in status, retried (it may be removed or renamed by its owner).
//  - Password unknown (adopted, a reply without one, a create resolved from a LIST): the Secret
//    gets the URI, username and ids without NEO4J_PASSWORD, and status says why. A password
//    someone put there by hand is kept while the Secret is for the same instance.
//  - Every Secret name a key may have written is recorded in its journal entry before it is
//    first written (and dropped once deleted): after a rename of spec.connectionSecret.name the
//    old managed Secret is deleted once the new one is written; when a spec is removed with
//    deletionPolicy Delete, its Secrets are deleted after the instance is gone (the key is not
//    forgotten until they are); with Retain they stay (they still hold a working password).
//  - Failures are retried with per-key exponential backoff; 409s are read again and decided
//    again (bounded). A Secret in sync is read back every `verify_interval` (to catch edits and
//    deletions by others), not on every reconcile.
//
// Thread-safety: every method may be called concurrently, never for the same key at once (the
// work queue guarantees it).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/metrics/metrics.h"
#include "pkg/reconcile/observed.h"
#include "pkg/reconcile/planner.h"
#include "pkg/reconcile/secret_store.h"
#include "pkg/spec/spec.h"
#include "pkg/store/journal.h"

namespace aura::reconcile {

inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kManagedByValue = "aura-controller";
inline constexpr std::string_view kSpecKeyAnnotation = "aura.neo4j.io/spec-key";
inline constexpr std::string_view kSecretUri = "NEO4J_URI";
inline constexpr std::string_view kSecretUsername = "NEO4J_USERNAME";
inline constexpr std::string_view kSecretPassword = "NEO4J_PASSWORD";
inline constexpr std::string_view kSecretInstanceId = "AURA_INSTANCEID";
inline constexpr std::string_view kSecretInstanceName = "AURA_INSTANCENAME";

// spec.connectionSecret.name, or its default <metadata.name>-aura.
std::string ConnectionSecretName(const spec::InstanceSpec& s);

// What one key's Secret should hold, from what the controller knows (DesiredSecretFor).
struct DesiredSecret {
  std::string namespace_name;
  std::string name;
  std::string instance_id;
  std::map<std::string, std::string> data;  // the keys known now
  // NEO4J_URI came from an observation (else from the saved credentials, which a URI already
  // written for the same instance outranks: a paused instance shows none).
  bool uri_observed = false;
  // AURA_INSTANCENAME came from an observation (else from the journal, which a name already
  // written for the same instance outranks: after a restart, before the first GET).
  bool name_observed = false;
  // The journal says the password is saved for this instance (it is in `data` unless the
  // caller did not load it: plan).
  bool password_saved = false;
  std::string password_note;  // why NEO4J_PASSWORD is not written ("" when it is)
};

// Pure. `credentials` is what the store holds for the key (null when not loaded or none).
DesiredSecret DesiredSecretFor(const std::string& key, const spec::InstanceSpec& spec,
                               const store::JournalEntry& entry,
                               const InstanceObservation* observation,
                               const store::Credentials* credentials);

// True when `s` is managed for `key` (label and annotation).
bool ManagedFor(const SecretObject& s, const std::string& key);

struct SecretDecision {
  enum class Op { kNone, kCreate, kUpdate, kConflict };
  Op op = Op::kNone;
  SecretObject write;                // kCreate / kUpdate: the whole object to Put
  std::vector<std::string> changed;  // data keys (and "metadata") that differ; never values
  std::string conflict;              // kConflict: why, for people
};

// Pure: what to do given the Secret as it is now (nullopt: absent). With `compare_password`
// false (plan: the password was not loaded), NEO4J_PASSWORD counts as changed only when it is
// saved but missing from the Secret.
SecretDecision DecideSecret(const std::string& key, const DesiredSecret& desired,
                            const std::optional<SecretObject>& current, bool compare_password);

struct ConnectionSecretOptions {
  base::Duration retry_base = std::chrono::seconds(1);
  base::Duration retry_max = std::chrono::minutes(5);
  base::Duration verify_interval = std::chrono::minutes(10);
  int conflict_retries = 3;  // fresh GETs after a 409 before giving up for this attempt
};

// How a key's Secret stands, for apply --wait and the gauge.
enum class SecretState { kNotApplicable, kSynced, kWaiting, kPending, kTerminal };

class ConnectionSecrets {
 public:
  ConnectionSecrets(SecretStore& secrets, store::Journal& journal,
                    store::CredentialStore& credentials, base::Clock& clock,
                    metrics::Metrics& metrics, base::Logger log,
                    ConnectionSecretOptions options = {});

  // After a desired, valid, unsuspended key's actions ran: writes its Secret when due.
  // `entry` is the journal entry as it is now (null when none). Returns when to come back
  // (a retry or the next read-back); nullopt when nothing is scheduled.
  std::optional<base::Duration> Sync(const spec::InstanceSpec& spec,
                                     const store::JournalEntry* entry,
                                     const InstanceObservation* observation);

  // Before a removed key is forgotten: with deletionPolicy Delete, deletes the Secrets the
  // entry recorded (managed ones only). OK means the key may be forgotten; an error means
  // hold it, retry after `*retry_after`.
  base::Status BeforeForget(const store::JournalEntry& entry, base::Duration* retry_after);

  // What Sync / BeforeForget would do, read-only (GETs; the password is not loaded).
  // `removed_will_forget`: the key's spec is gone and the plan deletes or forgets it.
  base::StatusOr<std::vector<SecretChange>> PlanFor(const std::string& key,
                                                    const spec::InstanceSpec* spec,
                                                    const store::JournalEntry* entry,
                                                    const InstanceObservation* observation,
                                                    bool removed_will_forget);

  // Sets the SecretSynced fields of `status` from the key's last sync.
  void Annotate(const std::string& key, SpecStatus* status) const;
  SecretState State(const std::string& key) const;
  // Every key's state (those with one).
  std::map<std::string, SecretState> States() const;
  // The key is gone (forgotten).
  void Forget(const std::string& key);
  // The key's spec is gone: what its last write did no longer matters; a failing delete of its
  // Secrets (BeforeForget) does.
  void SpecRemoved(const std::string& key);
  // Keys whose Secret should be written or deleted now but is not
  // (aura_connection_secrets_pending).
  std::size_t Pending() const;

 private:
  struct KeyState {
    std::string secret;  // namespace/name
    bool synced = false;
    std::string reason;
    std::string message;
    SecretState state = SecretState::kNotApplicable;
    int failures = 0;
    base::TimePoint next_try{};
    std::size_t fingerprint = 0;  // of the facts of the last attempt (0: none)
    base::TimePoint verified{};
    bool removing = false;  // a removed spec's Secrets not deleted yet
  };

  // Writes the Secret (GET, decide, PUT; again after a 409). Returns the decision made.
  base::StatusOr<SecretDecision> WriteOnce(const std::string& key, const DesiredSecret& desired);
  // Deletes the managed Secret `name` in `ns` if it exists. OK when gone or not managed.
  base::Status DeleteManaged(const std::string& key, const std::string& ns,
                             const std::string& name);
  // Records `add` / drops `drop` in the key's journal entry (a fresh read, then a Put).
  base::Status Record(const std::string& key, const std::string& add,
                      const std::vector<std::string>& drop);
  base::Duration Backoff(int failures) const;
  // A failure: sets the state and returns the retry delay.
  base::Duration Failed(const std::string& key, const std::string& secret, const base::Status& s,
                        std::size_t fingerprint);
  void Set(const std::string& key, KeyState st);

  SecretStore& secrets_;
  store::Journal& journal_;
  store::CredentialStore& credentials_;
  base::Clock& clock_;
  metrics::Metrics& metrics_;
  base::Logger log_;
  ConnectionSecretOptions options_;

  mutable std::mutex mu_;
  std::map<std::string, KeyState> keys_;  // GUARDED_BY(mu_)
};

}  // namespace aura::reconcile
