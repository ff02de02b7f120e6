// The Aura API v1 model as the controller sees it (AURA_API.md, docs/spec/aura-api-v1.openapi.yaml).
// Plain values; parsing and serialization live in model_json.cc. The simulator never uses these
// types (DESIGN.md: a test peer must not share the client's model code).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace aura::api {

// An item of GET /v1/instances: existence only (no status, no memory).
struct InstanceSummary {
  std::string id;
  std::string name;
  std::string tenant_id;
  std::string cloud_provider;
  std::string created_at;  // RFC 3339, as Aura sent it
};

// GET /v1/instances/{id} and the bodies of PATCH, DELETE, pause, resume.
struct Instance {
  std::string id;
  std::string name;
  std::string status;          // creating, running, pausing, paused, resuming, updating, ...
  std::string connection_url;  // empty while paused
  std::string tenant_id;
  std::string cloud_provider;
  std::string region;
  std::string type;
  std::string memory;   // "4GB"
  std::string storage;  // "8GB"; empty for free-db
  std::string created_at;
  std::optional<bool> vector_optimized;
  std::optional<bool> graph_analytics_plugin;
  std::optional<int> secondaries_count;
  std::optional<std::string> cdc_enrichment_mode;
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
};

// The 202 body of POST /v1/instances. `password` is returned only here, once.
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
