#include "cmd/aura-controller/ha.h"

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "cmd/aura-controller/kube_secrets.h"
#include "pkg/etcd/etcd_operations.h"
#include "pkg/etcd/leader_election.h"
#include "pkg/http/server.h"
#include "pkg/http/url.h"
#include "pkg/reconcile/spec_source.h"

namespace aura::cmd {
namespace {

using base::Status;
using base::StatusOr;
using nlohmann::json;

std::string StatusKey(const std::string& prefix) { return prefix + "/status"; }

bool Readable(const std::string& path) { return std::ifstream(path).good(); }

// The snapshot `status` reads, with request ids left out of the change detection (they move
// with every poll).
std::string SnapshotFingerprint(const std::vector<reconcile::SpecStatus>& statuses) {
  json j = json::array();
  for (auto s : statuses) {
    s.last_request_id.clear();
    j.push_back(reconcile::ToJson(s));
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Keeps `<prefix>/status` current for `aura-controller status`: written (fenced) when the
// statuses changed, at most every `min_interval`, and at least every `max_interval`. etcd keeps
// every revision until it is compacted, so it is not rewritten when nothing changed.
class EtcdStatusWriter {
 public:
  EtcdStatusWriter(etcd::EtcdClient& etcd, etcd::LeaderFence fence, std::string key,
                   std::string writer, base::Clock& clock, base::Logger log)
      : etcd_(etcd),
        fence_(std::move(fence)),
        key_(std::move(key)),
        writer_(std::move(writer)),
        clock_(clock),
        log_(std::move(log)) {}

  void MaybeWrite(const std::vector<reconcile::SpecStatus>& statuses, bool force = false) {
    const base::TimePoint now = clock_.Now();
    const std::string fp = SnapshotFingerprint(statuses);
    if (!force && last_write_ && now - *last_write_ < kMinInterval) return;
    if (!force && fp == last_fingerprint_ && last_write_ && now - *last_write_ < kMaxInterval) {
      return;
    }
    json j = {{"written_at", reconcile::FormatRfc3339(clock_.SystemNow())},
              {"writer", writer_},
              {"specs", json::array()}};
    for (const auto& s : statuses) j["specs"].push_back(reconcile::ToJson(s));
    const std::string value = j.dump(-1, ' ', false, json::error_handler_t::replace);
    if (value.size() > kMaxBytes) {
      if (!warned_size_) {
        log_.Warn("status snapshot too large for etcd; `status` shows the journal only",
                  {{"bytes", value.size()}});
        warned_size_ = true;
      }
      return;
    }
    Status s = etcd::FencedWrite(etcd_, fence_, {etcd::EtcdOp::Put(key_, value)},
                                 "writing the status snapshot");
    last_write_ = now;
    if (s.ok()) {
      last_fingerprint_ = fp;
    } else {
      log_.Debug("status snapshot not written", base::StatusFields(s));
    }
  }

 private:
  static constexpr base::Duration kMinInterval = std::chrono::seconds(5);
  static constexpr base::Duration kMaxInterval = std::chrono::minutes(10);
  static constexpr size_t kMaxBytes = 1024 * 1024;  // etcd's default request limit is 1.5 MiB

  etcd::EtcdClient& etcd_;
  const etcd::LeaderFence fence_;
  const std::string key_;
  const std::string writer_;
  base::Clock& clock_;
  base::Logger log_;
  std::optional<base::TimePoint> last_write_;
  std::string last_fingerprint_;
  bool warned_size_ = false;
};

// Runs one Controller per leadership term, on the calling thread (see ha.h).
class TermRunner {
 public:
  TermRunner(const Config& c, base::Clock& clock, metrics::Metrics& m, base::Logger log,
             EtcdConnection& conn, std::vector<store::SealingKey> keys, ApiStack& api,
             etcd::LeaderElection& election)
      : c_(c),
        clock_(clock),
        m_(m),
        log_(std::move(log)),
        conn_(conn),
        keys_(std::move(keys)),
        api_(api),
        election_(election) {}

  // Election callbacks (on the election's thread): quick, never block on a term.
  void Elected(const etcd::LeaderTerm& t) {
    std::lock_guard<std::mutex> g(mu_);
    pending_ = t;
    m_.leader.Set(1);
    cv_.notify_all();
  }
  void Lost(const etcd::LeaderTerm& t, const std::string& reason) {
    std::lock_guard<std::mutex> g(mu_);
    lost_through_ = std::max(lost_through_, t.term);
    if (pending_ && pending_->term <= t.term) pending_.reset();
    m_.leader.Set(0);
    if (running_term_ == t.term && term_stop_ != nullptr) {
      log_.Warn("stopping the controller: leadership ended",
                {{"term", t.term}, {"reason", reason}});
      term_stop_->request_stop();
      if (term_client_ != nullptr) term_client_->Stop();  // cancels limiter and backoff waits
    }
    cv_.notify_all();
  }

  // Runs terms as they come until `stop`.
  void Run(std::stop_token stop) {
    while (true) {
      etcd::LeaderTerm t;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, stop, [&] { return pending_.has_value(); });
        if (stop.stop_requested()) return;
        t = *pending_;
        pending_.reset();
        if (t.term <= lost_through_) continue;
      }
      RunTerm(t, stop);
    }
  }

  struct View {
    bool leading = false;  // a controller of a live term is running
    std::uint64_t term = 0;
    std::optional<reconcile::Health> health;
  };
  View GetView() const {
    std::lock_guard<std::mutex> g(mu_);
    View v;
    if (controller_ != nullptr && running_term_ > lost_through_) {
      v.leading = true;
      v.term = running_term_;
      v.health = controller_->GetHealth();
    }
    return v;
  }

 private:
  void RunTerm(const etcd::LeaderTerm& t, std::stop_token stop) {
    const base::Logger log = log_.With({{"term", t.term}});
    const etcd::LeaderFence fence = election_.FenceFor(t);
    // The journal of this term: everything the previous leader wrote is in etcd.
    std::unique_ptr<etcd::EtcdJournal> journal;
    while (!journal) {
      etcd::EtcdJournalOptions jo;
      jo.etcd = conn_.etcd.get();
      jo.clock = &clock_;
      jo.prefix = conn_.target.prefix;
      jo.fence = fence;
      jo.logger = &log_;
      auto j = etcd::EtcdJournal::Open(jo);
      if (j.ok()) {
        journal = std::move(j).value();
        break;
      }
      log.Error("cannot load the journal from etcd; retrying while leader",
                base::StatusFields(j.status()));
      if (!election_.CheckLeader(t.term).ok()) return;
      if (!clock_.SleepFor(std::chrono::seconds(1), stop)) return;
    }
    if (Status b = CheckStateBinding(c_, *journal, /*writable=*/true, log); !b.ok()) {
      // Another account's state: nothing is done in this term (status and logs say why).
      log.Error("refusing the state: it belongs to another account", base::StatusFields(b));
      return;
    }
    etcd::EtcdCredentialStoreOptions co;
    co.etcd = conn_.etcd.get();
    co.clock = &clock_;
    co.prefix = conn_.target.prefix;
    co.keys = keys_;
    co.fence = fence;
    co.logger = &log_;
    auto creds = etcd::EtcdCredentialStore::Open(co);
    if (!creds.ok()) {
      log.Error("cannot open the credential store", base::StatusFields(creds.status()));
      return;
    }
    const std::uint64_t term = t.term;
    etcd::LeaderElection* election = &election_;
    std::unique_ptr<api::Client> client = NewClient(
        c_, api_, &clock_, &m_, log, [election, term] { return election->CheckLeader(term); });
    reconcile::FileSpecSource specs(c_.specs);
    etcd::EtcdOperationLog operations(conn_.etcd.get(), conn_.target.prefix);
    reconcile::ControllerOptions opts = ControllerOptionsFrom(c_, &api_);
    opts.operations = &operations;
    auto controller = std::make_unique<reconcile::Controller>(opts, *client, *journal, **creds,
                                                              specs, clock_, m_, log);
    EnableConnectionSecrets(c_, api_.kube.get(), **creds, *controller);

    std::stop_source term_stop;
    {
      std::lock_guard<std::mutex> g(mu_);
      running_term_ = t.term;
      term_stop_ = &term_stop;
      term_client_ = client.get();
      controller_ = controller.get();
      if (t.term <= lost_through_) {  // lost while this term was being set up
        term_stop.request_stop();
        client->Stop();
      }
    }
    std::stop_callback on_process_stop(stop, [&] {
      term_stop.request_stop();
      client->Stop();
    });
    auto entries = journal->List();
    log.Info("leading: controller started",
             {{"journal_entries", entries.ok() ? entries->size() : 0}});
    EtcdStatusWriter status(*conn_.etcd, fence, StatusKey(conn_.target.prefix), c_.identity, clock_,
                            log);
    reconcile::Controller* ctl = controller.get();
    std::jthread snapshots([&](std::stop_token st) {
      while (clock_.SleepFor(std::min<base::Duration>(c_.spec_poll, std::chrono::seconds(5)), st)) {
        status.MaybeWrite(ctl->Statuses());
      }
    });
    controller->Run(term_stop.get_token());
    snapshots.request_stop();
    snapshots.join();
    status.MaybeWrite(controller->Statuses(), /*force=*/true);  // refused unless still leader
    {
      std::lock_guard<std::mutex> g(mu_);
      running_term_ = 0;
      term_stop_ = nullptr;
      term_client_ = nullptr;
      controller_ = nullptr;
    }
    log.Info("controller stopped", {{"still_leader", election_.CheckLeader(t.term).ok()}});
  }

  const Config& c_;
  base::Clock& clock_;
  metrics::Metrics& m_;
  const base::Logger log_;
  EtcdConnection& conn_;
  const std::vector<store::SealingKey> keys_;
  ApiStack& api_;
  etcd::LeaderElection& election_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::optional<etcd::LeaderTerm> pending_;      // GUARDED_BY(mu_): elected, not yet running
  std::uint64_t lost_through_ = 0;               // GUARDED_BY(mu_): terms up to this one ended
  std::uint64_t running_term_ = 0;               // GUARDED_BY(mu_)
  std::stop_source* term_stop_ = nullptr;        // GUARDED_BY(mu_)
  api::Client* term_client_ = nullptr;           // GUARDED_BY(mu_)
  reconcile::Controller* controller_ = nullptr;  // GUARDED_BY(mu_)
};

std::string Seconds(base::Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", base::ToSeconds(d));
  return buf;
}

}  // namespace

std::chrono::milliseconds EtcdRequestTimeout(const Config& c) {
  return std::clamp<std::chrono::milliseconds>(c.lease_ttl / 3, std::chrono::milliseconds(500),
                                               std::chrono::seconds(5));
}

StatusOr<EtcdConnection> ConnectEtcd(const Config& c) {
  EtcdConnection conn;
  AURA_ASSIGN_OR_RETURN(conn.target, etcd::ParseEtcdUrl(c.state));
  for (const std::string& e : conn.target.endpoints) {
    AURA_RETURN_IF_ERROR(http::CheckUrlAllowed(e, c.insecure_http_etcd, "--insecure-http-etcd")
                             .WithContext("--state"));
  }
  for (const auto& [flag, path] :
       {std::pair<const char*, const std::string&>{"--etcd-ca", c.etcd_ca},
        {"--etcd-cert", c.etcd_cert},
        {"--etcd-key", c.etcd_key}}) {
    if (!path.empty() && !Readable(path)) {
      return base::InvalidArgumentError(std::string(flag) + ": cannot read " + path);
    }
  }
  http::TransportOptions topts;
  topts.allow_plain_http = c.insecure_http_etcd;
  topts.ca_file = c.etcd_ca;
  topts.cert_file = c.etcd_cert;
  topts.key_file = c.etcd_key;
  topts.connect_timeout = EtcdRequestTimeout(c);
  conn.transport = http::NewCpprestTransport(topts);
  etcd::GatewayEtcdClientOptions eo;
  eo.endpoints = conn.target.endpoints;
  eo.request_timeout = EtcdRequestTimeout(c);
  conn.etcd = etcd::NewGatewayEtcdClient(conn.transport.get(), eo);
  return conn;
}

StatusOr<std::vector<store::SealingKey>> LoadCredentialKeys(const Config& c) {
  if (c.credentials_key_files.empty()) {
    return base::InvalidArgumentError(
        "--credentials-key-file is required with an etcd --state: the one-time passwords are "
        "stored in etcd sealed with it (32 random bytes, raw or base64: head -c 32 "
        "/dev/urandom | base64 > key)");
  }
  std::vector<store::SealingKey> keys;
  for (const std::string& path : c.credentials_key_files) {
    auto k = store::LoadSealingKeyFile(path);
    if (!k.ok())
      return base::InvalidArgumentError("--credentials-key-file: " + k.status().message());
    keys.push_back(std::move(k).value());
  }
  return keys;
}

StatusOr<std::unique_ptr<etcd::EtcdJournal>> OpenEtcdJournalReadOnly(EtcdConnection& conn,
                                                                     const base::Clock* clock) {
  etcd::EtcdJournalOptions o;
  o.etcd = conn.etcd.get();
  o.clock = clock;
  o.prefix = conn.target.prefix;
  return etcd::EtcdJournal::Open(o);
}

StatusOr<std::unique_ptr<etcd::EtcdCredentialStore>> OpenEtcdCredentialsReadOnly(
    const Config& c, EtcdConnection& conn, const base::Clock* clock) {
  AURA_ASSIGN_OR_RETURN(std::vector<store::SealingKey> keys, LoadCredentialKeys(c));
  etcd::EtcdCredentialStoreOptions o;
  o.etcd = conn.etcd.get();
  o.clock = clock;
  o.prefix = conn.target.prefix;
  o.keys = std::move(keys);
  return etcd::EtcdCredentialStore::Open(o);
}

StatusOr<reconcile::StatusFile> LoadEtcdStatus(EtcdConnection& conn) {
  const std::string key = StatusKey(conn.target.prefix);
  AURA_ASSIGN_OR_RETURN(etcd::EtcdRangeResult r, conn.etcd->Range(key));
  if (r.kvs.empty()) return base::NotFoundError("no status snapshot at " + key);
  json j = json::parse(r.kvs[0].value, nullptr, false);
  if (!j.is_object()) return base::DataLossError("the status snapshot " + key + " is not JSON");
  reconcile::StatusFile f;
  if (auto w = j.find("written_at"); w != j.end() && w->is_string()) f.written_at = *w;
  if (auto specs = j.find("specs"); specs != j.end() && specs->is_array()) {
    for (const auto& e : *specs) {
      AURA_ASSIGN_OR_RETURN(reconcile::SpecStatus s, reconcile::SpecStatusFromJson(e));
      f.statuses.push_back(std::move(s));
    }
  }
  return f;
}

int RunHa(const Config& c, SignalWaiter& signals) {
  base::Logger log = MakeLogger(c);
  base::SetDefaultLogger(log);
  metrics::Metrics m;
  base::Clock& clock = base::RealClock();
  if (c.specs.empty()) return Fail(base::InvalidArgumentError("run: no --specs given"));
  auto keys = LoadCredentialKeys(c);
  if (!keys.ok()) return Fail(keys.status());
  auto conn = ConnectEtcd(c);
  if (!conn.ok()) return Fail(conn.status());
  auto api = BuildApi(c, &clock, &m, log, /*with_client=*/false);
  if (!api.ok()) return Fail(api.status());
  auto kube = BuildKubeSecrets(c, &m, log);
  if (!kube.ok()) return Fail(kube.status());
  (*api)->kube = std::move(*kube);

  etcd::LeaderElectionOptions eo;
  eo.key = conn->target.prefix + "/leader";
  eo.identity = c.identity;
  eo.ttl = c.lease_ttl;
  etcd::LeaderElection election(conn->etcd.get(), &clock, eo, log);
  TermRunner runner(c, clock, m, log, *conn, *keys, **api, election);
  election.OnElected([&](const etcd::LeaderTerm& t) { runner.Elected(t); });
  election.OnLost([&](const etcd::LeaderTerm& t, const std::string& why) { runner.Lost(t, why); });

  const reconcile::ControllerOptions opts = ControllerOptionsFrom(c);
  const base::Duration ready_window =
      std::max<base::Duration>(3 * opts.resync, std::chrono::seconds(3));
  const base::Duration alive_window =
      std::max<base::Duration>(3 * opts.resync + std::chrono::minutes(2), 5 * opts.spec_poll);
  // Quorum seen within a lease: the leader renews every third of it, standbys read every
  // second or so.
  const base::Duration quorum_window = election.options().ttl;
  auto etcd_line = [&](bool* ok) {
    const auto contact = election.LastContact();
    *ok = contact && clock.Now() - *contact <= quorum_window;
    if (*ok) return "etcd: ok (quorum seen " + Seconds(clock.Now() - *contact) + " ago)\n";
    return std::string("etcd: NO QUORUM or unreachable (") +
           (contact ? "last answer " + Seconds(clock.Now() - *contact) + " ago"
                    : "never answered") +
           "; " + c.state + ")\n";
  };
  auto server = http::StartServer(
      c.metrics_addr,
      {{"/metrics",
        [&] {
          return http::Reply{200, "text/plain; version=0.0.4; charset=utf-8", m.Serialize(), {}};
        }},
       {"/healthz",
        [&] {
          const TermRunner::View v = runner.GetView();
          if (v.health && v.health->heartbeat != base::TimePoint{} &&
              clock.Now() - v.health->heartbeat > alive_window) {
            return http::Reply{
                503,
                "text/plain",
                "loop stuck: no heartbeat for " + Seconds(clock.Now() - v.health->heartbeat) + "\n",
                {}};
          }
          return http::Reply{200, "text/plain", "ok\n", {}};
        }},
       {"/readyz", [&] {
          const TermRunner::View v = runner.GetView();
          bool etcd_ok = false;
          std::string body;
          if (v.leading) {
            body = "role: leader (term " + std::to_string(v.term) + ", " + c.identity + ")\n";
          } else {
            const std::string holder = election.Holder();
            body = "role: standby (leader: " + (holder.empty() ? "none" : holder) + ")\n";
          }
          body += etcd_line(&etcd_ok);
          bool ready = etcd_ok;
          if (v.leading && v.health) {
            const reconcile::Health& h = *v.health;
            const bool list_ok = h.last_list_ok && clock.Now() - *h.last_list_ok <= ready_window;
            body += std::string("specs loaded: ") + (h.specs_loaded ? "yes" : "no") + "\n";
            body += std::string("recent successful LIST: ") + (list_ok ? "yes" : "no") + "\n";
            if (!h.last_error.empty()) body += "last error: " + h.last_error + "\n";
            for (const auto& [tenant, error] : h.tenant_errors) {
              body += "tenant " + tenant + " failing (its specs wait): " + error + "\n";
            }
            if (!h.journal_error.empty()) {
              body += "journal cannot be written (no create is sent): " + h.journal_error + "\n";
            }
            ready = ready && h.specs_loaded && list_ok && h.journal_error.empty();
          }
          return http::Reply{ready ? 200 : 503, "text/plain", body, {}};
        }}});
  if (!server.ok()) return Fail(server.status().WithContext("--metrics-addr"));
  log.Info("aura-controller running (high availability)",
           {{"version", AURA_VERSION},
            {"metrics_addr", c.metrics_addr},
            {"metrics_port", (*server)->port()},
            {"api_url", c.api_url},
            {"state", c.state},
            {"identity", c.identity},
            {"lease_ttl_s", base::ToSeconds(election.options().ttl)},
            {"rate_limit", c.rate_limit},
            {"rate_window_s", base::ToSeconds(c.rate_window)}});

  std::stop_source stop;
  signals.Start([&](int sig) {
    log.Info("signal received: stopping the controller, then resigning leadership",
             {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    stop.request_stop();
  });
  StopSignalsOnExit stop_signals(signals);
  std::stop_source election_stop;
  std::jthread election_thread([&] { election.Run(election_stop.get_token()); });
  runner.Run(stop.get_token());
  // The controller has stopped (its last journal write done): now let a standby take over.
  election_stop.request_stop();
  election_thread.join();
  (*api)->Stop();
  (*server)->Stop();
  log.Info("aura-controller stopped");
  return kExitOk;
}

}  // namespace aura::cmd
