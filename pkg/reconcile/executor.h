// The executor carries out one planned Action through the Aura client and records every
// outcome in the journal, following DESIGN.md "Exactly-once create":
//   create: durable intent -> POST -> on 202 credentials saved (0600, atomic) -> journal
//   Created{id}; definite refusal -> intent cleared; ambiguous -> intent kept (marked
//   ambiguous) for the planner to resolve from a later LIST. The POST is never resent here.
// If the intent cannot be written, nothing is sent. A password whose save failed is kept in
// memory and saved again on every later call until it succeeds; it is never logged.
// An intent found without an outcome when the executor is constructed was left by a process
// that died mid-create, whose POST may have left at any moment before it died (after waiting
// for a token or the limiter): the constructor marks it ambiguous, so that its settle window
// counts from this write (planner.cc) rather than from the intent. Best effort: a read-only
// journal (`plan`) keeps it as it is.
//
// Thread-safety: Execute() may be called concurrently for different keys; never for the same
// key at once (the work queue guarantees it).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/aura/api.h"
#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/base/status.h"
#include "pkg/metrics/metrics.h"
#include "pkg/reconcile/observed.h"
#include "pkg/reconcile/planner.h"
#include "pkg/store/journal.h"

namespace aura::reconcile {

struct ActionResult {
  base::Status status;
  std::string request_id;  // of the API call, when there was one
  // What the response says about the instance now (after PATCH, pause, create, delete...).
  std::optional<std::pair<std::string, InstanceObservation>> observation;
  // The journal entry changed in a way the caller's cached view should pick up.
  bool journal_changed = false;
};

// True when a POST /instances that failed with `s` certainly did not create an instance.
bool CreateDefinitelyRefused(const base::Status& s);

// True when retrying cannot help: only a change of the spec, the account or the credentials
// can (invalid argument, failed precondition, unauthenticated, permission denied, exists).
bool IsTerminal(const base::Status& s);

class Executor {
 public:
  Executor(api::AuraApi& api, store::Journal& journal, store::CredentialStore& credentials,
           const base::Clock& clock, metrics::Metrics& metrics, base::Logger log);

  ActionResult Execute(const Action& action);

  // Saves credentials that could not be saved when they arrived. Returns OK when none remain.
  base::Status FlushUnsavedCredentials();
  bool HasUnsavedCredentials() const;
  // The keys whose one-time password is only in memory (its save failed).
  std::vector<std::string> UnsavedCredentialKeys() const;

  // Why the last journal write failed ("write /state/journal.json: No space left on device"),
  // or "" once a write works again.
  std::string JournalError() const;

 private:
  void MarkOrphanIntents();
  ActionResult Create(const Action& a);
  ActionResult RecordCreated(const Action& a);
  ActionResult RecordDuplicates(const Action& a);
  ActionResult Adopt(const Action& a);
  ActionResult Patch(const Action& a);
  ActionResult Upgrade(const Action& a);  // executor_upgrade.cc
  ActionResult PowerChange(const Action& a);
  ActionResult Delete(const Action& a);
  ActionResult Forget(const Action& a);
  ActionResult RecordPolicy(const Action& a);
  ActionResult MarkUnobservable(const Action& a);
  ActionResult RecordVanished(const Action& a);

  // The key's entry, or a fresh one.
  base::StatusOr<store::JournalEntry> EntryFor(const std::string& key);
  base::Status PutEntry(store::JournalEntry e);
  mutable std::mutex journal_error_mu_;
  std::string journal_error_;  // GUARDED_BY(journal_error_mu_): the last write's, "" when it worked
  InstanceObservation Observation(const api::Instance& i, const std::string& request_id) const;
  base::Logger Log(const Action& a) const;
  // A change the API refused (`what`: "update", "pause", ...): the result carries its status and
  // request id, and with `gone_on_404` a 404 as the observation that the instance is gone.
  // Logged at info for a 409 (busy: the next pass retries), warn otherwise.
  ActionResult NotApplied(const Action& a, const base::Logger& log, const base::Status& s,
                          bool gone_on_404, std::string_view what) const;

  api::AuraApi& api_;
  store::Journal& journal_;
  store::CredentialStore& credentials_;
  const base::Clock& clock_;
  metrics::Metrics& metrics_;
  base::Logger log_;

  mutable std::mutex mu_;
  std::map<std::string, store::Credentials> unsaved_;  // GUARDED_BY(mu_)
};

}  // namespace aura::reconcile
