// journal_bench: the file journal at N entries (issue 21): how long Open takes, and each Put's
// latency with the fsyncs removed (a FileSystem whose Sync and SyncDir do nothing) and with
// them, reported as median / p90 / p99 / max. Also one fsync of a small append alone, to say
// what part of a Put is the disk. Figures only; never a pass/fail test.
//
//   journal_bench [--entries 100000] [--puts 20000] [--sync-puts 500] [--dir /tmp]
//
// Prints one JSON object. Each Put replaces an existing entry (a create's intent -> created
// write has the same size), so the journal keeps N entries.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bench/fixtures.h"
#include "pkg/store/codec.h"
#include "pkg/store/file_journal.h"
#include "pkg/store/file_system.h"

namespace aura {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// CPU time of this process (user + system), in ms: the load of the shared machine inflates
// wall times, not this.
double CpuMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// The default file system without durability: Sync and SyncDir return at once.
class NoSyncFileSystem final : public store::FileSystem {
 public:
  class File final : public store::WritableFile {
   public:
    explicit File(std::unique_ptr<store::WritableFile> f) : f_(std::move(f)) {}
    base::Status Append(std::string_view d) override { return f_->Append(d); }
    base::Status Sync() override { return base::Status::Ok(); }
    base::Status Close() override { return f_->Close(); }

   private:
    std::unique_ptr<store::WritableFile> f_;
  };
  store::FileSystem& b = store::FileSystem::Default();
  base::StatusOr<std::string> ReadFile(const std::string& p) override { return b.ReadFile(p); }
  base::StatusOr<std::unique_ptr<store::WritableFile>> CreateExclusive(const std::string& p,
                                                                       unsigned m) override {
    auto f = b.CreateExclusive(p, m);
    if (!f.ok()) return f.status();
    return std::unique_ptr<store::WritableFile>(new File(std::move(f).value()));
  }
#ifndef AURA_BENCH_OLD_JOURNAL
  base::StatusOr<std::unique_ptr<store::WritableFile>> OpenForAppend(
      const std::string& p) override {
    auto f = b.OpenForAppend(p);
    if (!f.ok()) return f.status();
    return std::unique_ptr<store::WritableFile>(new File(std::move(f).value()));
  }
#endif
  base::Status Rename(const std::string& f, const std::string& t) override {
    return b.Rename(f, t);
  }
  base::Status SyncDir(const std::string&) override { return base::Status::Ok(); }
  base::Status RemoveFile(const std::string& p) override { return b.RemoveFile(p); }
  base::Status CreateDirs(const std::string& d, unsigned m) override { return b.CreateDirs(d, m); }
  base::StatusOr<std::vector<std::string>> ListDir(const std::string& d) override {
    return b.ListDir(d);
  }
  base::StatusOr<std::unique_ptr<store::FileLock>> LockExclusive(const std::string& p) override {
    return b.LockExclusive(p);
  }
};

struct Stats {
  double median = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const auto at = [&](double q) { return v[static_cast<size_t>(q * (v.size() - 1))]; };
  s.median = at(0.5);
  s.p90 = at(0.9);
  s.p99 = at(0.99);
  s.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

std::string Json(const Stats& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"median_ms\": %.4f, \"p90_ms\": %.4f, \"p99_ms\": %.4f, \"max_ms\": %.3f, "
                "\"mean_ms\": %.4f}",
                s.median, s.p90, s.p99, s.max, s.mean);
  return buf;
}

int Run(int argc, char** argv) {
  int entries = 100000, puts = 20000, sync_puts = 500;
  std::string tmp = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--entries") entries = std::atoi(argv[i + 1]);
    if (a == "--puts") puts = std::atoi(argv[i + 1]);
    if (a == "--sync-puts") sync_puts = std::atoi(argv[i + 1]);
    if (a == "--dir") setenv("TMPDIR", argv[i + 1], 1);
  }
  const base::SystemTime now = base::RealClock().SystemNow();
  const std::string dir = bench::MakeTempDir("journal-bench");
  const std::string path = dir + "/journal.json";
  {
    store::detail::JournalImage image;
    image.entries = bench::Journal(entries, now);
    image.generation = 1;
    auto bytes = store::detail::EncodeJournal(image);
    if (!bytes.ok()) return 1;
    std::ofstream(path) << *bytes;
  }
  std::ifstream in(path, std::ios::ate | std::ios::binary);
  const double snapshot_mb = static_cast<double>(in.tellg()) / (1 << 20);

