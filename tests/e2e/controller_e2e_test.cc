// End-to-end tests of every aura-controller subcommand: the real binary against the real
// simulator over 127.0.0.1 (issue "aura-controller binary").
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/e2e/e2e_util.h"
#include "tests/harness/http.h"

namespace aura::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test_harness::SimulatorProcess;
using test_harness::WaitFor;
using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<SimulatorProcess> StartSim(std::vector<std::string> extra = {}) {
  std::vector<std::string> flags = {"--create-seconds",  "0.5", "--pause-seconds",  "0.3",
                                    "--resume-seconds",  "0.3", "--update-seconds", "0.3",
                                    "--destroy-seconds", "0.3"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return StartSimulator(std::move(flags));
}

// Every request the simulator received that changes the account.
int WritesSeen(const SimulatorProcess& sim) {
  auto stats = sim.Stats();
  if (!stats.ok()) return -1;
  int writes = 0;
  for (const auto& [route, codes] : (*stats)["requests"].items()) {
    const bool write = route.rfind("GET ", 0) != 0 && route != "POST /oauth/token";
    if (!write) continue;
    for (const auto& [code, n] : codes.items()) writes += n.get<int>();
  }
  return writes;
}

nlohmann::json StatusJson(const SimulatorProcess& sim, const Workspace& ws) {
  CliResult r = RunCli(Args({"status", "--output", "json"}, {"--state", ws.state()}), seconds(20));
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  (void)sim;
  return j.is_discarded() ? nlohmann::json::object() : j;
}

bool AllReady(const nlohmann::json& status, size_t n) {
  if (!status.contains("specs") || status["specs"].size() != n) return false;
  for (const auto& s : status["specs"]) {
    bool ready = false;
    for (const auto& c : s["conditions"]) {
      if (c["type"] == "Ready") ready = c["status"].get<bool>();
    }
    if (!ready) return false;
  }
  return true;
}

std::string Scrape(int port, const std::string& path, int* code = nullptr) {
  auto r = test_harness::Http("GET", "http://127.0.0.1:" + std::to_string(port) + path);
  if (!r.ok()) {
    if (code) *code = 0;
    return "";
  }
  if (code) *code = r->status;
  return r->body;
}

TEST(ValidateE2E, ExitCodesAndPreciseErrors) {
  Workspace ws;
  ws.WriteSpecs("good.yaml", "good", 2);
  CliResult ok = RunCli({"validate", ws.specs()}, seconds(20));
  EXPECT_EQ(ok.exit.code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("valid 2, invalid 0"));

  ws.WriteSpecs("bad.yaml", "bad", 1, "3GB");
  CliResult bad = RunCli({"validate", ws.specs()}, seconds(20));
  EXPECT_EQ(bad.exit.code, 1);
  EXPECT_THAT(bad.out, HasSubstr("bad.yaml:12:11: spec.memory: found \"3GB\""));
  EXPECT_THAT(bad.out, HasSubstr("valid 2, invalid 1"));

  CliResult none = RunCli({"validate"}, seconds(20));
  EXPECT_EQ(none.exit.code, 1);
}

// A team's first plan over an account that already has the instance: the adoption shows what
// it changes and that the password is unknown; an invalid spec is counted first; the header
// names the API; logs stay at warn on stderr outside a terminal.
TEST(PlanE2E, AdoptionShowsItsConsequencesErrorsComeFirstAndTheApiIsNamed) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Workspace before;
  before.WriteSpecs("a.yaml", "adopt", 1, "4GB");
  CliResult made = RunCli(
      Args({"apply", "--wait", "--timeout", "60s"}, ControllerFlags(*sim, before)), seconds(90));
  ASSERT_EQ(made.exit.code, 0) << made.out << made.err;
  EXPECT_THAT(made.out, HasSubstr("Applying to the Aura API at " + sim->api_url()));

  Workspace ws;  // a new state folder: the instance was not created here
  ws.WriteSpecs("a.yaml", "adopt", 1, "2GB");
  ws.WriteSpecs("bad.yaml", "bad", 1, "3GB");
  CliResult plan = RunCli(Args({"plan"}, ControllerFlags(*sim, ws)), seconds(30));
  EXPECT_EQ(plan.exit.code, 1) << plan.out << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("Aura API: " + sim->api_url() + "\n"));
  EXPECT_THAT(plan.out, HasSubstr("then memory 4GB -> 2GB, storage 8GB -> 4GB"));
  EXPECT_THAT(plan.out, HasSubstr("password: unknown, instance not created here"));
  EXPECT_THAT(plan.out, HasSubstr("Plan: 1 error, 1 adopt, 0 unchanged."));
  EXPECT_EQ(plan.err.find("\"level\":\"info\""), std::string::npos) << plan.err;
  EXPECT_EQ(WritesSeen(*sim), 1) << "only the first apply's create; plan writes nothing";

  // Asked for, the logs are there.
  CliResult verbose =
      RunCli(Args({"plan", "--log-level", "info"}, ControllerFlags(*sim, ws)), seconds(30));
  EXPECT_NE(verbose.err.find("\"level\":\"info\""), std::string::npos) << verbose.err;
}

