// Fault configuration parsing, the injector's reproducibility, and every fault mode through
// the engine (FakeClock; nothing sleeps).
#include "pkg/simulator/faults.h"

#include <gtest/gtest.h>

#include "pkg/simulator/test_util.h"

namespace aura::simulator {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ParseFaultsTest, ParsesEveryKindAndRoundTrips) {
  json j = {{"seed", 9},
            {"errors",
             {{{"route", "POST /v1/instances"},
               {"rate", 0.5},
               {"status", 502},
               {"retry_after", 3},
               {"count", 2}}}},
            {"latency", {{{"ms", 100}, {"jitter_ms", 20}}}},
            {"throttle", {{{"count", 3}, {"retry_after", 2}}}},
            {"create_failure", {{"mode", "timeout"}, {"delay_seconds", 30}}},
            {"malformed", {{{"route", "GET /v1/instances"}, {"mode", "wrong_types"}}}},
            {"token_expiry_seconds", 5},
            {"list_lag_seconds", 2.5}};
  auto f = ParseFaults(j);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->seed, 9u);
  ASSERT_EQ(f->errors.size(), 1u);
  EXPECT_EQ(f->errors[0].status, 502);
  EXPECT_EQ(f->errors[0].retry_after_seconds, 3);
  EXPECT_EQ(f->errors[0].rule.count, 2);
  EXPECT_EQ(f->latency[0].rule.route, "*");
  EXPECT_EQ(f->create_failure->mode, CreateFailMode::kTimeout);
  EXPECT_EQ(f->malformed[0].mode, MalformedMode::kWrongTypes);
  EXPECT_EQ(f->token_expiry_seconds, 5.0);
  EXPECT_EQ(f->list_lag_seconds, 2.5);
  auto again = ParseFaults(FaultsToJson(*f));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(FaultsToJson(*again), FaultsToJson(*f));
}

TEST(ParseFaultsTest, MergesByTopLevelKeyAndClears) {
  auto base = ParseFaults({{"list_lag_seconds", 3}, {"latency", {{{"ms", 5}}}}});
  ASSERT_TRUE(base.ok());
  auto merged = ParseFaults({{"latency", json::array()}}, *base);
  ASSERT_TRUE(merged.ok());
  EXPECT_TRUE(merged->latency.empty());
  EXPECT_EQ(merged->list_lag_seconds, 3.0);
  auto cleared = ParseFaults({{"clear", true}}, *base);
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->list_lag_seconds, 0.0);
}

TEST(ParseFaultsTest, RejectsBadInput) {
  for (const json& bad : std::vector<json>{{{"nonsense", 1}},
                                           {{"errors", {{{"status", 404}}}}},
                                           {{"errors", {{{"rate", 2}}}}},
                                           {{"errors", {{{"route", 7}}}}},
                                           {{"errors", json::object()}},
                                           {{"create_failure", {{"mode", "explode"}}}},
                                           {{"malformed", {{{"mode", "garble"}}}}},
                                           {{"latency", {{{"ms", -1}}}}},
                                           {{"list_lag_seconds", "soon"}},
                                           json::array()}) {
    auto f = ParseFaults(bad);
    EXPECT_FALSE(f.ok()) << bad.dump();
    EXPECT_EQ(f.status().code(), base::StatusCode::kInvalidArgument);
  }
}

TEST(FaultInjectorTest, SameSeedSameFaultsPerRouteIndependently) {
  auto config = ParseFaults({{"errors", {{{"rate", 0.3}}}}});
  ASSERT_TRUE(config.ok());
  FaultInjector a(42, *config), b(42, *config), c(43, *config);
  std::string seq_a, seq_b, seq_c;
  for (int i = 0; i < 200; ++i) {
    // b also sees another route in between: GET's faults must not change.
    b.Error("POST /v1/instances");
    seq_a += a.Error("GET /v1/instances") ? '1' : '0';
    seq_b += b.Error("GET /v1/instances") ? '1' : '0';
    seq_c += c.Error("GET /v1/instances") ? '1' : '0';
  }
  EXPECT_EQ(seq_a, seq_b);
  EXPECT_NE(seq_a, seq_c);
  int fired = static_cast<int>(std::count(seq_a.begin(), seq_a.end(), '1'));
  EXPECT_GT(fired, 30);
  EXPECT_LT(fired, 100);
}

