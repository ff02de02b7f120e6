// Wiring shared by aura-controller's commands (main.cc) and its high-availability mode (ha.cc):
// the logger, the Aura API stack, controller options, signals. Real implementations are
// constructed here, in main.cc and in ha.cc, nowhere else.
//
// Thread-safety: as each type says; the functions are called from main's thread.
#pragma once

#include <signal.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "cmd/aura-controller/config.h"
#include "pkg/aura/client.h"
#include "pkg/aura/token_source.h"
#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/http/transport.h"
#include "pkg/metrics/metrics.h"
#include "pkg/ratelimit/limiter.h"
#include "pkg/reconcile/controller.h"
#include "pkg/store/journal.h"

namespace aura::cmd {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitChanges = 2;

// The smallest rate limit Aura gives an account (Free and unbilled trials, per minute).
inline constexpr int kLowestTierLimit = 25;

// Prints the error (secrets redacted) and returns kExitError.
int Fail(const base::Status& s);
// aura-controller import (import.cc).
int Import(const Config& c);

base::Logger MakeLogger(const Config& c);

struct KubeSecrets;  // kube_secrets.h

// Everything that talks to Aura, built from the configuration.
struct ApiStack {
  std::unique_ptr<http::Transport> transport;
  std::unique_ptr<ratelimit::Limiter> limiter;
  std::unique_ptr<api::TokenCache> token_cache;  // declared before tokens: outlives them
  std::unique_ptr<api::TokenSource> tokens;
  std::unique_ptr<api::Client> client;  // null when built with with_client = false
  std::function<void()> on_exit;        // keeps the recent requests for the next process
  // --connection-secrets: the Kubernetes Secrets client (kube_secrets.h), null when off. Kept
  // here so that every command and each high-availability term reaches it.
  std::shared_ptr<KubeSecrets> kube;
  ~ApiStack() {
    if (on_exit) on_exit();
  }
  void Stop() {
    if (client) client->Stop();
    if (limiter) limiter->Stop();
  }
};

// Logs a warning naming each plain-http endpoint in use (Aura API, token, etcd), once per
// command start.
void WarnPlainHttpEndpoints(const Config& c, const base::Logger& log);

// Checks the credentials and URLs and builds the stack (warning about plain-http endpoints);
// `with_client` false leaves the client to NewClient (HA mode builds one per leadership term).
base::StatusOr<std::unique_ptr<ApiStack>> BuildApi(const Config& c, base::Clock* clock,
                                                   metrics::Metrics* m, const base::Logger& log,
                                                   bool with_client = true);
// A client over `stack`'s transport, limiter and tokens; `write_guard` as in ClientOptions.
std::unique_ptr<api::Client> NewClient(const Config& c, ApiStack& stack, base::Clock* clock,
                                       metrics::Metrics* m, const base::Logger& log,
                                       std::function<base::Status()> write_guard = {});

// `stack` (may be null) gives the rate limit in force, which the limiter may learn.
// Refuses a journal made for another account (API URL, client id) unless --rebind-state; binds
// an unbound one when `writable`.
base::Status CheckStateBinding(const Config& c, store::Journal& journal, bool writable,
                               const base::Logger& log);

reconcile::ControllerOptions ControllerOptionsFrom(const Config& c,
                                                   const ApiStack* stack = nullptr);

// SIGINT/SIGTERM are blocked in every thread and taken by one waiter thread.
class SignalWaiter {
 public:
  SignalWaiter();
  // Calls `on_signal` on the first signal; a second one exits at once.
  void Start(std::function<void(int)> on_signal);
  // Stops taking signals: waits for a call of `on_signal` in progress to return (at most
  // 200 ms more for the waiter to notice). Call it before anything `on_signal` uses goes away
  // (StopSignalsOnExit does). Idempotent.
  void Stop();

 private:
  sigset_t set_;
  std::jthread thread_;
};

// Calls SignalWaiter::Stop() when it goes out of scope: declare it right after Start(), after
// everything the callback uses, so that a signal handled while the command returns never
// touches what the return destroys (TSan caught `run` deleting the API client's stop state
// while the signal thread was still inside its request_stop()).
class StopSignalsOnExit {
 public:
  explicit StopSignalsOnExit(SignalWaiter& w) : w_(w) {}
  StopSignalsOnExit(const StopSignalsOnExit&) = delete;
  StopSignalsOnExit& operator=(const StopSignalsOnExit&) = delete;
  ~StopSignalsOnExit() { w_.Stop(); }

 private:
  SignalWaiter& w_;
};

// A credential store for read-only commands: refuses every save.
class NoCredentials final : public store::CredentialStore {
 public:
  base::Status Save(const std::string&, const store::Credentials&) override {
    return base::FailedPreconditionError("read-only command");
  }
  base::StatusOr<store::Credentials> Load(const std::string& key) const override {
    return base::NotFoundError("not loaded: " + key);
  }
  base::StatusOr<store::Credentials> LoadInstance(const std::string& id) const override {
    return base::NotFoundError("not loaded: " + id);
  }
  base::StatusOr<std::vector<store::Credentials>> History(const std::string& key) const override {
    return base::NotFoundError("not loaded: " + key);
  }
  base::Status Link(const std::string&, const std::string&) override {
    return base::FailedPreconditionError("read-only command");
  }
};

}  // namespace aura::cmd
