// Outage (issue 9): the Aura API goes away in the middle of convergence and comes back on the
// same address with the same state (aura-simulator --state). Readiness must drop while it is
// away and return after, liveness must hold throughout, and convergence must complete with
// every instance created exactly once and every password saved.
//
// Environment: AURA_REL_OUTAGE_SPECS (60; 40 under sanitizers), AURA_REL_OUTAGE_SECONDS (6).
#include <gtest/gtest.h>

#include "tests/harness/http.h"
#include "tests/reliability/reliability_fixture.h"

namespace aura::reliability {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test_harness::WaitFor;

class OutageTest : public ReliabilityTest {};

TEST_F(OutageTest, ReadinessDropsAndReturnsAndConvergenceCompletes) {
  const int specs = EnvInt("AURA_REL_OUTAGE_SPECS", 60, 40);
  const int outage_s = EnvInt("AURA_REL_OUTAGE_SECONDS", 6);
  const std::string sim_state = ws_.dir() + "/simulator-state.json";
  const std::vector<std::string> sim_flags = {"--state",       sim_state, "--rate-limit",     "125",
                                              "--rate-window", "3",       "--create-seconds", "1"};
  StartSimulator(sim_flags);
  const int port = sim_->port();
  ws_.WriteSpecs("outage.yaml", "outage", specs);
  const auto names = SpecNames("outage", specs);
  std::vector<std::string> flags = Flags();
  SetFlag(&flags, "--rate-limit", "125");
  SetFlag(&flags, "--rate-window", "3s");
  auto run = StartController(flags);
  ASSERT_NE(run, nullptr);
  int code = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        run->Get("/readyz", &code);
        return code == 200;
      },
      seconds(60)));

  // Mid-convergence: a third of the creates sent.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = sim_->Stats();
        return s.ok() && (*s)["post_instances"].get<int>() >= specs / 3;
      },
      seconds(120), milliseconds(10)));
  const int posts_before = (*sim_->Stats())["post_instances"].get<int>();
  const auto down_at = std::chrono::steady_clock::now();
  auto stopped = sim_->Stop();
  ASSERT_TRUE(stopped.ok() && stopped->ok()) << "the simulator did not stop cleanly";
  // Readiness drops within its window (three resync periods, at least 3 s) and liveness holds.
  ASSERT_TRUE(WaitFor(
      [&] {
        run->Get("/readyz", &code);
        return code == 503;
      },
      seconds(60)))
      << "readiness did not drop";
  const double drop_s = Seconds(down_at);
  const std::string readyz_body = run->Get("/readyz", &code);
  EXPECT_NE(readyz_body.find("recent successful LIST: no"), std::string::npos) << readyz_body;
  int healthz = 0;
  // The outage lasts outage_s, during which the controller stays alive and live.
  WaitFor(
      [&] {
        run->Get("/healthz", &healthz);
        EXPECT_EQ(healthz, 200) << "not live during the outage";
        EXPECT_TRUE(run->Running()) << "the controller exited during the outage";
        return Seconds(down_at) >= outage_s || healthz != 200;
      },
      seconds(outage_s + 30), milliseconds(250));
  const double failed_during =
      run->Metric("aura_api_requests_total{code=\"error\",method=\"GET\",route=\"/instances\"}");

  // Back on the same port with the same state.
  StartSimulator([&] {
    std::vector<std::string> f = sim_flags;
    f.insert(f.end(), {"--listen", "127.0.0.1:" + std::to_string(port)});
    return f;
  }());
  const auto up_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor(
      [&] {
        run->Get("/readyz", &code);
        return code == 200;
      },
      seconds(60)))
      << "readiness did not return";
  const double back_s = Seconds(up_at);
  std::string why;
  ASSERT_TRUE(WaitFor([&] { return Converged(*sim_, ws_, names, run.get(), &why); },
                      seconds(kSanitizerBuild ? 300 : 120), milliseconds(250)))
      << "not converged after the outage: " << why;
  const double converged_s = Seconds(up_at);
  EXPECT_EQ(run->Metric("aura_duplicate_instances"), 0);
  const auto exit = run->Stop();
  EXPECT_TRUE(exit.ok()) << exit.ToString();

  const chaos::Verdict v = Judge(*sim_, ws_, names, 3000, AllLogs());
  for (const auto& violation : v.violations) ADD_FAILURE() << violation;
  RecordFigures("outage", {{"specs", std::to_string(specs)},
                           {"posts_before_outage", std::to_string(posts_before)},
                           {"outage_s", std::to_string(outage_s)},
                           {"readyz_503_after_s", std::to_string(drop_s)},
                           {"readyz_200_after_restart_s", std::to_string(back_s)},
                           {"failed_lists_during", std::to_string(failed_during)},
                           {"converged_after_restart_s", std::to_string(converged_s)},
                           {"instances", std::to_string(v.instances)},
                           {"duplicates", std::to_string(v.extra_creations)},
                           {"passwords_saved", std::to_string(v.passwords_saved) + "/" +
                                                   std::to_string(v.passwords_sent)},
                           {"lost_passwords", std::to_string(v.passwords_lost)}});
}

}  // namespace
}  // namespace aura::reliability
