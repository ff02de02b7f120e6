// End-to-end tests of the operator commands (issue 22): the real aura-controller binary against
// the real simulator over 127.0.0.1, in both simulator profiles.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/e2e/e2e_util.h"
#include "tests/harness/http.h"

namespace aura::e2e {
namespace {

using std::chrono::seconds;
using test_harness::SimulatorProcess;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecondTenant[] = "0b7c2a51-3d4e-4f60-8a9b-c0d1e2f3a4b5";

std::unique_ptr<SimulatorProcess> StartSim(std::vector<std::string> extra = {}) {
  return StartSimulator(std::move(extra));
}

// Only the flags that reach the API: tenants takes no spec paths.
std::vector<std::string> ApiFlags(const SimulatorProcess& sim, const Workspace& ws) {
  return {"--api-url", sim.api_url(),       "--token-url", sim.token_url(), "--state",
          ws.state(),  "--request-timeout", "3s",          "--log-format",  "json"};
}

class TenantsE2E : public ::testing::TestWithParam<std::string> {};

TEST_P(TenantsE2E, ListsEveryTenantAndItsConfigurations) {
  auto sim = StartSim({"--profile", GetParam(), "--tenant",
                       std::string(test_harness::kSimTenantId) + "=Main", "--tenant",
                       std::string(kSecondTenant) + "=Staging"});
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  CliResult table = RunCli(Args({"tenants"}, ApiFlags(*sim, ws)), seconds(30));
  ASSERT_EQ(table.exit.code, 0) << table.out << table.err;
  EXPECT_THAT(table.out,
              HasSubstr(std::string("TENANT ") + test_harness::kSimTenantId + "  \"Main\""));
  EXPECT_THAT(table.out, HasSubstr(std::string("TENANT ") + kSecondTenant + "  \"Staging\""));
  EXPECT_THAT(table.out, ContainsRegex("gcp +europe-west1 +free-db +5,4 +1GB/2GB\n"));
  EXPECT_THAT(table.out,
              ContainsRegex("aws +us-east-1 +professional-db +5,4 +1GB/2GB 2GB/4GB 4GB/8GB"));
  EXPECT_THAT(table.out, HasSubstr("2 tenant(s)"));

  CliResult one =
      RunCli(Args({"tenants", kSecondTenant, "--output", "json"}, ApiFlags(*sim, ws)), seconds(30));
  ASSERT_EQ(one.exit.code, 0) << one.out << one.err;
  auto j = nlohmann::json::parse(one.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << one.out;
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["id"], kSecondTenant);
  EXPECT_EQ(j[0]["name"], "Staging");
  bool found = false;
  for (const auto& ic : j[0]["instance_configurations"]) {
    found |= ic["type"] == "business-critical" && ic["region"] == "eastus" &&
             ic["memory"] == "512GB" && ic["version"] == "5";
  }
  EXPECT_TRUE(found) << one.out.substr(0, 2000);

  // Only GETs (and the token) were sent.
  auto stats = sim->Stats();
  ASSERT_TRUE(stats.ok());
  for (const auto& [route, codes] : (*stats)["requests"].items()) {
    EXPECT_TRUE(route.rfind("GET ", 0) == 0 || route == "POST /oauth/token") << route;
  }
}

TEST_P(TenantsE2E, UnknownTenantFailsNamingIt) {
  auto sim = StartSim({"--profile", GetParam()});
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  CliResult r = RunCli(
      Args({"tenants", "00000000-0000-4000-8000-000000000000"}, ApiFlags(*sim, ws)), seconds(30));
  EXPECT_EQ(r.exit.code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("GET /tenants/00000000-0000-4000-8000-000000000000"));

  CliResult usage = RunCli(Args({"tenants", "a", "b"}, ApiFlags(*sim, ws)), seconds(30));
  EXPECT_EQ(usage.exit.code, 1);
  EXPECT_THAT(usage.err, HasSubstr("usage: aura-controller tenants [TENANT-ID]"));
}

INSTANTIATE_TEST_SUITE_P(Profiles, TenantsE2E, ::testing::Values("strict", "real"));

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string InstanceSpec(const std::string& name, const std::string& extra = "") {
  return "---\napiVersion: aura.neo4j.io/v1alpha1\nkind: AuraInstance\nmetadata:\n  name: " + name +
         "\n  namespace: e2e\nspec:\n  tenantId: " + test_harness::kSimTenantId +
         "\n  cloudProvider: gcp\n  region: europe-west1\n  type: professional-db\n  memory: "
         "1GB\n" +
         extra;
}

// Where operator commands record their operations beside the file journal.
std::string OperationsDir(const Workspace& ws) {
  const std::string state = ws.state();
  return state.substr(0, state.size() - std::string(".json").size()) + ".operations";
}

std::unique_ptr<SimulatorProcess> StartFastSim(const std::string& profile) {
  return StartSim({"--profile", profile, "--create-seconds", "0.3", "--update-seconds", "0.3",
                   "--pause-seconds", "0.3", "--resume-seconds", "0.3", "--destroy-seconds", "0.3",
                   "--restore-seconds", "0.3", "--snapshot-seconds", "0.3", "--rate-limit",
                   "1000"});
}

class CloneE2E : public ::testing::TestWithParam<std::string> {};

TEST_P(CloneE2E, CloneOfAnotherSpecIsCreatedFromItsInstanceOnceAndOnlyAtCreate) {
  auto sim = StartFastSim(GetParam());
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteFile("specs/prod.yaml", InstanceSpec("prod"));
  ws.WriteFile("specs/clone.yaml", InstanceSpec("clone", "  source:\n    instance: prod\n"));
  const auto flags = ControllerFlags(*sim, ws);

  CliResult valid = RunCli({"validate", ws.specs()}, seconds(20));
  ASSERT_EQ(valid.exit.code, 0) << valid.out;

  CliResult apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;

  auto instances = sim->Instances();
  ASSERT_TRUE(instances.ok());
  std::string prod_id, clone_source;
  int count = 0;
  for (const auto& i : (*instances)["instances"]) {
    if (i.value("deleted", false)) continue;
    ++count;
    if (i["name"] == "prod") prod_id = i["id"];
    if (i["name"] == "clone") clone_source = i.value("source_instance_id", "");
  }
  EXPECT_EQ(count, 2) << instances->dump();
  ASSERT_FALSE(prod_id.empty());
  EXPECT_EQ(clone_source, prod_id) << instances->dump();
  // The clone's one-time password went to the credentials store like any create's.
  EXPECT_EQ(ws.Passwords().size(), 2u);
  EXPECT_THAT(apply.out + apply.err, Not(HasSubstr(ws.Passwords()[0])));

  // Changing the source afterwards does nothing, and plan says so.
  ws.WriteFile(
      "specs/clone.yaml",
      InstanceSpec("clone", "  source:\n    instanceId: " + prod_id +
                                "\n    snapshotId: 3e5e6e27-bf0a-4898-abb8-5f3050cac418\n"));
  CliResult plan = RunCli(Args({"plan"}, flags), seconds(30));
  EXPECT_EQ(plan.exit.code, 0) << plan.out << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("is used only at create: no effect on the existing instance"));
  EXPECT_EQ((*sim->Stats())["post_instances"], 2);
}

TEST_P(CloneE2E, MissingSourceInstanceIsReportedByPlanAndNeverPosted) {
  auto sim = StartFastSim(GetParam());
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteFile("specs/clone.yaml", InstanceSpec("clone", "  source:\n    instanceId: deadbeef\n"));
  const auto flags = ControllerFlags(*sim, ws);
  CliResult plan = RunCli(Args({"plan"}, flags), seconds(30));
  EXPECT_EQ(plan.exit.code, 1) << plan.out << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("spec.source.instanceId: instance deadbeef not found"));
  CliResult apply = RunCli(Args({"apply", "--wait", "--timeout", "20s"}, flags), seconds(40));
  EXPECT_EQ(apply.exit.code, 1) << apply.out << apply.err;
  EXPECT_EQ((*sim->Stats())["post_instances"], 0);
}

