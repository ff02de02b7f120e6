// The engine's HTTP-free behaviour: tokens, auth, every endpoint's shapes and errors, the rate
// limit, and the admin surface. Time is a FakeClock; nothing sleeps.
#include "pkg/simulator/engine.h"

#include <gtest/gtest.h>

#include <set>

#include "pkg/simulator/test_util.h"

namespace aura::simulator {
namespace {

using nlohmann::json;
using testing::CreateBody;
using testing::kTenant;

class EngineTest : public testing::EngineFixture {};

TEST_F(EngineTest, TokenEndpointIssuesBearerTokens) {
  Start();
  SimResponse r = Do("POST", "/oauth/token", "grant_type=client_credentials",
                     {{"Authorization", "Basic " + Base64("sim-client:sim-secret")},
                      {"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = Body(r);
  EXPECT_EQ(j["token_type"], "bearer");
  EXPECT_EQ(j["expires_in"], 3600);
  const std::string token = j["access_token"];
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2);
  EXPECT_FALSE(j.contains("data"));
}

TEST_F(EngineTest, TokenEndpointErrors) {
  Start();
  const HeaderList form = {{"Content-Type", "application/x-www-form-urlencoded"}};
  auto with_auth = [&](const std::string& creds) {
    HeaderList h = form;
    h.emplace_back("Authorization", "Basic " + Base64(creds));
    return h;
  };
  EXPECT_EQ(Do("POST", "/oauth/token", "grant_type=client_credentials", form).status, 401);
  SimResponse bad =
      Do("POST", "/oauth/token", "grant_type=client_credentials", with_auth("sim-client:wrong"));
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(Body(bad)["error"], "invalid_client");
  EXPECT_TRUE(Body(bad).contains("error_description"));
  EXPECT_EQ(Do("POST", "/oauth/token", "", with_auth("sim-client:sim-secret")).status, 404);
  EXPECT_EQ(
      Do("POST", "/oauth/token", "grant_type=password", with_auth("sim-client:sim-secret")).status,
      403);
  EXPECT_EQ(Do("POST", "/oauth/token", "grant_type=client_credentials",
               {{"Authorization", "Basic " + Base64("sim-client:sim-secret")},
                {"Content-Type", "application/json"}})
                .status,
            400);
  EXPECT_EQ(Do("GET", "/oauth/token").status, 405);
}

TEST_F(EngineTest, SeveralClientsEachWithTheirTenants) {
  const std::string t2 = "11111111-2222-4333-8444-555555555555";
  options_.tenants = {{kTenant, "one"}, {t2, "two"}};
  options_.clients = {{"alice", "alice-secret", {kTenant}}, {"bob", "bob-secret", {t2}}};
  Start();
  token_ = Token("alice", "alice-secret");
  ASSERT_FALSE(token_.empty());
  json tenants = Body(Api("GET", "/v1/tenants"));
  ASSERT_EQ(tenants["data"].size(), 1u);
  EXPECT_EQ(tenants["data"][0]["id"], kTenant);
  EXPECT_EQ(Api("GET", "/v1/tenants/" + t2).status, 404);
  std::string id = Create("a1");
  ASSERT_FALSE(id.empty());

  token_ = Token("bob", "bob-secret");
  EXPECT_EQ(Api("GET", "/v1/instances/" + id).status, 404);  // another tenant's instance
  EXPECT_TRUE(Body(Api("GET", "/v1/instances"))["data"].empty());
  EXPECT_EQ(Api("GET", "/v1/instances?tenantId=" + kTenant).status, 403);
  json body = CreateBody("b1");
  body["tenant_id"] = kTenant;
  SimResponse r = Api("POST", "/v1/instances", body);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["errors"][0]["field"], "tenant_id");
  EXPECT_EQ(Token("bob", "alice-secret"), "");

  // Each client's requests are counted on their own (HA tests tell two controllers apart).
  json stats = Admin("GET", "/_sim/stats");
  const json& by = stats["requests_by_client"];
  EXPECT_EQ(by["alice"]["POST /oauth/token"]["200"], 1);
  EXPECT_EQ(by["alice"]["POST /v1/instances"]["202"], 1);
  EXPECT_EQ(by["alice"]["GET /v1/tenants"]["200"], 1);
  EXPECT_EQ(by["bob"]["POST /oauth/token"]["200"], 1);
  EXPECT_EQ(by["bob"]["POST /oauth/token"]["401"], 1);  // bob with alice's secret
  EXPECT_EQ(by["bob"]["POST /v1/instances"]["400"], 1);
  EXPECT_FALSE(by["bob"].contains("GET /v1/tenants"));
}

TEST_F(EngineTest, AuthenticationOnV1) {
  Start();
  SimResponse none = Do("GET", "/v1/instances");
  EXPECT_EQ(none.status, 401);
  EXPECT_TRUE(Body(none).contains("error"));
  EXPECT_EQ(Do("GET", "/v1/instances", "", {{"Authorization", "Bearer nope"}}).status, 401);
  EXPECT_EQ(Api("GET", "/v1/instances").status, 200);
  clock_.Advance(std::chrono::seconds(3600));
  SimResponse expired = Api("GET", "/v1/instances");
  EXPECT_EQ(expired.status, 403);
  EXPECT_EQ(Body(expired)["error"], "Access token expired");
}

TEST_F(EngineTest, EveryResponseHasAUniqueRequestId) {
  Start();
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    for (const SimResponse& r : {Api("GET", "/v1/instances"), Do("GET", "/_sim/stats"),
                                 Do("GET", "/nowhere"), Do("GET", "/v1/instances")}) {
      std::string id = r.Header("X-Request-Id");
      EXPECT_TRUE(testing::HasShape(id, std::string(32, 'x') + "/+")) << id;
      EXPECT_EQ(id, r.request_id);
      ids.insert(id);
    }
  }
  EXPECT_EQ(ids.size(), 200u);
}

TEST_F(EngineTest, CreateReturnsPasswordOnceAndListShowsSummaryOnly) {
  Start();
  SimResponse r = Api("POST", "/v1/instances", CreateBody("orders"));
  ASSERT_EQ(r.status, 202) << r.body;
  json d = Body(r)["data"];
  for (const char* k : {"id", "connection_url", "username", "password", "tenant_id",
                        "cloud_provider", "region", "type", "name", "created_at"}) {
    EXPECT_TRUE(d.contains(k)) << k;
  }
  EXPECT_TRUE(testing::HasShape(d["id"].get<std::string>(), "xxxxxxxx"));
  EXPECT_EQ(d["connection_url"], "neo4j+s://" + d["id"].get<std::string>() + ".databases.neo4j.io");
  EXPECT_FALSE(d["password"].get<std::string>().empty());
  EXPECT_TRUE(testing::HasShape(d["created_at"].get<std::string>(), "9999-99-99T99:99:99Z"));

  json list = Body(Api("GET", "/v1/instances"))["data"];
  ASSERT_EQ(list.size(), 1u);
  std::set<std::string> keys;
  for (const auto& [k, v] : list[0].items()) keys.insert(k);
  EXPECT_EQ(keys,
            (std::set<std::string>{"id", "name", "tenant_id", "cloud_provider", "created_at"}));

  json got = Body(Api("GET", "/v1/instances/" + d["id"].get<std::string>()))["data"];
  EXPECT_FALSE(got.contains("password"));
  EXPECT_EQ(got["status"], "creating");
  EXPECT_EQ(got["memory"], "4GB");
  EXPECT_EQ(got["storage"], "8GB");
  EXPECT_EQ(Body(Api("GET", "/v1/instances?tenantId=" + kTenant))["data"].size(), 1u);
}

TEST_F(EngineTest, DuplicateNamesAreAllowedAndCounted) {
  Start();
  std::string a = Create("same");
  std::string b = Create("same");
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_NE(a, b);
  json admin = Admin("GET", "/_sim/instances");
  EXPECT_EQ(admin["instances"].size(), 2u);
  EXPECT_EQ(admin["max_creations_per_name"], 2);
  ASSERT_EQ(admin["creations"].size(), 1u);
  EXPECT_EQ(admin["creations"][0]["name"], "same");
  EXPECT_EQ(admin["creations"][0]["count"], 2);
}

// Once shutdown has begun, an API request that still arrives changes nothing: its answer could
// not be written any more, and a create's password would be lost with it.
TEST_F(EngineTest, RequestsAfterShutdownBeganCommitNothing) {
  Start();
  ASSERT_FALSE(Create("before").empty());
  engine_->BeginShutdown();
  SimResponse r = Api("POST", "/v1/instances", CreateBody("after"));
  EXPECT_EQ(r.status, 503);
  json admin = Admin("GET", "/_sim/instances");
  ASSERT_EQ(admin["instances"].size(), 1u);
  EXPECT_EQ(admin["instances"][0]["name"], "before");
}

TEST_F(EngineTest, CreateValidation) {
  Start();
  auto field_of = [&](json body) {
    SimResponse r = Api("POST", "/v1/instances", body);
    EXPECT_EQ(r.status, 400) << body.dump() << " -> " << r.body;
    json e = Body(r)["errors"];
    return e.is_array() && !e.empty() ? e[0].value("field", "") : "";
  };
  for (const char* k :
       {"name", "version", "region", "memory", "type", "tenant_id", "cloud_provider"}) {
    json b = CreateBody();
    b.erase(k);
    EXPECT_EQ(field_of(b), k);
  }
  auto with = [](const char* k, json v) {
    json b = CreateBody();
    b[k] = v;
    return b;
  };
  EXPECT_EQ(field_of(with("name", "")), "name");
  EXPECT_EQ(field_of(with("name", " padded")), "name");
  EXPECT_EQ(field_of(with("name", std::string(31, 'x'))), "name");
  EXPECT_EQ(field_of(with("memory", "3GB")), "memory");
  EXPECT_EQ(field_of(with("memory", 4)), "memory");
  EXPECT_EQ(field_of(with("type", "huge-db")), "type");
  EXPECT_EQ(field_of(with("cloud_provider", "ibm")), "cloud_provider");
  EXPECT_EQ(field_of(with("version", "3")), "version");
  EXPECT_EQ(field_of(with("region", "mars-north1")), "region");
  EXPECT_EQ(field_of(with("vector_optimized", "yes")), "vector_optimized");
  EXPECT_EQ(field_of(with("bogus", 1)), "bogus");
  json small = with("memory", "2GB");
  small["vector_optimized"] = true;
  EXPECT_EQ(field_of(small), "vector_optimized");
  EXPECT_EQ(field_of(with("memory", "256GB")), "memory");  // not offered for professional-db
  EXPECT_EQ(field_of(with("storage", "2GB")), "storage");  // less than the memory

  // Not a JSON object, and no JSON content type.
  SimResponse r = Do("POST", "/v1/instances", "{oops",
                     {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["errors"][0]["reason"], "invalid-json");
  r = Do("POST", "/v1/instances", CreateBody().dump(), {{"Authorization", "Bearer " + token_}});
  EXPECT_EQ(r.status, 415);
  EXPECT_TRUE(Body(r).contains("error"));
  r = Do("POST", "/v1/instances", CreateBody().dump(),
         {{"Authorization", "Bearer " + token_}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 415);
  EXPECT_TRUE(Admin("GET", "/_sim/instances")["instances"].empty());
}

TEST_F(EngineTest, FreeDbRules) {
  Start();
  json free = {{"name", "free"},         {"version", "5"},    {"region", "europe-west1"},
               {"memory", "1GB"},        {"type", "free-db"}, {"tenant_id", kTenant},
               {"cloud_provider", "gcp"}};
  json wrong_region = free;
  wrong_region["region"] = "us-central1";
  EXPECT_EQ(Api("POST", "/v1/instances", wrong_region).status, 400);
  json wrong_memory = free;
  wrong_memory["memory"] = "2GB";
  EXPECT_EQ(Api("POST", "/v1/instances", wrong_memory).status, 400);
  SimResponse r = Api("POST", "/v1/instances", free);
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = Body(r)["data"]["id"];
  EXPECT_EQ(Api("POST", "/v1/instances", free).status, 405);  // one per project
  clock_.Advance(std::chrono::seconds(10));
  json got = Body(Api("GET", "/v1/instances/" + id))["data"];
  EXPECT_EQ(got["storage"], "2GB");
  EXPECT_EQ(Api("POST", "/v1/instances/" + id + "/pause", json::object()).status, 400);
  EXPECT_EQ(Api("PATCH", "/v1/instances/" + id, {{"memory", "2GB"}}).status, 400);

  options_.omit_free_storage = true;
  Start();
  r = Api("POST", "/v1/instances", free);
  ASSERT_EQ(r.status, 202);
  got = Body(Api("GET", "/v1/instances/" + Body(r)["data"]["id"].get<std::string>()))["data"];
  EXPECT_FALSE(got.contains("storage"));
}

TEST_F(EngineTest, QuotaAndBilling) {
  options_.tenants = {{kTenant, "p", /*instance_quota=*/2}};
  Start();
  ASSERT_FALSE(Create("a").empty());
  std::string b = Create("b");
  ASSERT_FALSE(b.empty());
  SimResponse r = Api("POST", "/v1/instances", CreateBody("c"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(Body(r)["errors"][0]["reason"], "instance-quota-reached");
  clock_.Advance(std::chrono::seconds(10));
  ASSERT_EQ(Api("DELETE", "/v1/instances/" + b).status, 202);
  EXPECT_EQ(Api("POST", "/v1/instances", CreateBody("c")).status, 405);  // still destroying
  clock_.Advance(std::chrono::seconds(5));
  EXPECT_EQ(Api("POST", "/v1/instances", CreateBody("c")).status, 202);

  options_.tenants = {{kTenant, "p", 1000, /*missing_billing=*/true}};
  Start();
  r = Api("POST", "/v1/instances", CreateBody());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["errors"][0]["reason"], "missing-billing-details");
}

TEST_F(EngineTest, NotFoundAndMethodErrors) {
  Start();
  SimResponse r = Api("GET", "/v1/instances/deadbeef");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Body(r)["errors"][0]["reason"], "db-not-found");
  for (const char* path : {"/v1/instances/deadbeef/pause", "/v1/instances/deadbeef/resume",
                           "/v1/instances/deadbeef/snapshots"}) {
    EXPECT_EQ(Api("POST", path, json::object()).status, 404) << path;
  }
  EXPECT_EQ(Api("DELETE", "/v1/instances/deadbeef").status, 404);
  EXPECT_EQ(Api("PATCH", "/v1/instances/deadbeef", {{"name", "x"}}).status, 404);
  r = Api("GET", "/v1/tenants/00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Body(r)["errors"][0]["reason"], "tenant-not-found");
  EXPECT_EQ(Api("GET", "/v1/nothing").status, 404);
  EXPECT_EQ(Api("PUT", "/v1/instances").status, 405);
  EXPECT_EQ(Do("GET", "/_sim/reset").status, 405);
}

TEST_F(EngineTest, TenantsListAndConfigurations) {
  Start();
  json list = Body(Api("GET", "/v1/tenants"))["data"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], json({{"id", kTenant}, {"name", kDefaultTenantName}}));
  json t = Body(Api("GET", "/v1/tenants/" + kTenant))["data"];
  std::set<std::string> providers, types, versions;
  for (const auto& c : t["instance_configurations"]) {
    for (const char* k :
         {"region", "region_name", "type", "memory", "storage", "version", "cloud_provider"}) {
      ASSERT_TRUE(c.contains(k));
    }
    providers.insert(c["cloud_provider"]);
    types.insert(c["type"]);
    versions.insert(c["version"]);
  }
  EXPECT_EQ(providers, (std::set<std::string>{"aws", "azure", "gcp"}));
  EXPECT_EQ(types.size(), 6u);
  EXPECT_EQ(versions, (std::set<std::string>{"4", "5"}));
}

TEST_F(EngineTest, RateLimitPerClientWithRetryAfter) {
  options_.rate_limit = 5;
  options_.rate_window = std::chrono::seconds(10);
  Start();  // the token request is the first of the window
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Api("GET", "/v1/instances").status, 200) << i;
  clock_.Advance(std::chrono::milliseconds(2500));
  SimResponse r = Api("GET", "/v1/instances");
  EXPECT_EQ(r.status, 429);
  EXPECT_TRUE(Body(r).contains("error"));
  EXPECT_EQ(r.Header("Retry-After"), "8");  // 10 s after the first request, rounded up
  // The admin API is never limited.
  EXPECT_EQ(Do("GET", "/_sim/stats").status, 200);
  clock_.Advance(std::chrono::milliseconds(7500));
  EXPECT_EQ(Api("GET", "/v1/instances").status, 200);
  json stats = Admin("GET", "/_sim/stats");
  EXPECT_EQ(stats["throttled_total"], 1);
  EXPECT_EQ(stats["requests"]["GET /v1/instances"]["429"], 1);
  EXPECT_EQ(stats["requests"]["GET /v1/instances"]["200"], 5);
  EXPECT_EQ(stats["max_requests_in_window"], 6);  // the refused request counts as received
  EXPECT_EQ(stats["max_requests_in_window_by_client"]["sim-client"], 6);
}

TEST_F(EngineTest, RetryAfterAsHttpDate) {
  options_.rate_limit = 1;
  options_.retry_after_format = RetryAfterFormat::kHttpDate;
  Start();
  SimResponse r = Api("GET", "/v1/instances");
  ASSERT_EQ(r.status, 429);
  // FakeClock starts at 2027-01-01T00:00:00Z; the window ends 60 s later.
  EXPECT_EQ(r.Header("Retry-After"), "Fri, 01 Jan 2027 00:01:00 GMT");
}

TEST_F(EngineTest, StatsCountRoutesCodesAndCreates) {
  Start();
  Create("a");
  Api("GET", "/v1/instances/nope");
  Api("POST", "/v1/instances", {{"name", "bad"}});
  json s = Admin("GET", "/_sim/stats");
  EXPECT_EQ(s["requests"]["POST /oauth/token"]["200"], 1);
  EXPECT_EQ(s["requests"]["POST /v1/instances"]["202"], 1);
  EXPECT_EQ(s["requests"]["POST /v1/instances"]["400"], 1);
  EXPECT_EQ(s["requests"]["GET /v1/instances/{instanceId}"]["404"], 1);
  EXPECT_EQ(s["post_instances"], 2);
  EXPECT_EQ(s["creates_committed"], 1);
  EXPECT_EQ(s["requests_total"], 4);
  EXPECT_EQ(s["tokens_issued"], 1);
}

TEST_F(EngineTest, ResetForgetsInstancesStatsAndFaultsButKeepsTokens) {
  Start();
  Create("a");
  Admin("POST", "/_sim/faults", {{"list_lag_seconds", 5}});
  EXPECT_EQ(Admin("POST", "/_sim/reset")["reset"], true);
  EXPECT_TRUE(Admin("GET", "/_sim/instances")["instances"].empty());
  EXPECT_EQ(Admin("GET", "/_sim/stats")["requests_total"], 0);
  EXPECT_EQ(Admin("GET", "/_sim/faults")["list_lag_seconds"], 0.0);
  EXPECT_EQ(Api("GET", "/v1/instances").status, 200);
}

TEST_F(EngineTest, StatePersistsAcrossEngines) {
  char tmpl[] = "/tmp/aura-sim-state-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  options_.state_file = std::string(tmpl) + "/state.json";
  Start();
  std::string id = Create("kept");
  ASSERT_FALSE(id.empty());
  clock_.Advance(std::chrono::seconds(4));
  Start();  // a new engine on the same file; time has not moved: still creating
  EXPECT_EQ(Status(id), "creating");
  clock_.Advance(std::chrono::seconds(6));
  EXPECT_EQ(Status(id), "running");
  std::remove(options_.state_file.c_str());
  rmdir(tmpl);
}

}  // namespace
}  // namespace aura::simulator
