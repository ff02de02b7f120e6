// Controller: connection Secrets (connection_secrets.h) around each key's reconcile: held
// forgets, the sync after the key's actions, their part of `plan`, and what apply --wait waits
// for.
#include <algorithm>

#include "pkg/reconcile/controller.h"

namespace aura::reconcile {

using base::Status;
using base::StatusCode;

void Controller::EnableConnectionSecrets(SecretStore& secrets, store::CredentialStore& credentials,
                                         ConnectionSecretOptions options) {
  secrets_ = std::make_unique<ConnectionSecrets>(secrets, journal_, credentials, clock_, metrics_,
                                                 log_, options);
}

std::optional<base::Duration> Controller::HoldForgetForSecrets(const spec::InstanceSpec* spec,
                                                               const store::JournalEntry* entry,
                                                               KeyPlan* plan) {
  if (!secrets_ || spec != nullptr || entry == nullptr) return std::nullopt;
  auto forget = std::find_if(plan->actions.begin(), plan->actions.end(),
                             [](const Action& a) { return a.type == ActionType::kForget; });
  if (forget == plan->actions.end()) return std::nullopt;
  base::Duration retry{};
  Status s = secrets_->BeforeForget(*entry, &retry);
  if (s.ok()) return std::nullopt;
  plan->actions.erase(forget);
  plan->status.message =
      "instance gone; not forgotten until its connection Secret is deleted: " + s.message();
  return retry;
}

std::optional<base::Duration> Controller::SyncConnectionSecret(const std::string& key,
                                                               const spec::InstanceSpec* spec,
                                                               bool invalid, KeyPlan* plan) {
  if (!secrets_) return std::nullopt;
  if (spec == nullptr || invalid || spec->suspend) {
    if (spec == nullptr) {
      if (journal_.Get(key).status().code() == StatusCode::kNotFound) {
        secrets_->Forget(key);
      } else {
        secrets_->SpecRemoved(key);
      }
    }
    secrets_->Annotate(key, &plan->status);
    return std::nullopt;
  }
  std::optional<store::JournalEntry> entry;
  if (auto e = journal_.Get(key); e.ok()) {
    entry = std::move(*e);
  } else if (e.status().code() != StatusCode::kNotFound) {
    secrets_->Annotate(key, &plan->status);
    return std::nullopt;  // the key's own reconcile reports an unreadable journal
  }
  std::optional<InstanceObservation> observation;
  if (entry && !entry->instance_id.empty()) {
    std::shared_lock<std::shared_mutex> g(obs_mu_);
    auto o = observed_.instances.find(entry->instance_id);
    if (o != observed_.instances.end()) observation = o->second;
  }
  std::optional<base::Duration> retry =
      secrets_->Sync(*spec, entry ? &*entry : nullptr, observation ? &*observation : nullptr);
  secrets_->Annotate(key, &plan->status);
  return retry;
}

Status Controller::PlanConnectionSecrets(const DesiredState& desired,
                                         const std::map<std::string, store::JournalEntry>& journal,
                                         const Observed& observed, Plan* plan) {
  std::map<std::string, const spec::InstanceSpec*> specs;
  for (const auto& s : desired.specs) specs[s.key()] = &s;
  for (KeyPlan& k : plan->keys) {
    auto s = specs.find(k.key);
    const spec::InstanceSpec* spec = s == specs.end() ? nullptr : s->second;
    if (desired.invalid_keys.contains(k.key) || (spec != nullptr && spec->suspend)) continue;
    auto e = journal.find(k.key);
    const store::JournalEntry* entry = e == journal.end() ? nullptr : &e->second;
    const InstanceObservation* observation = nullptr;
    if (entry != nullptr && !entry->instance_id.empty()) {
      auto o = observed.instances.find(entry->instance_id);
      if (o != observed.instances.end()) observation = &o->second;
    }
    // A planned rename shows in the Secret as it will be once the PATCH is taken.
    std::optional<InstanceObservation> renamed;
    for (const Action& a : k.actions) {
      if (a.type == ActionType::kPatch && a.patch.name && observation && observation->found) {
        renamed = *observation;
        renamed->instance.name = *a.patch.name;
        observation = &*renamed;
      }
    }
    const bool will_forget = std::any_of(k.actions.begin(), k.actions.end(), [](const Action& a) {
      return a.type == ActionType::kForget || a.type == ActionType::kDelete;
    });
    auto changes = secrets_->PlanFor(k.key, spec, entry, observation, will_forget);
    if (!changes.ok()) return changes.status().WithContext(k.key);
    k.secret_changes = std::move(*changes);
  }
  return Status();
}

void Controller::SecretBacklog(std::set<std::string>* pending,
                               std::set<std::string>* terminal) const {
  if (!secrets_) return;
  std::set<std::string> keys;  // desired, reconciled keys; and removed ones deleting Secrets
  std::set<std::string> desired;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    for (const auto& [k, s] : desired_) {
      desired.insert(k);
      if (!s->suspend && !invalid_keys_.contains(k)) keys.insert(k);
    }
    desired.insert(invalid_keys_.begin(), invalid_keys_.end());
  }
  const std::map<std::string, SecretState> states = secrets_->States();
  for (const auto& [k, _] : states) {
    if (!desired.contains(k)) keys.insert(k);
  }
  for (const auto& k : keys) {
    auto it = states.find(k);
    switch (it == states.end() ? SecretState::kNotApplicable : it->second) {
      case SecretState::kTerminal:
        if (terminal != nullptr) terminal->insert(k);
        pending->insert(k);
        break;
      case SecretState::kPending:
      case SecretState::kWaiting:
        pending->insert(k);
        break;
      case SecretState::kSynced:
      case SecretState::kNotApplicable:
        break;
    }
  }
}

}  // namespace aura::reconcile