TEST(StatusE2E, NoJournalSaysSoAndExits1) {
  Workspace ws;
  const std::string missing = ws.dir() + "/nowhere/journal.json";
  CliResult st = RunCli({"status", "--state", missing}, seconds(20));
  EXPECT_EQ(st.exit.code, 1) << st.out << st.err;
  EXPECT_THAT(st.err, HasSubstr("no journal at " + missing));
  EXPECT_FALSE(std::filesystem::exists(ws.dir() + "/nowhere")) << "status created nothing";
}

TEST(PlanE2E, ReadOnlyExitCodesBeforeAndAfterApply) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteSpecs("a.yaml", "plan", 3);
  const auto flags = ControllerFlags(*sim, ws);

  CliResult plan = RunCli(Args({"plan"}, flags), seconds(30));
  EXPECT_EQ(plan.exit.code, 2) << plan.out << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("Plan: 3 create, 0 unchanged."));
  EXPECT_EQ(WritesSeen(*sim), 0) << "plan sent a write";
  EXPECT_EQ((*sim->Stats())["post_instances"], 0);

  CliResult apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  EXPECT_THAT(apply.out, HasSubstr("converged"));

  CliResult again = RunCli(Args({"plan", "--output", "json"}, flags), seconds(30));
  EXPECT_EQ(again.exit.code, 0) << again.out << again.err;
  auto j = nlohmann::json::parse(again.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << again.out;
  EXPECT_EQ(j["changes"], false);
  EXPECT_EQ(j["specs"].size(), 3u);

  // A change shows up as a patch of just that field.
  ws.WriteSpecs("a.yaml", "plan", 3, "2GB");
  CliResult drift = RunCli(Args({"plan"}, flags), seconds(30));
  EXPECT_EQ(drift.exit.code, 2);
  EXPECT_THAT(drift.out, HasSubstr("memory 1GB -> 2GB"));
}

TEST(PlanE2E, BadCredentialsAreAClearErrorWithoutTheSecret) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteSpecs("a.yaml", "cred", 1);
  auto env = ControllerEnv();
  env["AURA_CLIENT_SECRET"] = "wrong-secret-value";
  CliResult r = RunCli(Args({"plan"}, ControllerFlags(*sim, ws)), seconds(30), env);
  EXPECT_EQ(r.exit.code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("401"));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("wrong-secret-value")));
  // No retry storm: a handful of token requests, not hundreds.
  EXPECT_LE((*sim->Stats())["requests"]["POST /oauth/token"]["401"].get<int>(), 3);

  auto no_secret = ControllerEnv();
  no_secret.erase("AURA_CLIENT_SECRET");
  CliResult missing = RunCli(Args({"plan"}, ControllerFlags(*sim, ws)), seconds(30), no_secret);
  EXPECT_EQ(missing.exit.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("AURA_CLIENT_SECRET"));
}

