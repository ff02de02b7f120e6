#include "pkg/kube/config.h"

#include <sys/stat.h>

#include "pkg/http/url.h"

namespace aura::kube {
namespace {

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

base::StatusOr<Config> ResolveConfig(const ConfigOverrides& flags,
                                     const std::function<std::string(const char*)>& getenv,
                                     const std::string& sa_dir) {
  Config c;
  if (!flags.api_url.empty()) {
    c.api_url = flags.api_url;
  } else {
    const std::string host = getenv("KUBERNETES_SERVICE_HOST");
    const std::string port = getenv("KUBERNETES_SERVICE_PORT");
    if (host.empty()) {
      return base::FailedPreconditionError(
          "--connection-secrets: no Kubernetes API: not in a cluster (KUBERNETES_SERVICE_HOST "
          "is not set) and no --kube-api-url");
    }
    const bool ipv6 = host.find(':') != std::string::npos;
    c.api_url = "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + (port.empty() ? "443" : port);
    c.in_cluster = true;
  }
  AURA_RETURN_IF_ERROR(
      http::CheckUrlAllowed(c.api_url, /*allow_plain_http=*/false).WithContext("--kube-api-url"));
  const std::string sa_token = sa_dir + "/token";
  if (!flags.token_file.empty()) {
    c.token_file = flags.token_file;
  } else if (IsFile(sa_token)) {
    c.token_file = sa_token;
  } else if (c.in_cluster) {
    return base::FailedPreconditionError(
        "--connection-secrets: no service account token at " + sa_token +
        " (the pod mounts none: see manifests/base/deployment.yaml) and no --kube-token-file");
  }
  const std::string sa_ca = sa_dir + "/ca.crt";
  const bool https = c.api_url.rfind("https://", 0) == 0 || c.api_url.rfind("HTTPS://", 0) == 0;
  if (!flags.ca_file.empty()) {
    if (!IsFile(flags.ca_file)) {
      return base::InvalidArgumentError("--kube-ca-file " + flags.ca_file + " is not a file");
    }
    c.ca_file = flags.ca_file;
  } else if (https && IsFile(sa_ca)) {
    c.ca_file = sa_ca;
  }
  return c;
}

}  // namespace aura::kube
