// High availability on a real 3-member etcd cluster (issue 11): two aura-controller processes
// with their own API clients against the simulator, which fails committed creates.
//
//  - KillLeader: SIGKILL the leader mid-creates; the standby leads within the lease TTL plus one
//    resync, and everything converges with zero duplicates.
//  - PausedLeader: SIGSTOP the leader mid-creates, past its lease; the standby takes over and
//    converges; SIGCONT the old one: it sends no write to Aura (counted at the simulator by its
//    client id) and changes nothing in etcd (journal and credentials revisions unchanged).
//  - OneEtcdMemberDown: work continues on two members.
//  - NoQuorum: two members down: nobody leads, readiness false, no POST; back: it converges.
//  - Tls: etcds:// with a client certificate (and refused without one).
//  - HaFailover.Times: only with AURA_HA_FAILOVER_RUNS=N (scripts/failover.sh): SIGKILL and
//    SIGTERM handovers measured N times each, at random moments of the leader's renewal cycle;
//    prints median and worst.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "tests/ha/ha_util.h"
#include "tests/harness/http.h"

namespace aura::ha_test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test_harness::WaitFor;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Committed creates failing: a 500 for half of them (the instance exists; the answer says no).
const std::vector<std::string> kCommittedThenFailed = {"--create-fault", "500:0.5", "--seed", "7"};

#define SKIP_WITHOUT_ETCD()                                                                    \
  if (::access("/usr/bin/etcd", X_OK) != 0 || ::access("/usr/bin/etcdctl", X_OK) != 0) {       \
    GTEST_SKIP() << "etcd-server and etcd-client are not installed (scripts/install-deps.sh)"; \
  }

std::unique_ptr<HaEnv> StartEnv(HaEnvOptions o = {}) {
  auto env = HaEnv::Start(std::move(o));
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? std::move(env).value() : nullptr;
}

// Starts both controllers, 0 first so that it leads; returns the leader's index.
int StartBoth(HaEnv& env) {
  EXPECT_TRUE(env.StartController(0).ok());
  const int leader = env.AwaitLeader(LeaseTtl() + seconds(8));
  EXPECT_EQ(leader, 0) << env.Diagnostics();
  EXPECT_TRUE(env.StartController(1).ok());
  EXPECT_TRUE(WaitFor([&] { return env.controller(1).IsStandby(); }, seconds(10)))
      << env.Diagnostics();
  return leader;
}

bool AwaitConverged(HaEnv& env, const std::string& prefix, int n, seconds timeout,
                    std::string* why) {
  return WaitFor(
      [&] {
        *why = env.Converged(prefix, n);
        return why->empty();
      },
      timeout, milliseconds(250));
}

TEST(HaTest, KillLeaderStandbyTakesOverWithoutDuplicates) {
  SKIP_WITHOUT_ETCD();
  HaEnvOptions o;
  o.sim_flags = kCommittedThenFailed;
  auto env = StartEnv(o);
  ASSERT_NE(env, nullptr);
  env->ws().WriteSpecs("a.yaml", "kill", 8);
  ASSERT_EQ(StartBoth(*env), 0);
  // Kill while creates are under way: intents in the journal, some POSTs answered 500.
  ASSERT_TRUE(WaitFor([&] { return env->NonGetRequests("ctl0") >= 4; }, seconds(20)))
      << env->Diagnostics();
  const auto killed_at = Clock::now();
  env->KillController(0);
  const int leader = env->AwaitLeader(LeaseTtl() + seconds(8));
  const double took = Since(killed_at);
  ASSERT_EQ(leader, 1) << env->Diagnostics();
  std::cout << "[ HA ] SIGKILL failover: standby led after " << took << " s\n";
  // Within the lease TTL plus one resync (and the time it takes to ask).
  EXPECT_LE(took, std::chrono::duration<double>(LeaseTtl() + kResync).count() + 1.0);

  std::string why;
  EXPECT_TRUE(AwaitConverged(*env, "kill", 8, seconds(45), &why)) << why << env->Diagnostics();
  EXPECT_EQ(env->Duplicates(), 0) << env->SimInstances().dump();
  EXPECT_GT(env->NonGetRequests("ctl1"), 0);  // the standby did the rest
  // Every password Aura sent in a 202 that reached a controller is readable through etcd.
  RunResult creds = env->Cli({"credentials", "get", "e2e/kill-0"});
  EXPECT_TRUE(creds.exit.ok() || creds.err.find("no credentials saved") != std::string::npos)
      << creds.out << creds.err;
}

