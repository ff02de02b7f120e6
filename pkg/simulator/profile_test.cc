// The simulator's profiles (docs/SIMULATOR_PROFILES.md): strict replies unchanged, profile real's
// lean and loose bodies, `resizing`, statuses set on demand, the account and token limits, Aura's
// own lifecycle on a stepped FakeClock, the deprecation header, /_sim/profile and the state file.
// Nothing sleeps.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "pkg/simulator/test_util.h"

namespace aura::simulator {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::seconds;
using testing::CreateBody;
using testing::kTenant;

constexpr char kExpires[] = "Wed, 03 Mar 2027 00:00:00 UTC";

std::set<std::string> Keys(const json& j) {
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  return keys;
}

json FreeBody(const std::string& name = "free") {
  return {{"name", name},           {"version", "5"},    {"region", "europe-west1"},
          {"memory", "1GB"},        {"type", "free-db"}, {"tenant_id", kTenant},
          {"cloud_provider", "gcp"}};
}

json BusinessCriticalBody(const std::string& name = "critical") {
  json b = CreateBody(name);
  b["type"] = "business-critical";
  return b;
}

class ProfileTest : public testing::EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    // Tests that step the clock by days keep one token (RealExpiredTokenStill403 excepted).
    options_.token_ttl = hours(24 * 365 * 10);
  }

  // Profile real with its defaults; `rate_limit` replaces the account's 25 per minute for
  // tests that are about something else.
  void StartReal(int rate_limit = 0) {
    options_.UseProfile(Profile::kReal);
    if (rate_limit > 0) options_.rate_limit = rate_limit;
    Start();
  }

  std::string CreateFrom(const json& body) {
    SimResponse r = Api("POST", "/v1/instances", body);
    EXPECT_EQ(r.status, 202) << r.body;
    return r.status == 202 ? Body(r)["data"]["id"].get<std::string>() : "";
  }

  std::string Running(const json& body = CreateBody()) {
    std::string id = CreateFrom(body);
    clock_.Advance(seconds(10));
    EXPECT_EQ(Status(id), "running");
    return id;
  }

  json Get(const std::string& id) { return Body(Api("GET", "/v1/instances/" + id))["data"]; }

  json AdminInstance(const std::string& id) {
    const json all = Admin("GET", "/_sim/instances");
    for (const auto& i : all["instances"]) {
      if (i["id"] == id) return i;
    }
    return nullptr;
  }

  SimResponse SetStatus(const std::string& id, const json& body) {
    return Do("POST", "/_sim/instances/" + id + "/status", body.dump());
  }

  SimResponse TokenRequest(const std::string& id = kDefaultClientId,
                           const std::string& secret = kDefaultClientSecret) {
    return Do("POST", "/oauth/token", "grant_type=client_credentials",
              {{"Authorization", "Basic " + Base64(id + ":" + secret)},
               {"Content-Type", "application/x-www-form-urlencoded"}});
  }

  std::string Reason(const SimResponse& r) {
    json e = Body(r)["errors"];
    return e.is_array() && !e.empty() ? e[0].value("reason", "") : "";
  }
};

// Checks what profile real changes in every Instance body.
void ExpectRealInstance(const json& d, const std::string& context) {
  SCOPED_TRACE(context);
  ASSERT_TRUE(d.is_object()) << d.dump();
  EXPECT_FALSE(d.contains("created_at"));
  ASSERT_TRUE(d.contains("graph_nodes"));
  EXPECT_TRUE(d["graph_nodes"].is_number_integer());
  EXPECT_TRUE(d["graph_relationships"].is_number_integer());
  ASSERT_TRUE(d.contains("metrics_integration_url"));
  EXPECT_TRUE(d["metrics_integration_url"].is_null());
  EXPECT_TRUE(d.contains("maintenance_window"));  // not in the OpenAPI
  for (const char* k : {"id", "name", "status", "tenant_id", "cloud_provider", "memory", "storage",
                        "region", "type"}) {
    EXPECT_TRUE(d.contains(k)) << k;
  }
}

