// Bounded resources (issue 9): over a long run the controller's memory and file descriptors
// stay flat. After convergence, `run` keeps reconciling in-sync specs under a steady stream of
// faults (503s, a throttle now and then, tokens that die early, unreadable GET answers, slow
// answers) while two specs have their memory toggled every few passes (a spec file rewritten:
// reload, PATCH, updating -> running). The kernel's view of the process (/proc/PID/status and
// /proc/PID/fd) is sampled every few resync passes, counted by the LISTs the simulator served.
//
// Flat means: the largest value of the last third of the samples is at most the largest of
// the first third plus a slack (fds: 4, for connections the client opens and closes; RSS:
// 4 MiB, allocator noise). RSS is only judged in plain builds: ASan's quarantine and TSan's
// shadow memory grow by design (ASan's leak check at exit covers leaks there).
//
// Environment: AURA_REL_RESOURCE_PASSES (120; 60 under sanitizers; 2000 in
// scripts/reliability.sh), AURA_REL_RESOURCE_SPECS (40; 20).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "tests/harness/http.h"
#include "tests/reliability/reliability_fixture.h"

namespace aura::reliability {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test_harness::WaitFor;

class ResourcesTest : public ReliabilityTest {};

int64_t Lists(const test_harness::SimulatorProcess& sim) {
  auto s = sim.Stats();
  if (!s.ok()) return -1;
  const json route = (*s)["requests"].value("GET /v1/instances", json::object());
  int64_t n = 0;
  for (const auto& [code, count] : route.items()) n += count.get<int64_t>();
  return n;
}

// Largest value of f over samples [from, to).
template <typename F>
int64_t MaxOf(const std::vector<ProcSample>& s, size_t from, size_t to, F f) {
  int64_t m = 0;
  for (size_t i = from; i < to; ++i) m = std::max<int64_t>(m, f(s[i]));
  return m;
}

// Least-squares slope of f over the samples, per sample.
template <typename F>
double Slope(const std::vector<ProcSample>& s, F f) {
  const double n = static_cast<double>(s.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const double x = static_cast<double>(i), y = static_cast<double>(f(s[i]));
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  const double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

TEST_F(ResourcesTest, MemoryAndFileDescriptorsStayFlatOverALongFaultyRun) {
  const int passes = EnvInt("AURA_REL_RESOURCE_PASSES", 120, 60);
  const int specs = EnvInt("AURA_REL_RESOURCE_SPECS", 40, 20);
  constexpr int kPassesPerSample = 4;
  constexpr int kWarmupPasses = 8;
  StartSimulator({"--rate-limit", "1000", "--rate-window", "3", "--create-seconds", "1"});
  ws_.WriteSpecs("steady.yaml", "steady", specs);
  ws_.WriteSpecs("churn.yaml", "churn", 2);
  auto names = SpecNames("steady", specs);
  for (const auto& n : SpecNames("churn", 2)) names.push_back(n);
  std::vector<std::string> flags = Flags();
  SetFlag(&flags, "--rate-limit", "1000");
  SetFlag(&flags, "--rate-window", "3s");
  SetFlag(&flags, "--resync", "250ms");
  auto run = StartController(flags);
  ASSERT_NE(run, nullptr);
  std::string why;
  ASSERT_TRUE(WaitFor([&] { return Converged(*sim_, ws_, names, run.get(), &why); },
                      seconds(kSanitizerBuild ? 300 : 120), milliseconds(250)))
      << why;

  const json faults = {
      {"errors", {{{"route", "*"}, {"rate", 0.03}, {"status", 503}}}},
      {"latency", {{{"route", "*"}, {"ms", 0}, {"jitter_ms", 20}}}},
      {"throttle", {{{"route", "GET /v1/instances"}, {"rate", 0.04}, {"retry_after", 1}}}},
      {"malformed",
       {{{"route", "GET /v1/instances/{instanceId}"}, {"mode", "wrong_types"}, {"rate", 0.02}},
        {{"route", "GET /v1/instances"}, {"mode", "truncate"}, {"rate", 0.02}}}},
      {"token_expiry_seconds", 3}};
  ASSERT_TRUE(sim_->SetFaults(faults).ok());

  std::vector<ProcSample> samples;
  const int64_t start = Lists(*sim_);
  ASSERT_GE(start, 0);
  const auto begun = std::chrono::steady_clock::now();
  bool big = false;
  for (int pass = kPassesPerSample; pass <= kWarmupPasses + passes; pass += kPassesPerSample) {
    // Bounded: a pass every 250 ms, faults and backoff included, well within 5 s.
    ASSERT_TRUE(WaitFor([&] { return Lists(*sim_) >= start + pass; },
                        seconds(kSanitizerBuild ? 60 : 20), milliseconds(20)))
        << "no progress after " << pass << " passes: " << run->Log().substr(0, 2000);
    ASSERT_TRUE(run->Running()) << "the controller exited";
    if (pass % (kPassesPerSample * 3) == 0) {
      big = !big;
      ws_.WriteSpecs("churn.yaml", "churn", 2, big ? "2GB" : "1GB");
    }
    if (pass > kWarmupPasses) samples.push_back(SampleProc(run->pid()));
  }
  ASSERT_GE(samples.size(), 6u);
  const size_t third = samples.size() / 3;
  auto fds = [](const ProcSample& s) { return int64_t{s.fds}; };
  auto rss = [](const ProcSample& s) { return s.rss_kb; };
  auto threads = [](const ProcSample& s) { return int64_t{s.threads}; };
  for (const auto& s : samples) {
    ASSERT_GT(s.fds, 0) << "/proc unreadable";
  }
  const int64_t fds_first = MaxOf(samples, 0, third, fds);
  const int64_t fds_last = MaxOf(samples, samples.size() - third, samples.size(), fds);
  const int64_t rss_first = MaxOf(samples, 0, third, rss);
  const int64_t rss_last = MaxOf(samples, samples.size() - third, samples.size(), rss);
  const int64_t threads_first = MaxOf(samples, 0, third, threads);
  const int64_t threads_last = MaxOf(samples, samples.size() - third, samples.size(), threads);
  EXPECT_LE(fds_last, fds_first + 4) << "file descriptors grew";
  EXPECT_LE(threads_last, threads_first + 2) << "threads grew";
  if (!kSanitizerBuild) {
    EXPECT_LE(rss_last, rss_first + 4 * 1024) << "memory grew";
  }

  // Still correct after all that: every spec converges once the faults stop.
  ASSERT_TRUE(sim_->SetFaults({{"clear", true}}).ok());
  ws_.WriteSpecs("churn.yaml", "churn", 2, "1GB");
  ASSERT_TRUE(WaitFor([&] { return Converged(*sim_, ws_, names, run.get(), &why); },
                      seconds(kSanitizerBuild ? 300 : 120), milliseconds(250)))
      << why;
  const double wall = Seconds(begun);
  auto stats = sim_->Stats();
  ASSERT_TRUE(stats.ok());
  const int64_t requests = (*stats)["requests_total"].get<int64_t>();
  EXPECT_TRUE(run->Stop().ok());
  const chaos::Verdict v = Judge(*sim_, ws_, names, 3000, AllLogs());
  for (const auto& violation : v.violations) ADD_FAILURE() << violation;

  std::string injected;
  for (const auto& [kind, n] : (*stats)["faults_injected"].items()) {
    injected += (injected.empty() ? "" : ",") + kind + ":" + n.dump();
  }
  const double per_100 = 100.0 / kPassesPerSample;
  RecordFigures("resources", {{"specs", std::to_string(names.size())},
                              {"passes", std::to_string(passes)},
                              {"wall_s", Fmt(wall)},
                              {"requests", std::to_string(requests)},
                              {"faults_injected", injected},
                              {"samples", std::to_string(samples.size())},
                              {"fds_first_third_max", std::to_string(fds_first)},
                              {"fds_last_third_max", std::to_string(fds_last)},
                              {"threads_first_third_max", std::to_string(threads_first)},
                              {"threads_last_third_max", std::to_string(threads_last)},
                              {"rss_first_third_max_kib", std::to_string(rss_first)},
                              {"rss_last_third_max_kib", std::to_string(rss_last)},
                              {"rss_slope_kib_per_100_passes", Fmt(Slope(samples, rss) * per_100)},
                              {"peak_rss_kib", std::to_string(samples.back().hwm_kb)},
                              {"duplicates", std::to_string(v.extra_creations)}});
}

}  // namespace
}  // namespace aura::reliability
