// The Aura API v1 model as the controller sees it (AURA_API.md, docs/spec/aura-api-v1.openapi.yaml,
// docs/AURA_API_DIFFERENCES.md). Plain values; parsing and serialization live in model_json.cc.
// The real service is leaner than the OpenAPI: every field an operation does not strictly need
// may be missing, and then holds its empty value ("" or nullopt = not reported). The simulator
// never uses these types (DESIGN.md: a test peer must not share the client's model code).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pkg/base/atom.h"

namespace aura::api {

// An item of GET /v1/instances: existence only (no status, no memory). Required: id, name.
struct InstanceSummary {
  std::string id;
  std::string name;
  base::Atom tenant_id;       // "" when not reported
  base::Atom cloud_provider;  // "" when not reported
  std::string created_at;     // RFC 3339 as Aura sent it; "" when not reported
};

// GET /v1/instances/{id} and the bodies of PATCH, DELETE, pause, resume. Nothing is required:
// a missing id is the id asked for, a missing status is "" (an unknown status, see
// instance_status.h), a missing memory is "" (not observed: never a reason to PATCH).
struct Instance {
  std::string id;
  std::string name;
  base::Atom status;           // creating, running, pausing, paused, resuming, updating, ...
  std::string connection_url;  // empty while paused (or null)
  // Values of small variety are interned (base::Atom: 8 bytes, one copy per process).
  base::Atom tenant_id;
  base::Atom cloud_provider;
  base::Atom region;
  base::Atom type;
  base::Atom memory;   // "4GB"
  base::Atom storage;  // "8GB"; empty for free-db
  std::string created_at;
  std::optional<bool> vector_optimized;
  std::optional<bool> graph_analytics_plugin;
  std::optional<int> secondaries_count;
  std::optional<std::string> cdc_enrichment_mode;      // nullopt: absent or null (not readable)
  std::optional<std::string> customer_managed_key_id;  // nullopt: none, or not reported
};

// POST /v1/instances.
struct CreateInstanceRequest {
  std::string name;
  std::string version;
  std::string region;
  std::string memory;
  std::string type;
  std::string tenant_id;
  std::string cloud_provider;
  std::optional<std::string> storage;
  std::optional<bool> vector_optimized;
  std::optional<bool> graph_analytics_plugin;
  // Clone (spec.source): the instance, and optionally its snapshot, the new one starts from.
  std::optional<std::string> source_instance_id;
  std::optional<std::string> source_snapshot_id;
  // spec.customerManagedKeyId: encryption with the customer's key (enterprise-db/ds only).
  std::optional<std::string> customer_managed_key_id;
};

// The 202 body of POST /v1/instances. `password` is returned only here, once. Required: id and
// password; when the reply lacks the password (or could only be partly read) `password` is ""
// and the caller records the credentials as unknown, never as saved.
struct CreatedInstance {
  std::string id;
  std::string name;
  std::string connection_url;
  std::string username;
  std::string password;
  std::string tenant_id;
  std::string cloud_provider;
  std::string region;
  std::string type;
  std::string created_at;
  // False when the body was not whole JSON and id/password were salvaged from its text: nothing
  // else in it can be trusted.
  bool complete = true;
};

// PATCH /v1/instances/{id}: only the fields that are set are sent; never JSON null.
struct UpdateInstanceRequest {
  std::optional<std::string> name;
  std::optional<std::string> memory;
  std::optional<std::string> storage;
  std::optional<bool> vector_optimized;
  std::optional<bool> graph_analytics_plugin;
  std::optional<int> secondaries_count;
  std::optional<std::string> cdc_enrichment_mode;

  bool empty() const {
    return !name && !memory && !storage && !vector_optimized && !graph_analytics_plugin &&
           !secondaries_count && !cdc_enrichment_mode;
  }
};

// POST /v1/instances/{id}/upgrade: professional-db to business-critical, optionally resized
// (memory and storage go together, or neither is sent).
struct UpgradeInstanceRequest {
  std::optional<std::string> memory;
  std::optional<std::string> storage;
};

struct Tenant {
  std::string id;
  std::string name;
};

// One valid (provider, region, type, memory, storage, version) combination of a tenant.
struct InstanceConfiguration {
  std::string cloud_provider;
  std::string region;
  std::string region_name;
  std::string type;
  std::string memory;
  std::string storage;
  std::string version;
};

struct TenantDetail {
  std::string id;
  std::string name;
  std::vector<InstanceConfiguration> instance_configurations;
};

struct Snapshot {
  std::string instance_id;
  std::string snapshot_id;
  std::string profile;
  std::string status;
  std::string timestamp;
  std::optional<bool> exportable;
};

// A customer-managed key: GET /customer-managed-keys lists id, name and tenant_id; GET of one
// and the create's 202 carry every field. status: "pending" until Aura can use the key, then
// "ready" (other values are passed through).
struct CustomerManagedKey {
  std::string id;
  std::string name;
  std::string tenant_id;
  std::string cloud_provider;
  std::string region;
  std::string instance_type;
  std::string key_id;  // the id or ARN in the cloud provider's KMS
  std::string created;
  std::string status;
};

// POST /customer-managed-keys; every field is required by the API.
struct CreateCustomerManagedKeyRequest {
  std::string name;
  std::string tenant_id;
  std::string cloud_provider;
  std::string region;
  std::string instance_type;
  std::string key_id;
};

// DELETE outcome: 202 (destroying) and 404 (already gone) both mean done.
struct DeleteResult {
  bool already_gone = false;
};

// A successful reply and the X-Request-Id that Aura gave it (empty when absent).
template <typename T>
struct Reply {
  T data;
  std::string request_id;
};

}  // namespace aura::api
