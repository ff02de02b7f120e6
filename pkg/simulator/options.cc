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

std::string_view ProfileName(Profile p) { return p == Profile::kReal ? "real" : "strict"; }

void SimulatorOptions::UseProfile(Profile p) {
  profile = p;
  const bool real = p == Profile::kReal;
  rate_limit = real ? 25 : 125;
  token_limit = real ? 15 : 0;
  token_window = std::chrono::hours(1);
  free_idle_pause = real ? base::Duration(std::chrono::hours(72)) : base::Duration(0);
  free_paused_delete = real ? base::Duration(std::chrono::hours(720)) : base::Duration(0);
  paid_paused_resume = real ? base::Duration(std::chrono::hours(720)) : base::Duration(0);
  api_expires = real ? kRealApiExpires : "";
}

}  // namespace aura::simulator