INSTANTIATE_TEST_SUITE_P(Profiles, CloneE2E, ::testing::Values("strict", "real"));

class UpgradeE2E : public ::testing::TestWithParam<std::string> {};

TEST_P(UpgradeE2E, ProfessionalToBusinessCriticalUsesTheUpgradeEndpointWithTheResize) {
  auto sim = StartFastSim(GetParam());
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteFile("specs/orders.yaml", InstanceSpec("orders"));
  const auto flags = ControllerFlags(*sim, ws);
  CliResult apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;

  ws.WriteFile("specs/orders.yaml",
               Replace(InstanceSpec("orders"), "type: professional-db\n  memory: 1GB",
                       "type: business-critical\n  memory: 2GB"));
  CliResult plan = RunCli(Args({"plan"}, flags), seconds(30));
  EXPECT_EQ(plan.exit.code, 2) << plan.out << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("upgrade"));
  EXPECT_THAT(plan.out, HasSubstr("type professional-db -> business-critical (upgrade), memory "
                                  "1GB -> 2GB, storage 2GB -> 4GB"));

  apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  auto instances = sim->Instances();
  ASSERT_TRUE(instances.ok());
  ASSERT_EQ((*instances)["instances"].size(), 1u);
  const auto& i = (*instances)["instances"][0];
  EXPECT_EQ(i["type"], "business-critical") << i.dump();
  EXPECT_EQ(i["memory"], "2GB");
  auto stats = sim->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)["requests"]["POST /v1/instances/{instanceId}/upgrade"]["200"], 1)
      << stats->dump();
  EXPECT_FALSE((*stats)["requests"].contains("PATCH /v1/instances/{instanceId}")) << stats->dump();

  CliResult again = RunCli(Args({"plan"}, flags), seconds(30));
  EXPECT_EQ(again.exit.code, 0) << again.out << again.err;

  // Any other type change stays refused, naming the reason; nothing is sent.
  ws.WriteFile("specs/orders.yaml",
               Replace(InstanceSpec("orders"), "type: professional-db\n  memory: 1GB",
                       "type: enterprise-db\n  memory: 2GB"));
  CliResult refused = RunCli(Args({"plan"}, flags), seconds(30));
  EXPECT_THAT(refused.out, HasSubstr("Aura cannot change it in place (only professional-db to "
                                     "business-critical, by an upgrade)"));
}

