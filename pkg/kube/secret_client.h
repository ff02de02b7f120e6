// SecretClient: the namespaced Secrets of the Kubernetes API (core/v1), the only Kubernetes
// resource this controller touches, as a small typed interface. HttpSecretClient implements it
// over http::Transport:
//   GET    /api/v1/namespaces/NS/secrets/NAME
//   POST   /api/v1/namespaces/NS/secrets?fieldManager=aura-controller
//   PUT    /api/v1/namespaces/NS/secrets/NAME?fieldManager=aura-controller  (resourceVersion)
//   DELETE /api/v1/namespaces/NS/secrets/NAME  (DeleteOptions with preconditions)
// with the API's conventions: application/json both ways, `data` values base64, the bearer
// token of a TokenFile (re-read when the file changes, and once more after a 401), optimistic
// concurrency through metadata.resourceVersion.
//
// Errors (base::Status, message "kubernetes <verb> secret NS/NAME: ..." plus the API's own
// Status message; http_status, request id (Audit-Id) and reason set when a response came):
//   kNotFound          GET/PUT/DELETE of a Secret that does not exist;
//   kFailedPrecondition the namespace does not exist (POST 404), a redirect (never followed);
//   kAlreadyExists     POST of a name that exists (409 AlreadyExists);
//   kConflict          PUT or DELETE of a Secret that changed since it was read (409): read it
//                      again and decide again;
//   kPermissionDenied  403: RBAC refused the verb in the namespace (both named in the message);
//   kUnauthenticated   401 twice (the token file re-read in between);
//   kInvalidArgument   422/400 (the object was refused as invalid), or a bad namespace/name;
//   kThrottled         429 (retry_after set when the server said);
//   kUnavailable / kDeadlineExceeded  5xx and transport errors (Transport's reasons kept);
//   kDataLoss          a reply that is not a Secret (bad JSON, data not base64).
// Values never appear in messages: Secret data is credentials.
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "pkg/base/status.h"
#include "pkg/http/transport.h"
#include "pkg/kube/token_file.h"
#include "pkg/metrics/metrics.h"

namespace aura::kube {

// A v1 Secret, as much of it as this controller reads and writes.
struct Secret {
  std::string namespace_name;
  std::string name;
  std::string type = "Opaque";
  std::map<std::string, std::string> data;  // decoded values (bytes)
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string resource_version;  // "" for an object not read from the server
  std::string uid;
};

class SecretClient {
 public:
  virtual ~SecretClient() = default;
  virtual base::StatusOr<Secret> Get(const std::string& ns, const std::string& name) = 0;
  // Returns the Secret as stored (with its resourceVersion).
  virtual base::StatusOr<Secret> Create(const Secret& s) = 0;
  // REQUIRES: s.resource_version is the version the change was decided on.
  virtual base::StatusOr<Secret> Update(const Secret& s) = 0;
  // Deletes the Secret if it is still at `resource_version` ("" = whatever it is). OK when it
  // was deleted or did not exist.
  virtual base::Status Delete(const std::string& ns, const std::string& name,
                              const std::string& resource_version) = 0;
};

struct SecretClientOptions {
  std::string api_url;  // "https://10.0.0.1:443" (a path prefix is kept: a proxy's)
  std::chrono::milliseconds request_timeout{10000};
  std::string user_agent = std::string("aura-controller/") + AURA_VERSION;
};

// REQUIRES: `transport` and `token` (may be null: no Authorization header, e.g. behind
// `kubectl proxy`) and `metrics` (may be null) outlive the client.
std::unique_ptr<SecretClient> NewHttpSecretClient(http::Transport* transport, TokenFile* token,
                                                  metrics::Metrics* metrics,
                                                  SecretClientOptions options);

// JSON forms (the wire shapes), for the client and for tests.
std::string SecretToJson(const Secret& s);
base::StatusOr<Secret> SecretFromJson(const std::string& body);

// True for a valid namespace (DNS-1123 label) / Secret name (DNS-1123 subdomain).
bool IsNamespaceName(std::string_view s);
bool IsSecretName(std::string_view s);

}  // namespace aura::kube