TEST_F(ProfileTest, StrictRepliesAreUnchanged) {
  Start();
  SimResponse created = Api("POST", "/v1/instances", CreateBody("orders"));
  ASSERT_EQ(created.status, 202);
  json d = Body(created)["data"];
  EXPECT_EQ(Keys(d),
            (std::set<std::string>{"id", "connection_url", "username", "password", "tenant_id",
                                   "cloud_provider", "region", "type", "name", "created_at",
                                   "vector_optimized", "graph_analytics_plugin"}));
  EXPECT_TRUE(created.Header("X-Tyk-Api-Expires").empty());
  const std::string id = d["id"];
  SimResponse list = Api("GET", "/v1/instances");
  EXPECT_EQ(Keys(Body(list)["data"][0]),
            (std::set<std::string>{"id", "name", "tenant_id", "cloud_provider", "created_at"}));
  EXPECT_TRUE(list.Header("X-Tyk-Api-Expires").empty());
  clock_.Advance(seconds(10));
  json got = Get(id);
  EXPECT_TRUE(got.contains("created_at"));
  EXPECT_FALSE(got.contains("graph_nodes"));  // professional-db
  EXPECT_FALSE(got.contains("metrics_integration_url"));
  EXPECT_FALSE(got.contains("maintenance_window"));

  SimResponse resized = Api("PATCH", "/v1/instances/" + id, {{"memory", "8GB"}});
  EXPECT_EQ(resized.status, 202);
  EXPECT_EQ(Body(resized)["data"]["status"], "updating");
  clock_.Advance(seconds(5));
  ASSERT_EQ(Api("POST", "/v1/instances/" + id + "/pause", json::object()).status, 202);
  clock_.Advance(seconds(5));
  EXPECT_EQ(Get(id)["connection_url"], "");
  // Paused for far longer than Aura keeps a paid instance paused: strict has no such rule.
  clock_.Advance(hours(24 * 365));
  EXPECT_EQ(Status(id), "paused");

  std::string free = Running(FreeBody());
  json free_got = Get(free);
  EXPECT_EQ(free_got["graph_nodes"], "0");  // strings, as the OpenAPI says
  EXPECT_EQ(free_got["graph_relationships"], "0");
  clock_.Advance(hours(24 * 365));
  EXPECT_EQ(Status(free), "running");  // never paused by Aura in strict

  std::string bc = Running(BusinessCriticalBody());
  ASSERT_EQ(Api("PATCH", "/v1/instances/" + bc, {{"cdc_enrichment_mode", "DIFF"}}).status, 202);
  clock_.Advance(seconds(5));
  EXPECT_EQ(Get(bc)["cdc_enrichment_mode"], "DIFF");

  // Tokens are not limited; the profile is reported.
  for (int i = 0; i < 30; ++i) ASSERT_EQ(TokenRequest().status, 200) << i;
  json profile = Admin("GET", "/_sim/profile");
  EXPECT_EQ(profile["profile"], "strict");
  EXPECT_EQ(profile["rate_limit"], 125);
  EXPECT_EQ(profile["token_limit"], 0);
  EXPECT_EQ(profile["free_idle_pause_seconds"], 0.0);
  EXPECT_TRUE(profile["api_expires"].is_null());
  EXPECT_EQ(Admin("GET", "/_sim/stats")["profile"], "strict");
}

TEST_F(ProfileTest, RealListIsLean) {
  StartReal();
  CreateFrom(CreateBody("a"));
  CreateFrom(CreateBody("b"));
  json list = Body(Api("GET", "/v1/instances"))["data"];
  ASSERT_EQ(list.size(), 2u);
  for (const auto& item : list) {
    EXPECT_EQ(Keys(item), (std::set<std::string>{"id", "name", "tenant_id", "cloud_provider"}));
  }
  // The admin view keeps every field, created_at included.
  EXPECT_TRUE(Admin("GET", "/_sim/instances")["instances"][0].contains("created_at"));
}

