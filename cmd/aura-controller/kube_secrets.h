// The Kubernetes side of --connection-secrets: the configuration resolved (in-cluster, or the
// --kube-* flags), a transport of its own (the CA file replaces the system CAs), the token file,
// the Secrets client (pkg/kube), and its adapter to reconcile::SecretStore. Real
// implementations are constructed here (see common.h).
//
// Thread-safety: the adapter is safe for concurrent use; Build/Enable from main's thread.
#pragma once

#include <memory>

#include "cmd/aura-controller/config.h"
#include "pkg/base/log.h"
#include "pkg/http/transport.h"
#include "pkg/kube/config.h"
#include "pkg/kube/secret_client.h"
#include "pkg/kube/token_file.h"
#include "pkg/metrics/metrics.h"
#include "pkg/reconcile/controller.h"
#include "pkg/reconcile/secret_store.h"
#include "pkg/store/journal.h"

namespace aura::cmd {

struct KubeSecrets {
  kube::Config config;
  std::unique_ptr<http::Transport> transport;
  std::unique_ptr<kube::TokenFile> token;  // null: no token (an explicit URL without one)
  std::unique_ptr<kube::SecretClient> client;
  std::unique_ptr<reconcile::SecretStore> store;
};

// Null (and OK) when --connection-secrets is off. Errors name the flag to fix.
base::StatusOr<std::unique_ptr<KubeSecrets>> BuildKubeSecrets(const Config& c, metrics::Metrics* m,
                                                              const base::Logger& log);

// Timing of the Secret sync, from the reconcile flags: failures back off like the controller's
// (1 s doubling to 5 x --resync), a Secret in sync is read back every 10 x --resync.
reconcile::ConnectionSecretOptions ConnectionSecretOptionsFrom(const Config& c);

// Turns the sync on in `controller` when `kube` is set (a no-op for null).
void EnableConnectionSecrets(const Config& c, KubeSecrets* kube,
                             store::CredentialStore& credentials,
                             reconcile::Controller& controller);

}  // namespace aura::cmd
