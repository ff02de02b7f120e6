// Controller: what it reports: per-key status, gauges, convergence and health.
#include <algorithm>

#include "pkg/reconcile/controller.h"

namespace aura::reconcile {

using base::Status;
using base::StatusCode;

void Controller::Record(const std::string& key, const KeyPlan& plan, const Status& result,
                        const std::string& request_id) {
  std::lock_guard<std::mutex> g(state_mu_);
  const bool forgotten =
      !plan.actions.empty() && result.ok() && plan.actions.back().type == ActionType::kForget;
  if (forgotten) {
    keys_.erase(key);
    return;
  }
  KeyState& ks = keys_[key];
  const std::string previous_request_id = ks.status.last_request_id;
  ks.status = plan.status;
  ks.status.key = key;
  ks.has_status = true;
  ks.terminal = plan.terminal || (!result.ok() && IsTerminal(result));
  ks.status.synced = result.ok() && !plan.terminal;
  ks.status.synced_reason = result.ok() ? (plan.terminal ? "Blocked" : "ReconcileSucceeded")
                                        : std::string(base::StatusCodeName(result.code()));
  if (!result.ok()) {
    ks.status.last_error = result.ToString();
    if (ks.status.message.empty()) ks.status.message = result.message();
  }
  if (!request_id.empty()) {
    ks.status.last_request_id = request_id;
  } else if (!result.ok() && !result.request_id().empty()) {
    ks.status.last_request_id = result.request_id();
  } else if (ks.status.last_request_id.empty()) {
    ks.status.last_request_id = previous_request_id;
  }
  if (ks.status.ready_reason.empty()) ks.status.ready_reason = ks.status.phase;
}

void Controller::UpdateGauges() {
  std::lock_guard<std::mutex> g(state_mu_);
  int desired = 0, observed = 0, in_sync = 0, drifted = 0, pending = 0, conflict = 0, failed = 0,
      unknown = 0, stalled = 0, vanished = 0, creds_unknown = 0;
  {
    std::lock_guard<std::mutex> d(desired_mu_);
    desired = static_cast<int>(desired_.size());
  }
  for (const auto& [k, ks] : keys_) {
    if (!ks.has_status) continue;
    if (!ks.status.aura_status.empty()) ++observed;
    if (ks.status.ready) ++in_sync;
    if (ks.status.drifted) ++drifted;
    if (ks.status.pending_create) ++pending;
    if (ks.status.conflict) ++conflict;
    if (ks.status.failed) ++failed;
    if (ks.status.unknown_status) ++unknown;
    if (ks.status.stalled) ++stalled;
    if (ks.status.vanished) ++vanished;
    if (!ks.status.credentials_known && !ks.status.credentials_note.empty()) ++creds_unknown;
  }
  metrics_.Instances("desired").Set(desired);
  metrics_.Instances("observed").Set(observed);
  metrics_.Instances("in_sync").Set(in_sync);
  metrics_.Instances("drifted").Set(drifted);
  metrics_.Instances("pending_create").Set(pending);
  metrics_.Instances("conflict").Set(conflict);
  metrics_.Instances("failed").Set(failed);
  metrics_.Instances("unknown_status").Set(unknown);
  metrics_.Instances("stalled").Set(stalled);
  metrics_.Instances("vanished").Set(vanished);
  metrics_.Instances("credentials_unknown").Set(creds_unknown);
  const double unsaved = static_cast<double>(executor_.UnsavedCredentialKeys().size());
  metrics_.Instances("credentials_unsaved").Set(unsaved);
  metrics_.credentials_unsaved.Set(unsaved);
  metrics_.workqueue_depth.Set(static_cast<double>(queue_.Depth()));
  if (secrets_) metrics_.connection_secrets_pending.Set(static_cast<double>(secrets_->Pending()));

  std::size_t duplicates = 0;
  std::optional<base::SystemTime> oldest;
  {
    // The journal read inside the observations' read lock (never the other way round), in
    // place: this runs every --spec-poll, and a copy of each id cost ~10% of a 100,000-key pass.
    std::shared_lock<std::shared_mutex> o(obs_mu_);
    (void)journal_.ForEach([&](const store::JournalEntry& e) {
      duplicates += e.duplicate_ids.size();
      if (e.instance_id.empty()) return;
      auto it = observed_.instances.find(e.instance_id);
      if (it == observed_.instances.end()) return;
      if (!oldest || it->second.observed_at < *oldest) oldest = it->second.observed_at;
    });
  }
  metrics_.duplicate_instances.Set(static_cast<double>(duplicates));
  metrics_.observation_staleness.Set(
      oldest ? std::max(0.0, base::ToSeconds(clock_.SystemNow() - *oldest)) : 0.0);
}

std::vector<SpecStatus> Controller::Statuses() const {
  std::vector<SpecStatus> out;
  std::lock_guard<std::mutex> g(state_mu_);
  for (const auto& [k, ks] : keys_) {
    if (ks.has_status) out.push_back(ks.status);
  }
  return out;
}

bool Controller::Converged() const {
  std::set<std::string> desired;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    if (!specs_loaded_ || !invalid_keys_.empty() || !config_errors_.empty()) return false;
    for (const auto& [k, _] : desired_) desired.insert(k);
  }
  if (executor_.HasUnsavedCredentials()) return false;
  std::set<std::string> secrets_pending;
  SecretBacklog(&secrets_pending, nullptr);
  std::lock_guard<std::mutex> g(state_mu_);
  if (key_work_pending_) return false;
  for (const auto& k : desired) {
    auto it = keys_.find(k);
    if (it == keys_.end() || !it->second.has_status) return false;
    const SpecStatus& s = it->second.status;
    if (!(s.ready || s.phase == kPhaseSuspended) || s.pending_create) return false;
    if (s.phase != kPhaseSuspended && secrets_pending.contains(k)) return false;
  }
  for (const auto& k : secrets_pending) {
    if (!desired.contains(k)) return false;  // a removed spec's Secret not deleted yet
  }
  for (const auto& [k, ks] : keys_) {
    if (desired.contains(k) || !ks.has_status) continue;
    // A removed spec still in the journal: converged only when nothing more will happen
    // (a delete held for --allow-delete, or incomplete specs).
    if (ks.status.phase != kPhaseRemoved || ks.status.pending_create) return false;
    if (ks.status.message.empty()) return false;
  }
  return true;
}

