// The simulator's profiles over real HTTP on 127.0.0.1 (docs/SIMULATOR_PROFILES.md): the
// binary started with --profile real serves lean LIST items, the deprecation header and the
// 25-per-window account limit; strict keeps neither; the token limit, the admin status route
// and --help. The engine's unit tests (pkg/simulator/profile_test.cc) step a FakeClock through
// the rest.
#include "tests/harness/subprocess.h"
#include "tests/simulator/sim_test_util.h"

namespace aura::test_harness {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr char kExpires[] = "Wed, 03 Mar 2027 00:00:00 UTC";

TEST_F(SimulatorHttpTest, RealProfileLeanListDeprecationHeaderAnd25PerWindow) {
  StartSim({"--profile", "real"});  // the token request is the first of the window
  HttpResult created = Api("POST", "/instances", CreateBody("orders"));
  ASSERT_EQ(created.status, 202) << created.body;
  EXPECT_FALSE(created.json["data"].contains("created_at"));
  EXPECT_EQ(created.Header("X-Tyk-Api-Expires"), kExpires);

  HttpResult list = Api("GET", "/instances");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json["data"].size(), 1u);
  std::set<std::string> keys;
  for (const auto& [k, v] : list.json["data"][0].items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"id", "name", "tenant_id", "cloud_provider"}));
  EXPECT_EQ(list.Header("X-Tyk-Api-Expires"), kExpires);

  auto profile = GetJson(sim_->base_url() + "/_sim/profile");
  ASSERT_TRUE(profile.ok()) << profile.status();
  EXPECT_EQ((*profile)["profile"], "real");
  EXPECT_EQ((*profile)["rate_limit"], 25);
  EXPECT_EQ((*profile)["token_limit"], 15);

  // Three requests so far (token, POST, LIST): 22 more fit in the minute, the next is refused.
  int ok = 0;
  HttpResult refused;
  for (int i = 0; i < 30 && refused.status == 0; ++i) {
    HttpResult r = Api("GET", "/instances");
    if (r.status == 200) ++ok;
    if (r.status == 429) refused = r;
  }
  EXPECT_EQ(ok, 22);
  ASSERT_EQ(refused.status, 429);
  EXPECT_TRUE(refused.json.contains("error"));
  const std::string retry_after = refused.Header("Retry-After");
  ASSERT_FALSE(retry_after.empty());
  EXPECT_GE(std::stoi(retry_after), 1);
  EXPECT_LE(std::stoi(retry_after), 60);
  EXPECT_EQ(refused.Header("X-Tyk-Api-Expires"), kExpires);
  auto stats = sim_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)["profile"], "real");
  EXPECT_EQ((*stats)["throttled_total"], 1);
}

TEST_F(SimulatorHttpTest, StrictProfileHasNoDeprecationHeaderAndFullList) {
  StartSim();
  ASSERT_EQ(Api("POST", "/instances", CreateBody("orders")).status, 202);
  HttpResult list = Api("GET", "/instances");
  EXPECT_TRUE(list.Header("X-Tyk-Api-Expires").empty());
  EXPECT_TRUE(list.json["data"][0].contains("created_at"));
  auto profile = GetJson(sim_->base_url() + "/_sim/profile");
  ASSERT_TRUE(profile.ok());
  EXPECT_EQ((*profile)["profile"], "strict");
}

TEST_F(SimulatorHttpTest, TokenLimitAnswers429WithAnOAuthBody) {
  StartSim({"--token-limit", "2", "--token-window", "1h", "--api-expires", "Tue, 01 Jun 2027"});
  const Headers form = {{"Authorization", BasicAuth(kSimClientId, kSimClientSecret)},
                        {"Content-Type", "application/x-www-form-urlencoded"}};
  auto second = Http("POST", sim_->token_url(), "grant_type=client_credentials", form);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->status, 200);
  auto third = Http("POST", sim_->token_url(), "grant_type=client_credentials", form);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->status, 429);
  EXPECT_EQ(third->json["error"], "rate_limited");
  EXPECT_TRUE(third->json["error_description"].is_string());
  // About an hour until the first token request leaves the window.
  const int retry_after = std::stoi(third->Header("Retry-After"));
  EXPECT_GT(retry_after, 3500);
  EXPECT_LE(retry_after, 3600);
  EXPECT_EQ(Api("GET", "/tenants").Header("X-Tyk-Api-Expires"), "Tue, 01 Jun 2027");
  auto stats = sim_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)["token_requests_total"], 3);
  EXPECT_EQ((*stats)["token_requests_by_client"][kSimClientId], 3);
  EXPECT_EQ((*stats)["token_throttled_total"], 1);
}

TEST_F(SimulatorHttpTest, AdminSetsAnInstanceStatus) {
  StartSim({"--profile", "real", "--rate-limit", "1000"});
  HttpResult created = Api("POST", "/instances", CreateBody("orders"));
  ASSERT_EQ(created.status, 202);
  const std::string id = created.json["data"]["id"];
  ASSERT_TRUE(AwaitStatus(id, "running"));
  auto set =
      PostJson(sim_->base_url() + "/_sim/instances/" + id + "/status", {{"status", "suspended"}});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(Status(id), "suspended");
  HttpResult patch = Api("PATCH", "/instances/" + id, {{"memory", "8GB"}});
  EXPECT_EQ(patch.status, 400);
  EXPECT_EQ(patch.json["errors"][0]["reason"], "instance-suspended");
  ASSERT_TRUE(
      PostJson(sim_->base_url() + "/_sim/instances/" + id + "/status", {{"status", "running"}})
          .ok());
  patch = Api("PATCH", "/instances/" + id, {{"memory", "8GB"}});
  EXPECT_EQ(patch.status, 202);
  EXPECT_EQ(patch.json["data"]["status"], "resizing");
  ASSERT_TRUE(AwaitStatus(id, "running"));
}

TEST(SimulatorHelpTest, HelpDocumentsTheProfileFlags) {
  for (const char* flag : {"--help", "-h"}) {
    SubprocessOptions o;
    o.path = SimulatorBinary();
    o.args = {flag};
    o.stdout_mode = OutputMode::kPipe;
    auto p = Subprocess::Start(o);
    ASSERT_TRUE(p.ok()) << p.status();
    auto exit = (*p)->Wait(std::chrono::seconds(10));
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_TRUE(exit->ok()) << exit->ToString();
    const std::string out = (*p)->Output();
    for (const char* text : {"--profile", "--token-limit", "--token-window", "--free-idle-pause",
                             "--free-paused-delete", "--paid-paused-resume", "--api-expires",
                             "/_sim/profile", "/_sim/instances/ID/status"}) {
      EXPECT_NE(out.find(text), std::string::npos) << flag << ": " << text;
    }
  }
}

}  // namespace
}  // namespace aura::test_harness
