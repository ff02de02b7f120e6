// Controller: spec.customerManagedKeyRef, resolved through the key's journal entry (the id the
// controller created or adopted it under; controller_keys_lifecycle.cc) and otherwise against
// the keys Aura lists under the key spec's name: an AuraCustomerManagedKey spec names the key
// (tenant, Aura name) that an instance referring to it is encrypted with.
#include "pkg/reconcile/controller.h"

namespace aura::reconcile {

namespace {

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

std::string Controller::ResolveKeyRef(spec::InstanceSpec* spec) {
  const std::string& ref = spec->customer_managed_key_ref;
  if (ref.empty()) return "";
  spec::CustomerManagedKeySpec key;
  std::string handle;
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    auto it = key_specs_.find(ref);
    if (it == key_specs_.end()) {
      return "waiting for the AuraCustomerManagedKey " + ref +
             " (spec.customerManagedKeyRef), which is not loaded without errors";
    }
    key = it->second;
    handle = key.tenant_id + "/" + key.aura_name;
    if (auto r = resolved_keys_.find(handle); r != resolved_keys_.end()) {
      spec->customer_managed_key_id = r->second;
      return "";
    }
  }
  const std::string what = "customer-managed key " + Quoted(key.aura_name) + " (spec " + ref +
                           ") in tenant " + key.tenant_id;
  std::vector<std::string> ids;
  if (auto e = raw_journal_.Get(key.journal_key()); e.ok()) {
    if (e->intent) {
      return "waiting for " + what + ": its create is " +
             (e->intent->ambiguous ? "of unknown outcome and resolved from a LIST" : "in progress");
    }
    if (!e->instance_id.empty()) ids.push_back(e->instance_id);
  } else if (e.status().code() != base::StatusCode::kNotFound) {
    return "waiting for " + what + ": reading the journal fails: " + e.status().message();
  }
  if (ids.empty()) {
    auto list = api_.ListCustomerManagedKeys(key.tenant_id, ratelimit::Priority::kPoll);
    NoteApi(list.status());
    if (!list.ok()) {
      return "waiting for " + what + ": listing keys fails: " + list.status().message();
    }
    for (const api::CustomerManagedKey& k : list->data) {
      if (k.name == key.aura_name) ids.push_back(k.id);
    }
  }
  if (ids.empty()) {
    return "waiting for " + what +
           ": Aura lists no key of that name (the controller creates it from the key spec on "
           "its next pass)";
  }
  if (ids.size() > 1) {
    std::string all;
    for (const auto& id : ids) all += (all.empty() ? "" : ", ") + id;
    return "waiting for " + what + ": Aura lists several keys of that name (" + all +
           "); the instance is not created with an ambiguous key: rename all but one";
  }
  auto got = api_.GetCustomerManagedKey(ids[0], ratelimit::Priority::kPoll);
  NoteApi(got.status());
  if (!got.ok()) {
    if (got.status().code() == base::StatusCode::kNotFound) {
      return "waiting for " + what + ": key " + ids[0] +
             " (recorded in the journal) is gone from Aura; remove its journal entry (cmk/" + ref +
             ") or the key spec";
    }
    return "waiting for " + what + ": reading it fails: " + got.status().message();
  }
  const api::CustomerManagedKey& k = got->data;
  auto differs = [](const std::string& observed, const std::string& wanted) {
    return !observed.empty() && observed != wanted;
  };
  if (differs(k.cloud_provider, key.cloud_provider) || differs(k.region, key.region) ||
      differs(k.instance_type, key.instance_type) || differs(k.key_id, key.key_id)) {
    return "the " + what + " (" + k.id + ") is for " + k.cloud_provider + " " + k.region + " " +
           k.instance_type + " with KMS key " + Quoted(k.key_id) + ", not as its spec says (" +
           key.cloud_provider + " " + key.region + " " + key.instance_type + " " +
           Quoted(key.key_id) + "): Aura cannot change a key; fix the spec or the key's name";
  }
  if (k.status != "ready") {
    return "waiting for " + what + " (" + k.id + ") to be ready: status " +
           (k.status.empty() ? std::string("unknown") : k.status) +
           " (its KMS permissions may still need to be set up in the Aura console)";
  }
  {
    std::lock_guard<std::mutex> g(desired_mu_);
    resolved_keys_[handle] = k.id;
  }
  log_.Info("customer-managed key resolved",
            {{"key_spec", ref}, {"key_id", k.id}, {"request_id", got->request_id}});
  spec->customer_managed_key_id = k.id;
  return "";
}

}  // namespace aura::reconcile
