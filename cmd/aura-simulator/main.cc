// aura-simulator: a local Neo4j Aura API v1 with fault injection (docs/SIMULATOR.md).
// Flag parsing and wiring only; the behaviour lives in pkg/simulator.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "cmd/aura-simulator/front_door.h"
#include "cmd/aura-simulator/http_server.h"
#include "pkg/base/log.h"
#include "pkg/simulator/engine.h"
#include "pkg/simulator/flags.h"
#include "pkg/simulator/reply_scheduler.h"

namespace {

using aura::base::Logger;

int Run(int argc, char** argv) {
  // SIGTERM and SIGINT are taken with sigwait() below: block them before any thread starts so
  // that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto flags = aura::simulator::ParseFlags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.ok()) {
    std::cerr << "aura-simulator: " << flags.status().message() << "\n";
    return 2;
  }
  if (flags->help) {
    std::cout << aura::simulator::Usage();
    return 0;
  }
  if (flags->version) {
    std::cout << "aura-simulator " << AURA_VERSION << "\n";
    return 0;
  }
  const aura::simulator::SimulatorOptions& options = flags->options;
  auto level = aura::base::ParseLogLevel(options.log_level);
  if (!level.ok()) {
    std::cerr << "aura-simulator: " << level.status().message() << "\n";
    return 2;
  }
  aura::base::SetDefaultLogger(Logger(
      *level,
      options.log_format == "human" ? aura::base::LogFormat::kHuman : aura::base::LogFormat::kJson,
      [](std::string_view line) { std::cerr << line << "\n"; }));
  const Logger log = aura::base::DefaultLogger().With({{"component", "aura-simulator"}});
  for (const auto& c : options.clients) aura::base::RegisterSecret(c.secret);

  const std::string& listen = options.listen;
  const std::string host = listen.substr(0, listen.rfind(':'));
  const int port = std::stoi(listen.substr(listen.rfind(':') + 1));

  auto engine = aura::simulator::Engine::Create(options, &aura::base::RealClock());
  if (!engine.ok()) {
    log.Error("cannot start", aura::base::StatusFields(engine.status()));
    return 1;
  }
  aura::simulator::ReplyScheduler scheduler(&aura::base::RealClock());
  auto server = aura::simulator::StartHttpServer(engine->get(), &scheduler, log);
  if (!server.ok()) {
    log.Error("cannot start", aura::base::StatusFields(server.status()));
    return 1;
  }
  auto door = aura::simulator::FrontDoor::Start(host, port, (*server)->port(), log);
  if (!door.ok()) {
    log.Error("cannot start", aura::base::StatusFields(door.status()));
    (*server)->Stop();
    return 1;
  }
  // The first stdout line is a contract with scripts and the test harness.
  std::printf("listening on http://%s:%d\n", host.c_str(), (*door)->port());
  std::fflush(stdout);
  log.Info("serving", {{"url", "http://" + host + ":" + std::to_string((*door)->port())},
                       {"profile", aura::simulator::ProfileName(options.profile)},
                       {"tenants", options.tenants.size()},
                       {"clients", options.clients.size()},
                       {"rate_limit", options.rate_limit},
                       {"rate_window_seconds", aura::base::ToSeconds(options.rate_window)},
                       {"token_limit", options.token_limit},
                       {"state", options.state_file}});

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log.Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // A shutdown that hangs is a bug; do not let it keep a test or a pod waiting forever.
  std::thread([log] {
    std::this_thread::sleep_for(std::chrono::seconds(10));
    log.Error("shutdown took more than 10 s; exiting anyway");
    _exit(3);
  }).detach();

  // Stop taking connections, answer what is pending (delayed responses now), let the answers
  // reach their clients, then close everything.
  (*door)->StopAccepting();
  (*engine)->BeginShutdown();  // before waiting: a request arriving later commits nothing
  scheduler.Shutdown();
  if (!(*server)->AwaitReplies(std::chrono::seconds(2))) {
    log.Warn("some responses were not written before shutdown");
  }
  if (auto s = (*engine)->SaveState(); !s.ok()) {
    log.Error("saving state", aura::base::StatusFields(s));
  }
  (*server)->Stop();
  (*door)->Stop(std::chrono::seconds(2));
  log.Info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
