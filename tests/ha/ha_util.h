// Helpers for the HA integration tests: a real 3-member etcd cluster, the simulator with one
// API client per controller (so its /_sim/stats tell the controllers' requests apart), a
// workspace with specs and a credentials key, and `aura-controller run` processes in etcd mode
// with short timings (lease 2s unless AURA_HA_LEASE_TTL says otherwise, resync 1s, settle
// window 2s).
//
// Thread-safety: one owner.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/e2e/e2e_util.h"
#include "tests/ha/etcd_cluster.h"
#include "tests/harness/simulator_process.h"
#include "tests/harness/subprocess.h"

namespace aura::ha_test {

inline constexpr char kPrefix[] = "/aura-ha";
inline constexpr char kNamespace[] = "e2e";  // e2e::Workspace::WriteSpecs
// The controllers' --lease-ttl: 2s (5s in a sanitizer build), or AURA_HA_LEASE_TTL seconds
// (scripts/failover.sh).
std::chrono::seconds LeaseTtl();
inline constexpr std::chrono::seconds kResync{1};

// One `aura-controller run` in etcd mode.
struct Controller {
  int index = 0;
  std::string client_id;  // its own API client at the simulator
  std::string identity;
  std::string log_path;
  int metrics_port = 0;
  std::unique_ptr<test_harness::Subprocess> process;

  // GET /readyz: the HTTP code (0 when unreachable) and body.
  int Ready(std::string* body = nullptr) const;
  bool IsLeader() const;   // readyz says "role: leader"
  bool IsStandby() const;  // readyz says "role: standby"
  std::string Log() const;
};

struct HaEnvOptions {
  int controllers = 2;
  std::vector<std::string> sim_flags;  // extra simulator flags (faults)
  EtcdClusterOptions etcd;
};

class HaEnv {
 public:
  [[nodiscard]] static base::StatusOr<std::unique_ptr<HaEnv>> Start(HaEnvOptions options = {});
  ~HaEnv();

  EtcdCluster& etcd() { return *etcd_; }
  test_harness::SimulatorProcess& sim() { return *sim_; }
  e2e::Workspace& ws() { return ws_; }
  Controller& controller(int i) { return controllers_[static_cast<size_t>(i)]; }
  int controllers() const { return static_cast<int>(controllers_.size()); }

  // Flags of controller i (without the command).
  std::vector<std::string> Flags(int i, std::vector<std::string> extra = {}) const;
  std::map<std::string, std::string> Env(int i) const;
  // Starts controller i (again) and waits (bounded) until its metrics port is known.
  [[nodiscard]] base::Status StartController(int i, std::vector<std::string> extra = {});
  void KillController(int i);

  // The index of the one controller whose readyz says leader, waiting up to `timeout`;
  // -1 when none (or two) did.
  int AwaitLeader(std::chrono::milliseconds timeout, int not_this = -1);

  // `aura-controller <args...>` against this env's etcd state (status, credentials get).
  RunResult Cli(std::vector<std::string> args) const;

  // Evidence.
  nlohmann::json SimInstances() const;  // GET /_sim/instances
  // Non-GET requests the simulator received from `client_id`, token requests included.
  long NonGetRequests(const std::string& client_id) const;
  long AllRequests(const std::string& client_id) const;
  // Every spec `prefix-0..n-1` converged (status via etcd) with exactly one instance each in
  // the simulator; returns a description of what is missing ("" when all is well).
  std::string Converged(const std::string& prefix, int n) const;
  // Extra creations beyond one per name (duplicates).
  int Duplicates() const;
  // The keys under `<prefix>/<what>/` ("journal", "credentials") with their mod revisions.
  // (An "error" entry when etcd could not be read.)
  std::vector<std::pair<std::string, long long>> StoredRevisions(const std::string& what) const;
  // Everything useful for a failure message.
  std::string Diagnostics() const;

 private:
  HaEnv() = default;
  HaEnvOptions options_;
  std::unique_ptr<EtcdCluster> etcd_;
  std::unique_ptr<test_harness::SimulatorProcess> sim_;
  e2e::Workspace ws_;
  std::string key_file_;
  std::vector<Controller> controllers_;
  int starts_ = 0;
};

}  // namespace aura::ha_test
