// Connection Secrets end to end: the real aura-controller binary with --connection-secrets
// against the real aura-simulator and the fake Kubernetes API (127.0.0.1 only). kubectl reads
// what the controller wrote; kubernetes-models validates every body the fake saw.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/e2e/e2e_util.h"
#include "tests/harness/http.h"
#include "tests/kube/fake_kube_api.h"
#include "tests/kube/k8s_validator.h"
#include "tests/kube/kubectl.h"

namespace aura::e2e {
namespace {

using kube_testing::FakeKubeApi;
using nlohmann::json;
using std::chrono::seconds;
using test_harness::SimulatorProcess;
using test_harness::WaitFor;
using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<SimulatorProcess> StartSim() {
  return e2e::StartSimulator({"--create-seconds", "0.3", "--pause-seconds", "0.3",
                              "--resume-seconds", "0.3", "--update-seconds", "0.3",
                              "--destroy-seconds", "0.3"});
}

std::unique_ptr<FakeKubeApi> StartKube(std::set<std::string> namespaces,
                                       const std::string& cert_dir) {
  kube_testing::FakeKubeApiOptions o;
  o.namespaces = std::move(namespaces);
  o.cert_dir = cert_dir;
  auto api = FakeKubeApi::Start(o);
  EXPECT_TRUE(api.ok()) << api.status();
  return api.ok() ? std::move(*api) : nullptr;
}

std::string Spec(const std::string& name, const std::string& ns, const std::string& extra = "") {
  return "---\napiVersion: aura.neo4j.io/v1alpha1\nkind: AuraInstance\nmetadata:\n  name: " + name +
         "\n  namespace: " + ns +
         "\nspec:\n  tenantId: " + std::string(test_harness::kSimTenantId) +
         "\n  cloudProvider: gcp\n  region: europe-west1\n  type: professional-db\n"
         "  memory: 1GB\n" +
         extra;
}

// A controller process (or CLI run) with connection Secrets on, and what it needs.
class ConnectionSecretsE2E : public ::testing::Test {
 protected:
  void Start(std::set<std::string> namespaces) {
    sim_ = StartSim();
    ASSERT_NE(sim_, nullptr);
    kube_ = StartKube(std::move(namespaces), ws_.dir() + "/kube-certs");
    ASSERT_NE(kube_, nullptr);
    token_file_ = ws_.dir() + "/kube-token";
    ws_.WriteFile("kube-token", kube_->token() + "\n");
  }

  std::vector<std::string> Flags() const {
    std::vector<std::string> f = ControllerFlags(*sim_, ws_);
    f.insert(f.end(), {"--connection-secrets", "--kube-api-url", kube_->url(), "--kube-token-file",
                       token_file_, "--kube-ca-file", kube_->ca_file(), "--allow-delete",
                       "--max-deletes", "10"});
    return f;
  }

  void Run(std::vector<std::string> extra = {}) {
    metrics_port_ = *test_harness::PickFreePort();
    log_ = ws_.dir() + "/run.log";
    std::vector<std::string> f = Flags();
    f.insert(f.end(), extra.begin(), extra.end());
    f.insert(f.end(), {"--metrics-addr", "127.0.0.1:" + std::to_string(metrics_port_)});
    auto run = StartRun(f, log_);
    ASSERT_TRUE(run.ok()) << run.status();
    run_ = std::move(*run);
  }

  void StopRun() {
    ASSERT_NE(run_, nullptr);
    test_harness::ExitStatus st = run_->Stop(seconds(20));
    EXPECT_TRUE(st.ok()) << st.ToString() << Logs();
  }

  // Every body the fake saw passes kubernetes-models; no password in the controller's log.
  void TearDown() override {
    if (kube_) {
      std::string report;
      base::Status v = kube_testing::ValidateExchanges(*kube_, ws_.dir(), &report);
      EXPECT_TRUE(v.ok()) << v;
      std::cout << report;
    }
    if (!log_.empty()) {
      const std::string logs = ReadFile(log_);
      for (const auto& p : ws_.Passwords()) EXPECT_THAT(logs, Not(HasSubstr(p)));
    }
  }

  std::string Logs() const {
    return log_.empty() ? "" : "\n--- controller log ---\n" + ReadFile(log_);
  }

