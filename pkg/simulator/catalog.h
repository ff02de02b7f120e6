// The catalog of Aura values the simulator accepts: instance types, cloud providers, memory
// sizes and the default instance configurations a project offers (AURA_API.md "Values").
//
// Thread-safety: pure functions over constant data.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aura::simulator {

// One entry of GET /v1/tenants/{id} instance_configurations.
struct InstanceConfiguration {
  std::string cloud_provider;
  std::string region;
  std::string region_name;
  std::string type;
  std::string memory;
  std::string storage;
  std::string version;
};

// Every cloud provider, two regions each, every type, a range of memories per type and both
// versions; free-db only as 1GB on gcp europe-west1.
const std::vector<InstanceConfiguration>& DefaultInstanceConfigurations();

bool IsInstanceType(std::string_view s);
bool IsCloudProvider(std::string_view s);
bool IsVersion(std::string_view s);
// The memory sizes Aura knows: 1GB 2GB 4GB ... 512GB.
bool IsMemorySize(std::string_view s);
// "16GB" -> 16; -1 when `s` is not "<digits>GB".
int SizeGb(std::string_view s);
std::string GbString(int gb);

// cdc_enrichment_mode is accepted only for these types.
bool SupportsCdc(std::string_view type);
// secondaries_count is accepted only for enterprise-db (Virtual Dedicated Cloud).
bool SupportsSecondaries(std::string_view type);

}  // namespace aura::simulator