TEST(FaultInjectorTest, CountLimitsFiringsAndRouteFilters) {
  auto config = ParseFaults({{"errors", {{{"route", "GET /v1/tenants"}, {"count", 2}}}}});
  ASSERT_TRUE(config.ok());
  FaultInjector f(1, *config);
  EXPECT_EQ(f.Error("GET /v1/instances"), nullptr);
  EXPECT_NE(f.Error("GET /v1/tenants"), nullptr);
  EXPECT_NE(f.Error("GET /v1/tenants"), nullptr);
  EXPECT_EQ(f.Error("GET /v1/tenants"), nullptr);
  EXPECT_EQ(f.config().errors[0].rule.count, 0);
}

class FaultModesTest : public testing::EngineFixture {
 protected:
  void SetFaults(const json& j) { Admin("POST", "/_sim/faults", j); }
  size_t Committed() { return Admin("GET", "/_sim/instances")["instances"].size(); }
};

TEST_F(FaultModesTest, ErrorFaultRefusesWithoutSideEffects) {
  Start();
  SetFaults(
      {{"errors",
        {{{"route", "POST /v1/instances"}, {"status", 503}, {"retry_after", 7}, {"count", 1}}}}});
  SimResponse r = Api("POST", "/v1/instances", testing::CreateBody());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Retry-After"), "7");
  EXPECT_TRUE(Body(r).contains("error"));
  EXPECT_EQ(Committed(), 0u);
  EXPECT_EQ(Api("POST", "/v1/instances", testing::CreateBody()).status, 202);  // count used up

  SetFaults({{"errors", {{{"status", 500}}}}});
  r = Api("GET", "/v1/tenants");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.Header("Retry-After"), "");
  EXPECT_EQ(Body(r)["error"], "Internal Server Error");
  EXPECT_EQ(Admin("GET", "/_sim/stats")["faults_injected"]["error"], 2);
}

TEST_F(FaultModesTest, LatencyDelaysTheResponse) {
  Start();
  SetFaults({{"latency", {{{"route", "GET /v1/instances"}, {"ms", 250}}}}});
  EXPECT_EQ(Api("GET", "/v1/instances").delay, milliseconds(250));
  EXPECT_EQ(Api("GET", "/v1/tenants").delay, milliseconds(0));
  SetFaults({{"latency", {{{"ms", 100}, {"jitter_ms", 50}}}}});
  base::Duration d = Api("GET", "/v1/tenants").delay;
  EXPECT_GE(d, milliseconds(100));
  EXPECT_LE(d, milliseconds(150));
}

TEST_F(FaultModesTest, ThrottleBurstAnswers429ThenRecovers) {
  Start();
  SetFaults({{"throttle", {{{"count", 3}, {"retry_after", 4}}}}});
  for (int i = 0; i < 3; ++i) {
    SimResponse r = Api("GET", "/v1/instances");
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.Header("Retry-After"), "4");
  }
  EXPECT_EQ(Api("GET", "/v1/instances").status, 200);
  json s = Admin("GET", "/_sim/stats");
  EXPECT_EQ(s["throttled_total"], 3);
  EXPECT_EQ(s["max_requests_in_window"], 5);  // token + 3 refused + 1
}