  // The status snapshot `run` keeps current.
  json Status(const std::string& key) const {
    json j = json::parse(ReadFile(ws_.dir() + "/state/journal.status.json"), nullptr, false);
    if (!j.is_object()) return json::object();
    for (const auto& s : j.value("specs", json::array())) {
      if (s.value("key", "") == key) return s;
    }
    return json::object();
  }
  json SecretCondition(const std::string& key) const {
    for (const auto& c : Status(key).value("conditions", json::array())) {
      if (c.value("type", "") == "SecretSynced") return c;
    }
    return json::object();
  }

  // What the credential store holds for `key`.
  json Saved(const std::string& key) const {
    json j = json::parse(ReadFile(ws_.credentials() + "/" + key + ".json"), nullptr, false);
    return j.is_object() ? j : json::object();
  }

  std::string Metric(const std::string& series) const {
    auto r =
        test_harness::Http("GET", "http://127.0.0.1:" + std::to_string(metrics_port_) + "/metrics");
    if (!r.ok()) return "";
    const size_t at = r->body.find("\n" + series + " ");
    if (at == std::string::npos) return "";
    const size_t start = at + series.size() + 2;
    return r->body.substr(start, r->body.find('\n', start) - start);
  }

  // The simulator's API, as a person with the Aura console would use it.
  json SimCall(const std::string& method, const std::string& path, const json& body = nullptr) {
    auto token = sim_->Token();
    EXPECT_TRUE(token.ok()) << token.status();
    auto r = test_harness::Http(
        method, sim_->api_url() + path, body.is_null() ? "" : body.dump(),
        {{"Authorization", "Bearer " + *token}, {"Content-Type", "application/json"}});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->json : json();
  }
  bool SimHas(const std::string& id) const {
    auto all = sim_->Instances();
    if (!all.ok()) return true;
    for (const auto& i : (*all)["instances"]) {
      if (i.value("id", "") == id && !i.value("deleted", false)) return true;
    }
    return false;
  }

