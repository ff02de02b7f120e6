// Every endpoint and error of the simulator over real HTTP on 127.0.0.1.
#include "tests/simulator/sim_test_util.h"

namespace aura::test_harness {
namespace {

using nlohmann::json;
using std::chrono::seconds;

TEST_F(SimulatorHttpTest, TokenEndpoint) {
  StartSim();
  const Headers form = {{"Authorization", BasicAuth(kSimClientId, kSimClientSecret)},
                        {"Content-Type", "application/x-www-form-urlencoded"}};
  auto ok = Http("POST", sim_->token_url(), "grant_type=client_credentials", form);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->json["token_type"], "bearer");
  EXPECT_EQ(ok->json["expires_in"], 3600);
  EXPECT_FALSE(ok->Header("X-Request-Id").empty());

  Headers bad = {{"Authorization", BasicAuth(kSimClientId, "wrong")},
                 {"Content-Type", "application/x-www-form-urlencoded"}};
  EXPECT_EQ(Http("POST", sim_->token_url(), "grant_type=client_credentials", bad)->status, 401);
  EXPECT_EQ(Http("POST", sim_->token_url(), "", form)->status, 404);
  EXPECT_EQ(Http("POST", sim_->token_url(), "grant_type=implicit", form)->status, 403);
  auto r = Http("POST", sim_->token_url(), "grant_type=client_credentials",
                {{"Authorization", BasicAuth(kSimClientId, kSimClientSecret)},
                 {"Content-Type", "application/json"}});
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->json["error"], "invalid_request");
}

TEST_F(SimulatorHttpTest, TokenTtlFlag) {
  StartSim({"--token-ttl", "1"});
  EXPECT_EQ(Api("GET", "/tenants").status, 200);
  // The token dies one second after issue.
  EXPECT_TRUE(WaitFor([&] { return Api("GET", "/tenants").status == 403; }, seconds(10),
                      std::chrono::milliseconds(100)));
}

TEST_F(SimulatorHttpTest, AuthenticationErrors) {
  StartSim();
  auto none = Http("GET", sim_->api_url() + "/instances");
  EXPECT_EQ(none->status, 401);
  EXPECT_TRUE(none->json.contains("error"));
  auto unknown =
      Http("GET", sim_->api_url() + "/instances", "", {{"Authorization", "Bearer forged"}});
  EXPECT_EQ(unknown->status, 401);
  ASSERT_TRUE(sim_->SetFaults({{"expire_tokens_now", true}}).ok());
  HttpResult expired = Api("GET", "/instances");
  EXPECT_EQ(expired.status, 403);
  EXPECT_TRUE(expired.json.contains("error"));
}