TEST(ApplyE2E, WaitConvergesStatusReportsAndCredentialsAreSafe) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteSpecs("a.yaml", "app", 3);
  ws.WriteFile("specs/paused.yaml",
               "apiVersion: aura.neo4j.io/v1alpha1\nkind: AuraInstance\nmetadata:\n  name: "
               "sleepy\n  namespace: e2e\nspec:\n  tenantId: " +
                   std::string(test_harness::kSimTenantId) +
                   "\n  cloudProvider: gcp\n  region: europe-west1\n  type: professional-db\n"
                   "  memory: 1GB\n  paused: true\n");
  CliResult apply =
      RunCli(Args({"apply", "--wait", "--timeout", "60s"}, ControllerFlags(*sim, ws)), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  EXPECT_THAT(apply.out, HasSubstr("e2e/app-0"));  // progress lines

  CliResult table = RunCli({"status", "--state", ws.state()}, seconds(20));
  EXPECT_EQ(table.exit.code, 0);
  EXPECT_THAT(table.out, HasSubstr("e2e/sleepy"));
  EXPECT_THAT(table.out, HasSubstr("Paused"));
  auto status = StatusJson(*sim, ws);
  EXPECT_TRUE(AllReady(status, 4)) << status.dump(2);

  auto inst = sim->Instances();
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ((*inst)["instances"].size(), 4u);
  EXPECT_EQ((*inst)["max_creations_per_name"], 1);

  EXPECT_EQ(ws.Passwords().size(), 4u);
  for (const char* name : {"app-0", "app-1", "app-2", "sleepy"}) {
    struct stat st {};
    const std::string path = ws.credentials() + "/e2e/" + name + ".json";
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
  }
  CliResult creds = RunCli(
      {"credentials", "get", "e2e/app-0", "--credentials-dir", ws.credentials()}, seconds(10));
  EXPECT_EQ(creds.exit.code, 0);
  EXPECT_THAT(creds.out, HasSubstr("\"password\""));

  // A second apply finds nothing to do and creates nothing.
  CliResult again = RunCli(Args({"apply"}, ControllerFlags(*sim, ws)), seconds(60));
  EXPECT_EQ(again.exit.code, 0);
  EXPECT_EQ((*sim->Stats())["post_instances"], 4);
}

TEST(ApplyE2E, SecondWriterOnTheSameJournalIsRefused) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteSpecs("a.yaml", "lock", 1);
  const int port = *test_harness::PickFreePort();
  auto run = StartRun(
      Args({"--metrics-addr", "127.0.0.1:" + std::to_string(port)}, ControllerFlags(*sim, ws)),
      ws.dir() + "/run.log");
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(ws.state() + ".lock"); }, seconds(20)));
  CliResult second = RunCli(Args({"apply"}, ControllerFlags(*sim, ws)), seconds(30));
  EXPECT_EQ(second.exit.code, 1);
  EXPECT_THAT(second.err, HasSubstr(ws.state()));
  EXPECT_TRUE((*run)->Stop(seconds(15)).ok());
}

