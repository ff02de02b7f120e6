// footprint: peak resident memory of the controller's data at N specs, in one process that
// holds nothing else (a Google Benchmark binary would add every other benchmark's peak).
//
//   build-bench/bench/footprint [N]                       # default 10000; prints one JSON line
//   build-bench/bench/footprint --write-journal PATH N [--observed]  # N created entries
//
// Steps, each followed by the peak resident set (VmHWM) and the resident set kept after
// malloc_trim (VmRSS), in the controller's order: start (the binary and its libraries),
// FileJournal::Open of a journal of N whose entries keep the last observation of their instance
// (as a controller that has observed each instance leaves it, issue 21), the specs of N loaded
// from a folder (100 per file) by a SpecLoader and kept in a map of desired specs, the observed
// account (a LIST of N and a detail GET of each), a pass (each key planned alone, its status
// kept as the controller keeps it), one journal Put that compacts (the whole journal rewritten,
// as every max(1,000, N) records); then, apart, the `plan` command's PlanAll over copies of the
// specs (every key's plan held at once). The --write-journal form is for bench/run's
// 10,000-spec controller run: instance ids are bench::InstanceId(i), which bench/run gives the
// simulator's instances too.
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
      std::system((self + " --write-journal '" + dir + "/journal.json' " + std::to_string(n) +
                   " --observed")
                      .c_str()) != 0) {
    std::fprintf(stderr, "footprint: cannot write the inputs in %s\n", dir.c_str());
    return 1;
  }
  const long start = MaxRssKib();
  const long start_rss = RssKib();

  // Opened first, as the controller opens it (before its first spec load). Every write compacts
  // (compact_every 1), so the Put below is the costliest a steady controller makes: the whole
  // journal rewritten, as it is every max(1,000, N) records.
  store::FileJournalOptions journal_options;
  journal_options.compact_every = 1;
  auto journal =
      store::FileJournal::Open(dir + "/journal.json", &base::RealClock(), journal_options);
  if (!journal.ok()) return 1;
  const long after_journal = MaxRssKib();
  const long journal_rss = RssKib();

  // As the controller loads them: a SpecLoader whose cache shares the specs with the
  // controller's map of desired specs (the delta itself is dropped once applied).
  spec::SpecLoader loader({dir + "/specs"});
  std::map<std::string, std::shared_ptr<const spec::InstanceSpec>> desired_specs;
  {
    spec::LoadDelta loaded = loader.Reload();
    for (auto& s : loaded.changed_specs) desired_specs.emplace(s->key(), std::move(s));
  }
  const long after_load = MaxRssKib();
  const long load_rss = RssKib();

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
    for (const auto& [key, s] : desired_specs) {
      auto e = (*journal)->Get(key);
      reconcile::KeyPlan p =
          reconcile::PlanKey(s.get(), false, e.ok() ? &*e : nullptr, observed, owners, now, {});
      statuses.emplace(key, std::move(p.status));
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
    reconcile::DesiredState all;
    all.specs.reserve(desired_specs.size());
    for (const auto& [_, s] : desired_specs) all.specs.push_back(*s);
    auto entries = (*journal)->List();
    planned = reconcile::PlanAll(all, *entries, observed, now, {}).keys.size();
  }
  const long after_plan = MaxRssKib();

  std::printf(
      "{\"n\": %d, \"specs_loaded\": %zu, \"keys_planned\": %zu, \"vmhwm_kib\": {\"start\": %ld, "
      "\"journal\": %ld, \"load\": %ld, \"observed\": %ld, \"pass\": %ld, \"put\": %ld, "
      "\"plan_command\": %ld}, \"rss_kib\": {\"start\": %ld, \"journal\": %ld, \"load\": %ld, "
      "\"observed\": %ld, \"pass\": %ld, \"put\": %ld}}\n",
      n, desired_specs.size(), planned, start, after_journal, after_load, after_observed,
      after_pass, after_put, after_plan, start_rss, journal_rss, load_rss, observed_rss, pass_rss,
      put_rss);
  journal->reset();
  bench::RemoveTree(dir);
  return 0;
}