// Issue 21: the new leader starts from the observations the etcd journal keeps. Drift checks are
// off here, so every detail GET it sent would be one an instance needed: it reports all in
// sync having sent none (without the kept observations it needs one GET per instance first).
TEST(HaTest, ANewLeaderNeedsNoGetPerInstance) {
  SKIP_WITHOUT_ETCD();
  auto env = StartEnv({});
  ASSERT_NE(env, nullptr);
  constexpr int kSpecs = 6;
  env->ws().WriteSpecs("a.yaml", "obs", kSpecs);
  ASSERT_TRUE(env->StartController(0, {"--drift-share", "0"}).ok());
  ASSERT_EQ(env->AwaitLeader(LeaseTtl() + seconds(8)), 0) << env->Diagnostics();
  std::string why;
  ASSERT_TRUE(AwaitConverged(*env, "obs", kSpecs, seconds(45), &why)) << why << env->Diagnostics();
  ASSERT_TRUE(env->StartController(1, {"--drift-share", "0"}).ok());
  ASSERT_TRUE(WaitFor([&] { return env->controller(1).IsStandby(); }, seconds(10)))
      << env->Diagnostics();
  // Until controller i reports every instance in sync (it has seen them all running).
  auto all_in_sync = [&](int i) {
    const std::string metrics =
        "http://127.0.0.1:" + std::to_string(env->controller(i).metrics_port) + "/metrics";
    const std::string in_sync = "aura_instances{state=\"in_sync\"} " + std::to_string(kSpecs);
    return WaitFor(
        [&] {
          auto r = test_harness::Http("GET", metrics, "", {}, seconds(2));
          return r.ok() && r->body.find(in_sync) != std::string::npos;
        },
        seconds(30));
  };
  ASSERT_TRUE(all_in_sync(0)) << env->Diagnostics();
  env->KillController(0);
  ASSERT_EQ(env->AwaitLeader(LeaseTtl() + seconds(8)), 1) << env->Diagnostics();
  ASSERT_TRUE(all_in_sync(1)) << env->Diagnostics();
  auto stats = env->sim().Stats();
  ASSERT_TRUE(stats.ok());
  const auto& by = (*stats)["requests_by_client"]["ctl1"];
  EXPECT_FALSE(by.contains("GET /v1/instances/{instanceId}")) << by.dump();
  EXPECT_TRUE(by.contains("GET /v1/instances")) << "the new leader listed the account";
  EXPECT_NE(env->controller(1).Log().find("started from the observations kept in the journal"),
            std::string::npos);
}

