// FakeAuraApi: the customer-managed keys of the fake account.
#include <cstdio>

#include "pkg/reconcile/testing/fakes.h"

namespace aura::reconcile::testing {

std::string FakeAuraApi::AddKey(const std::string& tenant, const std::string& name,
                                const std::string& status) {
  std::lock_guard<std::mutex> g(mu_);
  char id[40];
  std::snprintf(id, sizeof id, "k0000000-0000-4000-8000-%012d", next_key_++);
  api::CustomerManagedKey k;
  k.id = id;
  k.name = name;
  k.tenant_id = tenant;
  k.status = status;
  keys_[k.id] = k;
  return k.id;
}

void FakeAuraApi::SetKeyStatus(const std::string& id, const std::string& status) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto it = keys_.find(id); it != keys_.end()) it->second.status = status;
}

std::vector<api::CustomerManagedKey> FakeAuraApi::keys() const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<api::CustomerManagedKey> out;
  for (const auto& [id, k] : keys_) out.push_back(k);
  return out;
}

void FakeAuraApi::SetKeyOf(const std::string& instance_id, const std::string& key_id) {
  std::lock_guard<std::mutex> g(mu_);
  instances_.at(instance_id).i.customer_managed_key_id = key_id;
}

base::StatusOr<api::Reply<std::vector<api::CustomerManagedKey>>>
FakeAuraApi::ListCustomerManagedKeys(std::string_view tenant_id, api::Priority) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("list_keys")) return *e;
  api::Reply<std::vector<api::CustomerManagedKey>> r;
  for (const auto& [id, k] : keys_) {
    if (!tenant_id.empty() && k.tenant_id != tenant_id) continue;
    r.data.push_back({k.id, k.name, k.tenant_id, "", "", "", "", "", ""});
  }
  r.request_id = NextRequestId();
  return r;
}

base::StatusOr<api::Reply<api::CustomerManagedKey>> FakeAuraApi::CreateCustomerManagedKey(
    const api::CreateCustomerManagedKeyRequest& req) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("create_key")) return *e;
  char id[40];
  std::snprintf(id, sizeof id, "k0000000-0000-4000-8000-%012d", next_key_++);
  api::CustomerManagedKey k{id,         req.name,          req.tenant_id, req.cloud_provider,
                            req.region, req.instance_type, req.key_id,    "",
                            "pending"};
  keys_[k.id] = k;
  return api::Reply<api::CustomerManagedKey>{k, NextRequestId()};
}

base::StatusOr<api::Reply<api::CustomerManagedKey>> FakeAuraApi::GetCustomerManagedKey(
    std::string_view id, api::Priority) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("get_key")) return *e;
  auto it = keys_.find(std::string(id));
  if (it == keys_.end()) {
    return base::NotFoundError("key not found").SetHttpStatus(404).SetRequestId(NextRequestId());
  }
  return api::Reply<api::CustomerManagedKey>{it->second, NextRequestId()};
}

base::StatusOr<api::Reply<api::DeleteResult>> FakeAuraApi::DeleteCustomerManagedKey(
    std::string_view id) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto e = TakeError("delete_key")) return *e;
  for (const auto& [_, in] : instances_) {
    if (!in.deleted && in.i.customer_managed_key_id == std::string(id)) {
      return base::InvalidArgumentError("encryption key is active: an instance uses it")
          .SetHttpStatus(400)
          .SetRequestId(NextRequestId());
    }
  }
  const bool gone = keys_.erase(std::string(id)) == 0;
  return api::Reply<api::DeleteResult>{{gone}, NextRequestId()};
}

}  // namespace aura::reconcile::testing