  // First open: the snapshot alone (what a release before the log wrote; this release writes
  // the empty log on this open). Then the usual open: snapshot and an empty log.
  auto t0 = Clock::now();
  double c0 = CpuMs();
  auto first = store::FileJournal::Open(path, &base::RealClock());
  const double open_first_ms = Ms(Clock::now() - t0);
  const double open_first_cpu_ms = CpuMs() - c0;
  if (!first.ok()) {
    std::fprintf(stderr, "open: %s\n", first.status().ToString().c_str());
    return 1;
  }
  first->reset();
  t0 = Clock::now();
  c0 = CpuMs();
  auto j = store::FileJournal::Open(path, &base::RealClock());
  const double open_ms = Ms(Clock::now() - t0);
  const double open_cpu_ms = CpuMs() - c0;
  if (!j.ok()) return 1;
  j->reset();

  NoSyncFileSystem nosync;
  std::vector<double> lat;
  {
    auto nj = store::FileJournal::Open(path, &base::RealClock(), {.fs = &nosync});
    if (!nj.ok()) return 1;
    lat.reserve(puts);
    for (int i = 0; i < puts; ++i) {
      store::JournalEntry e = bench::CreatedEntry((i * 7919) % entries, now);
      e.credentials_saved = (i % 2) == 0;
      const auto s = Clock::now();
      if (!(*nj)->Put(e).ok()) return 1;
      lat.push_back(Ms(Clock::now() - s));
    }
  }
  const Stats nosync_stats = Summarize(lat);

  // Open with the log those Puts left (up to one compaction's worth of records).
  std::ifstream login(path + ".log", std::ios::ate | std::ios::binary);
  const double log_mb = login ? static_cast<double>(login.tellg()) / (1 << 20) : 0;
  t0 = Clock::now();
  c0 = CpuMs();
  auto with_log = store::FileJournal::Open(path, &base::RealClock());
  const double open_with_log_ms = Ms(Clock::now() - t0);
  const double open_with_log_cpu_ms = CpuMs() - c0;
  if (!with_log.ok()) return 1;
  with_log->reset();

  std::vector<double> synced;
  {
    auto sj = store::FileJournal::Open(path, &base::RealClock());
    if (!sj.ok()) return 1;
    for (int i = 0; i < sync_puts; ++i) {
      store::JournalEntry e = bench::CreatedEntry((i * 104729) % entries, now);
      const auto s = Clock::now();
      if (!(*sj)->Put(e).ok()) return 1;
      synced.push_back(Ms(Clock::now() - s));
    }
  }
  const Stats sync_stats = Summarize(synced);

  // One fsync of a 600-byte append, alone.
  std::vector<double> fsyncs;
  {
    const std::string f = dir + "/fsync-probe";
    const int fd = ::open(f.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const std::string rec(600, 'x');
    for (int i = 0; i < sync_puts && fd >= 0; ++i) {
      if (::write(fd, rec.data(), rec.size()) < 0) break;
      const auto s = Clock::now();
      if (::fsync(fd) != 0) break;
      fsyncs.push_back(Ms(Clock::now() - s));
    }
    if (fd >= 0) ::close(fd);
  }
  const Stats fsync_stats = Summarize(fsyncs);

  std::printf(
      "{\"entries\": %d, \"snapshot_mib\": %.1f, \"open_snapshot_only_ms\": %.1f, "
      "\"open_snapshot_only_cpu_ms\": %.1f, \"open_ms\": %.1f, \"open_cpu_ms\": %.1f,\n"
      " \"log_mib_after_puts\": %.2f, \"open_with_log_ms\": %.1f, "
      "\"open_with_log_cpu_ms\": %.1f,\n"
      " \"put_without_fsync\": %s, \"puts_without_fsync\": %d,\n"
      " \"put_with_fsync\": %s, \"puts_with_fsync\": %d,\n"
      " \"fsync_alone\": %s}\n",
      entries, snapshot_mb, open_first_ms, open_first_cpu_ms, open_ms, open_cpu_ms, log_mb,
      open_with_log_ms, open_with_log_cpu_ms, Json(nosync_stats).c_str(), puts,
      Json(sync_stats).c_str(), sync_puts, Json(fsync_stats).c_str());
  bench::RemoveTree(dir);
  return 0;
}

}  // namespace
}  // namespace aura

int main(int argc, char** argv) { return aura::Run(argc, argv); }
