// `aura-controller tenants [TENANT-ID]`: the tenants (Aura projects) the credentials can see and
// what each offers (GET /tenants, GET /tenants/{id}: instance_configurations), so that a user
// can pick a valid cloud provider, region, type, version and memory for a spec.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cmd/aura-controller/config.h"
#include "pkg/aura/model.h"

namespace aura::cmd {

// The command: one GET /tenants (skipped when a tenant id is given), then one GET per tenant,
// through the usual client (shared rate limit, token cache). Exit 0, or 1 on an error.
int Tenants(const Config& c);

// The table: per tenant, one row per (provider, region, type) and set of versions offering the
// same memory/storage sizes, sizes in ascending order.
std::string TenantsTable(const std::vector<api::TenantDetail>& tenants);
// --output json: every configuration as Aura sent it.
nlohmann::json TenantsJson(const std::vector<api::TenantDetail>& tenants);

}  // namespace aura::cmd
