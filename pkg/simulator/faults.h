// Fault injection for the simulator: what can go wrong, parsed from the JSON that flags and
// POST /_sim/faults accept, and a FaultInjector that decides, reproducibly from a seed, which
// request a fault hits.
//
// Every fault except the token and LIST ones is a rule: a route template ("POST /v1/instances",
// "GET /v1/instances/{instanceId}", "POST /oauth/token", or "*" for every Aura route), a rate
// (probability per matching request, default 1) and a count (how many more times it may fire;
// absent = no limit). Each (fault kind, route) pair draws from its own random stream seeded from
// the seed, so the faults one route sees do not depend on how many requests other routes got.
//
// Thread-safety: FaultConfig is a value. FaultInjector is not thread-safe; the engine calls it
// under its lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/base/status.h"

namespace aura::simulator {

struct FaultRule {
  std::string route = "*";
  double rate = 1.0;
  int64_t count = -1;  // firings left; -1 = unlimited
};

// A 5xx instead of processing the request (nothing happens server-side).
struct ErrorFault {
  FaultRule rule;
  int status = 503;
  std::optional<int> retry_after_seconds;  // absent: no Retry-After header
};

// Extra time before the response is written (the request is processed on arrival).
struct LatencyFault {
  FaultRule rule;
  int64_t ms = 0;
  int64_t jitter_ms = 0;  // plus uniform [0, jitter_ms]
};

// A 429 instead of processing the request, on top of the rate limiter: a burst is a count.
struct ThrottleFault {
  FaultRule rule;
  int retry_after_seconds = 1;
};

// What a create that has COMMITTED (the instance exists) does to its response.
enum class CreateFailMode {
  k500,      // answers 500 with an Aura error body
  kDrop,     // resets the connection without sending a single byte of response
  kTimeout,  // sends the normal 202, but only after `delay_seconds`
};

struct CreateFault {
  double rate = 1.0;
  int64_t count = -1;
  CreateFailMode mode = CreateFailMode::k500;
  double delay_seconds = 60;  // kTimeout only
};

// A 2xx whose JSON body is broken.
enum class MalformedMode {
  kTruncate,       // the body cut in half: not valid JSON
  kWrongTypes,     // valid JSON, but every string in `data` is a number and every bool a string
  kMissingFields,  // valid JSON without its required fields: "id" dropped from every object
                   // under "data", "access_token" from a token response
  kHuge,           // valid JSON padded with whitespace to `bytes` bytes
};

struct MalformedFault {
  FaultRule rule;
  MalformedMode mode = MalformedMode::kTruncate;
  int64_t bytes = 32 * 1024 * 1024;  // kHuge only: the padded body's size
};

// A response that arrives slowly: the status line and headers at once, then the body
// `chunk_bytes` at a time, one chunk every `interval_ms` (the request is processed on arrival).
struct TrickleFault {
  FaultRule rule;
  int64_t chunk_bytes = 1;
  int64_t interval_ms = 100;
};

struct FaultConfig {
  std::vector<ErrorFault> errors;
  std::vector<LatencyFault> latency;
  std::vector<ThrottleFault> throttle;
  std::optional<CreateFault> create_failure;
  std::vector<MalformedFault> malformed;
  std::vector<TrickleFault> trickle;
  // Tokens issued while set stop working this long after issue, whatever expires_in said.
  std::optional<double> token_expiry_seconds;
  // New instances appear in GET /v1/instances only this long after their creation.
  double list_lag_seconds = 0;
  // One-shot action (POST /_sim/faults only): every token issued so far expires now.
  bool expire_tokens_now = false;
  // When set, the injector re-seeds its random streams.
  std::optional<uint64_t> seed;
};

// Parses `j` over `base`: each top-level key present replaces that part of `base`;
// {"clear": true} starts from no faults instead. Unknown keys and bad values are
// kInvalidArgument naming the key.
[[nodiscard]] base::StatusOr<FaultConfig> ParseFaults(const nlohmann::json& j,
                                                      const FaultConfig& base = {});
nlohmann::json FaultsToJson(const FaultConfig& faults);

std::string_view CreateFailModeName(CreateFailMode m);
std::string_view MalformedModeName(MalformedMode m);

class FaultInjector {
 public:
  explicit FaultInjector(uint64_t seed, FaultConfig config = {});

  // Replaces the configuration; re-seeds when config.seed is set.
  void Configure(FaultConfig config);
  const FaultConfig& config() const { return config_; }

  // Each returns the fault that fires for this request on `route`, consuming one of its
  // count, or nullptr. `route` is a template such as "GET /v1/instances/{instanceId}".
  const ThrottleFault* Throttle(std::string_view route);
  const ErrorFault* Error(std::string_view route);
  const MalformedFault* Malformed(std::string_view route);
  const TrickleFault* Trickle(std::string_view route);
  const CreateFault* CreateFailure();
  // Added latency for this request (0 when none), summed over every matching rule.
  std::chrono::milliseconds Latency(std::string_view route);

 private:
  bool Fire(FaultRule& rule, std::string_view kind, std::string_view route);
  bool Draw(std::string_view kind, std::string_view route, double rate);
  std::mt19937_64& Stream(std::string_view kind, std::string_view route);

  uint64_t seed_;
  FaultConfig config_;
  std::map<std::string, std::mt19937_64, std::less<>> streams_;
};

}  // namespace aura::simulator