INSTANTIATE_TEST_SUITE_P(Profiles, UpgradeE2E, ::testing::Values("strict", "real"));

class SecondariesE2E : public ::testing::TestWithParam<std::string> {};

TEST_P(SecondariesE2E, SetByPatchOnceRunningAndChangedLater) {
  auto sim = StartFastSim(GetParam());
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  auto spec = [](int n) {
    return Replace(InstanceSpec("vdc", "  secondariesCount: " + std::to_string(n) + "\n"),
                   "type: professional-db\n  memory: 1GB", "type: enterprise-db\n  memory: 2GB");
  };
  ws.WriteFile("specs/vdc.yaml", spec(2));
  const auto flags = ControllerFlags(*sim, ws);
  CliResult apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  auto secondaries = [&] {
    auto instances = sim->Instances();
    return instances.ok() && (*instances)["instances"].size() == 1
               ? (*instances)["instances"][0].value("secondaries_count", -1)
               : -2;
  };
  EXPECT_EQ(secondaries(), 2);

  ws.WriteFile("specs/vdc.yaml", spec(1));
  CliResult plan = RunCli(Args({"plan"}, flags), seconds(30));
  EXPECT_EQ(plan.exit.code, 2) << plan.out << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("secondariesCount 2 -> 1"));
  apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  EXPECT_EQ(secondaries(), 1);
  EXPECT_EQ(RunCli(Args({"plan"}, flags), seconds(30)).exit.code, 0);
}

TEST(SecondariesValidateE2E, RefusedForOtherTypesNamingFileLineAndRule) {
  Workspace ws;
  ws.WriteFile("specs/pro.yaml", InstanceSpec("pro", "  secondariesCount: 2\n"));
  CliResult r = RunCli({"validate", ws.specs()}, seconds(20));
  EXPECT_EQ(r.exit.code, 1);
  EXPECT_THAT(r.out, HasSubstr("pro.yaml:13:21: spec.secondariesCount: found \"2\" for type "
                               "\"professional-db\"; allowed only for type enterprise-db"));
}

INSTANTIATE_TEST_SUITE_P(Profiles, SecondariesE2E, ::testing::Values("strict", "real"));

class SnapshotE2E : public ::testing::TestWithParam<std::string> {};