TEST_F(SimulatorHttpTest, FullInstanceLifecycle) {
  StartSim();
  HttpResult created = Api("POST", "/instances", CreateBody("orders"));
  ASSERT_EQ(created.status, 202) << created.body;
  const json d = created.json["data"];
  const std::string id = d["id"];
  EXPECT_FALSE(d["password"].get<std::string>().empty());
  EXPECT_EQ(d["username"], "neo4j");

  HttpResult list = Api("GET", "/instances?tenantId=" + std::string(kSimTenantId));
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json["data"].size(), 1u);
  EXPECT_EQ(list.json["data"][0].size(), 5u);  // id, name, tenant_id, cloud_provider, created_at

  HttpResult got = Api("GET", "/instances/" + id);
  EXPECT_EQ(got.json["data"]["status"], "creating");
  EXPECT_FALSE(got.json["data"].contains("password"));
  ASSERT_TRUE(AwaitStatus(id, "running"));

  HttpResult renamed = Api("PATCH", "/instances/" + id, {{"name", "orders-2"}});
  EXPECT_EQ(renamed.status, 200);
  EXPECT_EQ(renamed.json["data"]["name"], "orders-2");
  HttpResult resized = Api("PATCH", "/instances/" + id, {{"memory", "8GB"}});
  EXPECT_EQ(resized.status, 202);
  EXPECT_EQ(resized.json["data"]["status"], "updating");
  HttpResult busy = Api("POST", "/instances/" + id + "/pause", json::object());
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(busy.json["errors"][0]["reason"], "ongoing-database-operation");
  ASSERT_TRUE(AwaitStatus(id, "running"));
  EXPECT_EQ(Api("GET", "/instances/" + id).json["data"]["memory"], "8GB");

  EXPECT_EQ(Api("POST", "/instances/" + id + "/pause", json::object()).status, 202);
  ASSERT_TRUE(AwaitStatus(id, "paused"));
  EXPECT_EQ(Api("GET", "/instances/" + id).json["data"]["connection_url"], "");
  EXPECT_EQ(Api("POST", "/instances/" + id + "/resume", json::object()).status, 202);
  ASSERT_TRUE(AwaitStatus(id, "running"));

  HttpResult snap = Api("POST", "/instances/" + id + "/snapshots", json::object());
  ASSERT_EQ(snap.status, 202);
  const std::string sid = snap.json["data"]["snapshot_id"];
  ASSERT_TRUE(WaitFor(
      [&] {
        return Api("GET", "/instances/" + id + "/snapshots/" + sid).json["data"]["status"] ==
               "Completed";
      },
      seconds(10), std::chrono::milliseconds(50)));
  HttpResult snaps = Api("GET", "/instances/" + id + "/snapshots");
  ASSERT_EQ(snaps.json["data"].size(), 1u);
  HttpResult restore =
      Api("POST", "/instances/" + id + "/snapshots/" + sid + "/restore", json::object());
  EXPECT_EQ(restore.status, 202);
  EXPECT_EQ(restore.json["data"]["status"], "restoring");
  ASSERT_TRUE(AwaitStatus(id, "running"));

  HttpResult deleted = Api("DELETE", "/instances/" + id);
  EXPECT_EQ(deleted.status, 202);
  EXPECT_EQ(deleted.json["data"]["status"], "destroying");
  EXPECT_EQ(Api("DELETE", "/instances/" + id).status, 404);
  ASSERT_TRUE(AwaitStatus(id, "http 404"));
  EXPECT_TRUE(Api("GET", "/instances").json["data"].empty());

  auto admin = sim_->Instances();
  ASSERT_TRUE(admin.ok());
  ASSERT_EQ((*admin)["instances"].size(), 1u);
  EXPECT_EQ((*admin)["instances"][0]["deleted"], true);
}

TEST_F(SimulatorHttpTest, TenantsAndConfigurations) {
  StartSim();
  HttpResult list = Api("GET", "/tenants");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json["data"].size(), 1u);
  HttpResult one = Api("GET", "/tenants/" + std::string(kSimTenantId));
  ASSERT_EQ(one.status, 200);
  EXPECT_GT(one.json["data"]["instance_configurations"].size(), 100u);
  HttpResult missing = Api("GET", "/tenants/00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json["errors"][0]["reason"], "tenant-not-found");
}

