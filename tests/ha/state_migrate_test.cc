// `aura-controller state migrate --to etcd` (issue 20, docs/OPERATIONS.md "Moving a file journal
// to etcd") with the real binaries: a file state made by `apply --wait` against the simulator
// (plus an earlier instance's record, as history), copied into a real one-member etcd.
//  - Refused while the file journal is locked (a controller runs on it).
//  - Copies every journal entry, the binding and every credentials record (current and
//    history); the files are unchanged; `status`, `credentials get [--all]` and `plan` on the
//    etcd state see the same thing (plan: no change, so nothing would be created again); the
//    leader key it held is gone.
//  - Refused when the prefix already holds a state, which stays as it was.
// Skipped (with a message) when etcd is not installed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pkg/base/clock.h"
#include "pkg/store/file_journal.h"
#include "tests/e2e/e2e_util.h"
#include "tests/ha/etcd_cluster.h"
#include "tests/harness/simulator_process.h"

namespace aura::ha_test {
namespace {

using std::chrono::seconds;
namespace fs = std::filesystem;

#define SKIP_WITHOUT_ETCD()                                                                    \
  if (::access("/usr/bin/etcd", X_OK) != 0 || ::access("/usr/bin/etcdctl", X_OK) != 0) {       \
    GTEST_SKIP() << "etcd-server and etcd-client are not installed (scripts/install-deps.sh)"; \
  }

// Every regular file under `dir` (but the journal's lock file), path -> content.
std::map<std::string, std::string> Files(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& f : fs::recursive_directory_iterator(dir)) {
    if (!f.is_regular_file()) continue;
    const std::string p = f.path().string();
    if (p.size() >= 5 && p.compare(p.size() - 5, 5, ".lock") == 0) continue;
    out[p] = e2e::ReadFile(p);
  }
  return out;
}

TEST(StateMigrateTest, CopiesTheFileStateIntoAnEmptyEtcdPrefix) {
  SKIP_WITHOUT_ETCD();
  auto sim = test_harness::SimulatorProcess::Start({"--create-seconds", "0.2"});
  ASSERT_TRUE(sim.ok()) << sim.status();
  EtcdClusterOptions eo;
  eo.members = 1;
  auto etcd = EtcdCluster::Start(eo);
  ASSERT_TRUE(etcd.ok()) << etcd.status();

  // A file state with three instances.
  e2e::Workspace ws;
  ws.WriteSpecs("mig.yaml", "mig", 3);
  const auto flags = e2e::ControllerFlags(**sim, ws);
  std::vector<std::string> apply = {"apply", "--wait", "--timeout", "60s"};
  apply.insert(apply.end(), flags.begin(), flags.end());
  auto applied = e2e::RunCli(apply, seconds(90));
  ASSERT_EQ(applied.exit.code, 0) << applied.out << applied.err;
  // History: a record of an earlier instance of e2e/mig-0 (replaced since).
  ws.WriteFile("credentials/by_id/0ld1d000.json",
               nlohmann::json{{"connection_url", "neo4j+s://0ld1d000.databases.neo4j.io"},
                              {"format", "aura-controller credentials"},
                              {"instance_id", "0ld1d000"},
                              {"key", "e2e/mig-0"},
                              {"password", "earlier-password-0"},
                              {"saved_at", "2026-01-01T00:00:00.000000000Z"},
                              {"username", "neo4j"},
                              {"version", 1}}
                   .dump());
  ::chmod((ws.credentials() + "/by_id/0ld1d000.json").c_str(), 0600);
  const auto before = Files(ws.dir() + "/state");
  const auto creds_before = Files(ws.credentials());
  ws.WriteFile("credentials.key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n");
  const std::string key_file = ws.dir() + "/credentials.key";
  ::chmod(key_file.c_str(), 0600);

  const std::string url = (*etcd)->StateUrl("/migrated");
  std::vector<std::string> migrate = {"state",
                                      "migrate",
                                      "--to",
                                      "etcd",
                                      "--etcd",
                                      url,
                                      "--credentials-key-file",
                                      key_file,
                                      "--state",
                                      ws.state(),
                                      "--credentials-dir",
                                      ws.credentials()};
  auto with_etcd = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--state", url, "--credentials-key-file", key_file});
    return e2e::RunCli(args, seconds(30));
  };

