// EtcdCluster: a real etcd cluster (Debian's etcd-server, /usr/bin/etcd) of N members on
// 127.0.0.1 for the HA integration tests: free client and peer ports, data folders in a scratch
// folder (on /dev/shm when there is one: fsync there is cheap on a busy CI machine), bounded
// waits. Members can be stopped (SIGKILL) and started again on their data. Everything is
// killed and removed in the destructor.
//
// Thread-safety: one owner.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pkg/base/status.h"
#include "tests/harness/subprocess.h"

namespace aura::ha_test {

struct RunResult {
  test_harness::ExitStatus exit;
  std::string out;
  std::string err;
};
// Runs a program to completion (bounded; killed after `timeout`). stdout and stderr go through
// files, so both are complete once it has exited.
RunResult RunToCompletion(const std::string& path, std::vector<std::string> args,
                          std::map<std::string, std::string> env,
                          std::chrono::milliseconds timeout);

struct EtcdClusterOptions {
  int members = 3;
  // TLS: serve https with this certificate/key and require client certificates signed by
  // `ca_file` (all PEM; empty: plain http).
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
};

class EtcdCluster {
 public:
  // Starts every member and waits (bounded) until the cluster answers a linearizable read.
  [[nodiscard]] static base::StatusOr<std::unique_ptr<EtcdCluster>> Start(
      EtcdClusterOptions options = {});
  ~EtcdCluster();

  int size() const { return static_cast<int>(members_.size()); }
  // "127.0.0.1:PORT" of every member's client URL, comma-separated (for --state).
  std::string HostPorts() const;
  // "http(s)://127.0.0.1:PORT" of member i.
  std::string ClientUrl(int i) const;
  // etcd://... or etcds://.../prefix for the controller.
  std::string StateUrl(const std::string& prefix) const;

  // SIGKILL member i (and reap it). Starting it again keeps its data.
  void StopMember(int i);
  [[nodiscard]] base::Status StartMember(int i);
  bool Running(int i) const;

  // Waits until a linearizable read through any running member succeeds (quorum).
  [[nodiscard]] base::Status AwaitQuorum(std::chrono::milliseconds timeout) const;

  // `etcdctl --endpoints=... args...` (ETCDCTL_API=3); stdout, or an error with stderr.
  [[nodiscard]] base::StatusOr<std::string> Ctl(
      std::vector<std::string> args,
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // The keys and values under `prefix` (etcdctl get --prefix), as key -> value.
  [[nodiscard]] base::StatusOr<std::vector<std::pair<std::string, std::string>>> Dump(
      const std::string& prefix) const;
  // The revision of a key's last modification per key under `prefix`.
  [[nodiscard]] base::StatusOr<std::vector<std::pair<std::string, long long>>> ModRevisions(
      const std::string& prefix) const;

  const std::string& dir() const { return dir_; }
  // Every member's log, for failure messages.
  std::string Logs() const;

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string data_dir;
    std::string log_file;
    std::unique_ptr<test_harness::Subprocess> process;
  };
  EtcdCluster() = default;
  base::Status Launch(int i, bool initial);
  bool tls() const { return !options_.cert_file.empty(); }

  EtcdClusterOptions options_;
  std::string dir_;
  std::string initial_cluster_;
  std::vector<Member> members_;
};

}  // namespace aura::ha_test