// One wrong tenantId: plan, apply and run go on with the other tenants' specs and name the
// tenant, its specs and their files; plan and apply end with exit 1; run stays ready.
TEST(TenantE2E, AFailingTenantHoldsUpOnlyItsOwnSpecs) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteSpecs("good.yaml", "good", 2);
  const std::string wrong = "00000000-0000-4000-8000-00000000dead";
  ws.WriteFile("specs/wrong.yaml",
               "apiVersion: aura.neo4j.io/v1alpha1\nkind: AuraInstance\nmetadata:\n  name: "
               "lost\n  namespace: e2e\nspec:\n  tenantId: " +
                   wrong +
                   "\n  cloudProvider: gcp\n  region: europe-west1\n  type: professional-db\n"
                   "  memory: 1GB\n");
  const auto flags = ControllerFlags(*sim, ws);
  CliResult plan = RunCli(Args({"plan"}, flags), seconds(30));
  EXPECT_EQ(plan.exit.code, 1) << plan.out << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("tenant " + wrong + " fails"));
  EXPECT_THAT(plan.out, HasSubstr("wrong.yaml"));
  EXPECT_THAT(plan.out, HasSubstr("Plan: 1 error, 2 create, 0 unchanged."));

  CliResult apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  EXPECT_EQ(apply.exit.code, 1) << apply.out << apply.err;
  EXPECT_THAT(apply.err, HasSubstr("tenant " + wrong + " fails"));
  EXPECT_THAT(apply.err, HasSubstr("e2e/lost ("));
  EXPECT_EQ((*sim->Stats())["post_instances"], 2) << "the good tenant's specs were created";

  const int port = *test_harness::PickFreePort();
  const std::string log = ws.dir() + "/run.log";
  auto run = StartRun(Args({"--metrics-addr", "127.0.0.1:" + std::to_string(port)}, flags), log);
  ASSERT_TRUE(run.ok()) << run.status();
  int code = 0;
  std::string body;
  EXPECT_TRUE(WaitFor(
      [&] {
        body = Scrape(port, "/readyz", &code);
        return code == 200 && body.find("tenant " + wrong + " failing") != std::string::npos;
      },
      seconds(30)))
      << code << " " << body << ReadFile(log);
  EXPECT_TRUE((*run)->Stop(seconds(20)).ok());
}

// The API goes away during apply --wait: the progress says so with the last error, and the
// timeout names it, instead of silence until --timeout.
TEST(ApplyE2E, LosingTheApiDuringWaitIsSaidWithTheLastError) {
  auto sim = StartSim({"--create-seconds", "120"});
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteSpecs("a.yaml", "slow", 1);
  test_harness::SubprocessOptions o;
  o.path = ControllerBinary();
  o.args = Args({"apply", "--wait", "--timeout", "10s", "--unreachable-after", "2s"},
                ControllerFlags(*sim, ws));
  o.env = ControllerEnv();
  o.stdout_mode = test_harness::OutputMode::kPipe;
  o.stderr_mode = test_harness::OutputMode::kPipe;
  auto apply = test_harness::Subprocess::Start(o);
  ASSERT_TRUE(apply.ok()) << apply.status();
  ASSERT_TRUE(WaitFor([&] { return (*sim->Stats())["post_instances"] == 1; }, seconds(20)));
  ASSERT_TRUE(sim->Stop().ok());
  auto exit = (*apply)->Wait(seconds(60));
  ASSERT_TRUE(exit.ok()) << exit.status();
  const std::string out = (*apply)->Output(), err = (*apply)->ErrorOutput();
  EXPECT_EQ(exit->code, 1) << out << err;
  EXPECT_THAT(out, HasSubstr("API unreachable for "));
  EXPECT_THAT(out, HasSubstr(" s: "));
  EXPECT_THAT(err, HasSubstr("not converged before --timeout; the last Aura API error: "));
}

