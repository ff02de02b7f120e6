// /v1/customer-managed-keys in both profiles, stepped with a FakeClock (issue 22).
#include <gtest/gtest.h>

#include <set>

#include "pkg/simulator/test_util.h"

namespace aura::simulator {
namespace {

using nlohmann::json;
using std::chrono::seconds;

json KeyBody(const std::string& name = "Production Key") {
  return {{"name", name},
          {"key_id", "arn:aws:kms:us-east-1:111122223333:key/1234abcd"},
          {"cloud_provider", "aws"},
          {"region", "us-east-1"},
          {"instance_type", "enterprise-db"},
          {"tenant_id", testing::kTenant}};
}

class KeysTest : public testing::EngineFixture, public ::testing::WithParamInterface<Profile> {};

TEST_P(KeysTest, CreatePendingThenReadyListGetDelete) {
  options_.profile = GetParam();
  Start();
  SimResponse r = Api("POST", "/v1/customer-managed-keys", KeyBody());
  ASSERT_EQ(r.status, 202) << r.body;
  const json d = Body(r)["data"];
  std::set<std::string> fields;
  for (const auto& [k, v] : d.items()) fields.insert(k);
  EXPECT_EQ(fields,
            (std::set<std::string>{"id", "name", "cloud_provider", "region", "instance_type",
                                   "key_id", "created", "status", "tenant_id"}));
  EXPECT_EQ(d["status"], "pending");
  const std::string id = d["id"].get<std::string>();
  EXPECT_TRUE(testing::HasShape(id, "xxxxxxxx-xxxx-4xxx-xxxx-xxxxxxxxxxxx")) << id;
  EXPECT_TRUE(testing::HasShape(d["created"].get<std::string>(), "9999-99-99T99:99:99Z"));

  const std::string path = "/v1/customer-managed-keys/" + id;
  EXPECT_EQ(Body(Api("GET", path))["data"]["status"], "pending");
  clock_.Advance(seconds(10));
  const json got = Body(Api("GET", path))["data"];
  EXPECT_EQ(got["status"], "ready");
  EXPECT_EQ(got["key_id"], "arn:aws:kms:us-east-1:111122223333:key/1234abcd");

  json list = Body(Api("GET", "/v1/customer-managed-keys?tenantId=" + testing::kTenant));
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0],
            (json{{"id", id}, {"name", "Production Key"}, {"tenant_id", testing::kTenant}}));
  EXPECT_EQ(Body(Api("GET", "/v1/customer-managed-keys"))["data"].size(), 1u);

  r = Api("DELETE", path);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Api("GET", path).status, 404);
  EXPECT_EQ(Api("DELETE", path).status, 404);
  EXPECT_TRUE(Body(Api("GET", "/v1/customer-managed-keys"))["data"].empty());
}

TEST_P(KeysTest, Validation) {
  options_.profile = GetParam();
  Start();
  for (const char* field :
       {"name", "key_id", "cloud_provider", "region", "instance_type", "tenant_id"}) {
    json body = KeyBody();
    body.erase(field);
    SimResponse r = Api("POST", "/v1/customer-managed-keys", body);
    ASSERT_EQ(r.status, 400) << field;
    EXPECT_EQ(Body(r)["errors"][0]["field"], field);
  }
  json body = KeyBody();
  body["color"] = "blue";
  SimResponse unknown = Api("POST", "/v1/customer-managed-keys", body);
  ASSERT_EQ(unknown.status, 400);
  EXPECT_EQ(Body(unknown)["errors"][0]["field"], "color");
  body = KeyBody();
  body["region"] = 7;
  EXPECT_EQ(Api("POST", "/v1/customer-managed-keys", body).status, 400);
  body = KeyBody();
  body["instance_type"] = "professional-db";
  EXPECT_EQ(Api("POST", "/v1/customer-managed-keys", body).status, 400);
  body = KeyBody(" padded");
  EXPECT_EQ(Api("POST", "/v1/customer-managed-keys", body).status, 400);
  body = KeyBody();
  body["tenant_id"] = "no-such-tenant";
  EXPECT_EQ(Api("POST", "/v1/customer-managed-keys", body).status, 400);
  EXPECT_EQ(Api("GET", "/v1/customer-managed-keys?tenantId=no-such-tenant").status, 404);
  EXPECT_EQ(Api("GET", "/v1/customer-managed-keys/nope").status, 404);
}

TEST_P(KeysTest, KeyInUseIsNotDeleted) {
  options_.profile = GetParam();
  Start();
  const std::string id =
      Body(Api("POST", "/v1/customer-managed-keys", KeyBody()))["data"]["id"].get<std::string>();
  clock_.Advance(seconds(10));  // ready
  json create = testing::CreateBody("vault");
  create["type"] = "enterprise-db";
  create["customer_managed_key_id"] = id;
  SimResponse r = Api("POST", "/v1/instances", create);
  ASSERT_EQ(r.status, 202) << r.body;
  r = Api("DELETE", "/v1/customer-managed-keys/" + id);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["errors"][0]["reason"], "encryption-key-is-active");
}

TEST_P(KeysTest, InstanceCreateNeedsAReadyKeyOfItsTenant) {
  options_.profile = GetParam();
  Start();
  json create = testing::CreateBody("vault");
  create["type"] = "enterprise-db";
  create["customer_managed_key_id"] = "0badf00d-0000-4000-8000-000000000000";
  SimResponse r = Api("POST", "/v1/instances", create);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("Encryption Key not found in project"), std::string::npos) << r.body;

  const std::string id =
      Body(Api("POST", "/v1/customer-managed-keys", KeyBody()))["data"]["id"].get<std::string>();
  create["customer_managed_key_id"] = id;
  r = Api("POST", "/v1/instances", create);  // still pending
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("is not ready (status pending)"), std::string::npos) << r.body;
  EXPECT_TRUE(Admin("GET", "/_sim/instances")["instances"].empty());

  clock_.Advance(seconds(10));
  r = Api("POST", "/v1/instances", create);
  EXPECT_EQ(r.status, 202) << r.body;
}

TEST_P(KeysTest, ResetAndStateFileKeepKeys) {
  options_.profile = GetParam();
  Start();
  ASSERT_EQ(Api("POST", "/v1/customer-managed-keys", KeyBody()).status, 202);
  State saved;
  saved.keys.push_back(KeyRecord{});
  saved.keys[0].id = "k1";
  auto state = StateFromJson(StateToJson(saved));
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->keys.size(), 1u);
  EXPECT_EQ(state->keys[0].id, "k1");
  Admin("POST", "/_sim/reset");
  EXPECT_TRUE(Body(Api("GET", "/v1/customer-managed-keys"))["data"].empty());
}

INSTANTIATE_TEST_SUITE_P(Profiles, KeysTest, ::testing::Values(Profile::kStrict, Profile::kReal),
                         [](const auto& p) {
                           return p.param == Profile::kStrict ? std::string("strict")
                                                              : std::string("real");
                         });

}  // namespace
}  // namespace aura::simulator
