// aura-controller: flag parsing and wiring only (DESIGN.md "The binary"). Every real
// implementation is constructed here and nowhere else.
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "cmd/aura-controller/common.h"
#include "cmd/aura-controller/config.h"
#include "cmd/aura-controller/ha.h"
#include "cmd/aura-controller/kube_secrets.h"
#include "cmd/aura-controller/snapshots.h"
#include "cmd/aura-controller/state_migrate.h"
#include "cmd/aura-controller/tenants.h"
#include "pkg/aura/client.h"
#include "pkg/aura/token_source.h"
#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/http/server.h"
#include "pkg/http/transport.h"
#include "pkg/metrics/metrics.h"
#include "pkg/ratelimit/limiter.h"
#include "pkg/reconcile/controller.h"
#include "pkg/reconcile/report.h"
#include "pkg/reconcile/spec_source.h"
#include "pkg/spec/spec.h"
#include "pkg/store/codec.h"
#include "pkg/store/file_credential_store.h"
#include "pkg/store/file_journal.h"
#include "pkg/store/instance_journal.h"
#include "pkg/store/operations.h"

namespace aura::cmd {
namespace {

using base::Status;

struct Stores {
  std::unique_ptr<store::FileJournal> journal;
  std::unique_ptr<store::FileCredentialStore> credentials;
  // What operator commands beside the controller record (restore, overwrite).
  std::unique_ptr<store::FileOperationLog> operations;
};

base::StatusOr<Stores> OpenStores(const Config& c, base::Clock* clock, bool read_only) {
  Stores s;
  store::FileJournalOptions jo;
  jo.read_only = read_only;
  auto j = store::FileJournal::Open(c.state, clock, jo);
  if (!j.ok()) return j.status();
  s.journal = std::move(*j);
  s.operations = std::make_unique<store::FileOperationLog>(store::OperationsDirOf(c.state));
  if (!read_only) {
    auto cr = store::FileCredentialStore::Open(c.credentials_dir);
    if (!cr.ok()) return cr.status().WithContext("--credentials-dir");
    s.credentials = std::move(*cr);
  }
  return s;
}

int Validate(const Config& c) {
  if (c.specs.empty()) return Fail(base::InvalidArgumentError("validate: no spec paths given"));
  spec::LoadResult r = spec::Load(c.specs);
  for (const auto& d : r.errors) std::cout << d.Format() << "\n";
  // Sizes are offered per tenant: validate (offline) can only say who checks them.
  int notes = 0;
  for (const auto& s : r.specs) {
    auto at = s.field_locations.find("spec.storage");
    if (at == s.field_locations.end()) continue;
    if (notes++ == 0 && !r.errors.empty()) std::cout << "\n";
    std::cout << s.location.file << ":" << at->second.line << ":" << at->second.column
              << ": spec.storage: note: " << s.storage << " is checked against the sizes tenant "
              << s.tenant_id << " offers for " << s.type << " " << s.memory
              << " by `plan` (online); validate works offline\n";
  }
  std::cout << (r.errors.empty() && notes == 0 ? "" : "\n") << "files " << r.files << ", documents "
            << r.documents << ", valid " << r.specs.size() + r.keys.size() << ", invalid "
            << r.invalid() << ", skipped " << r.skipped + r.empty << "\n";
  return r.ok() ? kExitOk : kExitError;
}

// The journal a read-only command (status, plan) sees: the file, or etcd without campaigning.
struct ReadOnlyState {
  std::optional<EtcdConnection> etcd;  // when --state is etcd
  std::unique_ptr<store::Journal> journal;
  // The last status snapshot a running controller wrote (next to the file, or in etcd).
  base::StatusOr<reconcile::StatusFile> Snapshot(const Config& c) {
    if (etcd) return LoadEtcdStatus(*etcd);
    return reconcile::LoadStatusFile(StatusFilePath(c.state));
  }
};

base::StatusOr<ReadOnlyState> OpenReadOnly(const Config& c) {
  ReadOnlyState r;
  if (IsEtcdState(c)) {
    AURA_ASSIGN_OR_RETURN(EtcdConnection conn, ConnectEtcd(c));
    r.etcd = std::move(conn);
    AURA_ASSIGN_OR_RETURN(r.journal, OpenEtcdJournalReadOnly(*r.etcd, &base::RealClock()));
    return r;
  }
  AURA_ASSIGN_OR_RETURN(Stores stores, OpenStores(c, &base::RealClock(), /*read_only=*/true));
  r.journal = std::move(stores.journal);
  return r;
}

int ShowStatus(const Config& c) {
  if (!IsEtcdState(c) && !std::filesystem::exists(c.state)) {
    return Fail(base::NotFoundError("no journal at " + c.state +
                                    ": no controller has run with this --state (or it points "
                                    "elsewhere; env AURA_STATE)"));
  }
  auto state = OpenReadOnly(c);
  if (!state.ok()) return Fail(state.status());
  auto journal = state->journal->List();
  if (!journal.ok()) return Fail(journal.status());
  std::map<std::string, reconcile::SpecStatus> by_key;
  std::string written_at;
  if (auto snap = state->Snapshot(c); snap.ok()) {
    written_at = snap->written_at;
    for (auto& s : snap->statuses) by_key[s.key] = s;
  }
  for (const auto& [k, e] : *journal) {
    if (store::IsKeyEntry(k)) continue;  // a customer-managed key's entry, not an instance
    reconcile::SpecStatus& s = by_key[k];
    s.key = k;
    s.aura_id = e.instance_id;
    if (s.aura_name.empty()) s.aura_name = e.aura_name;
    s.pending_create = e.intent.has_value();
    s.credentials_known = e.credentials_saved;
    s.duplicate_ids = e.duplicate_ids;
    if (s.phase.empty()) s.phase = e.intent ? "Creating" : "Unknown";
    if (s.message.empty() && e.intent) s.message = "create pending in the journal";
  }
  std::vector<reconcile::SpecStatus> list;
  for (auto& [_, s] : by_key) list.push_back(s);
  if (c.output == "json") {
    nlohmann::json j = {{"observed_at", written_at}, {"specs", nlohmann::json::array()}};
    for (const auto& s : list) j["specs"].push_back(reconcile::ToJson(s));
    std::cout << base::Redact(j.dump(2)) << "\n";
  } else {
    std::cout << base::Redact(reconcile::StatusTable(list));
    std::cout << "\n"
              << list.size() << " specs; last observed "
              << (written_at.empty() ? "never (no controller has run)" : written_at) << "\n";
  }
  return kExitOk;
}

int Plan(const Config& c) {
  base::Logger log = MakeLogger(c);
  base::SetDefaultLogger(log);
  metrics::Metrics m;
  auto state = OpenReadOnly(c);
  if (!state.ok()) return Fail(state.status());
  auto stack = BuildApi(c, &base::RealClock(), &m, log);
  if (!stack.ok()) return Fail(stack.status());
  if (Status b = CheckStateBinding(c, *state->journal, /*writable=*/false, log); !b.ok()) {
    return Fail(b);
  }
  auto kube = BuildKubeSecrets(c, &m, log);
  if (!kube.ok()) return Fail(kube.status());
  NoCredentials creds;
  reconcile::FileSpecSource specs(c.specs);
  reconcile::Controller controller(ControllerOptionsFrom(c, stack->get()), *(*stack)->client,
                                   *state->journal, creds, specs, base::RealClock(), m, log);
  EnableConnectionSecrets(c, kube->get(), creds, controller);
  auto plan = controller.PlanOnly();
  if (!plan.ok()) return Fail(plan.status());
  bool spec_errors = false;
  for (const auto& k : plan->keys) spec_errors |= k.status.phase == reconcile::kPhaseError;
  if (c.output == "json") {
    nlohmann::json j = reconcile::PlanToJson(*plan);
    j["api_url"] = c.api_url;
    std::cout << j.dump(2) << "\n";
  } else {
    // Which account: a simulator on localhost is never mistaken for production.
    std::cout << "Aura API: " << c.api_url << "\n\n" << reconcile::PlanTable(*plan);
  }
  if (spec_errors) return kExitError;
  return plan->HasChanges() ? kExitChanges : kExitOk;
}

// Live progress: redraws one line per spec on a terminal, prints changes otherwise.
class Progress {
 public:
  explicit Progress(base::Clock& clock) : clock_(clock), start_(clock.Now()), tty_(::isatty(1)) {}
  void Show(const std::vector<reconcile::SpecStatus>& statuses,
            const std::optional<reconcile::Controller::ApiOutage>& outage) {
    const long elapsed =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.Now() - start_).count();
    std::string down;
    if (outage) {
      down = "API unreachable for " +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::seconds>(outage->duration).count()) +
             " s: " + base::Redact(outage->last_error);
    }
    if (tty_) {
      if (lines_ > 0) std::cout << "\033[" << lines_ << "A";
      lines_ = 0;
      for (const auto& s : statuses) {
        std::cout << "\033[2K" << (s.ready ? "\033[32m✔\033[0m " : "  ") << s.key << "  "
                  << (s.aura_id.empty() ? "-" : s.aura_id) << "  " << s.phase << "  " << s.message
                  << "\n";
        ++lines_;
      }
      std::cout << "\033[2K" << elapsed << "s elapsed" << (down.empty() ? "" : "; " + down) << "\n"
                << std::flush;
      ++lines_;
      return;
    }
    // Outside a terminal: when the outage starts, then every 30 s while it lasts.
    if (!down.empty() && (!outage_printed_ || clock_.Now() - *outage_printed_ >= kOutageEvery)) {
      std::cout << "[" << elapsed << "s] " << down << "\n" << std::flush;
      outage_printed_ = clock_.Now();
    }
    if (down.empty()) outage_printed_.reset();
    for (const auto& s : statuses) {
      const std::string line = s.phase + " " + s.aura_id + " " + s.message;
      if (last_[s.key] == line) continue;
      last_[s.key] = line;
      std::cout << "[" << elapsed << "s] " << s.key << " " << s.phase
                << (s.aura_id.empty() ? "" : " " + s.aura_id)
                << (s.message.empty() ? "" : ": " + s.message) << "\n"
                << std::flush;
    }
  }