  {  // A controller holds the file journal: refused, nothing written to etcd.
    store::FileJournalOptions hold_only;
    hold_only.compact_on_open = false;  // the files must stay as `before` has them
    auto locked = store::FileJournal::Open(ws.state(), &base::RealClock(), hold_only);
    ASSERT_TRUE(locked.ok()) << locked.status();
    auto r = e2e::RunCli(migrate, seconds(30));
    EXPECT_EQ(r.exit.code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("stop the controller"), std::string::npos) << r.err;
    auto dump = (*etcd)->Dump("/migrated/");
    ASSERT_TRUE(dump.ok()) << dump.status();
    EXPECT_TRUE(dump->empty());
  }

  auto r = e2e::RunCli(migrate, seconds(30));
  ASSERT_EQ(r.exit.code, 0) << r.out << r.err;
  std::cout << r.out;  // what it copied (no password)
  EXPECT_NE(r.out.find("3 journal entries"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 credentials records by key"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4 by instance id"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("journal e2e/mig-0: instance "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(+1 earlier)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("earlier-password-0"), std::string::npos) << "a password was printed";

  // The files are as they were.
  EXPECT_EQ(Files(ws.dir() + "/state"), before);
  EXPECT_EQ(Files(ws.credentials()), creds_before);

  // etcd holds the same state, sealed; the leader key it held is gone.
  auto dump = (*etcd)->Dump("/migrated/");
  ASSERT_TRUE(dump.ok()) << dump.status();
  std::map<std::string, std::string> kv(dump->begin(), dump->end());
  EXPECT_EQ(kv.count("/migrated/leader"), 0u);
  EXPECT_EQ(kv.count("/migrated/binding"), 1u);
  for (int i = 0; i < 3; ++i) {
    const std::string key = "e2e/mig-" + std::to_string(i);
    EXPECT_EQ(kv.count("/migrated/journal/" + key), 1u) << key;
    ASSERT_EQ(kv.count("/migrated/credentials/" + key), 1u) << key;
    EXPECT_NE(kv["/migrated/credentials/" + key].find("AES-256-GCM"), std::string::npos);
    // The same password through the etcd backend as in the file.
    auto file = nlohmann::json::parse(e2e::ReadFile(ws.credentials() + "/" + key + ".json"));
    auto got = with_etcd({"credentials", "get", key});
    ASSERT_EQ(got.exit.code, 0) << got.out << got.err;
    auto j = nlohmann::json::parse(got.out);
    EXPECT_EQ(j["password"], file["password"]) << key;
    EXPECT_EQ(j["instance_id"], file["instance_id"]) << key;
  }
  auto all = with_etcd({"credentials", "get", "e2e/mig-0", "--all"});
  ASSERT_EQ(all.exit.code, 0) << all.out << all.err;
  auto history = nlohmann::json::parse(all.out);
  ASSERT_EQ(history.size(), 2u) << all.out;
  EXPECT_EQ(history[1]["password"], "earlier-password-0");

  auto status = with_etcd({"status", "--output", "json"});
  ASSERT_EQ(status.exit.code, 0) << status.out << status.err;
  EXPECT_EQ(nlohmann::json::parse(status.out)["specs"].size(), 3u) << status.out;

  // plan on the etcd state: the same account (binding copied), nothing to create.
  std::vector<std::string> plan = {"plan"};
  plan.insert(plan.end(), flags.begin(), flags.end());
  auto planned = with_etcd(plan);
  EXPECT_EQ(planned.exit.code, 0) << planned.out << planned.err;

  // Again: the prefix holds a state now; refused, and it stays as it was.
  auto again = e2e::RunCli(migrate, seconds(30));
  EXPECT_EQ(again.exit.code, 1) << again.out << again.err;
  EXPECT_NE(again.err.find("already holds a state"), std::string::npos) << again.err;
  auto after = (*etcd)->Dump("/migrated/");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, *dump);
}

}  // namespace
}  // namespace aura::ha_test
