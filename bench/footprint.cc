// footprint: peak resident memory of the controller's data at N specs, in one process that
// holds nothing else (a Google Benchmark binary would add every other benchmark's peak).
//
//   build-bench/bench/footprint [N]                       # default 10000; prints one JSON line
//   build-bench/bench/footprint --write-journal PATH N [--observed]  # N created entries
//
// Steps, each followed by the peak resident set (VmHWM) and the resident set kept after
// malloc_trim (VmRSS): start (the binary and its libraries), the specs of N loaded from a folder
// (100 per file) by a SpecLoader as the controller loads them, FileJournal::Open of a journal of
// N, the observed account (a LIST of N and a detail GET of each), a pass (each key planned
// alone, its status kept as the controller keeps it), one journal Put; then, apart, the `plan`
// command's PlanAll over copies of the specs (every key's plan held at once). The --write-journal
// form is for bench/run's 10,000-spec controller run: instance ids are bench::InstanceId(i), which
// bench/run gives the simulator's instances too.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "bench/fixtures.h"
#include "pkg/reconcile/planner.h"
#include "pkg/reconcile/stored_observation.h"
#include "pkg/store/codec.h"
#include "pkg/store/file_journal.h"

namespace {

using namespace aura;

// The peak resident set of this process image. Not getrusage's ru_maxrss: Linux carries the
// parent's peak across fork+exec into it (bench/run's Python parent showed as 22 MiB at start).
long MaxRssKib() { return bench::StatusKib("VmHWM:"); }

// The current resident set (VmRSS), KiB, after returning free heap pages to the system: what a
// step keeps, as opposed to its transient peak.
long RssKib() {
  ::malloc_trim(0);
  return bench::StatusKib("VmRSS:");
}

// With `observed`, each entry keeps the observation of a running instance fetched an hour ago
// (issue 21), as a controller that ran before would have left it.
bool WriteJournal(const std::string& path, int n, bool observed) {
  store::detail::JournalImage image;
  const base::SystemTime now = base::RealClock().SystemNow();
  image.entries = bench::Journal(n, now);
  if (observed) {
    const base::SystemTime then = now - std::chrono::hours(1);
    reconcile::Observed account = bench::ObservedAccount(n, /*details=*/true, then);
    for (auto& [key, e] : image.entries) {
      const reconcile::InstanceObservation& o = account.instances.at(e.instance_id);
      e.observation =
          store::StoredObservation{reconcile::EncodeObservedInstance(o.instance), then, then};
    }
  }
  image.generation = 1;
  auto bytes = store::detail::EncodeJournal(image);
  if (!bytes.ok()) return false;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << *bytes;
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if ((argc == 4 || argc == 5) && std::string(argv[1]) == "--write-journal") {
    const bool observed = argc == 5 && std::string(argv[4]) == "--observed";
    return WriteJournal(argv[2], std::atoi(argv[3]), observed) ? 0 : 1;
  }
  if (argc == 4 && std::string(argv[1]) == "--write-specs") {
    const int n = std::atoi(argv[3]);
    bench::WriteSpecTree(argv[2], (n + 99) / 100, 100);
    return 0;
  }
  const int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  if (n <= 0) {
    std::fprintf(stderr, "usage: footprint [N] | --write-journal PATH N [--observed]\n");
    return 1;
  }
  // The inputs are written by a child process, so that their cost is not in this one's peak.
  const std::string dir = bench::MakeTempDir("footprint");
  const std::string self = std::string("'") + argv[0] + "'";
  if (std::system((self + " --write-specs '" + dir + "/specs' " + std::to_string(n)).c_str()) !=
          0 ||
      std::system(
          (self + " --write-journal '" + dir + "/journal.json' " + std::to_string(n)).c_str()) !=
          0) {
    std::fprintf(stderr, "footprint: cannot write the inputs in %s\n", dir.c_str());
    return 1;
  }
  const long start = MaxRssKib();
  const long start_rss = RssKib();

  // As the controller loads them: a SpecLoader whose cache and the delta share the specs.
  spec::SpecLoader loader({dir + "/specs"});
  spec::LoadDelta loaded = loader.Reload();
  const long after_load = MaxRssKib();
  const long load_rss = RssKib();

  auto journal = store::FileJournal::Open(dir + "/journal.json", &base::RealClock());
  if (!journal.ok()) return 1;
  const long after_journal = MaxRssKib();
  const long journal_rss = RssKib();

  const base::SystemTime now = base::RealClock().SystemNow();
  reconcile::Observed observed = bench::ObservedAccount(n, true, now);
  const long after_observed = MaxRssKib();
  const long observed_rss = RssKib();

  // A pass of the controller: each key planned alone (its journal entry read, as ReconcileKey
  // does) and its status kept, as the controller keeps one per key.
  std::map<std::string, reconcile::SpecStatus> statuses;
  {
    reconcile::Owners owners;
    (void)(*journal)->ForEach(
        [&owners](const store::JournalEntry& e) { reconcile::AddOwners(e, &owners); });
    for (const auto& s : loaded.changed_specs) {
      auto e = (*journal)->Get(s->key());
      reconcile::KeyPlan p =
          reconcile::PlanKey(s.get(), false, e.ok() ? &*e : nullptr, observed, owners, now, {});
      statuses.emplace(s->key(), std::move(p.status));
    }
  }
  const long after_pass = MaxRssKib();
  const long pass_rss = RssKib();

  if (!(*journal)->Put(bench::CreatedEntry(0, now)).ok()) return 1;
  const long after_put = MaxRssKib();
  const long put_rss = RssKib();

  // The `plan` command on top: PlanAll over copies of the specs, every key's plan held.
  std::size_t planned = 0;
  {
    reconcile::DesiredState desired;
    desired.specs.reserve(loaded.changed_specs.size());
    for (const auto& s : loaded.changed_specs) desired.specs.push_back(*s);
    auto entries = (*journal)->List();
    planned = reconcile::PlanAll(desired, *entries, observed, now, {}).keys.size();
  }
  const long after_plan = MaxRssKib();

  std::printf(
      "{\"n\": %d, \"specs_loaded\": %zu, \"keys_planned\": %zu, \"vmhwm_kib\": {\"start\": %ld, "
      "\"load\": %ld, \"journal\": %ld, \"observed\": %ld, \"pass\": %ld, \"put\": %ld, "
      "\"plan_command\": %ld}, \"rss_kib\": {\"start\": %ld, \"load\": %ld, \"journal\": %ld, "
      "\"observed\": %ld, \"pass\": %ld, \"put\": %ld}}\n",
      n, loaded.changed_specs.size(), planned, start, after_load, after_journal, after_observed,
      after_pass, after_put, after_plan, start_rss, load_rss, journal_rss, observed_rss, pass_rss,
      put_rss);
  journal->reset();
  bench::RemoveTree(dir);
  return 0;
}
