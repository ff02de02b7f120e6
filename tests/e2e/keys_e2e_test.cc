// End-to-end tests of customer-managed keys (issue 22): the real aura-controller binary against
// the real simulator over 127.0.0.1, in both simulator profiles. An instance whose spec refers
// to an AuraCustomerManagedKey spec waits until Aura lists that key, ready, and is then created
// once with the key's id.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_util.h"
#include "tests/harness/http.h"

namespace aura::e2e {
namespace {

using std::chrono::seconds;
using test_harness::SimulatorProcess;
using ::testing::HasSubstr;

std::string KeySpec(const std::string& instance_type = "enterprise-db") {
  return "---\napiVersion: aura.neo4j.io/v1alpha1\nkind: AuraCustomerManagedKey\nmetadata:\n"
         "  name: vault-key\n  namespace: e2e\nspec:\n  name: Vault Key\n  tenantId: " +
         std::string(test_harness::kSimTenantId) +
         "\n  cloudProvider: gcp\n  region: europe-west1\n"
         "  keyId: projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k\n"
         "  instanceType: " +
         instance_type + "\n";
}

std::string EncryptedSpec() {
  return "---\napiVersion: aura.neo4j.io/v1alpha1\nkind: AuraInstance\nmetadata:\n"
         "  name: vault\n  namespace: e2e\nspec:\n  tenantId: " +
         std::string(test_harness::kSimTenantId) +
         "\n  cloudProvider: gcp\n  region: europe-west1\n  type: enterprise-db\n"
         "  memory: 2GB\n  customerManagedKeyRef: vault-key\n";
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

int InstancePosts(const SimulatorProcess& sim) {
  auto stats = sim.Stats();
  EXPECT_TRUE(stats.ok());
  if (!stats.ok()) return -1;
  int n = 0;
  for (const auto& [code, count] : (*stats)["requests"]["POST /v1/instances"].items()) {
    n += count.get<int>();
  }
  return n;
}

class KeysE2E : public ::testing::TestWithParam<std::string> {};

TEST_P(KeysE2E, InstanceWaitsForItsKeyThenIsCreatedOnceWithIt) {
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

  // No key in Aura yet: nothing is created, and plan says why.
  CliResult plan = RunCli(Args({"plan"}, flags), seconds(60));
  EXPECT_NE(plan.exit.code, 2) << plan.out << plan.err;
  EXPECT_THAT(plan.out + plan.err, HasSubstr("Aura lists no key of that name"));
  CliResult apply = RunCli(Args({"apply"}, flags), seconds(60));
  EXPECT_THAT(apply.out + apply.err, HasSubstr("customer-managed key"));
  EXPECT_EQ(InstancePosts(sim), 0);

  const std::string key_id = CreateKeyInAura(sim);
  ASSERT_FALSE(key_id.empty());
  apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
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

  // Converged: a second apply sends no create, and plan sees no change.
  apply = RunCli(Args({"apply", "--wait", "--timeout", "60s"}, flags), seconds(90));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  EXPECT_EQ(InstancePosts(sim), 1);
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
