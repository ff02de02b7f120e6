#include "cmd/aura-controller/kube_secrets.h"

#include <cstdlib>

#include "cmd/aura-controller/common.h"

namespace aura::cmd {
namespace {

// reconcile::SecretStore over the Kubernetes client.
class KubeSecretStore final : public reconcile::SecretStore {
 public:
  explicit KubeSecretStore(kube::SecretClient& client) : client_(client) {}

  base::StatusOr<reconcile::SecretObject> Get(const std::string& ns,
                                              const std::string& name) override {
    auto s = client_.Get(ns, name);
    if (!s.ok()) return s.status();
    reconcile::SecretObject o;
    o.namespace_name = s->namespace_name.empty() ? ns : s->namespace_name;
    o.name = s->name.empty() ? name : s->name;
    o.type = s->type;
    o.data = std::move(s->data);
    o.labels = std::move(s->labels);
    o.annotations = std::move(s->annotations);
    o.resource_version = s->resource_version;
    return o;
  }

  base::Status Put(const reconcile::SecretObject& o) override {
    kube::Secret s;
    s.namespace_name = o.namespace_name;
    s.name = o.name;
    s.type = o.type;
    s.data = o.data;
    s.labels = o.labels;
    s.annotations = o.annotations;
    s.resource_version = o.resource_version;
    return o.resource_version.empty() ? client_.Create(s).status() : client_.Update(s).status();
  }

  base::Status Delete(const std::string& ns, const std::string& name,
                      const std::string& resource_version) override {
    return client_.Delete(ns, name, resource_version);
  }

 private:
  kube::SecretClient& client_;
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

base::StatusOr<std::unique_ptr<KubeSecrets>> BuildKubeSecrets(const Config& c, metrics::Metrics* m,
                                                              const base::Logger& log) {
  if (!c.connection_secrets) return std::unique_ptr<KubeSecrets>();
  auto k = std::make_unique<KubeSecrets>();
  AURA_ASSIGN_OR_RETURN(
      k->config, kube::ResolveConfig({c.kube_api_url, c.kube_token_file, c.kube_ca_file}, Env));
  http::TransportOptions topts;
  topts.ca_file = k->config.ca_file;
  k->transport = http::NewCpprestTransport(topts);
  if (!k->config.token_file.empty()) {
    k->token = std::make_unique<kube::TokenFile>(k->config.token_file);
  }
  kube::SecretClientOptions copts;
  copts.api_url = k->config.api_url;
  copts.request_timeout = c.request_timeout;
  k->client = kube::NewHttpSecretClient(k->transport.get(), k->token.get(), m, copts);
  k->store = std::make_unique<KubeSecretStore>(*k->client);
  log.Info("connection Secrets on: each spec's Secret is written in its namespace",
           {{"kube_api_url", k->config.api_url},
            {"in_cluster", k->config.in_cluster},
            {"token_file", k->config.token_file},
            {"ca_file", k->config.ca_file}});
  return k;
}

reconcile::ConnectionSecretOptions ConnectionSecretOptionsFrom(const Config& c) {
  const reconcile::ControllerOptions o = ControllerOptionsFrom(c);
  reconcile::ConnectionSecretOptions so;
  so.retry_base = o.failure_base;
  so.retry_max = o.failure_max;
  so.verify_interval = 10 * o.resync;
  return so;
}

void EnableConnectionSecrets(const Config& c, KubeSecrets* kube,
                             store::CredentialStore& credentials,
                             reconcile::Controller& controller) {
  if (kube == nullptr) return;
  controller.EnableConnectionSecrets(*kube->store, credentials, ConnectionSecretOptionsFrom(c));
}

}  // namespace aura::cmd
