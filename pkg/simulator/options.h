// SimulatorOptions: everything the aura-simulator is configured with at start (flags.h parses
// them from a command line). Plain values.
//
// Thread-safety: values; copy freely.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
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

// Which Aura the simulator plays (docs/SIMULATOR_PROFILES.md).
//   kStrict: the published OpenAPI, to the letter (the default; the contract test checks it).
//   kReal:   the live service as public evidence shows it: lean and loose reply bodies (no
//            created_at, numbers for graph_nodes, nulls, an unknown field), `resizing` for a
//            memory/storage PATCH. UseProfile() also sets the real account's limits, Aura's own
//            lifecycle and the deprecation header.
enum class Profile { kStrict, kReal };

std::string_view ProfileName(Profile p);

// The deprecation date profile real announces in X-Tyk-Api-Expires (the Tyk gateway's format).
inline constexpr char kRealApiExpires[] = "Wed, 03 Mar 2027 00:00:00 UTC";

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

  // The shape of /v1 reply bodies and of resizes. The settings below are independent of it:
  // UseProfile() sets them to a profile's defaults, flags may then change each one.
  Profile profile = Profile::kStrict;
  // POST /oauth/token requests per client per token_window beyond which it answers 429;
  // 0 = no token limit.
  int token_limit = 0;
  base::Duration token_window = std::chrono::hours(1);
  // Aura's own lifecycle; 0 = never. A free-db instance running without a write request
  // (PATCH, pause, resume) for free_idle_pause is paused by Aura; one paused for
  // free_paused_delete is deleted; any other type paused for paid_paused_resume is resumed.
  base::Duration free_idle_pause{0};
  base::Duration free_paused_delete{0};
  base::Duration paid_paused_resume{0};
  // X-Tyk-Api-Expires on every /v1 response; "" = none.
  std::string api_expires;

  // Fills in the default tenant and client when none were given.
  void ApplyDefaults();

  // Sets `profile` and every setting it has a default for: strict (today's simulator) 125
  // requests per window, no token limit, no lifecycle of Aura's own, no deprecation header;
  // real 25 requests per window (a Free or unbilled trial account), 15 token requests per hour,
  // free-db paused after 72 h idle and deleted after 720 h paused, other types resumed after
  // 720 h paused, X-Tyk-Api-Expires kRealApiExpires.
  void UseProfile(Profile p);
};

}  // namespace aura::simulator