TEST_P(SnapshotE2E, CreateListAndRestoreBySpecKey) {
  auto sim = StartFastSim(GetParam());
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteFile("specs/orders.yaml", InstanceSpec("orders"));
  const auto flags = ControllerFlags(*sim, ws);
  CliResult apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  const auto api = ApiFlags(*sim, ws);
  const std::vector<std::string> fast = {"--poll-interval", "100ms",     "--poll-max",
                                         "200ms",           "--timeout", "30s"};
  std::vector<std::string> tail = api;
  tail.insert(tail.end(), fast.begin(), fast.end());

  CliResult created =
      RunCli(Args({"snapshot", "create", "e2e/orders", "--wait"}, tail), seconds(60));
  ASSERT_EQ(created.exit.code, 0) << created.out << created.err;
  EXPECT_THAT(created.out, HasSubstr("completed"));
  EXPECT_THAT(created.err, HasSubstr("InProgress"));  // progress while waiting

  CliResult list =
      RunCli(Args({"snapshot", "list", "e2e/orders", "--output", "json"}, tail), seconds(30));
  ASSERT_EQ(list.exit.code, 0) << list.out << list.err;
  auto j = nlohmann::json::parse(list.out, nullptr, false);
  ASSERT_TRUE(j.is_array() && !j.empty()) << list.out;
  std::string sid;
  for (const auto& snap : j) {
    if (snap["status"] == "Completed") sid = snap["snapshot_id"];
  }
  ASSERT_FALSE(sid.empty()) << list.out;
  CliResult table = RunCli(Args({"snapshot", "list", "e2e/orders"}, tail), seconds(30));
  EXPECT_THAT(table.out, HasSubstr(sid));

  // No terminal and no --yes: refused before any request.
  CliResult refused = RunCli(Args({"restore", "e2e/orders", "--snapshot", sid}, tail), seconds(30));
  EXPECT_EQ(refused.exit.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("refused: not on a terminal and --yes not given"));
  EXPECT_FALSE((*sim->Stats())["requests"].contains(
      "POST /v1/instances/{instanceId}/snapshots/{snapshotId}/restore"));

  CliResult restored =
      RunCli(Args({"restore", "e2e/orders", "--snapshot", sid, "--yes"}, tail), seconds(60));
  ASSERT_EQ(restored.exit.code, 0) << restored.out << restored.err;
  EXPECT_THAT(restored.out, HasSubstr("is running"));
  EXPECT_THAT(restored.err, HasSubstr("restoring"));
  EXPECT_EQ(
      (*sim->Stats())["requests"]["POST /v1/instances/{instanceId}/snapshots/{snapshotId}/restore"]
                     ["202"],
      1);

  // A key the journal does not know: named, nothing sent.
  CliResult unknown = RunCli(Args({"snapshot", "list", "e2e/nope"}, tail), seconds(30));
  EXPECT_EQ(unknown.exit.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("no instance known for e2e/nope"));
}

INSTANTIATE_TEST_SUITE_P(Profiles, SnapshotE2E, ::testing::Values("strict", "real"));

class OverwriteE2E : public ::testing::TestWithParam<std::string> {};

TEST_P(OverwriteE2E, FromAnotherSpecWithYesWaitingUntilRunning) {
  auto sim = StartFastSim(GetParam());
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteFile("specs/a.yaml", InstanceSpec("staging") + InstanceSpec("prod"));
  const auto flags = ControllerFlags(*sim, ws);
  CliResult apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  std::vector<std::string> tail = ApiFlags(*sim, ws);
  for (const char* f : {"--poll-interval", "100ms", "--poll-max", "200ms", "--timeout", "30s"}) {
    tail.push_back(f);
  }
  const std::string route = "POST /v1/instances/{instanceId}/overwrite";

  CliResult refused =
      RunCli(Args({"overwrite", "e2e/staging", "--from", "e2e/prod"}, tail), seconds(30));
  EXPECT_EQ(refused.exit.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("overwrite refused: not on a terminal and --yes not given"));
  CliResult itself = RunCli(
      Args({"overwrite", "e2e/staging", "--from", "e2e/staging", "--yes"}, tail), seconds(30));
  EXPECT_EQ(itself.exit.code, 1);
  CliResult unknown =
      RunCli(Args({"overwrite", "e2e/staging", "--from", "e2e/nope", "--yes"}, tail), seconds(30));
  EXPECT_EQ(unknown.exit.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("--from"));
  EXPECT_FALSE((*sim->Stats())["requests"].contains(route));

  CliResult done =
      RunCli(Args({"overwrite", "e2e/staging", "--from", "e2e/prod", "--yes"}, tail), seconds(60));
  ASSERT_EQ(done.exit.code, 0) << done.out << done.err;
  EXPECT_THAT(done.err, HasSubstr("overwriting"));
  EXPECT_THAT(done.out, HasSubstr("is running"));
  EXPECT_EQ((*sim->Stats())["requests"][route]["202"], 1);
  // The controller has nothing to do afterwards.
  EXPECT_EQ(RunCli(Args({"plan"}, flags), seconds(30)).exit.code, 0);
}