 private:
  base::Clock& clock_;
  base::TimePoint start_;
  bool tty_;
  int lines_ = 0;
  static constexpr std::chrono::seconds kOutageEvery{30};
  std::optional<base::TimePoint> outage_printed_;
  std::map<std::string, std::string> last_;
};

// What a person must know after an apply: specs whose password is unknown, and why.
void PrintApplySummary(const std::vector<reconcile::SpecStatus>& statuses) {
  std::vector<const reconcile::SpecStatus*> unknown;
  for (const auto& s : statuses) {
    if (!s.credentials_known && !s.credentials_note.empty()) unknown.push_back(&s);
  }
  if (unknown.empty()) return;
  std::cout << "password unknown for " << unknown.size() << " spec(s):\n";
  for (const auto* s : unknown) std::cout << "  " << s->key << ": " << s->credentials_note << "\n";
}

int Apply(const Config& c, SignalWaiter& signals) {
  if (IsEtcdState(c)) {
    return Fail(base::InvalidArgumentError(
        "apply with an etcd --state is not supported: in high availability the elected `run` "
        "leader applies (it holds the journal's fence); use plan to preview, status to follow"));
  }
  base::Logger log = MakeLogger(c);
  base::SetDefaultLogger(log);
  metrics::Metrics m;
  base::Clock& clock = base::RealClock();
  auto stores = OpenStores(c, &clock, /*read_only=*/false);
  if (!stores.ok()) return Fail(stores.status());
  auto stack = BuildApi(c, &clock, &m, log);
  if (!stack.ok()) return Fail(stack.status());
  if (Status b = CheckStateBinding(c, *stores->journal, /*writable=*/true, log); !b.ok()) {
    return Fail(b);
  }
  auto kube = BuildKubeSecrets(c, &m, log);
  if (!kube.ok()) return Fail(kube.status());
  reconcile::FileSpecSource specs(c.specs);
  reconcile::ControllerOptions opts = ControllerOptionsFrom(c, stack->get());
  opts.operations = stores->operations.get();
  reconcile::Controller controller(opts, *(*stack)->client, *stores->journal, *stores->credentials,
                                   specs, clock, m, log);
  EnableConnectionSecrets(c, kube->get(), *stores->credentials, controller);
  std::stop_source stop;
  signals.Start([&](int) {
    stop.request_stop();
    (*stack)->Stop();
  });
  StopSignalsOnExit stop_signals(signals);
  std::cout << "Applying to the Aura API at " << c.api_url << "\n" << std::flush;
  Progress progress(clock);
  const base::TimePoint started = clock.Now();
  Status s = controller.Apply(
      c.wait, clock.Now() + c.timeout,
      [&](const auto& st) { progress.Show(st, controller.Outage(c.unreachable_after, started)); },
      stop.get_token());
  // One last chance for passwords whose save failed before the process ends.
  (void)controller.FlushUnsavedCredentials();
  const auto statuses = controller.Statuses();
  (void)reconcile::SaveStatusFile(StatusFilePath(c.state), statuses, clock.SystemNow());
  PrintApplySummary(statuses);
  if (const auto unsaved = controller.UnsavedCredentialKeys(); !unsaved.empty()) {
    std::string keys;
    for (const auto& k : unsaved) keys += (keys.empty() ? "" : ", ") + k;
    return Fail(base::UnavailableError(
        "one-time passwords received but NOT saved (the credentials store failed): " + keys +
        "; they are lost when this process ends: fix --credentials-dir and run again, or reset "
        "them in the Aura console"));
  }
  // A failing tenant held up only its own specs; say which, and end with exit 1.
  const auto tenant_errors = controller.GetHealth().tenant_errors;
  for (const auto& [tenant, error] : tenant_errors) {
    std::string held;
    for (const auto& k : controller.SpecsOfTenant(tenant)) held += (held.empty() ? "" : ", ") + k;
    std::cerr << "aura-controller: tenant " << tenant << " fails: " << base::Redact(error)
              << "; its specs were not applied: " << (held.empty() ? "-" : held) << "\n";
  }
  if (!s.ok()) return Fail(s);
  if (!tenant_errors.empty()) return kExitError;
  if (c.wait) std::cout << "converged: " << statuses.size() << " specs\n";
  return kExitOk;
}

