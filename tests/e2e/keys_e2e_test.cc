// End-to-end tests of customer-managed keys (issue 22): the real aura-controller binary against
// the real simulator over 127.0.0.1, in both simulator profiles. An AuraCustomerManagedKey spec's
// key is adopted when Aura has one of its name and created (once) when not; an instance whose
// spec refers to it waits until it is ready and is then created once with the key's id; removing
// both specs with deletionPolicy Delete (and --allow-delete) deletes the instance, then the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_util.h"
#include "tests/harness/http.h"

namespace aura::e2e {
namespace {

using std::chrono::seconds;
using test_harness::SimulatorProcess;
using ::testing::HasSubstr;

std::string KeySpec(const std::string& instance_type = "enterprise-db",
                    const std::string& extra = "") {
  return "---\napiVersion: aura.neo4j.io/v1alpha1\nkind: AuraCustomerManagedKey\nmetadata:\n"
         "  name: vault-key\n  namespace: e2e\nspec:\n  name: Vault Key\n  tenantId: " +
         std::string(test_harness::kSimTenantId) +
         "\n  cloudProvider: gcp\n  region: europe-west1\n"
         "  keyId: projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k\n"
         "  instanceType: " +
         instance_type + "\n" + extra;
}

std::string EncryptedSpec(const std::string& extra = "") {
  return "---\napiVersion: aura.neo4j.io/v1alpha1\nkind: AuraInstance\nmetadata:\n"
         "  name: vault\n  namespace: e2e\nspec:\n  tenantId: " +
         std::string(test_harness::kSimTenantId) +
         "\n  cloudProvider: gcp\n  region: europe-west1\n  type: enterprise-db\n"
         "  memory: 2GB\n  customerManagedKeyRef: vault-key\n" +
         extra;
}

// POST /v1/customer-managed-keys as a person would in the console; the key's id.
std::string CreateKeyInAura(const SimulatorProcess& sim) {
  auto token = sim.Token();
  EXPECT_TRUE(token.ok()) << token.status();
  if (!token.ok()) return "";
  const nlohmann::json body = {
      {"name", "Vault Key"},
      {"key_id", "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k"},
      {"cloud_provider", "gcp"},
      {"region", "europe-west1"},
      {"instance_type", "enterprise-db"},
      {"tenant_id", test_harness::kSimTenantId}};
  auto r = test_harness::Http(
      "POST", sim.api_url() + "/customer-managed-keys", body.dump(),
      {{"Authorization", "Bearer " + *token}, {"Content-Type", "application/json"}});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return "";
  EXPECT_EQ(r->status, 202) << r->body;
  return r->json.is_object() ? r->json["data"].value("id", "") : "";
}

// Requests the simulator answered on `route` ("POST /v1/instances") with `code`, or with any
// code when `code` is empty.
int Requests(const SimulatorProcess& sim, const std::string& route, const std::string& code = "") {
  auto stats = sim.Stats();
  EXPECT_TRUE(stats.ok());
  if (!stats.ok()) return -1;
  int n = 0;
  for (const auto& [c, count] : (*stats)["requests"][route].items()) {
    if (code.empty() || c == code) n += count.get<int>();
  }
  return n;
}

int InstancePosts(const SimulatorProcess& sim) { return Requests(sim, "POST /v1/instances"); }
int KeyPosts(const SimulatorProcess& sim) {
  return Requests(sim, "POST /v1/customer-managed-keys");
}

// The live keys Aura lists for the simulator's tenant.
nlohmann::json ListKeys(const SimulatorProcess& sim) {
  auto token = sim.Token();
  EXPECT_TRUE(token.ok()) << token.status();
  if (!token.ok()) return nlohmann::json::array();
  auto r = test_harness::Http(
      "GET", sim.api_url() + "/customer-managed-keys?tenantId=" + test_harness::kSimTenantId, "",
      {{"Authorization", "Bearer " + *token}});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok() || !r->json.is_object()) return nlohmann::json::array();
  return r->json["data"];
}

// The live instances (id -> customer_managed_key_id).
std::map<std::string, std::string> LiveInstances(const SimulatorProcess& sim) {
  std::map<std::string, std::string> out;
  auto instances = sim.Instances();
  EXPECT_TRUE(instances.ok()) << instances.status();
  if (!instances.ok()) return out;
  for (const auto& i : (*instances)["instances"]) {
    if (i.value("deleted", false)) continue;
    out[i.value("id", "")] = i.value("customer_managed_key_id", "");
  }
  return out;
}

class KeysE2E : public ::testing::TestWithParam<std::string> {};

TEST_P(KeysE2E, AKeyAlreadyInAuraIsAdoptedAndTheInstanceCreatedOnceWithIt) {
  auto started =
      StartSimulator({"--profile", GetParam(), "--create-seconds", "0.3", "--rate-limit", "1000"});
  ASSERT_NE(started, nullptr);
  SimulatorProcess& sim = *started;
  Workspace ws;
  ws.WriteFile("specs/key.yaml", KeySpec());
  ws.WriteFile("specs/vault.yaml", EncryptedSpec());
  const auto flags = ControllerFlags(sim, ws);

  CliResult valid = RunCli({"validate", ws.specs()}, seconds(20));
  ASSERT_EQ(valid.exit.code, 0) << valid.out << valid.err;

  // No key in Aura yet: plan says the instance waits and the key would be created.
  CliResult plan = RunCli(Args({"plan"}, flags), seconds(60));
  EXPECT_EQ(plan.exit.code, 2) << plan.out << plan.err;
  EXPECT_THAT(plan.out + plan.err, HasSubstr("Aura lists no key of that name"));
  EXPECT_THAT(plan.out, HasSubstr("create customer-managed key \"Vault Key\" in tenant"));
  EXPECT_THAT(plan.out, HasSubstr("1 key-create"));
  EXPECT_EQ(KeyPosts(sim), 0);

  // A person creates it first: the controller adopts it and creates no second key.
  const std::string key_id = CreateKeyInAura(sim);
  ASSERT_FALSE(key_id.empty());
  CliResult apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;

  auto instances = sim.Instances();
  ASSERT_TRUE(instances.ok()) << instances.status();
  int live = 0;
  for (const auto& i : (*instances)["instances"]) {
    if (i.value("deleted", false)) continue;
    ++live;
    EXPECT_EQ(i["name"], "vault");
    EXPECT_EQ(i["type"], "enterprise-db");
    EXPECT_EQ(i.value("customer_managed_key_id", ""), key_id);
  }
  EXPECT_EQ(live, 1);
  EXPECT_EQ(InstancePosts(sim), 1);
  EXPECT_EQ(KeyPosts(sim), 1);  // the person's

  // Converged: a second apply sends no create, and plan sees no change.
  apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  EXPECT_EQ(InstancePosts(sim), 1);
  plan = RunCli(Args({"plan"}, flags), seconds(60));
  EXPECT_EQ(plan.exit.code, 0) << plan.out << plan.err;
}

TEST_P(KeysE2E, KeySpecCreatesTheKeyThenTheInstanceAndRemovalDeletesBothInOrder) {
  auto started =
      StartSimulator({"--profile", GetParam(), "--create-seconds", "0.3", "--rate-limit", "1000"});
  ASSERT_NE(started, nullptr);
  SimulatorProcess& sim = *started;
  Workspace ws;
  ws.WriteFile("specs/key.yaml", KeySpec("enterprise-db", "  deletionPolicy: Delete\n"));
  ws.WriteFile("specs/vault.yaml", EncryptedSpec("  deletionPolicy: Delete\n"));
  const auto flags = ControllerFlags(sim, ws);

  // No key in Aura: the controller creates it, waits until it is ready, then creates the
  // instance with its id.
  CliResult apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  EXPECT_EQ(KeyPosts(sim), 1);
  EXPECT_EQ(InstancePosts(sim), 1);
  const nlohmann::json keys = ListKeys(sim);
  ASSERT_EQ(keys.size(), 1u) << keys.dump();
  EXPECT_EQ(keys[0]["name"], "Vault Key");
  const std::string key_id = keys[0].value("id", "");
  auto live = LiveInstances(sim);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live.begin()->second, key_id);