INSTANTIATE_TEST_SUITE_P(Profiles, OverwriteE2E, ::testing::Values("strict", "real"));

// A restore while `run` reconciles the same spec: the command reads the journal the controller
// holds locked, and the controller sends no write of its own while the instance is restoring
// or after (the restore is all the account sees).
// One spec applied on a fast simulator; `run` started on demand.
class OperationsWithRunE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = StartFastSim("strict");
    ASSERT_NE(sim_, nullptr);
    ws_.WriteFile("specs/orders.yaml", InstanceSpec("orders"));
    flags_ = ControllerFlags(*sim_, ws_);
    CliResult apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags_), seconds(90));
    ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  }
  void StartRunLoop() {
    auto port = test_harness::PickFreePort();
    ASSERT_TRUE(port.ok());
    auto run = StartRun(Args({"--metrics-addr", "127.0.0.1:" + std::to_string(*port)}, flags_),
                        ws_.dir() + "/run.log");
    ASSERT_TRUE(run.ok()) << run.status();
    run_ = std::move(*run);
  }
  std::unique_ptr<SimulatorProcess> sim_;
  Workspace ws_;
  std::vector<std::string> flags_;
  std::unique_ptr<test_harness::Subprocess> run_;
};

TEST_F(OperationsWithRunE2E, RestoreWhileTheControllerRunsIsNotFought) {
  auto& sim = sim_;
  auto& ws = ws_;
  std::vector<std::string> tail = ApiFlags(*sim, ws);
  for (const char* f : {"--poll-interval", "100ms", "--poll-max", "200ms", "--timeout", "30s"}) {
    tail.push_back(f);
  }
  CliResult snap = RunCli(Args({"snapshot", "create", "e2e/orders", "--wait"}, tail), seconds(60));
  ASSERT_EQ(snap.exit.code, 0) << snap.out << snap.err;
  const std::string sid = snap.out.substr(9, snap.out.find(' ', 9) - 9);  // "snapshot <id> of"

  StartRunLoop();
  ASSERT_NE(run_, nullptr);
  ASSERT_TRUE(test_harness::WaitFor([&] { return std::filesystem::exists(ws.state() + ".lock"); },
                                    seconds(20)));
  CliResult restored =
      RunCli(Args({"restore", "e2e/orders", "--snapshot", sid, "--yes"}, tail), seconds(60));
  EXPECT_EQ(restored.exit.code, 0) << restored.out << restored.err;
  // The command recorded the restore for the controller while it ran, and cleared it at the end.
  EXPECT_TRUE(std::filesystem::exists(OperationsDir(ws)));
  EXPECT_FALSE(std::filesystem::exists(OperationsDir(ws) + "/e2e.orders.json"));
  // The controller observes the restored instance again: a status snapshot written after the
  // restore ended, showing it running and Ready.
  char after[32];
  const std::time_t now = std::time(nullptr) + 1;
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(after, sizeof after, "%Y-%m-%dT%H:%M:%SZ", &tm);
  EXPECT_TRUE(test_harness::WaitFor(
      [&] {
        CliResult st = RunCli({"status", "--output", "json", "--state", ws.state()}, seconds(20));
        auto j = nlohmann::json::parse(st.out, nullptr, false);
        if (j.is_discarded() || !j.contains("observed_at") || j["specs"].size() != 1) return false;
        return j["observed_at"].get<std::string>() > std::string(after) &&
               j["specs"][0].value("aura_status", "") == "running";
      },
      seconds(30), std::chrono::milliseconds(200)));
  EXPECT_TRUE(run_->Stop(seconds(15)).ok());
  auto stats = sim->Stats();
  ASSERT_TRUE(stats.ok());
  for (const auto& [route, codes] : (*stats)["requests"].items()) {
    const bool write = route.rfind("GET ", 0) != 0 && route != "POST /oauth/token";
    if (!write) continue;
    EXPECT_TRUE(route == "POST /v1/instances" ||
                route == "POST /v1/instances/{instanceId}/snapshots" ||
                route == "POST /v1/instances/{instanceId}/snapshots/{snapshotId}/restore")
        << route << " " << codes.dump();
  }
}