TEST_F(SimulatorHttpTest, ClientErrors) {
  StartSim({"--quota", "1"});
  json bad = CreateBody();
  bad.erase("memory");
  bad["name"] = "";
  HttpResult r = Api("POST", "/instances", bad);
  EXPECT_EQ(r.status, 400);
  std::set<std::string> fields;
  for (const auto& e : r.json["errors"]) fields.insert(e["field"]);
  EXPECT_EQ(fields, (std::set<std::string>{"memory", "name"}));

  auto no_json = Http("POST", sim_->api_url() + "/instances", CreateBody().dump(),
                      {{"Authorization", "Bearer " + token_}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(no_json->status, 415);

  EXPECT_EQ(Api("GET", "/instances/0badf00d").json["errors"][0]["reason"], "db-not-found");
  ASSERT_EQ(Api("POST", "/instances", CreateBody("one")).status, 202);
  HttpResult quota = Api("POST", "/instances", CreateBody("two"));
  EXPECT_EQ(quota.status, 405);
  EXPECT_EQ(quota.json["errors"][0]["reason"], "instance-quota-reached");
  EXPECT_EQ(Api("GET", "/nonsense").status, 404);
  EXPECT_EQ(Api("PUT", "/instances").status, 405);
}

TEST_F(SimulatorHttpTest, DuplicateNamesAreAllowed) {
  StartSim();
  EXPECT_EQ(Api("POST", "/instances", CreateBody("twin")).status, 202);
  EXPECT_EQ(Api("POST", "/instances", CreateBody("twin")).status, 202);
  auto admin = sim_->Instances();
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ((*admin)["max_creations_per_name"], 2);
  EXPECT_EQ(Api("GET", "/instances").json["data"].size(), 2u);
}

TEST_F(SimulatorHttpTest, RateLimitWithRetryAfterAndStats) {
  StartSim({"--rate-limit", "5", "--rate-window", "2"});  // the token used one
  int ok = 0, limited = 0;
  std::string retry_after;
  for (int i = 0; i < 8; ++i) {
    HttpResult r = Api("GET", "/instances");
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      retry_after = r.Header("Retry-After");
      EXPECT_TRUE(r.json.contains("error"));
    }
  }
  // 8 requests in far less than the window: at most 4 more fit in it.
  EXPECT_LE(ok, 4);
  EXPECT_GE(limited, 4);
  EXPECT_TRUE(retry_after == "1" || retry_after == "2") << retry_after;
  // The window slides: the limit lifts within about two seconds.
  EXPECT_TRUE(WaitFor([&] { return Api("GET", "/instances").status == 200; }, seconds(10),
                      std::chrono::milliseconds(100)));
  auto stats = sim_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE((*stats)["throttled_total"], limited);
  EXPECT_GE((*stats)["max_requests_in_window"], 9);  // the token and 8 GETs, refused included
  EXPECT_EQ((*stats)["rate_limit"], 5);
}

TEST_F(SimulatorHttpTest, RetryAfterAsHttpDate) {
  StartSim({"--rate-limit", "1", "--retry-after-format", "http-date"});
  HttpResult r = Api("GET", "/instances");
  EXPECT_EQ(r.status, 429);
  EXPECT_TRUE(HasShape(r.Header("Retry-After"), "Aaa, 99 Aaa 9999 99:99:99 GMT"))
      << r.Header("Retry-After");
}

TEST_F(SimulatorHttpTest, SeveralClientsFromFlags) {
  const std::string t2 = "0d4a5b6c-1111-4222-8333-444455556666";
  StartSim({"--tenant", std::string(kSimTenantId) + "=Main", "--tenant", t2 + "=Other",
            "--client-id", "alice", "--client-secret", "a-secret", "--client-tenants", kSimTenantId,
            "--client-id", "bob", "--client-secret", "b-secret"},
           /*default_token=*/false);
  auto alice = FetchToken(sim_->token_url(), "alice", "a-secret");
  ASSERT_TRUE(alice.ok()) << alice.status();
  token_ = *alice;
  EXPECT_EQ(Api("GET", "/tenants").json["data"].size(), 1u);
  auto bob = FetchToken(sim_->token_url(), "bob", "b-secret");
  ASSERT_TRUE(bob.ok());
  token_ = *bob;
  EXPECT_EQ(Api("GET", "/tenants").json["data"].size(), 2u);
  EXPECT_FALSE(FetchToken(sim_->token_url(), kSimClientId, kSimClientSecret).ok());
}

TEST_F(SimulatorHttpTest, RequestIdsAreUniqueAndWellFormed) {
  StartSim();
  for (int i = 0; i < 20; ++i) {
    HttpResult r = Api("GET", i % 2 ? "/instances" : "/nope");
    EXPECT_TRUE(HasShape(r.Header("X-Request-Id"), std::string(32, 'x') + "/+"))
        << r.Header("X-Request-Id");
  }
  auto admin = Http("GET", sim_->base_url() + "/_sim/stats");
  EXPECT_FALSE(admin->Header("X-Request-Id").empty());
}

}  // namespace
}  // namespace aura::test_harness