TEST_F(ProfileTest, RealCreateReplyIsLeanWithAnUnknownField) {
  StartReal();
  SimResponse r = Api("POST", "/v1/instances", CreateBody("orders"));
  ASSERT_EQ(r.status, 202) << r.body;
  json d = Body(r)["data"];
  EXPECT_EQ(Keys(d), (std::set<std::string>{"id", "name", "tenant_id", "cloud_provider", "region",
                                            "type", "connection_url", "username", "password",
                                            "aura_db_status_url"}));
  EXPECT_TRUE(d["aura_db_status_url"].is_null());
  EXPECT_FALSE(d["password"].get<std::string>().empty());
  EXPECT_EQ(AdminInstance(d["id"])["password"], d["password"]);
  EXPECT_EQ(AdminInstance(d["id"])["create_response_password"], true);
}

TEST_F(ProfileTest, RealInstanceBodiesOfEveryOperation) {
  StartReal();
  std::string id = CreateFrom(CreateBody());
  ExpectRealInstance(Get(id), "GET creating");
  clock_.Advance(seconds(10));
  ExpectRealInstance(Get(id), "GET running");
  EXPECT_EQ(Get(id)["connection_url"], "neo4j+s://" + id + ".databases.neo4j.io");

  SimResponse patched = Api("PATCH", "/v1/instances/" + id, {{"vector_optimized", true}});
  ASSERT_EQ(patched.status, 202);
  ExpectRealInstance(Body(patched)["data"], "PATCH");
  clock_.Advance(seconds(5));
  SimResponse renamed = Api("PATCH", "/v1/instances/" + id, {{"name", "renamed"}});
  ASSERT_EQ(renamed.status, 200);
  ExpectRealInstance(Body(renamed)["data"], "rename");

  SimResponse paused = Api("POST", "/v1/instances/" + id + "/pause", json::object());
  ASSERT_EQ(paused.status, 202);
  ExpectRealInstance(Body(paused)["data"], "pause");
  clock_.Advance(seconds(5));
  json got = Get(id);
  EXPECT_EQ(got["status"], "paused");
  ASSERT_TRUE(got.contains("connection_url"));
  EXPECT_TRUE(got["connection_url"].is_null());  // strict: ""

  SimResponse resumed = Api("POST", "/v1/instances/" + id + "/resume", json::object());
  ASSERT_EQ(resumed.status, 202);
  ExpectRealInstance(Body(resumed)["data"], "resume");
  clock_.Advance(seconds(5));

  SimResponse deleted = Api("DELETE", "/v1/instances/" + id);
  ASSERT_EQ(deleted.status, 202);
  ExpectRealInstance(Body(deleted)["data"], "DELETE");
  EXPECT_EQ(Body(deleted)["data"]["status"], "destroying");
}