// A change made in git while an operator's operation is recorded for the instance waits for it
// (the record written here as `restore` writes it), and goes out once the record is gone.
TEST_F(OperationsWithRunE2E, AChangeWaitsWhileAnOperationIsRecorded) {
  auto& sim = sim_;
  auto& ws = ws_;
  auto status = [&] {
    CliResult st = RunCli({"status", "--output", "json", "--state", ws.state()}, seconds(20));
    auto j = nlohmann::json::parse(st.out, nullptr, false);
    return j.is_object() && j["specs"].size() == 1 ? j["specs"][0] : nlohmann::json::object();
  };
  const std::string id = status().value("aura_id", "");
  ASSERT_FALSE(id.empty());
  std::filesystem::create_directories(OperationsDir(ws));
  const std::string record = OperationsDir(ws) + "/e2e.orders.json";
  ws.WriteFile(record.substr(ws.dir().size() + 1),
               nlohmann::json{{"key", "e2e/orders"},
                              {"instance_id", id},
                              {"operation", "restore"},
                              {"detail", "to snapshot s1"},
                              {"started", "2026-01-01T00:00:00Z"},
                              {"until", "2099-01-01T00:00:00Z"}}
                   .dump());
  StartRunLoop();
  ASSERT_NE(run_, nullptr);
  ws.WriteFile("specs/orders.yaml",
               Replace(InstanceSpec("orders"), "memory: 1GB", "memory: 2GB\n  storage: 4GB"));
  EXPECT_TRUE(test_harness::WaitFor(
      [&] {
        return status().value("message", "").find("an operator's restore of instance " + id) !=
               std::string::npos;
      },
      seconds(30), std::chrono::milliseconds(200)))
      << status().dump();
  auto before = sim->Stats();
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE((*before)["requests"].contains("PATCH /v1/instances/{instanceId}"))
      << (*before)["requests"].dump();

  std::filesystem::remove(record);
  EXPECT_TRUE(test_harness::WaitFor(
      [&] {
        auto inst = sim->Instances();
        return inst.ok() && (*inst)["instances"][0].value("memory", "") == "2GB";
      },
      seconds(30), std::chrono::milliseconds(200)));
  EXPECT_TRUE(run_->Stop(seconds(15)).ok());
}

class CustomerManagedKeyE2E : public ::testing::TestWithParam<std::string> {};

TEST_P(CustomerManagedKeyE2E, SentAtCreateAndAChangeIsRefusedByPlan) {
  auto sim = StartFastSim(GetParam());
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  auto spec = [](const std::string& key) {
    return Replace(InstanceSpec("vault", "  customerManagedKeyId: " + key + "\n"),
                   "type: professional-db\n  memory: 1GB", "type: enterprise-db\n  memory: 2GB");
  };
  // The simulator, like Aura, encrypts only with a ready key of the tenant: make one first.
  auto token = sim->Token();
  ASSERT_TRUE(token.ok()) << token.status();
  const nlohmann::json key_body = {{"name", "Ops Key"},
                                   {"key_id", "projects/p/keys/k"},
                                   {"cloud_provider", "gcp"},
                                   {"region", "europe-west1"},
                                   {"instance_type", "enterprise-db"},
                                   {"tenant_id", test_harness::kSimTenantId}};
  auto made = test_harness::Http(
      "POST", sim->api_url() + "/customer-managed-keys", key_body.dump(),
      {{"Authorization", "Bearer " + *token}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(made.ok()) << made.status();
  ASSERT_EQ(made->status, 202) << made->body;
  const std::string key1 = made->json["data"].value("id", "");
  ASSERT_TRUE(test_harness::WaitFor(
      [&] {
        auto got = test_harness::Http("GET", sim->api_url() + "/customer-managed-keys/" + key1, "",
                                      {{"Authorization", "Bearer " + *token}});
        return got.ok() && got->json.is_object() &&
               got->json["data"].value("status", "") == "ready";
      },
      std::chrono::seconds(10), std::chrono::milliseconds(50)));
  ws.WriteFile("specs/vault.yaml", spec(key1));
  const auto flags = ControllerFlags(*sim, ws);
  CliResult apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  EXPECT_EQ(RunCli(Args({"plan"}, flags), seconds(30)).exit.code, 0);
  ws.WriteFile("specs/vault.yaml", spec("key-2"));
  CliResult plan = RunCli(Args({"plan"}, flags), seconds(30));
  EXPECT_EQ(plan.exit.code, 1) << plan.out << plan.err;
  EXPECT_THAT(plan.out,
              HasSubstr("spec.customerManagedKeyId changed from \"" + key1 + "\" to \"key-2\""));
}

INSTANTIATE_TEST_SUITE_P(Profiles, CustomerManagedKeyE2E, ::testing::Values("strict", "real"));

}  // namespace
}  // namespace aura::e2e