bool Controller::OnlyTerminalLeft() const {
  std::set<std::string> desired;
  std::set<std::string> invalid;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    for (const auto& [k, _] : desired_) desired.insert(k);
    invalid = invalid_keys_;
  }
  std::set<std::string> secrets_pending;
  std::set<std::string> secrets_terminal;
  SecretBacklog(&secrets_pending, &secrets_terminal);
  std::lock_guard<std::mutex> g(state_mu_);
  bool any = !invalid.empty();
  for (const auto& k : desired) {
    auto it = keys_.find(k);
    if (it == keys_.end() || !it->second.has_status) return false;
    const SpecStatus& s = it->second.status;
    if (s.phase == kPhaseSuspended) continue;
    if (s.ready) {
      // In sync with Aura; its connection Secret may still be on its way, or blocked.
      if (secrets_terminal.contains(k)) {
        any = true;
      } else if (secrets_pending.contains(k)) {
        return false;
      }
      continue;
    }
    if (!it->second.terminal) return false;
    any = true;
  }
  for (const auto& k : secrets_pending) {
    if (desired.contains(k)) continue;
    if (!secrets_terminal.contains(k)) return false;  // a removed spec's Secret being deleted
    any = true;
  }
  return any;
}

std::string Controller::TerminalSummary() const {
  std::lock_guard<std::mutex> g(state_mu_);
  std::string out;
  for (const auto& [k, ks] : keys_) {
    if (ks.has_status && ks.status.ready && !ks.status.secret.empty() && !ks.status.secret_synced &&
        !ks.status.secret_message.empty()) {
      // Only a blocked Secret keeps a ready key from converging (OnlyTerminalLeft).
      out += (out.empty() ? "" : "; ") + k + " (connection Secret " + ks.status.secret + ", " +
             ks.status.secret_reason + "): " + ks.status.secret_message;
      continue;
    }
    if (!ks.has_status || !ks.terminal || ks.status.ready) continue;
    if (!out.empty()) out += "; ";
    out += k + " (" + ks.status.phase + "): " + ks.status.message;
  }
  std::lock_guard<std::mutex> d(desired_mu_);
  for (const auto& k : invalid_keys_) {
    if (keys_.contains(k)) continue;
    out += (out.empty() ? "" : "; ") + k + ": the spec has errors";
  }
  return out.empty() ? "(see status)" : out;
}

Health Controller::GetHealth() const {
  Health h;
  {
    std::lock_guard<std::mutex> g(state_mu_);
    h = health_;
  }
  h.journal_error = executor_.JournalError();
  std::lock_guard<std::mutex> g(desired_mu_);
  h.specs_loaded = specs_loaded_;
  return h;
}

}  // namespace aura::reconcile
