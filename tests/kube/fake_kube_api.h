// FakeKubeApi: a small Kubernetes API server for tests, on pkg/http's Server at 127.0.0.1 (no
// real API server can be installed on these machines). Enough of core/v1 for the controller's
// connection Secrets and for kubectl to read them:
//   GET /api, /api/v1, /apis, /version              discovery (legacy, non-aggregated)
//   GET/POST /api/v1/namespaces/NS/secrets           list / create
//   GET/PUT/DELETE /api/v1/namespaces/NS/secrets/N   read / replace / delete
// with the API's behaviour where the controller depends on it: resourceVersion bumped on every
// write and a stale PUT or DELETE precondition refused with 409 Conflict, 409 AlreadyExists on
// a create of an existing name, 404 NotFound (a namespace that does not exist: 404 naming
// `namespaces`), 403 Forbidden for namespaces RBAC does not allow (the message names the verb
// and namespace, as the real one does), 401 without the bearer token, 400/422 for malformed
// objects, every error a v1 Status, an Audit-Id on every reply.
//
// Tests read what was written (Secret()), plant Secrets of others (Seed()), take the API down
// for a while (GoDown(): connections refused; Unavailable(): 503s), and get every exchange with
// the kind its bodies must be (Exchanges(), for the kubernetes-models validator,
// k8s_validator.h).
//
// Thread-safety: all methods may be called from any thread; requests are served concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pkg/base/status.h"
#include "pkg/http/server.h"

namespace aura::kube_testing {

struct FakeKubeApiOptions {
  std::string token = "fake-kube-token";  // "" = no authentication
  // Namespaces that exist; RBAC allows the service account in all of them unless Forbid()den.
  std::set<std::string> namespaces = {"default"};
  // The identity RBAC messages name.
  std::string user = "system:serviceaccount:aura-system:aura-controller";
  // HTTPS with a CA and a certificate for 127.0.0.1 made at start (openssl) in `cert_dir`
  // (required then): kubectl sends tokens only over TLS, and the controller's --kube-ca-file is
  // exercised. false: plain http.
  bool tls = true;
  std::string cert_dir;
};

// One request and its reply, with what each body must be ("Secret", "Status", "DeleteOptions",
// "SecretList", "APIVersions", "APIResourceList", "APIGroupList", or "" when not validated).
struct Exchange {
  std::string method;
  std::string path;
  std::string query;
  std::string request_body;
  std::string request_kind;
  int status = 0;
  std::string reply_body;
  std::string reply_kind;
};

class FakeKubeApi {
 public:
  [[nodiscard]] static base::StatusOr<std::unique_ptr<FakeKubeApi>> Start(
      FakeKubeApiOptions options = {});
  ~FakeKubeApi();

  std::string url() const;  // https://127.0.0.1:PORT (http:// without TLS)
  int port() const { return port_; }
  // The CA that signed the server's certificate ("" without TLS).
  std::string ca_file() const;
  const std::string& token() const { return options_.token; }

  // --- scripting ---
  void AddNamespace(const std::string& ns);
  // RBAC: refuse (403) every Secret request in `ns`, or allow it again.
  void Forbid(const std::string& ns, bool forbidden = true);
  // Answer every API request with 503 (the API server up, its storage not).
  void Unavailable(bool unavailable);
  // Close the listener (connections refused) / listen again on the same port, state kept.
  void GoDown();
  [[nodiscard]] base::Status ComeBack();
  // Stores `secret` as someone else's write (a new resourceVersion; stringData merged).
  void Seed(nlohmann::json secret);
  void Remove(const std::string& ns, const std::string& name);

  // --- inspection ---
  std::optional<nlohmann::json> Secret(const std::string& ns, const std::string& name) const;
  // The data of a Secret, base64-decoded ({} when absent).
  std::map<std::string, std::string> Data(const std::string& ns, const std::string& name) const;
  std::vector<nlohmann::json> Secrets() const;  // every stored Secret
  std::vector<Exchange> Exchanges() const;
  // Requests of `method` to Secret paths answered with `status` (0: any).
  int Count(const std::string& method, int status = 0) const;

 private:
  explicit FakeKubeApi(FakeKubeApiOptions options) : options_(std::move(options)) {}
  void Serve(http::ServerRequest req, http::Respond respond);
  // The reply and the kinds of both bodies, under mu_.
  http::Reply Handle(const http::ServerRequest& req, std::string* request_kind,
                     std::string* reply_kind);
  http::Reply HandleSecrets(const http::ServerRequest& req, const std::string& ns,
                            const std::string& name, std::string* request_kind,
                            std::string* reply_kind);
  nlohmann::json Stored(nlohmann::json secret, const std::string& ns);

  const FakeKubeApiOptions options_;
  http::ServerTls tls_;
  std::unique_ptr<http::Server> server_;
  int port_ = 0;

  mutable std::mutex mu_;
  std::set<std::string> namespaces_;                                       // GUARDED_BY(mu_)
  std::set<std::string> forbidden_;                                        // GUARDED_BY(mu_)
  std::map<std::pair<std::string, std::string>, nlohmann::json> secrets_;  // GUARDED_BY(mu_)
  std::vector<Exchange> exchanges_;                                        // GUARDED_BY(mu_)
  bool unavailable_ = false;                                               // GUARDED_BY(mu_)
  long long version_ = 1000;                                               // GUARDED_BY(mu_)
  long long audit_ = 0;                                                    // GUARDED_BY(mu_)
};

}  // namespace aura::kube_testing