// A team with an existing account: import writes a spec per instance; plan on them right
// after changes nothing; a second import overwrites nothing.
TEST(ImportE2E, ImportedSpecsPlanNoChangeAndNothingIsOverwritten) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Workspace before;
  before.WriteSpecs("a.yaml", "Shop Orders", 1, "2GB");
  before.WriteSpecs("b.yaml", "vectors", 1, "4GB", "  vectorOptimized: true\n");
  before.WriteSpecs("c.yaml", "idle", 1, "1GB", "  paused: true\n");
  // metadata.name "Shop Orders-0" is not a valid name: give the Aura name through spec.name.
  before.WriteFile("specs/a.yaml",
                   "apiVersion: aura.neo4j.io/v1alpha1\nkind: AuraInstance\nmetadata:\n  name: "
                   "shop\n  namespace: e2e\nspec:\n  name: Shop Orders\n  tenantId: " +
                       std::string(test_harness::kSimTenantId) +
                       "\n  cloudProvider: gcp\n  region: europe-west1\n  type: "
                       "professional-db\n  memory: 2GB\n");
  CliResult made = RunCli(
      Args({"apply", "--wait", "--timeout", "60s"}, ControllerFlags(*sim, before)), seconds(90));
  ASSERT_EQ(made.exit.code, 0) << made.out << made.err;

  Workspace ws;
  const auto flags = ControllerFlags(*sim, ws);
  std::vector<std::string> api(flags.begin(), flags.begin() + 4);  // --api-url, --token-url
  auto import = [&] {
    return RunCli(Args({"import", "--tenant", test_harness::kSimTenantId, "--namespace", "team",
                        "--output-dir", ws.specs()},
                       api),
                  seconds(30));
  };
  CliResult imported = import();
  ASSERT_EQ(imported.exit.code, 0) << imported.out << imported.err;
  EXPECT_THAT(imported.out, HasSubstr("imported 3 instance(s)"));
  const std::string shop = ReadFile(ws.specs() + "/shop-orders.yaml");
  EXPECT_THAT(shop, HasSubstr("name: Shop Orders"));
  EXPECT_THAT(shop, HasSubstr("namespace: team"));
  EXPECT_THAT(shop, HasSubstr("adoption: IfExists"));
  EXPECT_THAT(shop, HasSubstr("deletionPolicy: Retain"));
  EXPECT_THAT(ReadFile(ws.specs() + "/vectors-0.yaml"), HasSubstr("vectorOptimized: true"));
  EXPECT_THAT(ReadFile(ws.specs() + "/idle-0.yaml"), HasSubstr("paused: true"));

  CliResult valid = RunCli({"validate", ws.specs()}, seconds(20));
  EXPECT_EQ(valid.exit.code, 0) << valid.out;
  CliResult plan = RunCli(Args({"plan"}, flags), seconds(30));
  EXPECT_EQ(plan.exit.code, 0) << plan.out << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("Plan: no changes, 3 adopt as specified, 0 unchanged."));

  const std::string edited = shop + "# edited by hand\n";
  ws.WriteFile("specs/shop-orders.yaml", edited);
  CliResult again = import();
  EXPECT_EQ(again.exit.code, 1);
  EXPECT_THAT(again.err, HasSubstr("already exist; nothing written"));
  EXPECT_EQ(ReadFile(ws.specs() + "/shop-orders.yaml"), edited);
  std::cout << "imported spec:\n" << shop;
}

TEST(RunE2E, MetricsHealthAndReadinessFollowTheApi) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteSpecs("a.yaml", "run", 2);
  const int port = *test_harness::PickFreePort();
  const std::string log = ws.dir() + "/run.log";
  auto run = StartRun(
      Args({"--metrics-addr", "127.0.0.1:" + std::to_string(port)}, ControllerFlags(*sim, ws)),
      log);
  ASSERT_TRUE(run.ok()) << run.status();
  int code = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        Scrape(port, "/readyz", &code);
        return code == 200;
      },
      seconds(30)))
      << ReadFile(log);
  Scrape(port, "/healthz", &code);
  EXPECT_EQ(code, 200);
  ASSERT_TRUE(WaitFor([&] { return AllReady(StatusJson(*sim, ws), 2); }, seconds(60)))
      << ReadFile(log);

  // Gauges follow within a spec-poll period.
  std::string metrics;
  EXPECT_TRUE(WaitFor(
      [&] {
        metrics = Scrape(port, "/metrics", &code);
        return metrics.find("aura_instances{state=\"in_sync\"} 2") != std::string::npos;
      },
      seconds(20)));
  EXPECT_EQ(code, 200);
  for (const char* family :
       {"aura_api_requests_total", "aura_api_request_duration_seconds", "aura_api_retries_total",
        "aura_api_throttled_total", "aura_ratelimit_wait_seconds",
        "aura_ratelimit_requests_in_window", "aura_ratelimit_paused", "aura_reconcile_total",
        "aura_reconcile_duration_seconds", "aura_workqueue_depth", "aura_instances",
        "aura_creates_total", "aura_adoptions_total", "aura_duplicate_instances",
        "aura_observation_staleness_seconds", "aura_token_refreshes_total", "aura_build_info"}) {
    EXPECT_THAT(metrics, HasSubstr(std::string("# TYPE ") + family)) << family;
  }
  EXPECT_NE(metrics.find("aura_creates_total{outcome=\"accepted\"} 2"), std::string::npos);
  // The Prometheus text format, checked by Prometheus' own tool.
  const std::string file = ws.dir() + "/scrape.prom";
  std::ofstream(file) << metrics;
  const std::string cmd = "promtool check metrics < " + file + " > " + file + ".out 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << ReadFile(file + ".out");

  // The API goes away: readiness drops; it comes back (same port, same state): ready again.
  const int sim_port = sim->port();
  ASSERT_TRUE(sim->Stop().ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        Scrape(port, "/readyz", &code);
        return code == 503;
      },
      seconds(30)));
  Scrape(port, "/healthz", &code);
  EXPECT_EQ(code, 200);  // alive, just not ready
  auto sim2 = StartSim({"--listen", "127.0.0.1:" + std::to_string(sim_port)});
  ASSERT_NE(sim2, nullptr);
  ASSERT_TRUE(WaitFor(
      [&] {
        Scrape(port, "/readyz", &code);
        return code == 200;
      },
      seconds(30)))
      << ReadFile(log);

  auto stopped = (*run)->Stop(seconds(20));
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
}

