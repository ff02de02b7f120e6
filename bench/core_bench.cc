// core_bench: Google Benchmark figures for the controller's hot code (issue 10). Never pass/fail.
//
//   build-bench/bench/core_bench [--benchmark_filter=Plan] [--benchmark_format=json]
//
// - BM_SpecLoad/files/docs_per_file: spec::Load (read, parse, default, validate, duplicate
//   checks) of a folder of files*docs specs.
// - BM_SpecReload/files/docs_per_file: spec::SpecLoader::Reload after one file changed.
// - BM_PlanAll/N/scenario: reconcile::PlanAll of N specs, scenario 0 in sync (journal and
//   detail observations for all), 1 drift (1% want 8GB), 2 cold (no journal, empty listing:
//   N creates), 3 adopt (no journal, every instance listed: N adoptions), 4 pending (every key
//   has an unresolved create intent and the LIST shows the instance).
// - BM_PlanKey/N: one key planned against an account of N (what each reconcile costs), and
//   BM_OwnersOf/N: the owner map rebuilt after a journal change.
// - BM_JournalPut/N: FileJournal::Put replacing one entry of a journal of N (whole-file rewrite,
//   fsync, rename, folder fsync); BM_JournalEncode/N: the serialization alone (no I/O).
// - BM_WorkQueue/N: Add N keys, then Get+Done each.
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>

#include "bench/fixtures.h"
#include "pkg/base/clock.h"
#include "pkg/reconcile/planner.h"
#include "pkg/reconcile/workqueue.h"
#include "pkg/spec/spec.h"
#include "pkg/store/codec.h"
#include "pkg/store/file_journal.h"