  Workspace ws_;
  std::unique_ptr<SimulatorProcess> sim_;
  std::unique_ptr<FakeKubeApi> kube_;
  std::unique_ptr<test_harness::Subprocess> run_;
  std::string token_file_;
  std::string log_;
  int metrics_port_ = 0;
};

TEST_F(ConnectionSecretsE2E, CreateAdoptRenameNewUriDeleteAndRetain) {
  Start({"shop"});
  // An instance made in the Aura console, which the spec "legacy" adopts: no known password.
  json made = SimCall("POST", "/instances",
                      {{"name", "shop-legacy"},
                       {"tenant_id", test_harness::kSimTenantId},
                       {"cloud_provider", "gcp"},
                       {"region", "europe-west1"},
                       {"type", "professional-db"},
                       {"version", "5"},
                       {"memory", "1GB"}});
  const std::string legacy_id = made["data"].value("id", "");
  ASSERT_FALSE(legacy_id.empty()) << made.dump();
  ws_.WriteFile("specs/orders.yaml", Spec("orders", "shop",
                                          "  name: shop-orders\n  deletionPolicy: Delete\n"
                                          "  connectionSecret:\n    name: orders-neo4j\n"));
  ws_.WriteFile("specs/reports.yaml", Spec("reports", "shop"));
  ws_.WriteFile("specs/legacy.yaml", Spec("legacy", "shop", "  name: shop-legacy\n"));
  // Drift checks (detail GETs) every pass or two, so a console delete is seen within seconds
  // while staying within the simulator's 125 requests a minute.
  Run({"--resync", "2s", "--drift-share", "0.6"});

  ASSERT_TRUE(WaitFor(
      [&] {
        return kube_->Data("shop", "orders-neo4j").contains("NEO4J_PASSWORD") &&
               kube_->Secret("shop", "reports-aura") &&
               SecretCondition("shop/legacy").value("status", false) &&
               SecretCondition("shop/orders").value("status", false);
      },
      seconds(30)))
      << Logs();
  // The Secret holds what the credential store holds, read back by kubectl.
  const json saved = Saved("shop/orders");
  auto got = kube_testing::KubectlGetSecret({kube_->url(), kube_->ca_file(), kube_->token()},
                                            ws_.dir(), "shop", "orders-neo4j");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(kube_testing::DecodedData(*got),
            (std::map<std::string, std::string>{{"AURA_INSTANCEID", saved["instance_id"]},
                                                {"AURA_INSTANCENAME", "shop-orders"},
                                                {"NEO4J_PASSWORD", saved["password"]},
                                                {"NEO4J_URI", saved["connection_url"]},
                                                {"NEO4J_USERNAME", saved["username"]}}));
  EXPECT_EQ((*got)["type"], "Opaque");
  EXPECT_EQ((*got)["metadata"]["labels"]["app.kubernetes.io/managed-by"], "aura-controller");
  EXPECT_EQ((*got)["metadata"]["annotations"]["aura.neo4j.io/spec-key"], "shop/orders");
  // Adopted: URI, username and ids, no password; status says why.
  auto legacy = kube_->Data("shop", "legacy-aura");
  EXPECT_FALSE(legacy.contains("NEO4J_PASSWORD"));
  EXPECT_EQ(legacy["AURA_INSTANCEID"], legacy_id);
  EXPECT_EQ(legacy["NEO4J_URI"], "neo4j+s://" + legacy_id + ".databases.neo4j.io");
  EXPECT_EQ(SecretCondition("shop/legacy")["reason"], "PasswordUnknown");
  EXPECT_THAT(SecretCondition("shop/legacy").value("message", ""), HasSubstr("adopted"));
  EXPECT_EQ(SecretCondition("shop/orders")["reason"], "Synced");

  // Idempotent: a few passes later, no write beyond the three creates.
  const int writes = kube_->Count("POST", 201) + kube_->Count("PUT", 200);
  const std::string reconciles = "aura_reconcile_total{result=\"success\"}";
  const long before = std::stol("0" + Metric(reconciles));
  ASSERT_TRUE(
      WaitFor([&] { return std::stol("0" + Metric(reconciles)) > before + 9; }, seconds(20)));
  EXPECT_EQ(kube_->Count("POST", 201) + kube_->Count("PUT", 200), writes);
  EXPECT_EQ(writes, 3);

  // The Aura name changes: AURA_INSTANCENAME follows. The Secret's name changes: the new one
  // is written, the old one deleted.
  ws_.WriteFile("specs/orders.yaml", Spec("orders", "shop",
                                          "  name: shop-orders-v2\n  deletionPolicy: Delete\n"
                                          "  connectionSecret:\n    name: orders-neo4j\n"));
  ws_.WriteFile("specs/reports.yaml",
                Spec("reports", "shop", "  connectionSecret:\n    name: reports-neo4j\n"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return kube_->Data("shop", "orders-neo4j")["AURA_INSTANCENAME"] == "shop-orders-v2" &&
               kube_->Secret("shop", "reports-neo4j") && !kube_->Secret("shop", "reports-aura");
      },
      seconds(30)))
      << Logs();
  EXPECT_EQ(kube_->Data("shop", "reports-neo4j")["NEO4J_PASSWORD"],
            Saved("shop/reports")["password"]);

  // The instance is deleted in the console; the controller re-creates it (recreate: IfMissing):
  // a new id, URI and password, and the Secret follows every one of them.
  const std::string old_id = saved["instance_id"];
  SimCall("DELETE", "/instances/" + old_id);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto d = kube_->Data("shop", "orders-neo4j");
        const json now = Saved("shop/orders");
        return d["AURA_INSTANCEID"] != old_id && !d["AURA_INSTANCEID"].empty() &&
               d["AURA_INSTANCEID"] == now.value("instance_id", "") &&
               d["NEO4J_PASSWORD"] == now.value("password", "") &&
               d["NEO4J_URI"] == now.value("connection_url", "");
      },
      seconds(40)))
      << Logs();
  const std::string new_id = Saved("shop/orders")["instance_id"];
  EXPECT_NE(kube_->Data("shop", "orders-neo4j")["NEO4J_URI"],
            "neo4j+s://" + old_id + ".databases.neo4j.io");

  // Specs removed: Delete -> the Secret goes after the instance; Retain -> it stays.
  ws_.RemoveFile("specs/orders.yaml");
  ws_.RemoveFile("specs/reports.yaml");
  bool instance_gone_first = true;
  ASSERT_TRUE(WaitFor(
      [&] {
        if (kube_->Secret("shop", "orders-neo4j")) return false;
        instance_gone_first = !SimHas(new_id);
        return true;
      },
      seconds(40)))
      << Logs();
  EXPECT_TRUE(instance_gone_first)
      << "the Secret was deleted while instance " << new_id << " still existed";
  ASSERT_TRUE(WaitFor([&] { return Status("shop/reports").empty(); }, seconds(20))) << Logs();
  EXPECT_TRUE(kube_->Secret("shop", "reports-neo4j").has_value()) << "Retain keeps the Secret";
  EXPECT_TRUE(kube_->Secret("shop", "legacy-aura").has_value());
  StopRun();
}