TEST(RunE2E, SigtermFinishesInFlightWorkAndExitsZero) {
  auto sim = StartSim({"--latency-ms", "100"});
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteSpecs("a.yaml", "sig", 6);
  const int port = *test_harness::PickFreePort();
  const std::string log = ws.dir() + "/run.log";
  auto run = StartRun(
      Args({"--metrics-addr", "127.0.0.1:" + std::to_string(port)}, ControllerFlags(*sim, ws)),
      log);
  ASSERT_TRUE(run.ok());
  // Mid-convergence: some creates sent, not all.
  ASSERT_TRUE(
      WaitFor([&] { return (*sim->Stats())["post_instances"].get<int>() >= 2; }, seconds(30)));
  ASSERT_TRUE((*run)->Terminate().ok());
  auto exit = (*run)->Wait(seconds(15));
  ASSERT_TRUE(exit.ok()) << "did not exit within 15 s after SIGTERM";
  EXPECT_TRUE(exit->ok()) << exit->ToString() << ReadFile(log);
  EXPECT_THAT(ReadFile(log), HasSubstr("aura-controller stopped"));
  // The journal is intact and the next run converges without a duplicate.
  CliResult apply =
      RunCli(Args({"apply", "--wait", "--timeout", "60s"}, ControllerFlags(*sim, ws)), seconds(90));
  EXPECT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  EXPECT_EQ((*sim->Instances())["max_creations_per_name"], 1);
  EXPECT_EQ(ws.Passwords().size(), 6u);
}

