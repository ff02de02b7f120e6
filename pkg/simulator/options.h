// SimulatorOptions: everything the aura-simulator is configured with at start (flags.h parses
// them from a command line). Plain values.
//
// Thread-safety: values; copy freely.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pkg/base/clock.h"
#include "pkg/simulator/faults.h"

namespace aura::simulator {

// A default project so that the simulator works with no flags at all.
inline constexpr char kDefaultTenantId[] = "5f1c4d2e-8a3b-4c6d-9e0f-1a2b3c4d5e6f";
inline constexpr char kDefaultTenantName[] = "Simulated project";
inline constexpr char kDefaultClientId[] = "sim-client";
inline constexpr char kDefaultClientSecret[] = "sim-secret";

struct TenantOptions {
  std::string id;  // a UUID
  std::string name;
  int instance_quota = 1000;     // live instances; POST beyond it gets 405
  bool missing_billing = false;  // every POST /instances gets 400 missing-billing-details
};

struct ClientOptions {
  std::string id;
  std::string secret;
  std::vector<std::string> tenants;  // empty: every tenant
};

enum class RetryAfterFormat { kDeltaSeconds, kHttpDate };

// How long each asynchronous transition takes.
struct Durations {
  base::Duration create = std::chrono::seconds(3);
  base::Duration pause = std::chrono::seconds(2);
  base::Duration resume = std::chrono::seconds(2);
  base::Duration update = std::chrono::seconds(2);
  base::Duration destroy = std::chrono::seconds(2);
  base::Duration restore = std::chrono::seconds(2);
  base::Duration snapshot = std::chrono::seconds(2);
};

struct SimulatorOptions {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks one
  std::vector<TenantOptions> tenants;     // empty: one default tenant
  std::vector<ClientOptions> clients;     // empty: one default client
  base::Duration token_ttl = std::chrono::hours(1);
  int rate_limit = 125;  // requests per client per window
  base::Duration rate_window = std::chrono::seconds(60);
  RetryAfterFormat retry_after_format = RetryAfterFormat::kDeltaSeconds;
  Durations durations;
  uint64_t seed = 1;
  FaultConfig faults;      // active from the start; POST /_sim/reset returns to these
  std::string state_file;  // "" = in memory only
  // GET of a free-db instance leaves out `storage` (as the schema's description says) instead
  // of reporting twice the memory (as its `required` list demands).
  bool omit_free_storage = false;
  std::string log_level = "info";
  std::string log_format = "json";

  // Fills in the default tenant and client when none were given.
  void ApplyDefaults();
};

}  // namespace aura::simulator