TEST_F(ConnectionSecretsE2E, ForeignSecretRbacRefusalAndApiDownCatchUp) {
  Start({"shop", "locked"});
  json foreign = {
      {"apiVersion", "v1"},
      {"kind", "Secret"},
      {"metadata",
       {{"name", "blocked-aura"}, {"namespace", "shop"}, {"labels", {{"app", "someone-else"}}}}},
      {"type", "Opaque"},
      {"stringData", {{"password", "theirs"}}}};
  kube_->Seed(foreign);
  const std::string foreign_version =
      (*kube_->Secret("shop", "blocked-aura"))["metadata"]["resourceVersion"];
  kube_->Forbid("locked");
  ws_.WriteFile("specs/blocked.yaml", Spec("blocked", "shop"));
  ws_.WriteFile("specs/locked.yaml", Spec("vault", "locked"));
  Run();

  ASSERT_TRUE(WaitFor(
      [&] {
        return SecretCondition("shop/blocked").value("reason", "") == "Conflict" &&
               SecretCondition("locked/vault").value("reason", "") == "Forbidden" &&
               Metric("aura_connection_secrets_pending") == "2";
      },
      seconds(30)))
      << Logs();
  EXPECT_THAT(SecretCondition("shop/blocked").value("message", ""),
              HasSubstr("not managed by aura-controller"));
  const std::string rbac = SecretCondition("locked/vault").value("message", "");
  EXPECT_THAT(rbac, HasSubstr("RBAC refused"));
  EXPECT_THAT(rbac, HasSubstr("in namespace locked"));
  EXPECT_EQ(SecretCondition("locked/vault")["status"], false);
  // Never overwritten: the same object, the same version.
  EXPECT_EQ((*kube_->Secret("shop", "blocked-aura"))["metadata"]["resourceVersion"],
            foreign_version);
  EXPECT_EQ(kube_->Data("shop", "blocked-aura"),
            (std::map<std::string, std::string>{{"password", "theirs"}}));
  EXPECT_EQ(kube_->Count("PUT") + kube_->Count("DELETE"), 0);

  // Their owner removes it, RBAC is granted: both catch up.
  kube_->Remove("shop", "blocked-aura");
  kube_->Forbid("locked", false);
  ASSERT_TRUE(WaitFor(
      [&] {
        return kube_->Data("shop", "blocked-aura")["NEO4J_PASSWORD"] ==
                   Saved("shop/blocked").value("password", "-") &&
               kube_->Data("locked", "vault-aura")["NEO4J_PASSWORD"] ==
                   Saved("locked/vault").value("password", "-") &&
               Metric("aura_connection_secrets_pending") == "0";
      },
      seconds(30)))
      << Logs();

  // The API is down (every request 503) while a new instance is created: its password is
  // saved, the Secret waits (pending), then catches up when the API is back. Nothing is lost.
  // (A closed listener is covered in fake_kube_api_test: cpprestsdk keeps a port bound while
  // clients hold kept-alive connections, so a listener cannot be closed under a running
  // controller and opened again on the same port.)
  kube_->Unavailable(true);
  ws_.WriteFile("specs/late.yaml", Spec("late", "shop"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return !Saved("shop/late").value("password", "").empty() &&
               SecretCondition("shop/late").value("reason", "") == "Unavailable" &&
               Metric("aura_connection_secrets_pending") == "1";
      },
      seconds(30)))
      << Logs();
  kube_->Unavailable(false);
  ASSERT_TRUE(WaitFor(
      [&] {
        return kube_->Data("shop", "late-aura")["NEO4J_PASSWORD"] ==
                   Saved("shop/late").value("password", "-") &&
               SecretCondition("shop/late").value("status", false);
      },
      seconds(30)))
      << Logs();
  // Gauges follow within a --spec-poll.
  EXPECT_TRUE(
      WaitFor([&] { return Metric("aura_connection_secrets_pending") == "0"; }, seconds(10)));
  EXPECT_NE(Metric("aura_connection_secret_writes_total{result=\"conflict\"}"), "0");
  EXPECT_NE(Metric("aura_connection_secret_writes_total{result=\"forbidden\"}"), "0");
  EXPECT_NE(Metric("aura_kube_requests_total{code=\"403\",verb=\"get\"}"), "");
  StopRun();
}

