// Controller: the desired state: loading specs when they change, and the online check of each
// spec against its tenant's instance_configurations.
#include <algorithm>
#include <iterator>
#include <memory>

#include "pkg/reconcile/controller.h"

namespace aura::reconcile {

using base::Status;
using base::StatusCode;

bool Controller::RefreshSpecs(bool force) {
  std::string fp = specs_.Fingerprint();
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    if (!force && specs_loaded_ && fp == fingerprint_) return false;
  }
  spec::LoadDelta r = specs_.Load();
  for (const auto& d : r.errors) {
    log_.Warn("spec error", {{"key", d.key}, {"error", d.Format()}});
  }
  // The keys to reconcile: what changed; everything on the first load, when a key spec changed
  // (instances wait for their keys) or when completeness flips (deletions become safe or not).
  std::set<std::string> keys;
  bool everything = false;
  std::size_t valid = 0, invalid = 0;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    everything = r.full || !specs_loaded_ || r.complete != complete_ || !r.changed_keys.empty() ||
                 !r.removed_keys.empty();
    if (r.full) {
      for (const auto& [k, _] : desired_) keys.insert(k);
      desired_.clear();
      key_specs_.clear();
    }
    for (auto& s : r.changed_specs) {
      std::string key = s->key();
      keys.insert(key);
      desired_.insert_or_assign(std::move(key), std::move(s));
    }
    for (const auto& k : r.removed_specs) {
      keys.insert(k);
      desired_.erase(k);
    }
    for (const auto& k : r.changed_keys) key_specs_.insert_or_assign(k->key(), *k);
    for (const auto& k : r.removed_keys) key_specs_.erase(k);
    std::set_symmetric_difference(invalid_keys_.begin(), invalid_keys_.end(),
                                  r.invalid_keys.begin(), r.invalid_keys.end(),
                                  std::inserter(keys, keys.end()));
    invalid_keys_ = std::move(r.invalid_keys);
    complete_ = r.complete;
    fingerprint_ = fp;
    specs_loaded_ = true;
    valid = desired_.size();
    invalid = invalid_keys_.size();
    if (everything) {
      for (const auto& [k, _] : desired_) keys.insert(k);
      keys.insert(invalid_keys_.begin(), invalid_keys_.end());
    }
  }
  log_.Info("specs loaded", {{"files", r.files},
                             {"documents", r.documents},
                             {"valid", valid},
                             {"invalid", invalid},
                             {"skipped", r.skipped},
                             {"complete", r.complete},
                             {"files_parsed", r.parsed_files},
                             {"changed", r.changed_specs.size()},
                             {"removed", r.removed_specs.size()}});
  if (everything) {
    (void)journal_.ForEach([&keys](const store::JournalEntry& e) { keys.insert(e.key); });
  }
  for (const auto& k : keys) queue_.Add(k);
  return true;
}

void Controller::CheckConfigurations(bool force) {
  if (!options_.check_configurations) return;
  // Shared, not copied: the loader never changes a spec it has handed out.
  std::vector<std::shared_ptr<const spec::InstanceSpec>> held;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    const bool fresh = configs_checked_ && configs_checked_fingerprint_ == fingerprint_ &&
                       clock_.Now() - *configs_checked_ < options_.configurations_refresh;
    if (fresh && !force) return;
    held.reserve(desired_.size());
    for (const auto& [_, s] : desired_) held.push_back(s);
  }
  std::vector<const spec::InstanceSpec*> specs;
  specs.reserve(held.size());
  for (const auto& s : held) specs.push_back(s.get());
  std::set<std::string> tenants;
  for (const auto* s : specs) tenants.insert(s->tenant_id);
  std::map<std::string, std::vector<spec::Combination>> offered;
  for (const auto& t : tenants) {
    auto r = api_.GetTenant(t, ratelimit::Priority::kPoll);
    if (!r.ok()) {
      // Unchecked, not invalid: the create itself will be refused if the combination is wrong.
      log_.Warn("could not fetch the tenant's instance configurations", [&] {
        nlohmann::json f = base::StatusFields(r.status());
        f["tenant_id"] = t;
        return f;
      }());
      continue;
    }
    auto& list = offered[t];
    for (const auto& c : r->data.instance_configurations) {
      list.push_back({c.cloud_provider, c.region, c.type, c.memory, c.storage, c.version});
    }
  }
  std::map<std::string, std::string> errors;
  for (const auto& d : spec::CheckConfigurations(specs, offered)) {
    errors[d.key] = d.Format();
    log_.Warn("spec not offered by its tenant", {{"key", d.key}, {"error", d.Format()}});
  }
  // Keys whose verdict changed are reconciled again (a spec change enqueued its key already;
  // a tenant that stops or starts offering a combination did not).
  std::vector<std::string> changed;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    for (const auto& [k, e] : errors) {
      auto it = config_errors_.find(k);
      if (it == config_errors_.end() || it->second != e) changed.push_back(k);
    }
    for (const auto& [k, _] : config_errors_) {
      if (!errors.contains(k)) changed.push_back(k);
    }
    config_errors_ = std::move(errors);
    configs_checked_ = clock_.Now();
    configs_checked_fingerprint_ = fingerprint_;
  }
  for (const auto& k : changed) queue_.Add(k);
}

std::string Controller::ConfigError(const std::string& key) const {
  std::lock_guard<std::mutex> g(desired_mu_);
  auto it = config_errors_.find(key);
  return it == config_errors_.end() ? "" : it->second;
}

std::vector<std::string> Controller::SpecsOfTenant(const std::string& tenant) const {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> g(desired_mu_);
  for (const auto& [key, s] : desired_) {
    if (s->tenant_id != tenant) continue;
    out.push_back(key + (s->location.file.empty() ? "" : " (" + s->location.file + ")"));
  }
  return out;
}

}  // namespace aura::reconcile