TEST(HaTest, PausedLeaderWritesNothingAfterItResumes) {
  SKIP_WITHOUT_ETCD();
  HaEnvOptions o;
  // Slow creates keep POSTs on the wire and intents pending when the leader is paused: their
  // answers (a 202 with the password, or a 500 for a committed create) reach a frozen process.
  o.sim_flags = {"--seed", "11", "--faults",
                 R"({"latency": [{"route": "POST /v1/instances", "ms": 1500}],
                     "create_failure": {"mode": "500", "rate": 0.3}})"};
  auto env = StartEnv(o);
  ASSERT_NE(env, nullptr);
  env->ws().WriteSpecs("a.yaml", "pause", 8);
  ASSERT_EQ(StartBoth(*env), 0);
  // Paused as soon as its first creates reached Aura (a token request, then POSTs).
  ASSERT_TRUE(
      WaitFor([&] { return env->NonGetRequests("ctl0") >= 3; }, seconds(20), milliseconds(5)))
      << env->Diagnostics();
  ASSERT_TRUE(env->controller(0).process->Pause().ok());
  // Past its lease: the standby takes over and finishes, resolving the paused one's intents.
  ASSERT_EQ(env->AwaitLeader(LeaseTtl() + seconds(8), /*not_this=*/0), 1) << env->Diagnostics();
  std::string why;
  ASSERT_TRUE(AwaitConverged(*env, "pause", 8, seconds(45), &why)) << why << env->Diagnostics();
  // Let the new leader settle (its last journal writes), then take the evidence.
  std::this_thread::sleep_for(seconds(2));
  const long writes_before = env->NonGetRequests("ctl0");
  const auto journal_before = env->StoredRevisions("journal");
  const auto creds_before = env->StoredRevisions("credentials");
  ASSERT_EQ(journal_before.size(), 8u) << journal_before[0].first;
  ASSERT_TRUE(creds_before.empty() || creds_before[0].second > 0) << creds_before[0].first;

  ASSERT_TRUE(env->controller(0).process->Resume().ok());
  // It notices at once (its lease ran out by its own clock) and stays a standby.
  ASSERT_TRUE(WaitFor([&] { return env->controller(0).IsStandby(); }, seconds(5)))
      << env->Diagnostics();
  std::this_thread::sleep_for(LeaseTtl() * 2);
  EXPECT_TRUE(env->controller(0).IsStandby());
  EXPECT_TRUE(env->controller(1).IsLeader());
  EXPECT_EQ(env->NonGetRequests("ctl0"), writes_before)
      << "the resumed ex-leader sent a write to Aura\n"
      << env->Diagnostics();
  EXPECT_EQ(env->StoredRevisions("journal"), journal_before)
      << "the journal changed after the ex-leader resumed\n"
      << env->Diagnostics();
  // Credentials: nothing saved is ever replaced. The one exception to the fence may add a
  // password Aura answered to the ex-leader's own POST (etcd_credential_store.h): only into an
  // empty slot, and only one the simulator says it sent to that client.
  const auto creds_after = env->StoredRevisions("credentials");
  std::map<std::string, long long> before_map(creds_before.begin(), creds_before.end());
  std::set<std::string> sent_to_ctl0;
  const nlohmann::json instances = env->SimInstances();
  for (const auto& i : instances.value("instances", nlohmann::json::array())) {
    if (i.value("created_by", "") == "ctl0" && i.value("create_response_code", "") == "202") {
      sent_to_ctl0.insert(std::string(kNamespace) + "/" +
                          i.value("created_name", i.value("name", "")));
    }
  }
  int added = 0;
  for (const auto& [key, rev] : creds_after) {
    auto it = before_map.find(key);
    if (it != before_map.end()) {
      EXPECT_EQ(rev, it->second) << key << " was replaced after the ex-leader resumed";
      continue;
    }
    ++added;
    const std::string spec_key = key.substr(std::string(kPrefix).size() + 13);  // "/credentials/"
    EXPECT_TRUE(sent_to_ctl0.count(spec_key))
        << key << " added, but no 202 went to ctl0: " << instances.dump();
  }
  EXPECT_EQ(creds_after.size(), creds_before.size() + static_cast<size_t>(added));
  std::cout << "[ HA ] ex-leader after SIGCONT: 0 writes to Aura, journal unchanged, " << added
            << " password(s) of its own answered creates saved into empty slots\n";
  EXPECT_EQ(env->Duplicates(), 0) << env->SimInstances().dump();
  const std::string log = env->controller(0).Log();
  EXPECT_NE(log.find("lost leadership"), std::string::npos) << log;
}

TEST(HaTest, OneEtcdMemberDownWorkContinues) {
  SKIP_WITHOUT_ETCD();
  auto env = StartEnv();
  ASSERT_NE(env, nullptr);
  env->ws().WriteSpecs("a.yaml", "one", 3);
  ASSERT_EQ(StartBoth(*env), 0);
  std::string why;
  ASSERT_TRUE(AwaitConverged(*env, "one", 3, seconds(30), &why)) << why << env->Diagnostics();

  env->etcd().StopMember(0);  // the controllers' first endpoint
  env->ws().WriteSpecs("b.yaml", "more", 3);
  EXPECT_TRUE(AwaitConverged(*env, "more", 3, seconds(30), &why)) << why << env->Diagnostics();
  EXPECT_EQ(env->AwaitLeader(seconds(5)), 0) << "leadership should survive one member down";
  // Both stay (or, after a lease renewal that met the stopped member, become again) ready.
  EXPECT_TRUE(WaitFor(
      [&] { return env->controller(0).Ready() == 200 && env->controller(1).Ready() == 200; },
      LeaseTtl() * 2))
      << env->Diagnostics();
  EXPECT_EQ(env->Duplicates(), 0);
  ASSERT_TRUE(env->etcd().StartMember(0).ok());
}