TEST_F(FaultModesTest, EarlyTokenExpiryAndExpireNow) {
  Start();
  SetFaults({{"token_expiry_seconds", 5}});
  token_ = Token();
  SimResponse r = Do("POST", "/oauth/token", "grant_type=client_credentials",
                     {{"Authorization", "Basic " + Base64("sim-client:sim-secret")},
                      {"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(Body(r)["expires_in"], 3600);  // the announced TTL does not change
  EXPECT_EQ(Api("GET", "/v1/instances").status, 200);
  clock_.Advance(seconds(5));
  EXPECT_EQ(Api("GET", "/v1/instances").status, 403);

  SetFaults({{"token_expiry_seconds", nullptr}});
  token_ = Token();
  EXPECT_EQ(Api("GET", "/v1/instances").status, 200);
  SetFaults({{"expire_tokens_now", true}});
  EXPECT_EQ(Api("GET", "/v1/instances").status, 403);
  token_ = Token();
  EXPECT_EQ(Api("GET", "/v1/instances").status, 200);
}

TEST_F(FaultModesTest, CreateCommitsThenAnswers500) {
  Start();
  SetFaults({{"create_failure", {{"mode", "500"}, {"count", 1}}}});
  SimResponse r = Api("POST", "/v1/instances", testing::CreateBody("x"));
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(Body(r).contains("error"));
  EXPECT_EQ(Committed(), 1u);  // the instance exists all the same
  EXPECT_EQ(Body(Api("GET", "/v1/instances"))["data"].size(), 1u);
  EXPECT_EQ(Api("POST", "/v1/instances", testing::CreateBody("y")).status, 202);
}

TEST_F(FaultModesTest, CreateCommitsThenDropsTheConnection) {
  Start();
  SetFaults({{"create_failure", {{"mode", "drop"}}}});
  SimResponse r = Api("POST", "/v1/instances", testing::CreateBody("x"));
  EXPECT_EQ(r.disposition, Disposition::kDropConnection);
  EXPECT_EQ(Committed(), 1u);
  EXPECT_EQ(Admin("GET", "/_sim/stats")["requests"]["POST /v1/instances"]["dropped"], 1);
  // A refused create is not committed, so there is nothing to fail.
  EXPECT_EQ(Api("POST", "/v1/instances", {{"name", "bad"}}).disposition, Disposition::kReply);
}

TEST_F(FaultModesTest, CreateCommitsThenAnswersTooLate) {
  Start();
  SetFaults({{"create_failure", {{"mode", "timeout"}, {"delay_seconds", 45}}}});
  SimResponse r = Api("POST", "/v1/instances", testing::CreateBody("x"));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.delay, seconds(45));
  EXPECT_EQ(Committed(), 1u);
}

TEST_F(FaultModesTest, AdminInstancesTellHowEachCreateWasAnswered) {
  Start();
  SimResponse ok = Api("POST", "/v1/instances", testing::CreateBody("ok"));
  ASSERT_EQ(ok.status, 202);
  SetFaults({{"create_failure", {{"mode", "500"}, {"count", 1}}}});
  EXPECT_EQ(Api("POST", "/v1/instances", testing::CreateBody("f500")).status, 500);
  SetFaults({{"create_failure", {{"mode", "drop"}, {"count", 1}}}});
  EXPECT_EQ(Api("POST", "/v1/instances", testing::CreateBody("fdrop")).disposition,
            Disposition::kDropConnection);
  SetFaults({{"create_failure", {{"mode", "timeout"}, {"count", 1}, {"delay_seconds", 7}}},
             {"latency", {{{"route", "POST /v1/instances"}, {"ms", 250}}}}});
  SimResponse late = Api("POST", "/v1/instances", testing::CreateBody("late"));
  EXPECT_EQ(late.status, 202);
  // A refused create commits nothing and leaves no record.
  EXPECT_EQ(Api("POST", "/v1/instances", {{"name", "bad"}}).status, 400);

  json all = Admin("GET", "/_sim/instances")["instances"];
  ASSERT_EQ(all.size(), 4u);
  auto field = [&](size_t i, const char* k) { return all[i][k]; };
  EXPECT_EQ(field(0, "password"), Body(ok)["data"]["password"]);
  EXPECT_EQ(field(0, "create_response_code"), "202");
  EXPECT_EQ(field(0, "create_response_delay_ms"), 0);
  EXPECT_EQ(field(1, "create_response_code"), "500");
  EXPECT_EQ(field(2, "create_response_code"), "dropped");
  EXPECT_EQ(field(3, "create_response_code"), "202");
  EXPECT_EQ(field(3, "create_response_delay_ms"), 7250);
  EXPECT_EQ(field(3, "password"), Body(late)["data"]["password"]);
  EXPECT_EQ(field(0, "create_response_faults"), "");
  EXPECT_EQ(field(3, "create_response_faults"), "create_timeout,latency");
  EXPECT_EQ(field(0, "create_response_bytes"), static_cast<int64_t>(ok.body.size()));
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(field(i, "password").get<std::string>().size(), 43u);
    EXPECT_EQ(field(i, "created_ms"), std::chrono::duration_cast<std::chrono::milliseconds>(
                                          clock_.SystemNow().time_since_epoch())
                                          .count());
  }
  // The public API never shows a password again.
  EXPECT_FALSE(
      Body(Api("GET", "/v1/instances/" + field(0, "id").get<std::string>()))["data"].contains(
          "password"));
}

TEST_F(FaultModesTest, CreateFailureRateIsReproducible) {
  options_.seed = 5;
  options_.faults = *ParseFaults({{"create_failure", {{"mode", "500"}, {"rate", 0.5}}}});
  auto run = [&] {
    Start();
    std::string seq;
    for (int i = 0; i < 40; ++i) {
      seq += Api("POST", "/v1/instances", testing::CreateBody("n")).status == 500 ? 'F' : '.';
    }
    return seq;
  };
  std::string first = run();
  EXPECT_EQ(run(), first);
  EXPECT_NE(first.find('F'), std::string::npos);
  EXPECT_NE(first.find('.'), std::string::npos);
}

TEST_F(FaultModesTest, ListLagHidesNewInstancesFromListOnly) {
  Start();
  SetFaults({{"list_lag_seconds", 3}});
  std::string id = Create("lagging");
  EXPECT_TRUE(Body(Api("GET", "/v1/instances"))["data"].empty());
  EXPECT_EQ(Api("GET", "/v1/instances/" + id).status, 200);
  clock_.Advance(seconds(3));
  EXPECT_EQ(Body(Api("GET", "/v1/instances"))["data"].size(), 1u);
}

TEST_F(FaultModesTest, MalformedBodies) {
  Start();
  std::string id = Create("m");
  SetFaults(
      {{"malformed",
        {{{"route", "GET /v1/instances/{instanceId}"}, {"mode", "truncate"}, {"count", 1}}}}});
  SimResponse r = Api("GET", "/v1/instances/" + id);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(Body(r).is_discarded());  // not JSON any more
  EXPECT_FALSE(Body(Api("GET", "/v1/instances/" + id)).is_discarded());

  SetFaults({{"malformed", {{{"route", "GET /v1/instances"}, {"mode", "wrong_types"}}}}});
  json j = Body(Api("GET", "/v1/instances"));
  ASSERT_FALSE(j.is_discarded());
  EXPECT_TRUE(j["data"][0]["id"].is_number());
  EXPECT_TRUE(j["data"][0]["created_at"].is_number());
  // Errors are never malformed: only 2xx bodies.
  EXPECT_FALSE(Body(Api("GET", "/v1/instances/nope")).is_discarded());
}

TEST_F(FaultModesTest, MissingFieldsAndHugeBodies) {
  Start();
  std::string id = Create("m");
  SetFaults({{"malformed", {{{"route", "GET /v1/instances"}, {"mode", "missing_fields"}}}}});
  json list = Body(Api("GET", "/v1/instances"));
  ASSERT_TRUE(list["data"].is_array());
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_FALSE(list["data"][0].contains("id"));
  EXPECT_EQ(list["data"][0]["name"], "m");
  SetFaults({{"malformed", {{{"route", "POST /oauth/token"}, {"mode", "missing_fields"}}}}});
  SimResponse tok = Do("POST", "/oauth/token", "grant_type=client_credentials",
                       {{"Authorization", "Basic " + Base64("sim-client:sim-secret")},
                        {"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(tok.status, 200);
  EXPECT_FALSE(Body(tok).contains("access_token"));
  EXPECT_TRUE(Body(tok).contains("expires_in"));

  SetFaults(
      {{"malformed",
        {{{"route", "GET /v1/instances/{instanceId}"}, {"mode", "huge"}, {"bytes", 100000}}}}});
  SimResponse big = Api("GET", "/v1/instances/" + id);
  EXPECT_EQ(big.body.size(), 100000u);
  EXPECT_EQ(big.faults, "malformed_huge");
  EXPECT_EQ(Body(big)["data"]["id"], id);  // still valid JSON
  EXPECT_EQ(Admin("GET", "/_sim/stats")["faults_injected"]["malformed_huge"], 1);
  EXPECT_EQ(Admin("GET", "/_sim/faults")["malformed"][0]["bytes"], 100000);
}

TEST_F(FaultModesTest, TrickleMarksTheResponse) {
  Start();
  SetFaults(
      {{"trickle",
        {{{"route", "GET /v1/tenants"}, {"chunk_bytes", 3}, {"interval_ms", 250}, {"count", 1}}}}});
  SimResponse slow = Api("GET", "/v1/tenants");
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(slow.trickle_chunk, 3);
  EXPECT_EQ(slow.trickle_interval, milliseconds(250));
  EXPECT_EQ(slow.faults, "trickle");
  EXPECT_EQ(Api("GET", "/v1/tenants").trickle_chunk, 0);  // count used up
  EXPECT_EQ(Admin("GET", "/_sim/stats")["faults_injected"]["trickle"], 1);
  auto round = ParseFaults(Admin("GET", "/_sim/faults"));
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_TRUE(ParseFaults({{"trickle", {{{"chunk_bytes", 0}}}}}).status().code() ==
              base::StatusCode::kInvalidArgument);
}

TEST_F(FaultModesTest, AdminInstancesTellWhichFaultsShapedTheCreateAnswer) {
  Start();
  SetFaults({{"malformed", {{{"route", "POST /v1/instances"}, {"mode", "truncate"}, {"count", 1}}}},
             {"trickle",
              {{{"route", "POST /v1/instances"},
                {"chunk_bytes", 10},
                {"interval_ms", 100},
                {"count", 2}}}}});
  SimResponse cut = Api("POST", "/v1/instances", testing::CreateBody("cut"));
  SimResponse slow = Api("POST", "/v1/instances", testing::CreateBody("slow"));
  ASSERT_EQ(cut.status, 202);
  ASSERT_EQ(slow.status, 202);
  json all = Admin("GET", "/_sim/instances")["instances"];
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["create_response_faults"], "malformed_truncate,trickle");
  EXPECT_EQ(all[0]["create_response_bytes"], static_cast<int64_t>(cut.body.size()));
  EXPECT_EQ(all[1]["create_response_faults"], "trickle");
  // The last byte of a trickled body leaves ceil(size / 10) intervals of 100 ms late.
  EXPECT_EQ(all[1]["create_response_delay_ms"],
            static_cast<int64_t>((slow.body.size() + 9) / 10 * 100));
}

TEST_F(FaultModesTest, FaultsFromOptionsAndResetRestoresThem) {
  options_.faults = *ParseFaults({{"list_lag_seconds", 1}});
  Start();
  SetFaults({{"clear", true}});
  EXPECT_EQ(Admin("GET", "/_sim/faults")["list_lag_seconds"], 0.0);
  Admin("POST", "/_sim/reset");
  EXPECT_EQ(Admin("GET", "/_sim/faults")["list_lag_seconds"], 1.0);
  SimResponse bad = Do("POST", "/_sim/faults", R"({"errors": 3})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(Body(bad)["error"].get<std::string>().find("errors"), std::string::npos);
}

}  // namespace
}  // namespace aura::simulator