  // Converged: nothing more is sent; plan sees no change.
  apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  EXPECT_EQ(KeyPosts(sim), 1);
  EXPECT_EQ(InstancePosts(sim), 1);
  CliResult plan = RunCli(Args({"plan"}, flags), seconds(60));
  EXPECT_EQ(plan.exit.code, 0) << plan.out << plan.err;

  // Both specs removed: without --allow-delete nothing is deleted.
  ws.RemoveFile("specs/key.yaml");
  ws.RemoveFile("specs/vault.yaml");
  apply = RunCli(Args({"apply"}, flags), seconds(60));
  EXPECT_EQ(LiveInstances(sim).size(), 1u);
  EXPECT_EQ(ListKeys(sim).size(), 1u);
  EXPECT_EQ(Requests(sim, "DELETE /v1/customer-managed-keys/{customerManagedKeyId}"), 0);
  plan = RunCli(Args({"plan", "--allow-delete"}, flags), seconds(60));
  EXPECT_EQ(plan.exit.code, 2) << plan.out << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("cmk/e2e/vault-key"));

  // With it: the instance is deleted, then the key (Aura refuses the key while the instance
  // lives; that is reported and tried again).
  apply =
      RunCli(Args({"apply", "--wait", "--allow-delete", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  EXPECT_TRUE(LiveInstances(sim).empty());
  EXPECT_TRUE(ListKeys(sim).empty());
  EXPECT_EQ(Requests(sim, "DELETE /v1/customer-managed-keys/{customerManagedKeyId}", "204"), 1);
  EXPECT_EQ(KeyPosts(sim), 1);
  plan = RunCli(Args({"plan"}, flags), seconds(60));
  EXPECT_EQ(plan.exit.code, 0) << plan.out << plan.err;
}

TEST_P(KeysE2E, ValidateNamesTheFileLineAndFieldOfABadReference) {
  Workspace ws;
  ws.WriteFile("specs/key.yaml", KeySpec("enterprise-ds"));
  ws.WriteFile("specs/vault.yaml", EncryptedSpec());
  CliResult r = RunCli({"validate", ws.specs()}, seconds(20));
  EXPECT_EQ(r.exit.code, 1) << r.out << r.err;
  EXPECT_THAT(r.out + r.err,
              HasSubstr("vault.yaml:13:26: spec.customerManagedKeyRef: found \"vault-key\", a key "
                        "with instanceType enterprise-ds, not enterprise-db"));
  ws.RemoveFile("specs/key.yaml");
  r = RunCli({"validate", ws.specs()}, seconds(20));
  EXPECT_EQ(r.exit.code, 1) << r.out << r.err;
  EXPECT_THAT(r.out + r.err, HasSubstr("which no AuraCustomerManagedKey loaded with this spec"));
}

INSTANTIATE_TEST_SUITE_P(Profiles, KeysE2E, ::testing::Values("strict", "real"));

}  // namespace
}  // namespace aura::e2e
