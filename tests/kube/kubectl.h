// kubectl (a real Kubernetes client) against a FakeKubeApi, for tests: reads back what the
// controller wrote, so the wire shapes are proven against a client that is not ours. The binary
// comes from CMake (AURA_KUBECTL); its kubeconfig, cache and HOME live in the test's scratch
// folder.
//
// Thread-safety: reentrant.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pkg/base/status.h"

namespace aura::kube_testing {

struct KubectlResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Where kubectl connects: the server, the CA its certificate must chain to ("" for http://;
// kubectl sends a bearer token only over TLS), the token.
struct KubectlTarget {
  std::string server_url;
  std::string ca_file;
  std::string token;
};

// Runs `kubectl --kubeconfig <scratch>/kubectl/kubeconfig args...` against `target`.
KubectlResult Kubectl(const KubectlTarget& target, const std::string& scratch_dir,
                      std::vector<std::string> args);

// `kubectl get secret NAME -n NS -o json`, parsed; kNotFound when kubectl says so, other errors
// with kubectl's output.
base::StatusOr<nlohmann::json> KubectlGetSecret(const KubectlTarget& target,
                                                const std::string& scratch_dir,
                                                const std::string& ns, const std::string& name);

// The decoded data of a Secret as kubectl printed it.
std::map<std::string, std::string> DecodedData(const nlohmann::json& secret);

}  // namespace aura::kube_testing
