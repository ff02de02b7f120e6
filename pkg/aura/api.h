// AuraApi: the typed Aura API v1 as the reconciler uses it. Client implements it over HTTP
// (rate limited, retried where safe); tests use fakes.
//
// Error contract for every call (base::StatusCode): kNotFound (404), kConflict (409
// ongoing-database-operation), kInvalidArgument / kFailedPrecondition (definite refusals: 400,
// 405, 415, other 4xx), kUnauthenticated / kPermissionDenied (credentials), kThrottled (429, with
// retry_after), kUnavailable (retryable), kAmbiguous (a POST or PATCH whose outcome is unknown:
// 5xx, timeout, connection reset after sending; never resent), kCancelled (shutdown),
// kDataLoss/kInternal (malformed response on an idempotent call). Every error from a response
// carries http_status, reason, field and request_id.
//
// Thread-safety: implementations are safe for concurrent use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pkg/aura/model.h"
#include "pkg/base/status.h"
#include "pkg/ratelimit/priority.h"

namespace aura::api {

using base::StatusOr;
using ratelimit::Priority;

class AuraApi {
 public:
  virtual ~AuraApi() = default;

  // GET /instances[?tenantId=]; empty tenant_id lists every tenant the credentials can see.
  virtual StatusOr<Reply<std::vector<InstanceSummary>>> ListInstances(
      std::string_view tenant_id, Priority priority = Priority::kPoll) = 0;
  virtual StatusOr<Reply<Instance>> GetInstance(std::string_view id,
                                                Priority priority = Priority::kPoll) = 0;
  // POST /instances. Never retried. kAmbiguous when the outcome is unknown.
  virtual StatusOr<Reply<CreatedInstance>> CreateInstance(const CreateInstanceRequest& req) = 0;
  // PATCH /instances/{id} with only the set fields. REQUIRES: !req.empty().
  virtual StatusOr<Reply<Instance>> UpdateInstance(std::string_view id,
                                                   const UpdateInstanceRequest& req) = 0;
  virtual StatusOr<Reply<DeleteResult>> DeleteInstance(std::string_view id) = 0;
  virtual StatusOr<Reply<Instance>> PauseInstance(std::string_view id) = 0;
  virtual StatusOr<Reply<Instance>> ResumeInstance(std::string_view id) = 0;
  // POST /instances/{id}/overwrite from source_instance_id (and optionally its snapshot).
  // Never retried.
  virtual StatusOr<Reply<Instance>> OverwriteInstance(std::string_view id,
                                                      std::string_view source_instance_id,
                                                      std::string_view source_snapshot_id) = 0;
  // POST /instances/{id}/upgrade (professional-db to business-critical). Never retried.
  virtual StatusOr<Reply<Instance>> UpgradeInstance(std::string_view id,
                                                    const UpgradeInstanceRequest& req) = 0;

  virtual StatusOr<Reply<std::vector<Tenant>>> ListTenants(Priority priority = Priority::kPoll) = 0;
  virtual StatusOr<Reply<TenantDetail>> GetTenant(std::string_view tenant_id,
                                                  Priority priority = Priority::kPoll) = 0;

  // GET /customer-managed-keys[?tenantId=]: id, name and tenant_id of each key.
  virtual StatusOr<Reply<std::vector<CustomerManagedKey>>> ListCustomerManagedKeys(
      std::string_view tenant_id, Priority priority = Priority::kPoll) = 0;
  // POST /customer-managed-keys. Never retried. kAmbiguous when the outcome is unknown.
  virtual StatusOr<Reply<CustomerManagedKey>> CreateCustomerManagedKey(
      const CreateCustomerManagedKeyRequest& req) = 0;
  virtual StatusOr<Reply<CustomerManagedKey>> GetCustomerManagedKey(
      std::string_view id, Priority priority = Priority::kPoll) = 0;
  // DELETE /customer-managed-keys/{id}: 204 done, 404 already gone (already_gone).
  // kInvalidArgument (400 encryption-key-is-active) while an instance uses the key.
  virtual StatusOr<Reply<DeleteResult>> DeleteCustomerManagedKey(std::string_view id) = 0;

  virtual StatusOr<Reply<std::vector<Snapshot>>> ListSnapshots(std::string_view instance_id) = 0;
  virtual StatusOr<Reply<std::string>> CreateSnapshot(std::string_view instance_id) = 0;
  virtual StatusOr<Reply<Snapshot>> GetSnapshot(std::string_view instance_id,
                                                std::string_view snapshot_id) = 0;
  virtual StatusOr<Reply<Instance>> RestoreSnapshot(std::string_view instance_id,
                                                    std::string_view snapshot_id) = 0;
};

}  // namespace aura::api