int Run(const Config& c, SignalWaiter& signals) {
  if (IsEtcdState(c)) return RunHa(c, signals);
  base::Logger log = MakeLogger(c);
  base::SetDefaultLogger(log);
  metrics::Metrics m;
  base::Clock& clock = base::RealClock();
  if (c.specs.empty()) return Fail(base::InvalidArgumentError("run: no --specs given"));
  auto stores = OpenStores(c, &clock, /*read_only=*/false);
  if (!stores.ok()) return Fail(stores.status());
  auto stack = BuildApi(c, &clock, &m, log);
  if (!stack.ok()) return Fail(stack.status());
  if (Status b = CheckStateBinding(c, *stores->journal, /*writable=*/true, log); !b.ok()) {
    return Fail(b);
  }
  auto kube = BuildKubeSecrets(c, &m, log);
  if (!kube.ok()) return Fail(kube.status());
  reconcile::FileSpecSource specs(c.specs);
  reconcile::ControllerOptions opts = ControllerOptionsFrom(c, stack->get());
  opts.operations = stores->operations.get();
  reconcile::Controller controller(opts, *(*stack)->client, *stores->journal, *stores->credentials,
                                   specs, clock, m, log);
  EnableConnectionSecrets(c, kube->get(), *stores->credentials, controller);

  // Ready while a LIST succeeded within three passes: a real outage, not one failed request.
  const base::Duration ready_window =
      std::max<base::Duration>(3 * opts.resync, std::chrono::seconds(3));
  const base::Duration alive_window =
      std::max<base::Duration>(3 * opts.resync + std::chrono::minutes(2), 5 * opts.spec_poll);
  auto server = http::StartServer(
      c.metrics_addr,
      {{"/metrics",
        [&] {
          return http::Reply{200, "text/plain; version=0.0.4; charset=utf-8", m.Serialize(), {}};
        }},
       {"/healthz",
        [&] {
          const reconcile::Health h = controller.GetHealth();
          const auto age = clock.Now() - h.heartbeat;
          if (h.heartbeat != base::TimePoint{} && age > alive_window) {
            return http::Reply{
                503,
                "text/plain",
                "loop stuck: no heartbeat for " + std::to_string(base::ToSeconds(age)) + "s\n",
                {}};
          }
          return http::Reply{200, "text/plain", "ok\n", {}};
        }},
       {"/readyz", [&] {
          const reconcile::Health h = controller.GetHealth();
          std::string body = std::string("specs loaded: ") + (h.specs_loaded ? "yes" : "no") +
                             "\njournal locked: yes (" + c.state + ")\n";
          const bool list_ok = h.last_list_ok && clock.Now() - *h.last_list_ok <= ready_window;
          body += std::string("recent successful LIST: ") + (list_ok ? "yes" : "no") + "\n";
          if (!h.last_error.empty()) body += "last error: " + h.last_error + "\n";
          // Ready while any tenant works; the failing ones are named.
          for (const auto& [tenant, error] : h.tenant_errors) {
            body += "tenant " + tenant + " failing (its specs wait): " + error + "\n";
          }
          // A password only in memory is lost if this process ends: not ready, and say whose.
          const std::vector<std::string> unsaved = controller.UnsavedCredentialKeys();
          if (!unsaved.empty()) {
            body += "credentials NOT saved (the credentials store fails): ";
            for (size_t i = 0; i < unsaved.size(); ++i) body += (i ? ", " : "") + unsaved[i];
            body += "\n";
          }
          if (!h.journal_error.empty()) {
            body += "journal cannot be written (no create is sent): " + h.journal_error + "\n";
          }
          const bool ready =
              h.specs_loaded && list_ok && unsaved.empty() && h.journal_error.empty();
          return http::Reply{ready ? 200 : 503, "text/plain", base::Redact(body), {}};
        }}});
  if (!server.ok()) return Fail(server.status().WithContext("--metrics-addr"));
  log.Info("aura-controller running", {{"version", AURA_VERSION},
                                       {"metrics_addr", c.metrics_addr},
                                       {"metrics_port", (*server)->port()},
                                       {"api_url", c.api_url},
                                       {"state", c.state},
                                       {"rate_limit", c.rate_limit},
                                       {"rate_window_s", base::ToSeconds(c.rate_window)}});

  std::stop_source stop;
  signals.Start([&](int sig) {
    log.Info("signal received: finishing the request in flight, then exiting",
             {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    stop.request_stop();
    (*stack)->Stop();
  });
  StopSignalsOnExit stop_signals(signals);
  // The status snapshot `aura-controller status` reads.
  std::jthread snapshots([&](std::stop_token st) {
    while (clock.SleepFor(std::min<base::Duration>(opts.spec_poll, std::chrono::seconds(5)), st)) {
      (void)reconcile::SaveStatusFile(StatusFilePath(c.state), controller.Statuses(),
                                      clock.SystemNow());
    }
  });
  controller.Run(stop.get_token());
  snapshots.request_stop();
  snapshots.join();
  // One last attempt for passwords whose save failed: they are lost when this process ends.
  const Status flushed = controller.FlushUnsavedCredentials();
  (void)reconcile::SaveStatusFile(StatusFilePath(c.state), controller.Statuses(),
                                  clock.SystemNow());
  (*server)->Stop();
  if (const auto unsaved = controller.UnsavedCredentialKeys(); !unsaved.empty()) {
    std::string keys;
    for (const auto& k : unsaved) keys += (keys.empty() ? "" : ", ") + k;
    log.Error("stopping with one-time passwords NOT saved: they are lost",
              {{"keys", keys}, {"error", flushed.ToString()}});
    return Fail(base::UnavailableError("one-time passwords not saved at shutdown: " + keys));
  }
  log.Info("aura-controller stopped");
  return kExitOk;
}

int Credentials(const Config& c) {
  if (c.args.size() != 2 || c.args[0] != "get") {
    return Fail(base::InvalidArgumentError(
        "usage: aura-controller credentials get [NAMESPACE/]NAME [--all] [--credentials-dir DIR "
        "| --state etcd://... --credentials-key-file FILE]"));
  }
  // A name alone is in namespace "default", as in specs.
  const std::string key =
      c.args[1].find('/') == std::string::npos ? "default/" + c.args[1] : c.args[1];
  std::optional<EtcdConnection> etcd;
  std::unique_ptr<store::CredentialStore> store;
  if (IsEtcdState(c)) {
    auto conn = ConnectEtcd(c);
    if (!conn.ok()) return Fail(conn.status());
    etcd = std::move(conn).value();
    auto s = OpenEtcdCredentialsReadOnly(c, *etcd, &base::RealClock());
    if (!s.ok()) return Fail(s.status());
    store = std::move(s).value();
  } else {
    auto s = store::FileCredentialStore::Open(c.credentials_dir);
    if (!s.ok()) return Fail(s.status());
    store = std::move(s).value();
  }
  auto record = [](const store::Credentials& cr) {
    return nlohmann::json{
        {"instance_id", cr.instance_id}, {"connection_url", cr.connection_url},
        {"username", cr.username},       {"password", cr.password},
        {"saved_for", cr.key},           {"saved_at", store::detail::FormatTime(cr.saved_at)}};
  };
  // Printed on request to stdout only: never logged.
  if (c.all) {
    auto history = store->History(key);
    if (!history.ok()) return Fail(history.status());
    if (history->empty()) return Fail(base::NotFoundError("no credentials saved for " + key));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& cr : *history) out.push_back(record(cr));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  auto cr = store->Load(key);
  if (!cr.ok()) return Fail(cr.status());
  std::cout << record(*cr).dump(2) << "\n";
  return kExitOk;
}

}  // namespace
}  // namespace aura::cmd