TEST_F(ConnectionSecretsE2E, ApplyWaitsForSecretsAndPlanShowsSecretChanges) {
  Start({"shop"});
  ws_.WriteFile("specs/orders.yaml", Spec("orders", "shop", "  name: shop-orders\n"));
  CliResult plan = RunCli(
      [&] {
        std::vector<std::string> a = {"plan"};
        auto f = Flags();
        a.insert(a.end(), f.begin(), f.end());
        return a;
      }(),
      seconds(30));
  EXPECT_EQ(plan.exit.code, 2) << plan.out << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("secret-create"));
  EXPECT_THAT(plan.out, HasSubstr("shop/orders-aura"));

  auto args = [&](std::initializer_list<std::string> head) {
    std::vector<std::string> a(head);
    auto f = Flags();
    a.insert(a.end(), f.begin(), f.end());
    return a;
  };
  CliResult apply = RunCli(args({"apply", "--wait", "--timeout", "60s"}), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  // When apply --wait returns, the Secret is there.
  EXPECT_EQ(kube_->Data("shop", "orders-aura")["NEO4J_PASSWORD"], Saved("shop/orders")["password"]);
  CliResult status = RunCli({"status", "--state", ws_.state()}, seconds(20));
  EXPECT_THAT(status.out, HasSubstr("CONNECTION-SECRET"));
  EXPECT_THAT(status.out, HasSubstr("shop/orders-aura"));

  CliResult again = RunCli(args({"plan"}), seconds(30));
  EXPECT_EQ(again.exit.code, 0) << again.out << again.err;

  // A rename shows the Aura patch and the Secret's update; a foreign Secret in the way of a new
  // spec shows as a conflict. plan writes nothing.
  ws_.WriteFile("specs/orders.yaml", Spec("orders", "shop", "  name: shop-orders-v2\n"));
  ws_.WriteFile("specs/blocked.yaml", Spec("blocked", "shop"));
  kube_->Seed({{"metadata", {{"name", "blocked-aura"}, {"namespace", "shop"}}},
               {"stringData", {{"x", "y"}}}});
  const int writes = kube_->Count("POST") + kube_->Count("PUT") + kube_->Count("DELETE");
  CliResult changed = RunCli(args({"plan", "--output", "json"}), seconds(30));
  EXPECT_EQ(changed.exit.code, 2) << changed.out << changed.err;
  json j = json::parse(changed.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << changed.out;
  std::map<std::string, std::string> ops;
  for (const auto& c : j["secret_changes"]) ops[c["secret"]] = c["action"];
  EXPECT_EQ(ops["shop/orders-aura"], "secret-update") << changed.out;
  EXPECT_EQ(ops["shop/blocked-aura"], "secret-conflict") << changed.out;
  EXPECT_EQ(kube_->Count("POST") + kube_->Count("PUT") + kube_->Count("DELETE"), writes);

  // apply --wait ends naming the Secret it cannot write, rather than waiting out its timeout.
  CliResult blocked = RunCli(args({"apply", "--wait", "--timeout", "60s"}), seconds(90));
  EXPECT_EQ(blocked.exit.code, 1) << blocked.out << blocked.err;
  EXPECT_THAT(blocked.err, HasSubstr("connection Secret shop/blocked-aura"));
  EXPECT_EQ(kube_->Data("shop", "orders-aura")["AURA_INSTANCENAME"], "shop-orders-v2");
}

}  // namespace
}  // namespace aura::e2e
