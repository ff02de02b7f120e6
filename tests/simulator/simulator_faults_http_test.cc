// Fault modes as a client sees them over real HTTP, persistence across restarts, and signals.
#include <signal.h>

#include <chrono>
#include <future>

#include "tests/simulator/sim_test_util.h"

namespace aura::test_harness {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

size_t CommittedInstances(const SimulatorProcess& sim) {
  auto admin = sim.Instances();
  return admin.ok() ? (*admin)["instances"].size() : 0;
}

base::StatusOr<HttpResult> RawCreate(const SimulatorProcess& sim, const std::string& token,
                                     const std::string& name, milliseconds timeout) {
  return Http("POST", sim.api_url() + "/instances", CreateBody(name).dump(),
              {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
              timeout);
}

TEST_F(SimulatorHttpTest, DroppedCreateResetsTheConnectionAfterCommitting) {
  StartSim({"--create-fault", "drop"});
  auto r = RawCreate(*sim_, token_, "dropped", seconds(10));
  ASSERT_FALSE(r.ok()) << "got a response: http " << r->status;
  EXPECT_EQ(r.status().reason(), "io") << r.status();  // sent, no answer: ambiguous
  EXPECT_EQ(CommittedInstances(*sim_), 1u);
  // Other requests are unaffected, and the simulator counts the drop.
  EXPECT_EQ(Api("GET", "/instances").json["data"].size(), 1u);
  auto stats = sim_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)["requests"]["POST /v1/instances"]["dropped"], 1);
}

TEST_F(SimulatorHttpTest, SlowCreateAnswersAfterTheClientsTimeout) {
  StartSim();
  ASSERT_TRUE(sim_->SetFaults({{"create_failure",
                                {{"mode", "timeout"}, {"delay_seconds", 2}, {"count", 1}}}})
                  .ok());
  auto r = RawCreate(*sim_, token_, "slow", milliseconds(300));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_EQ(CommittedInstances(*sim_), 1u);
  // A patient client gets the 202 (the fault fired once).
  ASSERT_TRUE(sim_->SetFaults({{"create_failure",
                                {{"mode", "timeout"}, {"delay_seconds", 0.3}, {"count", 1}}}})
                  .ok());
  const auto start = std::chrono::steady_clock::now();
  auto late = RawCreate(*sim_, token_, "late", seconds(10));
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->status, 202);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));
}

TEST_F(SimulatorHttpTest, CreateThat500sStillCommits) {
  StartSim({"--create-fault", "500"});
  auto r = RawCreate(*sim_, token_, "x", seconds(10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(CommittedInstances(*sim_), 1u);
}

TEST_F(SimulatorHttpTest, ErrorFaultWithRetryAfterDoesNothing) {
  StartSim();
  ASSERT_TRUE(
      sim_->SetFaults({{"errors",
                        {{{"route", "POST /v1/instances"}, {"status", 503}, {"retry_after", 3}}}}})
          .ok());
  HttpResult r = Api("POST", "/instances", CreateBody());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Retry-After"), "3");
  EXPECT_EQ(CommittedInstances(*sim_), 0u);
  EXPECT_EQ(Api("GET", "/instances").status, 200);
}

TEST_F(SimulatorHttpTest, LatencyDelaysResponses) {
  StartSim({"--latency-ms", "300"});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Api("GET", "/tenants").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));
}

TEST_F(SimulatorHttpTest, ThrottleBurst) {
  StartSim();
  ASSERT_TRUE(sim_->SetFaults({{"throttle", {{{"count", 2}, {"retry_after", 5}}}}}).ok());
  for (int i = 0; i < 2; ++i) {
    HttpResult r = Api("GET", "/instances");
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.Header("Retry-After"), "5");
  }
  EXPECT_EQ(Api("GET", "/instances").status, 200);
}

TEST_F(SimulatorHttpTest, ThrottleFaultFromFlagsHitsTheTokenEndpointToo) {
  auto sim = SimulatorProcess::Start({"--faults", R"({"throttle": [{"count": 1}]})"});
  ASSERT_TRUE(sim.ok()) << sim.status();
  EXPECT_FALSE((*sim)->Token().ok());
  EXPECT_TRUE((*sim)->Token().ok());
}

TEST_F(SimulatorHttpTest, MalformedBodies) {
  StartSim({"--faults", R"({"malformed": [{"route": "GET /v1/tenants", "mode": "truncate"}]})"});
  HttpResult r = Api("GET", "/tenants");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.json.is_discarded()) << r.body;
  ASSERT_TRUE(
      sim_->SetFaults({{"malformed", {{{"route", "GET /v1/tenants"}, {"mode", "wrong_types"}}}}})
          .ok());
  r = Api("GET", "/tenants");
  ASSERT_TRUE(r.json.is_object()) << r.body;
  EXPECT_TRUE(r.json["data"][0]["id"].is_number());
}

