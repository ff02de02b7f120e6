// Where the Kubernetes API is and how to authenticate to it: the in-cluster way (the service
// account folder the kubelet mounts and KUBERNETES_SERVICE_HOST/_PORT), each part overridable
// (--kube-api-url, --kube-token-file, --kube-ca-file; tests point them at a fake API).
//
// Thread-safety: pure functions, apart from the file-existence checks.
#pragma once

#include <functional>
#include <string>

#include "pkg/base/status.h"

namespace aura::kube {

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

// What the flags said; nullopt-like empty strings mean "not given".
struct ConfigOverrides {
  std::string api_url;
  std::string token_file;
  std::string ca_file;
};

struct Config {
  std::string api_url;      // https://HOST:PORT, or http:// to loopback (tests, kubectl proxy)
  std::string token_file;   // "" = send no token (only with an explicit --kube-api-url)
  std::string ca_file;      // "" = the system's CAs; else it REPLACES them (TransportOptions)
  bool in_cluster = false;  // the API address came from KUBERNETES_SERVICE_HOST
};

// Resolves the configuration:
//   api_url:    --kube-api-url, else https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
//               (IPv6 in brackets), else kFailedPrecondition "not in a cluster";
//   token_file: --kube-token-file, else <sa_dir>/token when it exists; in a cluster a missing
//               token is kFailedPrecondition (the pod has no token mounted);
//   ca_file:    --kube-ca-file, else <sa_dir>/ca.crt when it exists and the URL is https.
// The URL must be https, or plain http to a loopback address (url.h): kInvalidArgument.
// `getenv` reads the environment (tests pass their own); `sa_dir` is kServiceAccountDir.
[[nodiscard]] base::StatusOr<Config> ResolveConfig(
    const ConfigOverrides& flags, const std::function<std::string(const char*)>& getenv,
    const std::string& sa_dir = kServiceAccountDir);

}  // namespace aura::kube
