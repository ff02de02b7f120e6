#include "tests/ha/ha_util.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/harness/http.h"

namespace aura::ha_test {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test_harness::WaitFor;

std::chrono::seconds LeaseTtl() {
  const char* v = std::getenv("AURA_HA_LEASE_TTL");
  const int n = v != nullptr ? std::atoi(v) : 0;
#ifdef AURA_SANITIZER_BUILD
  // TLS handshakes to etcd under TSan on a loaded 2-core machine took longer than a 2 s lease
  // allows between renewals (HaTest.TlsWithClientCertificates lost its lease five times in a
  // row in one CI run); the bounds of the tests scale with this.
  constexpr int kDefault = 5;
#else
  constexpr int kDefault = 2;
#endif
  return std::chrono::seconds(n > 0 ? n : kDefault);
}

int Controller::Ready(std::string* body) const {
  if (metrics_port == 0) return 0;
  auto r = test_harness::Http("GET", "http://127.0.0.1:" + std::to_string(metrics_port) + "/readyz",
                              "", {}, seconds(2));
  if (!r.ok()) return 0;
  if (body != nullptr) *body = r->body;
  return r->status;
}

bool Controller::IsLeader() const {
  std::string body;
  return Ready(&body) != 0 && body.rfind("role: leader", 0) == 0;
}

bool Controller::IsStandby() const {
  std::string body;
  return Ready(&body) != 0 && body.rfind("role: standby", 0) == 0;
}

std::string Controller::Log() const { return e2e::ReadFile(log_path); }

base::StatusOr<std::unique_ptr<HaEnv>> HaEnv::Start(HaEnvOptions options) {
  std::unique_ptr<HaEnv> env(new HaEnv());
  env->options_ = options;
  AURA_ASSIGN_OR_RETURN(env->etcd_, EtcdCluster::Start(options.etcd));
  std::vector<std::string> sim_flags = {"--create-seconds", "0.5", "--update-seconds", "0.3",
                                        "--pause-seconds",  "0.3", "--resume-seconds", "0.3"};
  for (int i = 0; i < options.controllers; ++i) {
    sim_flags.insert(sim_flags.end(), {"--client-id", "ctl" + std::to_string(i), "--client-secret",
                                       "secret-" + std::to_string(i)});
  }
  sim_flags.insert(sim_flags.end(), options.sim_flags.begin(), options.sim_flags.end());
  AURA_ASSIGN_OR_RETURN(env->sim_, test_harness::SimulatorProcess::Start(sim_flags));
  env->key_file_ = env->ws_.dir() + "/credentials.key";
  env->ws_.WriteFile("credentials.key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n");
  ::chmod(env->key_file_.c_str(), 0600);  // a key readable by others is refused
  for (int i = 0; i < options.controllers; ++i) {
    Controller c;
    c.index = i;
    c.client_id = "ctl" + std::to_string(i);
    c.identity = "controller-" + std::to_string(i);
    env->controllers_.push_back(std::move(c));
  }
  return env;
}

HaEnv::~HaEnv() {
  for (auto& c : controllers_) {
    if (c.process) {
      (void)c.process->Resume();  // a paused one cannot act on SIGTERM
      c.process->Stop(seconds(5));
    }
  }
}

std::vector<std::string> HaEnv::Flags(int i, std::vector<std::string> extra) const {
  const Controller& c = controllers_[static_cast<size_t>(i)];
  std::vector<std::string> f = {
      "--api-url", sim_->api_url(), "--token-url", sim_->token_url(), "--state",
      etcd_->StateUrl(kPrefix), "--credentials-key-file", key_file_, "--lease-ttl",
      std::to_string(LeaseTtl().count()) + "s", "--identity", c.identity, "--metrics-addr",
      "127.0.0.1:0", "--poll-interval", "200ms", "--poll-max", "1s", "--resync",
      std::to_string(kResync.count()) + "s", "--spec-poll", "200ms", "--settle-window", "2s",
      "--request-timeout", "3s", "--log-format", "json", "--specs", ws_.specs(),
      // Each controller has an API client of its own here, to tell
      // their requests apart in the simulator's stats; in production
      // the replicas share one and the state stays bound to it.
      "--rebind-state"};
  f.insert(f.end(), extra.begin(), extra.end());
  return f;
}

std::map<std::string, std::string> HaEnv::Env(int i) const {
  return {{"AURA_CLIENT_ID", "ctl" + std::to_string(i)},
          {"AURA_CLIENT_SECRET", "secret-" + std::to_string(i)}};
}

base::Status HaEnv::StartController(int i, std::vector<std::string> extra) {
  Controller& c = controllers_[static_cast<size_t>(i)];
  c.log_path =
      ws_.dir() + "/controller-" + std::to_string(i) + "." + std::to_string(++starts_) + ".log";
  c.metrics_port = 0;
  AURA_ASSIGN_OR_RETURN(c.process, e2e::StartRun(Flags(i, extra), c.log_path, Env(i)));
  const bool up = WaitFor(
      [&] {
        std::istringstream in(e2e::ReadFile(c.log_path));
        for (std::string line; std::getline(in, line);) {
          auto j = nlohmann::json::parse(line, nullptr, false);
          if (j.is_object() && j.contains("metrics_port")) {
            c.metrics_port = j["metrics_port"].get<int>();
            return true;
          }
        }
        return false;
      },
      seconds(15));
  if (!up) {
    return base::DeadlineExceededError("controller " + std::to_string(i) +
                                       " did not start: " + e2e::ReadFile(c.log_path));
  }
  return base::Status();
}

void HaEnv::KillController(int i) {
  Controller& c = controllers_[static_cast<size_t>(i)];
  if (!c.process) return;
  (void)c.process->Kill();
  (void)c.process->Wait(seconds(5));
  c.process.reset();
  c.metrics_port = 0;
}

int HaEnv::AwaitLeader(milliseconds timeout, int not_this) {
  int leader = -1;
  WaitFor(
      [&] {
        int found = -1, count = 0;
        for (const auto& c : controllers_) {
          if (c.index == not_this || !c.process) continue;
          if (c.IsLeader()) {
            found = c.index;
            ++count;
          }
        }
        leader = count == 1 ? found : -1;
        return leader >= 0;
      },
      timeout, milliseconds(20));
  return leader;
}

RunResult HaEnv::Cli(std::vector<std::string> args) const {
  args.insert(args.end(), {"--state", etcd_->StateUrl(kPrefix), "--credentials-key-file", key_file_,
                           "--log-level", "error"});
  return RunToCompletion(e2e::ControllerBinary(), args, Env(0), seconds(30));
}

nlohmann::json HaEnv::SimInstances() const {
  auto j = sim_->Instances();
  return j.ok() ? *j : nlohmann::json::object();
}

namespace {
long Count(const nlohmann::json& stats, const std::string& client, bool non_get_only) {
  long n = 0;
  if (!stats.contains("requests_by_client")) return -1;
  const auto& by = stats["requests_by_client"];
  if (!by.contains(client)) return 0;
  for (const auto& [route, codes] : by[client].items()) {
    if (non_get_only && route.rfind("GET ", 0) == 0) continue;
    for (const auto& [code, c] : codes.items()) n += c.get<long>();
  }
  return n;
}
}  // namespace

long HaEnv::NonGetRequests(const std::string& client_id) const {
  auto s = sim_->Stats();
  return s.ok() ? Count(*s, client_id, true) : -1;
}

long HaEnv::AllRequests(const std::string& client_id) const {
  auto s = sim_->Stats();
  return s.ok() ? Count(*s, client_id, false) : -1;
}

std::string HaEnv::Converged(const std::string& prefix, int n) const {
  // The simulator: one live instance per name, running.
  const nlohmann::json inst = SimInstances();
  std::map<std::string, int> live;
  std::map<std::string, std::string> status;
  for (const auto& i : inst.value("instances", nlohmann::json::array())) {
    if (i.value("deleted", false)) continue;
    const std::string name = i.value("name", "");
    ++live[name];
    status[name] = i.value("status", "");
  }
  for (int k = 0; k < n; ++k) {
    const std::string name = prefix + "-" + std::to_string(k);
    if (live[name] != 1) return name + ": " + std::to_string(live[name]) + " live instances";
    if (status[name] != "running") return name + ": " + status[name];
  }
  // The journal (through `status`): every key recorded, no pending create.
  RunResult r = Cli({"status", "--output", "json"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_object() || !j.contains("specs")) return "status failed: " + r.out + r.err;
  std::set<std::string> ok;
  for (const auto& s : j["specs"]) {
    if (!s.value("aura_id", "").empty() && !s.value("pending_create", false)) {
      ok.insert(s.value("key", ""));
    }
  }
  for (int k = 0; k < n; ++k) {
    const std::string key = std::string(kNamespace) + "/" + prefix + "-" + std::to_string(k);
    if (!ok.count(key)) return key + ": not recorded in the etcd journal yet";
  }
  return "";
}

int HaEnv::Duplicates() const {
  const nlohmann::json inst = SimInstances();
  int extra = 0;
  for (const auto& c : inst.value("creations", nlohmann::json::array())) {
    extra += std::max(0, c.value("count", 0) - 1);
  }
  return extra;
}

std::vector<std::pair<std::string, long long>> HaEnv::StoredRevisions(
    const std::string& what) const {
  auto r = etcd_->ModRevisions(std::string(kPrefix) + "/" + what + "/");
  if (!r.ok()) return {{"error: " + r.status().ToString(), -1}};
  return *r;
}

std::string HaEnv::Diagnostics() const {
  std::string out;
  for (const auto& c : controllers_) {
    std::string log = c.log_path.empty() ? "" : e2e::ReadFile(c.log_path);
    if (log.size() > 6000) log = "..." + log.substr(log.size() - 6000);
    out += "--- controller " + std::to_string(c.index) + " (" + c.log_path + ") ---\n" + log;
  }
  auto stats = sim_->Stats();
  out += "--- simulator stats ---\n" + (stats.ok() ? stats->dump() : stats.status().ToString());
  out += "\n" + etcd_->Logs();
  return out;
}

}  // namespace aura::ha_test
