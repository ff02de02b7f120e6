// Controller: the desired state: loading specs when they change, and the online check of each
// spec against its tenant's instance_configurations.
#include <algorithm>

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
  spec::LoadResult r = specs_.Load();
  for (const auto& d : r.errors) {
    log_.Warn("spec error", {{"key", d.key}, {"error", d.Format()}});
  }
  std::set<std::string> keys;
  const std::size_t valid = r.specs.size();
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    for (const auto& [k, _] : desired_) keys.insert(k);
    desired_.clear();
    // Moved, and the loader's vector freed: at 10,000 specs a second copy cost ~25 MiB at the
    // controller's peak (docs/BENCHMARKS.md).
    for (auto& s : r.specs) {
      std::string key = s.key();
      desired_.insert_or_assign(std::move(key), std::move(s));
    }
    r.specs = {};
    key_specs_.clear();
    for (auto& k : r.keys) {
      std::string key = k.key();
      key_specs_.insert_or_assign(std::move(key), std::move(k));
    }
    invalid_keys_ = r.invalid_keys;
    complete_ = r.complete;
    fingerprint_ = fp;
    specs_loaded_ = true;
    for (const auto& [k, _] : desired_) keys.insert(k);
    keys.insert(invalid_keys_.begin(), invalid_keys_.end());
  }
  log_.Info("specs loaded", {{"files", r.files},
                             {"documents", r.documents},
                             {"valid", valid},
                             {"invalid", r.invalid_keys.size()},
                             {"skipped", r.skipped},
                             {"complete", r.complete}});
  (void)journal_.ForEach([&keys](const store::JournalEntry& e) { keys.insert(e.key); });
  for (const auto& k : keys) queue_.Add(k);
  return true;
}

void Controller::CheckConfigurations(bool force) {
  if (!options_.check_configurations) return;
  std::vector<spec::InstanceSpec> specs;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    const bool fresh = configs_checked_ && configs_checked_fingerprint_ == fingerprint_ &&
                       clock_.Now() - *configs_checked_ < options_.configurations_refresh;
    if (fresh && !force) return;
    for (const auto& [_, s] : desired_) specs.push_back(s);
  }
  std::set<std::string> tenants;
  for (const auto& s : specs) tenants.insert(s.tenant_id);
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
  std::lock_guard<std::mutex> g(desired_mu_);
  config_errors_ = std::move(errors);
  configs_checked_ = clock_.Now();
  configs_checked_fingerprint_ = fingerprint_;
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
    if (s.tenant_id != tenant) continue;
    out.push_back(key + (s.location.file.empty() ? "" : " (" + s.location.file + ")"));
  }
  return out;
}

}  // namespace aura::reconcile