TEST(HaTest, NoQuorumNoLeaderNoWritesThenRecovery) {
  SKIP_WITHOUT_ETCD();
  auto env = StartEnv();
  ASSERT_NE(env, nullptr);
  env->ws().WriteSpecs("a.yaml", "nq", 2);
  ASSERT_EQ(StartBoth(*env), 0);
  std::string why;
  ASSERT_TRUE(AwaitConverged(*env, "nq", 2, seconds(30), &why)) << why << env->Diagnostics();

  env->etcd().StopMember(1);
  env->etcd().StopMember(2);
  // Within a lease, nobody leads and nobody is ready.
  EXPECT_TRUE(WaitFor(
      [&] {
        return env->controller(0).Ready() == 503 && env->controller(1).Ready() == 503 &&
               !env->controller(0).IsLeader() && !env->controller(1).IsLeader();
      },
      LeaseTtl() * 3))
      << env->Diagnostics();
  std::string body;
  env->controller(0).Ready(&body);
  EXPECT_NE(body.find("NO QUORUM"), std::string::npos) << body;
  // New work arrives: nothing is sent while there is no quorum.
  const long writes0 = env->NonGetRequests("ctl0"), writes1 = env->NonGetRequests("ctl1");
  env->ws().WriteSpecs("b.yaml", "later", 2);
  std::this_thread::sleep_for(seconds(4));
  EXPECT_EQ(env->NonGetRequests("ctl0"), writes0) << env->Diagnostics();
  EXPECT_EQ(env->NonGetRequests("ctl1"), writes1) << env->Diagnostics();

  ASSERT_TRUE(env->etcd().StartMember(1).ok());
  ASSERT_TRUE(env->etcd().StartMember(2).ok());
  ASSERT_TRUE(env->etcd().AwaitQuorum(seconds(20)).ok());
  const auto back = Clock::now();
  EXPECT_GE(env->AwaitLeader(seconds(15)), 0) << env->Diagnostics();
  std::cout << "[ HA ] quorum back: a leader after " << Since(back) << " s\n";
  EXPECT_TRUE(AwaitConverged(*env, "later", 2, seconds(30), &why)) << why << env->Diagnostics();
  EXPECT_EQ(env->Duplicates(), 0);
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
bool MakeCertificates(const std::string& dir) {
  const std::string script =
      "set -e; cd '" + dir +
      "'\n"
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=aura-test-ca "
      "  -keyout ca.key -out ca.pem 2>/dev/null\n"
      "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' > ext\n"
      "for n in server client; do\n"
      "  openssl req -newkey rsa:2048 -nodes -subj /CN=$n -keyout $n.key -out $n.csr 2>/dev/null\n"
      "  openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "    -extfile ext -out $n.pem 2>/dev/null\n"
      "done\n";
  test_harness::SubprocessOptions o;
  o.path = "/bin/sh";
  o.args = {"-c", script};
  o.stdout_mode = test_harness::OutputMode::kDiscard;
  o.stderr_mode = test_harness::OutputMode::kInherit;
  auto p = test_harness::Subprocess::Start(o);
  if (!p.ok()) return false;
  auto st = (*p)->Wait(seconds(60));
  return st.ok() && st->ok();
}

TEST(HaTest, TlsWithClientCertificates) {
  SKIP_WITHOUT_ETCD();
  e2e::Workspace certs;
  ASSERT_TRUE(MakeCertificates(certs.dir()));
  HaEnvOptions o;
  o.controllers = 1;
  o.etcd.members = 1;
  o.etcd.cert_file = certs.dir() + "/server.pem";
  o.etcd.key_file = certs.dir() + "/server.key";
  o.etcd.ca_file = certs.dir() + "/ca.pem";
  auto env = StartEnv(o);
  ASSERT_NE(env, nullptr);
  env->ws().WriteSpecs("a.yaml", "tls", 1);
  const std::vector<std::string> tls = {"--etcd-ca",   certs.dir() + "/ca.pem",
                                        "--etcd-cert", certs.dir() + "/client.pem",
                                        "--etcd-key",  certs.dir() + "/client.key"};
  ASSERT_TRUE(env->StartController(0, tls).ok());
  ASSERT_EQ(env->AwaitLeader(LeaseTtl() + seconds(8)), 0) << env->Diagnostics();
  std::string why;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<std::string> args = {"status", "--output", "json"};
        args.insert(args.end(), tls.begin(), tls.end());
        RunResult r = env->Cli(args);
        why = r.out + r.err;
        return r.exit.ok() && r.out.find("\"aura_id\": \"\"") == std::string::npos &&
               r.out.find("e2e/tls-0") != std::string::npos;
      },
      seconds(30)))
      << why << env->Diagnostics();
  std::vector<std::string> get = {"credentials", "get", "e2e/tls-0"};
  get.insert(get.end(), tls.begin(), tls.end());
  RunResult creds = env->Cli(get);
  EXPECT_TRUE(creds.exit.ok()) << creds.out << creds.err;
  EXPECT_NE(creds.out.find("\"password\""), std::string::npos);
  // Without the client certificate etcd refuses the handshake.
  RunResult anonymous = env->Cli({"status", "--etcd-ca", certs.dir() + "/ca.pem"});
  EXPECT_FALSE(anonymous.exit.ok()) << anonymous.out;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  const size_t i =
      std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

