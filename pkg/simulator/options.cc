#include "pkg/simulator/options.h"

namespace aura::simulator {

void SimulatorOptions::ApplyDefaults() {
  if (tenants.empty()) {
    tenants.push_back({kDefaultTenantId, kDefaultTenantName});
  }
  if (clients.empty()) {
    clients.push_back({kDefaultClientId, kDefaultClientSecret, {}});
  }
}

}  // namespace aura::simulator