TEST(RunE2E, FollowsAConfigMapSymlinkSwap) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  // The kubelet's layout: specs/x.yaml -> ..data/x.yaml, ..data -> ..<timestamp>/.
  auto spec = [](const std::string& memory) {
    return "apiVersion: aura.neo4j.io/v1alpha1\nkind: AuraInstance\nmetadata:\n  name: cm\n"
           "  namespace: e2e\nspec:\n  tenantId: " +
           std::string(test_harness::kSimTenantId) +
           "\n  cloudProvider: gcp\n  region: europe-west1\n  type: professional-db\n  memory: " +
           memory + "\n";
  };
  namespace fs = std::filesystem;
  ws.WriteFile("specs/..2026_01_01_00_00_00.1/cm.yaml", spec("1GB"));
  fs::create_directory_symlink("..2026_01_01_00_00_00.1", ws.specs() + "/..data");
  fs::create_symlink("..data/cm.yaml", ws.specs() + "/cm.yaml");
  const int port = *test_harness::PickFreePort();
  const std::string log = ws.dir() + "/run.log";
  auto run = StartRun(
      Args({"--metrics-addr", "127.0.0.1:" + std::to_string(port)}, ControllerFlags(*sim, ws)),
      log);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(WaitFor([&] { return AllReady(StatusJson(*sim, ws), 1); }, seconds(60)))
      << ReadFile(log);
  // The atomic swap: a new timestamped folder, a new ..data link renamed over the old one.
  ws.WriteFile("specs/..2026_01_01_00_05_00.2/cm.yaml", spec("2GB"));
  fs::create_directory_symlink("..2026_01_01_00_05_00.2", ws.specs() + "/..data_tmp");
  fs::rename(ws.specs() + "/..data_tmp", ws.specs() + "/..data");
  fs::remove_all(ws.specs() + "/..2026_01_01_00_00_00.1");
  auto memory = [&] {
    auto inst = sim->Instances();
    if (!inst.ok() || (*inst)["instances"].empty()) return std::string();
    return (*inst)["instances"][0].value("memory", "");
  };
  EXPECT_TRUE(WaitFor([&] { return memory() == "2GB"; }, seconds(60))) << ReadFile(log);
  EXPECT_EQ((*sim->Stats())["post_instances"], 1);
  EXPECT_TRUE((*run)->Stop(seconds(20)).ok());
}

TEST(RunE2E, NoSecretInLogsMetricsStatusOrErrors) {
  // A faulty day: 503s, committed-then-failed creates, tokens expiring early.
  auto sim =
      StartSim({"--faults",
                R"({"errors":[{"route":"GET /v1/instances/{instanceId}","rate":0.2,"status":503}],
                           "create_failure":{"mode":"500","rate":0.5},
                           "token_expiry_seconds":2})"});
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteSpecs("a.yaml", "leak", 5);
  const int port = *test_harness::PickFreePort();
  const std::string log = ws.dir() + "/run.log";
  auto run =
      StartRun(Args({"--metrics-addr", "127.0.0.1:" + std::to_string(port), "--log-level", "debug"},
                    ControllerFlags(*sim, ws)),
               log);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(WaitFor([&] { return AllReady(StatusJson(*sim, ws), 5); }, seconds(90)))
      << ReadFile(log);
  std::string everything = ReadFile(log) + Scrape(port, "/metrics") + Scrape(port, "/readyz");
  everything += RunCli({"status", "--state", ws.state()}, seconds(20)).out;
  everything += RunCli({"status", "--output", "json", "--state", ws.state()}, seconds(20)).out;
  CliResult plan = RunCli(Args({"plan"}, ControllerFlags(*sim, ws)), seconds(30));
  everything += plan.out + plan.err;
  EXPECT_TRUE((*run)->Stop(seconds(20)).ok());
  everything += ReadFile(log);

  EXPECT_THAT(everything, Not(HasSubstr(test_harness::kSimClientSecret)));
  const auto passwords = ws.Passwords();
  EXPECT_GE(passwords.size(), 1u);
  for (const auto& p : passwords) EXPECT_THAT(everything, Not(HasSubstr(p)));
  // No access token either.
  EXPECT_THAT(everything, Not(HasSubstr("Bearer ey")));
  EXPECT_EQ((*sim->Instances())["max_creations_per_name"], 1);
}

TEST(VersionE2E, PrintsVersionAndHelp) {
  CliResult v = RunCli({"version"}, seconds(10));
  EXPECT_EQ(v.exit.code, 0);
  EXPECT_THAT(v.out, HasSubstr("aura-controller "));
  for (const char* c : {"run", "plan", "apply", "validate", "status", "version"}) {
    CliResult h = RunCli({c, "--help"}, seconds(10));
    EXPECT_EQ(h.exit.code, 0) << c;
    EXPECT_THAT(h.out, HasSubstr("Usage: aura-controller")) << c;
  }
  CliResult bad = RunCli({"aply"}, seconds(10));
  EXPECT_EQ(bad.exit.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("did you mean"));
}

}  // namespace
}  // namespace aura::e2e
