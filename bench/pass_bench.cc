// pass_bench: the controller's steady pass at N specs in sync (issue 21 item 4), in one process:
// the real Controller with its real spec loader (FileSpecSource over a tree of N/100 files), its
// real journal (FileJournal, in the temp folder) and the fake Aura account of the reconciler
// tests. No HTTP: what is measured
// is the controller's own CPU for a pass, not the API's latency.
//
//   build-bench/bench/pass_bench [N [PASSES]]   # default 100000 5; prints one JSON line
//
// The pass figures are the median of PASSES (and the slowest).
//
// Steps: write the tree (a child process); put N running instances named like the specs in the
// fake account and journal each as created; pass and reconcile until converged (a detail GET
// each, untimed); then one steady pass,
// timed: StartPass (spec fingerprint, no reload; LIST; drift checks chosen; every key enqueued)
// and ProcessReady (every key planned and recorded). Then one spec file is edited and the next
// pass's RefreshSpecs timed. CPU is the process's (CLOCK_PROCESS_CPUTIME_ID), one thread.
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/fixtures.h"
#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/metrics/metrics.h"
#include "pkg/reconcile/controller.h"
#include "pkg/reconcile/spec_source.h"
#include "pkg/reconcile/testing/fakes.h"
#include "pkg/store/codec.h"
#include "pkg/store/file_journal.h"

namespace {

using namespace aura;

double CpuSeconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--write-specs") {
    const int n = std::atoi(argv[3]);
    bench::WriteSpecTree(argv[2], (n + 99) / 100, 100);
    return 0;
  }
  const int n = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int passes = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  if (n <= 0) {
    std::fprintf(stderr, "usage: pass_bench [N]\n");
    return 1;
  }
  const std::string dir = bench::MakeTempDir("pass");
  const std::string self = std::string("'") + argv[0] + "'";
  if (std::system((self + " --write-specs '" + dir + "/specs' " + std::to_string(n)).c_str()) !=
      0) {
    std::fprintf(stderr, "pass_bench: cannot write the specs in %s\n", dir.c_str());
    return 1;
  }

  base::FakeClock clock;
  reconcile::testing::FakeAuraApi api(&clock);
  // Existing and journaled (an adoption of 100,000 would rebuild the owner map per key): the
  // journal file written whole, then opened as the controller opens it.
  {
    store::detail::JournalImage image;
    for (int i = 0; i < n; ++i) {
      store::JournalEntry e = bench::CreatedEntry(i, clock.SystemNow());
      e.instance_id = api.AddInstance(bench::kTenant, bench::SpecName(i));
      image.entries.emplace(e.key, std::move(e));
    }
    image.generation = 1;
    auto bytes = store::detail::EncodeJournal(image);
    if (!bytes.ok()) return 1;
    std::ofstream(dir + "/journal.json", std::ios::binary | std::ios::trunc) << *bytes;
  }
  auto opened = store::FileJournal::Open(dir + "/journal.json", &clock);
  if (!opened.ok()) {
    std::fprintf(stderr, "pass_bench: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  store::FileJournal& journal = **opened;
  ::malloc_trim(0);
  // What the fake account (N instances) and the opened journal hold before the controller
  // starts: the controller's own memory is the peak less the account's part.
  const long before_controller_kib = bench::StatusKib("VmRSS:");
  reconcile::testing::MemCredentialStore credentials;
  reconcile::FileSpecSource specs({dir + "/specs"});
  metrics::Metrics metrics;
  base::Logger log(
      base::LogLevel::kWarn, base::LogFormat::kJson, [](std::string_view) {}, &clock);
  reconcile::ControllerOptions options;
  options.check_configurations = false;  // the fake account offers no configurations
  // The first detail GET of 100,000 instances within the account's limit (125 a minute) would
  // take hours of fake time: the setup lifts the limit, the measured pass has the default one
  // (its drift checks are the budget's share, as in production).
  int limit = 1000000;
  options.current_rate_limit = [&limit] { return limit; };
  reconcile::Controller c(options, api, journal, credentials, specs, clock, metrics, log);

  const double setup_start = WallSeconds();
  if (!reconcile::testing::Converge(c, api, clock, 200, /*first_pass_ok=*/true)) {
    std::fprintf(stderr, "pass_bench: did not converge\n");
    return 1;
  }
  const double setup_s = WallSeconds() - setup_start;
  // The tree was written just before the first load: every file was "racy" (changed within
  // 2 s of being read) and is read once more by the next load. Done here, untimed, once the
  // files are older than that, as a controller whose files were written earlier has them.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  c.RefreshSpecs(true);

  // Steady passes, a resync period apart: the median of `passes`.
  limit = 125;
  std::vector<double> start_cpus, pass_cpus, pass_walls;
  double start_cpu = 0, pass_cpu = 0, pass_wall = 0;
  int reconciled = 0;
  for (int p = 0; p < passes; ++p) {
    clock.Advance(options.resync);
    const double cpu0 = CpuSeconds();
    const double wall0 = WallSeconds();
    const base::Status pass = c.StartPass();
    start_cpu = CpuSeconds() - cpu0;
    reconciled = c.ProcessReady();
    pass_cpu = CpuSeconds() - cpu0;
    pass_wall = WallSeconds() - wall0;
    if (!pass.ok()) {
      std::fprintf(stderr, "pass_bench: the pass failed: %s\n", pass.ToString().c_str());
      return 1;
    }
    start_cpus.push_back(start_cpu);
    pass_cpus.push_back(pass_cpu);
    pass_walls.push_back(pass_wall);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double pass_cpu_max = *std::max_element(pass_cpus.begin(), pass_cpus.end());
  start_cpu = median(start_cpus);
  pass_cpu = median(pass_cpus);
  pass_wall = median(pass_walls);
  const bool converged = c.Converged();

  // One file edited (a memory change of its first spec): the reload the next pass makes.
  {
    std::string text = bench::SpecYaml(0, "8GB");
    for (int d = 1; d < 100 && d < n; ++d) text += bench::SpecYaml(d);
    std::ofstream(dir + "/specs/specs-00000.yaml", std::ios::trunc) << text;
  }
  const std::size_t depth = c.queue().Depth();
  const double r0 = CpuSeconds();
  const bool reloaded = c.RefreshSpecs(false);
  const double reload_cpu = CpuSeconds() - r0;
  const std::size_t queued = c.queue().Depth() - depth;

  std::printf(
      "{\"n\": %d, \"setup_s\": %.1f, \"converged\": %s, \"passes\": %d, \"pass_cpu_s\": %.3f, "
      "\"pass_cpu_max_s\": %.3f, "
      "\"start_pass_cpu_s\": %.3f, \"pass_wall_s\": %.3f, \"keys_reconciled\": %d, "
      "\"reload_one_file_cpu_ms\": %.1f, \"reloaded\": %s, \"keys_enqueued_by_reload\": %zu, "
      "\"rss_before_controller_kib\": %ld, \"peak_rss_kib\": %ld}\n",
      n, setup_s, converged ? "true" : "false", passes, pass_cpu, pass_cpu_max, start_cpu,
      pass_wall, reconciled, reload_cpu * 1000, reloaded ? "true" : "false", queued,
      before_controller_kib, bench::StatusKib("VmHWM:"));
  bench::RemoveTree(dir);
  return 0;
}