namespace {

using namespace aura;

const base::SystemTime kNow = base::SystemTime(std::chrono::seconds(1798761600));

void BM_SpecLoad(benchmark::State& state) {
  const int files = static_cast<int>(state.range(0));
  const int per_file = static_cast<int>(state.range(1));
  const std::string dir = bench::MakeTempDir("specs");
  bench::WriteSpecTree(dir, files, per_file);
  std::size_t loaded = 0;
  for (auto _ : state) {
    spec::LoadResult r = spec::Load({dir});
    loaded = r.specs.size();
    benchmark::DoNotOptimize(r);
  }
  bench::RemoveTree(dir);
  if (loaded != static_cast<std::size_t>(files * per_file)) state.SkipWithError("specs missing");
  state.SetItemsProcessed(state.iterations() * files * per_file);
  state.counters["specs"] = static_cast<double>(loaded);
}
BENCHMARK(BM_SpecLoad)
    ->Args({100, 100})
    ->Args({10000, 1})
    ->Args({10, 100})
    ->Args({1000, 100})  // issue 21 item 4: 100,000 specs, what a reload costs today
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One Reload() of a SpecLoader after one file of the tree changed (one document's memory): what
// the controller pays when git-sync or a ConfigMap update touches one file (issue 21 item 4).
// The file is rewritten outside the timing, a different file each iteration (timestamps are
// coarse); racy window 0: the tree was written just before (docs/BENCHMARKS.md).
void BM_SpecReload(benchmark::State& state) {
  const int files = static_cast<int>(state.range(0));
  const int per_file = static_cast<int>(state.range(1));
  const std::string dir = bench::MakeTempDir("specs");
  bench::WriteSpecTree(dir, files, per_file);
  spec::SpecLoader loader({dir}, {}, std::chrono::nanoseconds(0));
  const spec::LoadDelta first = loader.Reload();
  if (first.changed_specs.size() != static_cast<std::size_t>(files * per_file)) {
    state.SkipWithError("specs missing");
  }
  std::size_t changed = 0, parsed = 0;
  int i = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const int f = i % files;
    const std::string memory = (i / files) % 2 == 0 ? "8GB" : "4GB";
    std::string text;
    for (int d = 0; d < per_file; ++d) {
      text += bench::SpecYaml(f * per_file + d, d == 0 ? memory : "4GB");
    }
    char name[64];
    std::snprintf(name, sizeof name, "/specs-%05d.yaml", f);
    std::ofstream(dir + name, std::ios::trunc) << text;
    ++i;
    state.ResumeTiming();
    spec::LoadDelta d = loader.Reload();
    changed += d.changed_specs.size();
    parsed += static_cast<std::size_t>(d.parsed_files);
    benchmark::DoNotOptimize(d);
  }
  bench::RemoveTree(dir);
  state.counters["changed_per_reload"] =
      static_cast<double>(changed) / static_cast<double>(state.iterations());
  state.counters["parsed_per_reload"] =
      static_cast<double>(parsed) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_SpecReload)
    ->Args({10, 100})
    ->Args({1000, 100})  // 100,000 specs
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

enum Scenario { kInSync = 0, kDrift = 1, kCold = 2, kAdopt = 3, kPending = 4 };

void BM_PlanAll(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto scenario = static_cast<Scenario>(state.range(1));
  reconcile::DesiredState desired;
  desired.specs = bench::LoadSpecs(n);
  std::map<std::string, store::JournalEntry> journal;
  reconcile::Observed observed;
  switch (scenario) {
    case kInSync:
    case kDrift:
      journal = bench::Journal(n, kNow);
      observed = bench::ObservedAccount(n, true, kNow);
      if (scenario == kDrift) {
        for (int i = 0; i < n; i += 100) desired.specs[static_cast<std::size_t>(i)].memory = "8GB";
      }
      break;
    case kCold:
      observed.listings[bench::kTenant].fetched_at = kNow;
      break;
    case kAdopt:
      observed = bench::ObservedAccount(n, false, kNow);
      break;
    case kPending:
      for (int i = 0; i < n; ++i) {
        store::JournalEntry e;
        e.key = bench::SpecKey(i);
        e.aura_name = bench::SpecName(i);
        e.tenant_id = bench::kTenant;
        e.intent = store::CreateIntent{
            bench::SpecName(i), bench::kTenant, kNow - std::chrono::hours(1), 1, false, ""};
        journal.emplace(e.key, e);
      }
      observed = bench::ObservedAccount(n, false, kNow);
      break;
  }
  reconcile::PlanOptions opts;
  std::size_t actions = 0;
  for (auto _ : state) {
    reconcile::Plan p = reconcile::PlanAll(desired, journal, observed, kNow, opts);
    actions = p.Actions().size();
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["actions"] = static_cast<double>(actions);
}
BENCHMARK(BM_PlanAll)
    ->ArgsProduct({{1000, 10000}, {kInSync, kDrift, kCold, kAdopt, kPending}})
    ->Args({100000, kInSync})  // issue 21 item 4
    ->Unit(benchmark::kMillisecond);

void BM_PlanKey(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::vector<spec::InstanceSpec> specs = bench::LoadSpecs(1);
  const auto journal = bench::Journal(n, kNow);
  const reconcile::Observed observed = bench::ObservedAccount(n, true, kNow);
  const reconcile::Owners owners = reconcile::OwnersOf(journal);
  const store::JournalEntry& e = journal.begin()->second;
  for (auto _ : state) {
    reconcile::KeyPlan p =
        reconcile::PlanKey(&specs[0], false, &e, observed, owners, kNow, reconcile::PlanOptions{});
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_PlanKey)->Arg(10000);

void BM_OwnersOf(benchmark::State& state) {
  const auto journal = bench::Journal(static_cast<int>(state.range(0)), kNow);
  for (auto _ : state) {
    reconcile::Owners o = reconcile::OwnersOf(journal);
    benchmark::DoNotOptimize(o);
  }
}
BENCHMARK(BM_OwnersOf)->Arg(10000)->Unit(benchmark::kMicrosecond);

// A journal file of n entries written directly (a Put per entry would cost O(n^2)).
std::unique_ptr<store::FileJournal> OpenJournalOf(const std::string& dir, int n) {
  store::detail::JournalImage image;
  image.entries = bench::Journal(n, kNow);
  image.generation = 1;
  auto bytes = store::detail::EncodeJournal(image);
  if (!bytes.ok()) return nullptr;
  std::ofstream(dir + "/journal.json") << *bytes;
  auto j = store::FileJournal::Open(dir + "/journal.json", &base::RealClock());
  if (!j.ok()) return nullptr;
  return std::move(j).value();
}

void BM_JournalPut(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string dir = bench::MakeTempDir("journal");
  std::unique_ptr<store::FileJournal> j = OpenJournalOf(dir, n);
  if (!j) {
    state.SkipWithError("cannot open the journal");
    bench::RemoveTree(dir);
    return;
  }
  int i = 0;
  for (auto _ : state) {
    store::JournalEntry e = bench::CreatedEntry(i++ % n, kNow);
    e.credentials_saved = (i % 2) == 0;
    if (!j->Put(e).ok()) state.SkipWithError("Put failed");
  }
  state.SetItemsProcessed(state.iterations());
  std::ifstream in(dir + "/journal.json", std::ios::ate | std::ios::binary);
  state.counters["file_bytes"] = static_cast<double>(in.tellg());
  j.reset();
  bench::RemoveTree(dir);
}
BENCHMARK(BM_JournalPut)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_JournalEncode(benchmark::State& state) {
  store::detail::JournalImage image;
  image.entries = bench::Journal(static_cast<int>(state.range(0)), kNow);
  for (auto _ : state) {
    auto bytes = store::detail::EncodeJournal(image);
    benchmark::DoNotOptimize(bytes);
  }
}
BENCHMARK(BM_JournalEncode)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_WorkQueue(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back(bench::SpecKey(i));
  base::FakeClock clock;
  for (auto _ : state) {
    reconcile::WorkQueue q(clock);
    for (const auto& k : keys) q.Add(k);
    while (auto k = q.TryGet()) q.Done(*k);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_WorkQueue)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