int main(int argc, char** argv) {
  using namespace aura::cmd;
  // One malloc arena unless the user chooses (MALLOC_ARENA_MAX). glibc gives each of the ~48
  // threads (cpprestsdk's pool, workers) an arena of its own, up to 8 per core, and memory
  // freed in one is not reused by another: at 10,000 specs the peak RSS was 101 MiB with the
  // default and 68 MiB with one arena, for no measurable CPU cost (the controller waits on the
  // rate limit, not on malloc). docs/BENCHMARKS.md.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) ::mallopt(M_ARENA_MAX, 1);
  SignalWaiter signals;  // before any thread starts, so every thread inherits the mask
  std::vector<std::string> args(argv + 1, argv + argc);
  auto config = ParseConfig(args);
  if (!config.ok()) {
    std::cerr << "aura-controller: " << config.status().message() << "\n";
    return 1;
  }
  if (config->help || config->command == Command::kHelp) {
    std::cout << (config->command == Command::kHelp ? Usage() : CommandHelp(config->command));
    return 0;
  }
  if (!config->allow_core_dumps) {
    // A core dump holds every password and token this process has seen: none is written, and
    // no other process of this user may attach to or read this one's memory.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    const rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
  }
  switch (config->command) {
    case Command::kVersion:
      std::cout << "aura-controller " << AURA_VERSION << "\n";
      return 0;
    case Command::kValidate:
      return Validate(*config);
    case Command::kStatus:
      return ShowStatus(*config);
    case Command::kPlan:
      return Plan(*config);
    case Command::kApply:
      return Apply(*config, signals);
    case Command::kRun:
      return Run(*config, signals);
    case Command::kCredentials:
      return Credentials(*config);
    case Command::kImport:
      return Import(*config);
    case Command::kState:
      return StateCommand(*config);
    case Command::kTenants:
      return Tenants(*config);
    case Command::kSnapshot:
      return Snapshot(*config, signals);
    case Command::kRestore:
      return Restore(*config, signals);
    case Command::kOverwrite:
      return Overwrite(*config, signals);
    default:
      std::cout << Usage();
      return 0;
  }
}