TEST(HaFailover, Times) {
  SKIP_WITHOUT_ETCD();
  const char* runs_env = std::getenv("AURA_HA_FAILOVER_RUNS");
  if (runs_env == nullptr) GTEST_SKIP() << "set AURA_HA_FAILOVER_RUNS (scripts/failover.sh)";
  const int runs = std::max(1, std::atoi(runs_env));
  auto env = StartEnv();
  ASSERT_NE(env, nullptr);
  env->ws().WriteSpecs("a.yaml", "fo", 3);
  ASSERT_EQ(StartBoth(*env), 0);
  std::string why;
  ASSERT_TRUE(AwaitConverged(*env, "fo", 3, seconds(30), &why)) << why;

  std::mt19937 rng(20271);
  for (const int sig : {SIGKILL, SIGTERM}) {
    std::vector<double> led, ready;
    int leader = env->AwaitLeader(LeaseTtl() + seconds(8));
    for (int r = 0; r < runs; ++r) {
      ASSERT_GE(leader, 0) << env->Diagnostics();
      const int standby = 1 - leader;
      // At a random moment of the leader's renewal cycle (a freshly elected leader has a whole
      // lease left: always killing one at once would measure only the worst case).
      std::this_thread::sleep_for(std::chrono::milliseconds(
          std::uniform_int_distribution<int>(0, static_cast<int>(LeaseTtl().count() * 1000))(rng)));
      const auto t0 = Clock::now();
      if (sig == SIGKILL) {
        env->KillController(leader);
      } else {
        (void)env->controller(leader).process->Terminate();
      }
      double t_led = -1;
      ASSERT_TRUE(WaitFor(
          [&] {
            std::string body;
            const int code = env->controller(standby).Ready(&body);
            if (t_led < 0 && body.rfind("role: leader", 0) == 0) t_led = Since(t0);
            return code == 200 && body.rfind("role: leader", 0) == 0;
          },
          seconds(30), milliseconds(10)))
          << env->Diagnostics();
      led.push_back(t_led);
      ready.push_back(Since(t0));
      if (sig == SIGTERM) (void)env->controller(leader).process->Wait(seconds(10));
      ASSERT_TRUE(env->StartController(leader).ok());
      ASSERT_TRUE(WaitFor([&] { return env->controller(leader).IsStandby(); }, seconds(10)));
      leader = standby;
    }
    const char* name = sig == SIGKILL ? "SIGKILL" : "SIGTERM";
    std::printf(
        "[ HA ] failover after %s, %d runs, lease %llds, resync %llds: standby elected "
        "median %.2fs worst %.2fs; ready (first LIST done) median %.2fs worst %.2fs\n",
        name, runs, static_cast<long long>(LeaseTtl().count()),
        static_cast<long long>(kResync.count()), Percentile(led, 0.5),
        *std::max_element(led.begin(), led.end()), Percentile(ready, 0.5),
        *std::max_element(ready.begin(), ready.end()));
    std::fflush(stdout);
  }
  EXPECT_EQ(env->Duplicates(), 0);
}

}  // namespace
}  // namespace aura::ha_test