TEST_F(ProfileTest, RealBusinessCriticalCdcReadsBackNull) {
  StartReal();
  std::string id = Running(BusinessCriticalBody());
  EXPECT_TRUE(Get(id)["cdc_enrichment_mode"].is_null());
  SimResponse r = Api("PATCH", "/v1/instances/" + id, {{"cdc_enrichment_mode", "DIFF"}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(Body(r)["data"]["status"], "updating");
  EXPECT_TRUE(Body(r)["data"]["cdc_enrichment_mode"].is_null());
  clock_.Advance(seconds(5));
  json got = Get(id);
  EXPECT_EQ(got["status"], "running");
  ASSERT_TRUE(got.contains("cdc_enrichment_mode"));
  EXPECT_TRUE(got["cdc_enrichment_mode"].is_null());
  EXPECT_EQ(AdminInstance(id)["cdc_enrichment_mode"], "DIFF");  // accepted, just not shown

  // enterprise-db reads its mode back.
  json vdc = CreateBody("vdc");
  vdc["type"] = "enterprise-db";
  std::string e = Running(vdc);
  ASSERT_EQ(Api("PATCH", "/v1/instances/" + e, {{"cdc_enrichment_mode", "FULL"}}).status, 202);
  clock_.Advance(seconds(5));
  EXPECT_EQ(Get(e)["cdc_enrichment_mode"], "FULL");
}

TEST_F(ProfileTest, RealResizeGoesThroughResizing) {
  StartReal();
  std::string id = Running();
  SimResponse r = Api("PATCH", "/v1/instances/" + id, {{"memory", "8GB"}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(Body(r)["data"]["status"], "resizing");
  EXPECT_EQ(Status(id), "resizing");
  SimResponse busy = Api("PATCH", "/v1/instances/" + id, {{"memory", "16GB"}});
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(Reason(busy), "ongoing-database-operation");
  clock_.Advance(seconds(5));
  json got = Get(id);
  EXPECT_EQ(got["status"], "running");
  EXPECT_EQ(got["memory"], "8GB");
  EXPECT_EQ(got["storage"], "16GB");

  r = Api("PATCH", "/v1/instances/" + id, {{"storage", "32GB"}});
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(Body(r)["data"]["status"], "resizing");
  clock_.Advance(seconds(5));
  EXPECT_EQ(Get(id)["storage"], "32GB");

  r = Api("PATCH", "/v1/instances/" + id, {{"graph_analytics_plugin", true}});
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(Body(r)["data"]["status"], "updating");
  clock_.Advance(seconds(5));
  r = Api("PATCH", "/v1/instances/" + id, {{"name", "renamed"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r)["data"]["status"], "running");
}

TEST_F(ProfileTest, StatusesOnDemandInBothProfiles) {
  for (Profile profile : {Profile::kStrict, Profile::kReal}) {
    SCOPED_TRACE(std::string(ProfileName(profile)));
    options_.UseProfile(profile);
    options_.rate_limit = 1000;
    Start();
    std::string id = Running();

    SimResponse set = SetStatus(id, {{"status", "suspended"}});
    ASSERT_EQ(set.status, 200) << set.body;
    EXPECT_EQ(Body(set)["status"], "suspended");
    EXPECT_EQ(Body(set)["status_pinned"], true);
    EXPECT_EQ(Status(id), "suspended");
    clock_.Advance(hours(24 * 40));  // kept as is, whatever time does
    EXPECT_EQ(Status(id), "suspended");
    SimResponse r = Api("PATCH", "/v1/instances/" + id, {{"memory", "8GB"}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(Reason(r), "instance-suspended");
    EXPECT_EQ(Reason(Api("POST", "/v1/instances/" + id + "/pause", json::object())),
              "instance-suspended");
    EXPECT_EQ(Reason(Api("POST", "/v1/instances/" + id + "/resume", json::object())),
              "instance-suspended");
    EXPECT_EQ(Api("PATCH", "/v1/instances/" + id, {{"name", "x"}}).status, 400);

    ASSERT_EQ(SetStatus(id, {{"status", "loading failed"}}).status, 200);
    EXPECT_EQ(Status(id), "loading failed");
    r = Api("PATCH", "/v1/instances/" + id, {{"name", "x"}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(Reason(r), "instance-failed");
    EXPECT_EQ(Reason(Api("POST", "/v1/instances/" + id + "/pause", json::object())),
              "instance-failed");

    for (const char* other : {"hibernating", "loading", "resizing"}) {
      ASSERT_EQ(SetStatus(id, {{"status", other}}).status, 200);
      EXPECT_EQ(Status(id), other);
      r = Api("POST", "/v1/instances/" + id + "/pause", json::object());
      EXPECT_EQ(r.status, 409) << other;
      EXPECT_EQ(Reason(r), "ongoing-database-operation");
      EXPECT_EQ(Api("PATCH", "/v1/instances/" + id, {{"name", "x"}}).status, 409);
      EXPECT_EQ(Api("POST", "/v1/instances/" + id + "/resume", json::object()).status, 409);
      EXPECT_EQ(Api("DELETE", "/v1/instances/" + id).status, 409);
    }

    // "running" hands it back: writes work again.
    ASSERT_EQ(SetStatus(id, {{"status", "running"}}).status, 200);
    EXPECT_EQ(AdminInstance(id)["status_pinned"], false);
    r = Api("PATCH", "/v1/instances/" + id, {{"memory", "8GB"}});
    EXPECT_EQ(r.status, 202) << r.body;
    clock_.Advance(seconds(5));
    EXPECT_EQ(Status(id), "running");

    // Pinned over an operation in flight: the operation is abandoned.
    std::string creating = CreateFrom(CreateBody("creating"));
    ASSERT_EQ(SetStatus(creating, {{"status", "loading"}}).status, 200);
    clock_.Advance(hours(1));
    EXPECT_EQ(Status(creating), "loading");
    // A suspended or failed instance can be deleted.
    ASSERT_EQ(SetStatus(creating, {{"status", "suspended"}}).status, 200);
    EXPECT_EQ(Api("DELETE", "/v1/instances/" + creating).status, 202);
    clock_.Advance(seconds(5));
    EXPECT_EQ(Api("GET", "/v1/instances/" + creating).status, 404);

    // Admin errors.
    EXPECT_EQ(SetStatus("deadbeef", {{"status", "suspended"}}).status, 404);
    EXPECT_EQ(SetStatus(creating, {{"status", "suspended"}}).status, 404);  // deleted
    EXPECT_EQ(SetStatus(id, {{"status", ""}}).status, 400);
    EXPECT_EQ(SetStatus(id, {{"status", 3}}).status, 400);
    EXPECT_EQ(SetStatus(id, json::object()).status, 400);
    EXPECT_EQ(Do("POST", "/_sim/instances/" + id + "/status", "{oops").status, 400);
    EXPECT_EQ(Do("GET", "/_sim/instances/" + id + "/status").status, 405);

    // A reset forgets it all.
    ASSERT_EQ(SetStatus(id, {{"status", "suspended"}}).status, 200);
    Admin("POST", "/_sim/reset");
    EXPECT_EQ(Api("GET", "/v1/instances/" + id).status, 404);
  }
}

TEST_F(ProfileTest, RealAccountLimitIs25PerWindow) {
  StartReal();  // the token request is the first of the window
  for (int i = 0; i < 24; ++i) ASSERT_EQ(Api("GET", "/v1/instances").status, 200) << i;
  clock_.Advance(seconds(20));
  SimResponse r = Api("GET", "/v1/instances");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.Header("Retry-After"), "40");
  EXPECT_EQ(r.Header("X-Tyk-Api-Expires"), kExpires);
  clock_.Advance(seconds(40));
  EXPECT_EQ(Api("GET", "/v1/instances").status, 200);
  json stats = Admin("GET", "/_sim/stats");
  EXPECT_EQ(stats["rate_limit"], 25);
  EXPECT_EQ(stats["throttled_total"], 1);

  // An explicit limit wins over the profile's.
  options_.UseProfile(Profile::kReal);
  options_.rate_limit = 40;
  Start();
  for (int i = 0; i < 39; ++i) ASSERT_EQ(Api("GET", "/v1/instances").status, 200) << i;
  EXPECT_EQ(Api("GET", "/v1/instances").status, 429);
}

TEST_F(ProfileTest, RealTokenEndpointLimitPerClient) {
  options_.clients = {{kDefaultClientId, kDefaultClientSecret, {}}, {"other", "other-secret", {}}};
  StartReal();  // token 1 of sim-client at t0
  clock_.Advance(std::chrono::minutes(10));
  for (int i = 2; i <= 15; ++i) ASSERT_EQ(TokenRequest().status, 200) << i;
  SimResponse r = TokenRequest();
  ASSERT_EQ(r.status, 429) << r.body;
  // Until the first token request (t0) leaves the hour.
  EXPECT_EQ(r.Header("Retry-After"), "3000");
  json body = Body(r);
  EXPECT_EQ(body["error"], "rate_limited");
  EXPECT_TRUE(body["error_description"].is_string());
  EXPECT_FALSE(body.contains("errors"));
  EXPECT_TRUE(r.Header("X-Tyk-Api-Expires").empty());  // not a /v1 route
  // Each client has its own count.
  EXPECT_EQ(TokenRequest("other", "other-secret").status, 200);
  // Tokens already issued keep working.
  EXPECT_EQ(Api("GET", "/v1/instances").status, 200);

  clock_.Advance(seconds(2999));
  EXPECT_EQ(TokenRequest().status, 429);
  clock_.Advance(seconds(1));
  EXPECT_EQ(TokenRequest().status, 200);

  json stats = Admin("GET", "/_sim/stats");
  EXPECT_EQ(stats["token_requests_total"], 19);
  EXPECT_EQ(stats["token_requests_by_client"]["sim-client"], 18);
  EXPECT_EQ(stats["token_requests_by_client"]["other"], 1);
  EXPECT_EQ(stats["token_throttled_total"], 2);
  EXPECT_EQ(stats["tokens_issued"], 17);
  EXPECT_EQ(stats["token_limit"], 15);
  EXPECT_EQ(stats["token_window_seconds"], 3600.0);
  EXPECT_EQ(stats["requests"]["POST /oauth/token"]["429"], 2);
}

TEST_F(ProfileTest, TokenLimitInStrictWhenAsked) {
  options_.token_limit = 2;
  options_.token_window = seconds(30);
  options_.retry_after_format = RetryAfterFormat::kHttpDate;
  Start();
  clock_.Advance(seconds(5));
  EXPECT_EQ(TokenRequest().status, 200);
  SimResponse r = TokenRequest();
  ASSERT_EQ(r.status, 429);
  // FakeClock starts at 2027-01-01T00:00:00Z; the first token request leaves at 00:00:30.
  EXPECT_EQ(r.Header("Retry-After"), "Fri, 01 Jan 2027 00:00:30 GMT");
}

TEST_F(ProfileTest, RealExpiredTokenStillAnswers403) {
  options_.token_ttl = hours(1);
  StartReal();
  EXPECT_EQ(Api("GET", "/v1/instances").status, 200);
  clock_.Advance(hours(1));
  SimResponse r = Api("GET", "/v1/instances");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Body(r)["error"], "Access token expired");
}

TEST_F(ProfileTest, DeprecationHeaderOnEveryV1Response) {
  StartReal();
  std::vector<SimResponse> responses = {Api("GET", "/v1/instances"),
                                        Api("GET", "/v1/instances/deadbeef"),
                                        Api("POST", "/v1/instances", CreateBody()),
                                        Api("GET", "/v1/tenants"),
                                        Do("GET", "/v1/instances"),  // 401
                                        Api("GET", "/v1/nothing"),
                                        Api("PUT", "/v1/instances")};
  for (const SimResponse& r : responses) {
    EXPECT_EQ(r.Header("X-Tyk-Api-Expires"), kExpires) << r.route << " " << r.status;
  }
  EXPECT_TRUE(TokenRequest().Header("X-Tyk-Api-Expires").empty());
  EXPECT_TRUE(Do("GET", "/_sim/stats").Header("X-Tyk-Api-Expires").empty());

  options_.api_expires = "Tue, 01 Jun 2027 00:00:00 UTC";
  Start();
  EXPECT_EQ(Api("GET", "/v1/tenants").Header("X-Tyk-Api-Expires"), "Tue, 01 Jun 2027 00:00:00 UTC");
  options_.api_expires = "";
  Start();
  EXPECT_TRUE(Api("GET", "/v1/tenants").Header("X-Tyk-Api-Expires").empty());
}

TEST_F(ProfileTest, RealFreeInstancePausedAfterIdleThenDeleted) {
  StartReal(1000);
  std::string id = Running(FreeBody());  // running at t0 + 10 s
  // A rename at 50 h is a write: the idle time counts from there.
  clock_.Advance(hours(50));
  ASSERT_EQ(Api("PATCH", "/v1/instances/" + id, {{"name", "renamed"}}).status, 200);
  clock_.Advance(hours(72) - seconds(1));
  EXPECT_EQ(Status(id), "running");
  clock_.Advance(seconds(1));
  EXPECT_EQ(Status(id), "pausing");
  EXPECT_EQ(AdminInstance(id)["auto_paused"], 1);
  clock_.Advance(seconds(5));
  EXPECT_EQ(Status(id), "paused");
  EXPECT_TRUE(Get(id)["connection_url"].is_null());

  // Paused for 720 h: deleted.
  clock_.Advance(hours(720) - seconds(1));
  EXPECT_EQ(Status(id), "paused");
  clock_.Advance(seconds(1));
  EXPECT_EQ(Api("GET", "/v1/instances/" + id).status, 404);
  EXPECT_TRUE(Body(Api("GET", "/v1/instances"))["data"].empty());
  json admin = AdminInstance(id);
  EXPECT_EQ(admin["deleted"], true);
  EXPECT_EQ(admin["auto_deleted"], true);
  EXPECT_EQ(admin["auto_resumed"], 0);
  json stats = Admin("GET", "/_sim/stats");
  EXPECT_EQ(stats["auto_paused_total"], 1);
  EXPECT_EQ(stats["auto_deleted_total"], 1);
  EXPECT_EQ(stats["auto_resumed_total"], 0);
  // The project may have a free instance again.
  EXPECT_EQ(Api("POST", "/v1/instances", FreeBody("again")).status, 202);
}

TEST_F(ProfileTest, RealLifecycleEventsHappenAtTheirOwnTimesInOneJump) {
  StartReal();
  std::string id = CreateFrom(FreeBody());
  // One jump past everything: running at 10 s, paused by Aura at 10 s + 72 h (pausing for 5 s),
  // deleted 720 h after that.
  clock_.Advance(hours(2000));
  json admin = AdminInstance(id);
  EXPECT_EQ(admin["deleted"], true);
  EXPECT_EQ(admin["auto_paused"], 1);
  const auto deleted_at = base::SystemTime(std::chrono::seconds(1798761600)) + seconds(10) +
                          hours(72) + seconds(5) + hours(720);
  EXPECT_EQ(admin["deleted_at"], FormatRfc3339(deleted_at));
}

TEST_F(ProfileTest, RealFreeInstanceResumedByTheUserStaysUpWhileWrittenTo) {
  StartReal(1000);
  std::string id = Running(FreeBody());
  clock_.Advance(hours(72) + seconds(5));
  ASSERT_EQ(Status(id), "paused");
  clock_.Advance(hours(100));
  ASSERT_EQ(Api("POST", "/v1/instances/" + id + "/resume", json::object()).status, 202);
  clock_.Advance(seconds(5));
  EXPECT_EQ(Status(id), "running");
  for (int day = 0; day < 10; ++day) {  // a write every 48 h keeps it running
    clock_.Advance(hours(48));
    ASSERT_EQ(Status(id), "running") << day;
    ASSERT_EQ(Api("PATCH", "/v1/instances/" + id, {{"name", "n" + std::to_string(day)}}).status,
              200);
  }
  EXPECT_EQ(AdminInstance(id)["auto_paused"], 1);
  EXPECT_EQ(AdminInstance(id)["auto_deleted"], false);
}

TEST_F(ProfileTest, RealPaidInstanceResumedAfterLongPause) {
  StartReal(1000);
  std::string id = Running();
  ASSERT_EQ(Api("POST", "/v1/instances/" + id + "/pause", json::object()).status, 202);
  clock_.Advance(seconds(5));
  ASSERT_EQ(Status(id), "paused");
  clock_.Advance(hours(720) - seconds(1));
  EXPECT_EQ(Status(id), "paused");
  clock_.Advance(seconds(1));
  EXPECT_EQ(Status(id), "resuming");
  clock_.Advance(seconds(5));
  EXPECT_EQ(Status(id), "running");
  // Paid instances are never paused by Aura for idleness.
  clock_.Advance(hours(24 * 365));
  EXPECT_EQ(Status(id), "running");
  EXPECT_EQ(AdminInstance(id)["auto_resumed"], 1);
  EXPECT_EQ(AdminInstance(id)["auto_paused"], 0);
  EXPECT_EQ(Admin("GET", "/_sim/stats")["auto_resumed_total"], 1);
}

TEST_F(ProfileTest, PinnedStatusStopsAurasOwnLifecycle) {
  StartReal(1000);
  std::string id = Running(FreeBody());
  ASSERT_EQ(SetStatus(id, {{"status", "suspended"}}).status, 200);
  clock_.Advance(hours(2000));
  EXPECT_EQ(Status(id), "suspended");
  // "paused" hands it back to the lifecycle: the 720 h count starts now.
  ASSERT_EQ(SetStatus(id, {{"status", "paused"}}).status, 200);
  clock_.Advance(hours(720));
  EXPECT_EQ(Api("GET", "/v1/instances/" + id).status, 404);
}

TEST_F(ProfileTest, ProfileRouteReportsEffectiveSettings) {
  options_.UseProfile(Profile::kReal);
  options_.token_limit = 7;
  Start();
  json p = Admin("GET", "/_sim/profile");
  EXPECT_EQ(p["profile"], "real");
  EXPECT_EQ(p["lean_replies"], true);
  EXPECT_EQ(p["resize_status"], "resizing");
  EXPECT_EQ(p["rate_limit"], 25);
  EXPECT_EQ(p["rate_window_seconds"], 60.0);
  EXPECT_EQ(p["token_limit"], 7);
  EXPECT_EQ(p["token_window_seconds"], 3600.0);
  EXPECT_EQ(p["free_idle_pause_seconds"], 72 * 3600.0);
  EXPECT_EQ(p["free_paused_delete_seconds"], 720 * 3600.0);
  EXPECT_EQ(p["paid_paused_resume_seconds"], 720 * 3600.0);
  EXPECT_EQ(p["api_expires"], kExpires);
  EXPECT_EQ(Admin("GET", "/_sim/stats")["profile"], "real");
}

TEST_F(ProfileTest, StateFileKeepsPinnedStatusesAndLifecycleTimes) {
  char tmpl[] = "/tmp/aura-sim-profile-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  options_.state_file = std::string(tmpl) + "/state.json";
  StartReal(1000);
  std::string free = Running(FreeBody());  // running at t0 + 10 s
  std::string paid = Running();
  std::string pinned = Running(CreateBody("pinned"));
  ASSERT_EQ(SetStatus(pinned, {{"status", "loading failed"}}).status, 200);
  ASSERT_EQ(Api("POST", "/v1/instances/" + paid + "/pause", json::object()).status, 202);
  clock_.Advance(seconds(5));
  clock_.Advance(hours(40));
  ASSERT_EQ(Api("PATCH", "/v1/instances/" + free, {{"name", "written"}}).status, 200);

  Start();  // a new engine on the same file
  EXPECT_EQ(Status(pinned), "loading failed");
  EXPECT_EQ(Reason(Api("PATCH", "/v1/instances/" + pinned, {{"name", "x"}})), "instance-failed");
  // The idle time counts from the write before the restart, the pause from before it too.
  clock_.Advance(hours(72) - seconds(1));
  EXPECT_EQ(Status(free), "running");
  clock_.Advance(seconds(1));
  EXPECT_EQ(Status(free), "pausing");
  clock_.Advance(hours(720 - 40 - 72) - seconds(1));
  EXPECT_EQ(Status(paid), "paused");
  clock_.Advance(seconds(1));
  EXPECT_EQ(Status(paid), "resuming");

  Start();
  json admin = AdminInstance(free);
  EXPECT_EQ(admin["auto_paused"], 1);
  EXPECT_EQ(AdminInstance(paid)["auto_resumed"], 1);
  EXPECT_EQ(AdminInstance(pinned)["status_pinned"], true);
  std::remove(options_.state_file.c_str());
  rmdir(tmpl);
}

}  // namespace
}  // namespace aura::simulator
