// SimulatorProcess: the built aura-simulator binary, started on 127.0.0.1:0 for an integration
// test, with helpers for its admin API (/_sim/...). The binary's path comes from CMake
// (AURA_SIMULATOR_BINARY). stderr (JSON-lines logs) goes to a file kept for failure messages.
//
// Thread-safety: one owner; the const helpers may be called from any thread.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pkg/base/status.h"
#include "tests/harness/subprocess.h"

namespace aura::test_harness {

// The simulator's default credentials and project (pkg/simulator/options.h).
inline constexpr char kSimClientId[] = "sim-client";
inline constexpr char kSimClientSecret[] = "sim-secret";
inline constexpr char kSimTenantId[] = "5f1c4d2e-8a3b-4c6d-9e0f-1a2b3c4d5e6f";

// The aura-simulator binary this build produced.
std::string SimulatorBinary();

class SimulatorProcess {
 public:
  // Starts `aura-simulator --listen 127.0.0.1:0 <flags>` and waits (bounded) for its
  // "listening on" line. Short lifecycle durations are NOT implied: pass --create-seconds etc.
  [[nodiscard]] static base::StatusOr<std::unique_ptr<SimulatorProcess>> Start(
      std::vector<std::string> flags = {});
  ~SimulatorProcess();  // kills it if still running

  const std::string& base_url() const { return base_url_; }  // http://127.0.0.1:PORT
  std::string api_url() const { return base_url_ + "/v1"; }
  std::string token_url() const { return base_url_ + "/oauth/token"; }
  int port() const { return port_; }
  Subprocess& process() { return *process_; }
  // The log file, and its contents (for failure messages).
  const std::string& log_path() const { return log_path_; }
  std::string Logs() const;

  // Admin API.
  [[nodiscard]] base::StatusOr<nlohmann::json> Stats() const;
  [[nodiscard]] base::StatusOr<nlohmann::json> Instances() const;
  [[nodiscard]] base::StatusOr<nlohmann::json> SetFaults(const nlohmann::json& faults) const;
  [[nodiscard]] base::Status Reset() const;
  // A token for the default client.
  [[nodiscard]] base::StatusOr<std::string> Token() const;

  // SIGTERM and a bounded wait; the exit status (kDeadlineExceeded if it hangs: then killed).
  [[nodiscard]] base::StatusOr<ExitStatus> Stop(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  SimulatorProcess() = default;
  std::unique_ptr<Subprocess> process_;
  std::string base_url_;
  std::string log_path_;
  int port_ = 0;
};

}  // namespace aura::test_harness