TEST_F(SimulatorHttpTest, TrickledAndHugeBodies) {
  StartSim();
  ASSERT_TRUE(sim_->SetFaults({{"trickle",
                                {{{"route", "GET /v1/tenants"},
                                  {"chunk_bytes", 64},
                                  {"interval_ms", 100},
                                  {"count", 1}}}}})
                  .ok());
  const auto start = std::chrono::steady_clock::now();
  HttpResult slow = Api("GET", "/tenants");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(slow.status, 200);
  ASSERT_TRUE(slow.json.is_object()) << slow.body;  // whole and intact
  EXPECT_TRUE(slow.Header("X-Aura-Sim-Trickle").empty());
  const size_t chunks = (slow.body.size() + 63) / 64;
  EXPECT_GE(took, milliseconds(100) * static_cast<int>(chunks - 1)) << slow.body.size();
  const auto fast_start = std::chrono::steady_clock::now();
  EXPECT_EQ(Api("GET", "/tenants").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - fast_start, milliseconds(100) * 5);

  ASSERT_TRUE(sim_->SetFaults({{"malformed",
                                {{{"route", "GET /v1/tenants"},
                                  {"mode", "huge"},
                                  {"bytes", 4 * 1024 * 1024},
                                  {"count", 1}}}}})
                  .ok());
  // 4 MiB: big enough to span many reads; the 20 MiB bodies over the client's limit are the
  // reliability suite's (under TSan a 20 MiB body took more than 30 s through both processes).
  HttpResult big = Api("GET", "/tenants", nullptr, seconds(60));
  EXPECT_EQ(big.status, 200);
  EXPECT_EQ(big.body.size(), 4u * 1024 * 1024);
  EXPECT_TRUE(big.json.is_object());
}

TEST_F(SimulatorHttpTest, LaggingList) {
  StartSim({"--list-lag-seconds", "0.5"});
  HttpResult created = Api("POST", "/instances", CreateBody());
  ASSERT_EQ(created.status, 202);
  EXPECT_TRUE(Api("GET", "/instances").json["data"].empty());
  EXPECT_EQ(Api("GET", "/instances/" + created.json["data"]["id"].get<std::string>()).status, 200);
  EXPECT_TRUE(WaitFor([&] { return Api("GET", "/instances").json["data"].size() == 1; },
                      seconds(10), milliseconds(50)));
}

TEST_F(SimulatorHttpTest, SameSeedSameFaults) {
  auto run = [&] {
    StartSim({"--seed", "11", "--faults",
              R"({"errors": [{"route": "GET /v1/instances", "rate": 0.5}]})"});
    std::string seq;
    for (int i = 0; i < 30; ++i) seq += Api("GET", "/instances").status == 503 ? 'E' : '.';
    return seq;
  };
  std::string first = run();
  EXPECT_EQ(run(), first);
  EXPECT_NE(first.find('E'), std::string::npos);
  EXPECT_NE(first.find('.'), std::string::npos);
}

TEST_F(SimulatorHttpTest, SigtermSendsPendingResponsesAndExitsZero) {
  StartSim({"--faults", R"({"create_failure": {"mode": "timeout", "delay_seconds": 60}})"});
  auto pending = std::async(std::launch::async,
                            [&] { return RawCreate(*sim_, token_, "pending", seconds(30)); });
  ASSERT_TRUE(WaitFor([&] { return CommittedInstances(*sim_) == 1; }, seconds(10)));
  ASSERT_TRUE(sim_->process().Terminate().ok());
  auto st = sim_->process().Wait(seconds(10));
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(st->ok()) << st->ToString();
  auto r = pending.get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 202);
}

TEST_F(SimulatorHttpTest, SigintExitsZero) {
  StartSim();
  ASSERT_TRUE(sim_->process().Signal(SIGINT).ok());
  auto st = sim_->process().Wait(seconds(10));
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(st->ok()) << st->ToString();
}

TEST_F(SimulatorHttpTest, StateFileSurvivesRestart) {
  char dir[] = "/tmp/aura-sim-state-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string state = std::string(dir) + "/state.json";
  StartSim({"--state", state});
  HttpResult created = Api("POST", "/instances", CreateBody("kept"));
  ASSERT_EQ(created.status, 202);
  const std::string id = created.json["data"]["id"];
  ASSERT_TRUE(AwaitStatus(id, "running"));
  auto st = sim_->Stop();
  ASSERT_TRUE(st.ok() && st->ok());

  StartSim({"--state", state});
  EXPECT_EQ(Status(id), "running");
  EXPECT_EQ(Api("GET", "/instances").json["data"].size(), 1u);
  std::remove(state.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace aura::test_harness
