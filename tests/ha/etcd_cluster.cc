#include "tests/ha/etcd_cluster.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/harness/http.h"

namespace aura::ha_test {
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Base64Decode(const std::string& in) {
  static const std::string a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    const size_t pos = a.find(c);
    if (pos == std::string::npos) break;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

}  // namespace

RunResult RunToCompletion(const std::string& path, std::vector<std::string> args,
                          std::map<std::string, std::string> env, milliseconds timeout) {
  static std::atomic<int> seq{0};
  const std::string base = fs::temp_directory_path().string() + "/aura-ha-run-" +
                           std::to_string(::getpid()) + "-" + std::to_string(++seq);
  test_harness::SubprocessOptions o;
  o.path = path;
  o.args = std::move(args);
  o.env = std::move(env);
  o.stdout_mode = test_harness::OutputMode::kFile;
  o.stdout_file = base + ".out";
  o.stderr_mode = test_harness::OutputMode::kFile;
  o.stderr_file = base + ".err";
  RunResult r;
  auto p = test_harness::Subprocess::Start(o);
  if (!p.ok()) {
    r.err = p.status().ToString();
    return r;
  }
  auto st = (*p)->Wait(timeout);
  r.exit = st.ok() ? *st : (*p)->Stop(std::chrono::seconds(2));
  r.out = ReadAll(o.stdout_file);
  r.err = ReadAll(o.stderr_file);
  std::error_code ec;
  fs::remove(o.stdout_file, ec);
  fs::remove(o.stderr_file, ec);
  return r;
}

base::StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(EtcdClusterOptions options) {
  std::unique_ptr<EtcdCluster> c(new EtcdCluster());
  c->options_ = options;
  const std::string base = fs::exists("/dev/shm") ? "/dev/shm" : fs::temp_directory_path().string();
  std::string tmpl = base + "/aura-etcd-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return base::InternalError("mkdtemp failed");
  c->dir_ = tmpl;
  for (int i = 0; i < options.members; ++i) {
    Member m;
    m.name = "m" + std::to_string(i);
    AURA_ASSIGN_OR_RETURN(m.client_port, test_harness::PickFreePort());
    AURA_ASSIGN_OR_RETURN(m.peer_port, test_harness::PickFreePort());
    m.data_dir = c->dir_ + "/" + m.name + ".etcd";
    m.log_file = c->dir_ + "/" + m.name + ".log";
    c->initial_cluster_ +=
        (i ? "," : "") + m.name + "=http://127.0.0.1:" + std::to_string(m.peer_port);
    c->members_.push_back(std::move(m));
  }
  for (int i = 0; i < options.members; ++i) AURA_RETURN_IF_ERROR(c->Launch(i, true));
  AURA_RETURN_IF_ERROR(c->AwaitQuorum(std::chrono::seconds(30)));
  return c;
}

EtcdCluster::~EtcdCluster() {
  for (auto& m : members_) {
    if (m.process) (void)m.process->Kill();
    m.process.reset();
  }
  if (std::getenv("AURA_E2E_KEEP") == nullptr && !dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

base::Status EtcdCluster::Launch(int i, bool initial) {
  Member& m = members_[static_cast<size_t>(i)];
  const std::string scheme = tls() ? "https" : "http";
  const std::string client = scheme + "://127.0.0.1:" + std::to_string(m.client_port);
  test_harness::SubprocessOptions o;
  o.path = "/usr/bin/etcd";
  o.args = {"--name",
            m.name,
            "--data-dir",
            m.data_dir,
            "--listen-client-urls",
            client,
            "--advertise-client-urls",
            client,
            "--listen-peer-urls",
            "http://127.0.0.1:" + std::to_string(m.peer_port),
            "--initial-advertise-peer-urls",
            "http://127.0.0.1:" + std::to_string(m.peer_port),
            "--initial-cluster",
            initial_cluster_,
            "--initial-cluster-state",
            initial ? "new" : "existing",
            "--initial-cluster-token",
            "aura-ha-test",
            "--heartbeat-interval",
            "50",
            "--election-timeout",
            "500",
            "--logger",
            "zap",
            "--log-level",
            "warn"};
  if (tls()) {
    o.args.insert(o.args.end(), {"--cert-file", options_.cert_file, "--key-file", options_.key_file,
                                 "--client-cert-auth", "--trusted-ca-file", options_.ca_file});
  }
  o.unset_env = {"ETCD_NAME", "ETCD_DATA_DIR", "ETCDCTL_API"};
  o.stdout_mode = test_harness::OutputMode::kDiscard;
  o.stderr_mode = test_harness::OutputMode::kFile;
  o.stderr_file = m.log_file + (initial ? "" : ".restart");
  AURA_ASSIGN_OR_RETURN(m.process, test_harness::Subprocess::Start(o));
  return base::Status();
}

std::string EtcdCluster::HostPorts() const {
  std::string out;
  for (const auto& m : members_) {
    out += (out.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(m.client_port);
  }
  return out;
}

std::string EtcdCluster::ClientUrl(int i) const {
  return std::string(tls() ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(members_[static_cast<size_t>(i)].client_port);
}

std::string EtcdCluster::StateUrl(const std::string& prefix) const {
  return std::string(tls() ? "etcds" : "etcd") + "://" + HostPorts() + prefix;
}

void EtcdCluster::StopMember(int i) {
  Member& m = members_[static_cast<size_t>(i)];
  if (!m.process) return;
  (void)m.process->Kill();
  (void)m.process->Wait(std::chrono::seconds(10));
  m.process.reset();
}

base::Status EtcdCluster::StartMember(int i) {
  if (members_[static_cast<size_t>(i)].process) return base::Status();
  return Launch(i, false);
}

bool EtcdCluster::Running(int i) const {
  return members_[static_cast<size_t>(i)].process != nullptr;
}

base::Status EtcdCluster::AwaitQuorum(milliseconds timeout) const {
  std::string last;
  const bool ok = test_harness::WaitFor(
      [&] {
        auto out = Ctl({"get", "/aura-quorum-probe"}, std::chrono::seconds(3));
        if (out.ok()) return true;
        last = out.status().message();
        return false;
      },
      timeout, milliseconds(200));
  if (ok) return base::Status();
  return base::DeadlineExceededError("etcd cluster has no quorum: " + last + "\n" + Logs());
}

base::StatusOr<std::string> EtcdCluster::Ctl(std::vector<std::string> args,
                                             milliseconds timeout) const {
  std::string endpoints;
  for (int i = 0; i < size(); ++i) {
    if (!Running(i)) continue;
    endpoints += (endpoints.empty() ? "" : ",") + ClientUrl(i);
  }
  std::vector<std::string> a = {"--endpoints=" + endpoints,
                                "--command-timeout=" + std::to_string(timeout.count() / 2) + "ms",
                                "--dial-timeout=1s"};
  if (tls()) {
    a.insert(a.end(), {"--cacert=" + options_.ca_file, "--cert=" + options_.cert_file,
                       "--key=" + options_.key_file});
  }
  a.insert(a.end(), args.begin(), args.end());
  RunResult r = RunToCompletion("/usr/bin/etcdctl", a, {{"ETCDCTL_API", "3"}}, timeout);
  if (!r.exit.ok())
    return base::UnavailableError("etcdctl failed (" + r.exit.ToString() + "): " + r.err);
  return r.out;
}

base::StatusOr<std::vector<std::pair<std::string, std::string>>> EtcdCluster::Dump(
    const std::string& prefix) const {
  AURA_ASSIGN_OR_RETURN(std::string out, Ctl({"get", "--prefix", prefix, "-w", "json"}));
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  std::vector<std::pair<std::string, std::string>> kvs;
  if (!j.is_object() || !j.contains("kvs")) return kvs;
  for (const auto& kv : j["kvs"]) {
    kvs.emplace_back(Base64Decode(kv.value("key", "")), Base64Decode(kv.value("value", "")));
  }
  return kvs;
}

base::StatusOr<std::vector<std::pair<std::string, long long>>> EtcdCluster::ModRevisions(
    const std::string& prefix) const {
  AURA_ASSIGN_OR_RETURN(std::string out, Ctl({"get", "--prefix", prefix, "-w", "json"}));
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  std::vector<std::pair<std::string, long long>> revs;
  if (!j.is_object() || !j.contains("kvs")) return revs;
  for (const auto& kv : j["kvs"]) {
    revs.emplace_back(Base64Decode(kv.value("key", "")), kv.value("mod_revision", 0LL));
  }
  return revs;
}

std::string EtcdCluster::Logs() const {
  std::string out;
  for (const auto& m : members_) {
    std::string log = ReadAll(m.log_file);
    if (log.size() > 4000) log = "..." + log.substr(log.size() - 4000);
    out += "--- etcd " + m.name + " ---\n" + log;
  }
  return out;
}

}  // namespace aura::ha_test
