#include "pkg/store/file_journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "pkg/store/codec.h"
#include "pkg/store/fault_file_system.h"
#include "pkg/store/test_util.h"

namespace aura::store {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testutil::FullEntry;
using testutil::ModeOf;
using testutil::Names;
using testutil::ReadRaw;
using testutil::RunInChild;
using testutil::SameEntry;
using testutil::ScratchDir;
using testutil::WriteRaw;

class FileJournalTest : public ::testing::Test {
 protected:
  std::unique_ptr<FileJournal> MustOpen(FileJournalOptions options = {}) {
    auto j = FileJournal::Open(path_, &clock_, options);
    EXPECT_TRUE(j.ok()) << j.status();
    return j.ok() ? std::move(j).value() : nullptr;
  }
  // Writes a journal holding one full entry "shop/old" and returns its snapshot's bytes. The
  // first write into an empty journal writes a snapshot and an empty log.
  std::string WriteOld() {
    auto j = MustOpen();
    EXPECT_TRUE(j->Put(FullEntry("shop/old", "old")).ok());
    return ReadRaw(path_);
  }
  // The snapshot and the log, as they are on disk.
  std::string Disk() const {
    return ReadRaw(path_) + "\n--- log ---\n" +
           (testutil::Exists(log_) ? ReadRaw(log_) : std::string("(none)"));
  }

  ScratchDir dir_;
  std::string path_ = dir_ / "state/journal.json";
  std::string log_ = path_ + ".log";
  base::FakeClock clock_;
};

TEST_F(FileJournalTest, MissingFileIsAnEmptyJournalAndTheFolderIsCreated) {
  auto j = MustOpen();
  EXPECT_TRUE(j->List()->empty());
  EXPECT_EQ(ModeOf(dir_ / "state"), 0700);
  EXPECT_FALSE(testutil::Exists(path_));  // Open alone writes nothing
  EXPECT_EQ(j->Get("a/b").status().code(), base::StatusCode::kNotFound);
}

TEST_F(FileJournalTest, PutGetRemoveSurviveReopen) {
  {
    auto j = MustOpen();
    ASSERT_TRUE(j->Put(FullEntry("shop/orders", "id1")).ok());
    clock_.Advance(std::chrono::seconds(5));
    JournalEntry pending;
    pending.key = "shop/pending";
    pending.intent.emplace();
    pending.intent->aura_name = "shop-pending";
    pending.intent->intent_time = clock_.SystemNow();
    ASSERT_TRUE(j->Put(pending).ok());
    ASSERT_TRUE(j->Put(FullEntry("shop/gone")).ok());
    ASSERT_TRUE(j->Remove("shop/gone").ok());
    EXPECT_EQ(j->generation(), 4u);
  }
  auto j = MustOpen();
  auto all = j->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_TRUE(SameEntry(all->at("shop/orders"), FullEntry("shop/orders", "id1"), false));
  auto pending = j->Get("shop/pending");
  ASSERT_TRUE(pending.ok());
  ASSERT_TRUE(pending->intent.has_value());
  EXPECT_EQ(pending->intent->intent_time, clock_.SystemNow());
  EXPECT_EQ(pending->updated, clock_.SystemNow());  // stamped by Put
  EXPECT_EQ(j->Get("shop/gone").status().code(), base::StatusCode::kNotFound);
  EXPECT_EQ(j->generation(), 4u);
  EXPECT_EQ(ModeOf(path_), 0600);
  EXPECT_EQ(ModeOf(log_), 0600);
  EXPECT_EQ(Names(dir_ / "state"),
            (std::set<std::string>{"journal.json", "journal.json.lock", "journal.json.log"}));
}

TEST_F(FileJournalTest, PutReplacesTheEntry) {
  auto j = MustOpen();
  ASSERT_TRUE(j->Put(FullEntry("a/b", "one")).ok());
  JournalEntry e = FullEntry("a/b", "two");
  e.intent.reset();
  ASSERT_TRUE(j->Put(e).ok());
  EXPECT_TRUE(SameEntry(*j->Get("a/b"), e, false));
  j.reset();
  EXPECT_TRUE(SameEntry(*MustOpen()->Get("a/b"), e, false));
}

// Issue 21: an observation changes only the observation, of the entry that still has that
// instance, and survives a reopen.
TEST_F(FileJournalTest, PutObservationChangesOnlyTheObservation) {
  auto j = MustOpen();
  JournalEntry e = FullEntry("a/b", "id1");
  e.intent.reset();
  e.observation.reset();
  ASSERT_TRUE(j->Put(e).ok());
  const StoredObservation o{R"({"status":"paused"})", base::SystemTime(std::chrono::seconds(5)),
                            base::SystemTime(std::chrono::seconds(4))};
  ASSERT_TRUE(j->PutObservation("a/b", "other-id", o).ok());
  EXPECT_FALSE(j->Get("a/b")->observation.has_value()) << "another instance's observation";
  ASSERT_TRUE(j->PutObservation("a/none", "id1", o).ok());
  EXPECT_EQ(j->Get("a/none").status().code(), base::StatusCode::kNotFound);
  ASSERT_TRUE(j->PutObservation("a/b", "id1", o).ok());
  j.reset();
  auto back = MustOpen()->Get("a/b");
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->observation.has_value());
  EXPECT_EQ(*back->observation, o);
  e.observation = o;
  EXPECT_TRUE(SameEntry(*back, e, false));
}

// A Put from a copy read before the last observation keeps that observation (a controller
// thread recording a PATCH must not take the observation back in time).
TEST_F(FileJournalTest, PutKeepsANewerObservation) {
  auto j = MustOpen();
  JournalEntry e = FullEntry("a/b", "id1");
  e.intent.reset();
  e.observation.reset();
  ASSERT_TRUE(j->Put(e).ok());
  const JournalEntry read_before = *j->Get("a/b");
  const StoredObservation o{R"({"status":"running"})", base::SystemTime(std::chrono::seconds(9)),
                            base::SystemTime(std::chrono::seconds(9))};
  ASSERT_TRUE(j->PutObservation("a/b", "id1", o).ok());
  JournalEntry later = read_before;
  later.paused_here = true;
  ASSERT_TRUE(j->Put(later).ok());
  auto back = j->Get("a/b");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->paused_here);
  ASSERT_TRUE(back->observation.has_value());
  EXPECT_EQ(*back->observation, o);
  // Another instance recorded for the key: the old observation goes with the old instance.
  JournalEntry replaced = later;
  replaced.instance_id = "id2";
  replaced.observation.reset();
  ASSERT_TRUE(j->Put(replaced).ok());
  EXPECT_FALSE(j->Get("a/b")->observation.has_value());
}

TEST_F(FileJournalTest, RemovingAnAbsentKeyIsOkAndWritesNothing) {
  WriteOld();
  const std::string before = Disk();
  auto j = MustOpen();
  EXPECT_TRUE(j->Remove("no/such").ok());
  EXPECT_EQ(Disk(), before);
}

TEST_F(FileJournalTest, RejectsBadEntriesWithoutChangingAnything) {
  WriteOld();
  const std::string before = Disk();
  auto j = MustOpen();
  EXPECT_EQ(j->Put(JournalEntry{}).code(), base::StatusCode::kInvalidArgument);
  JournalEntry bad = FullEntry("a/b");
  bad.region = "\xc3";
  EXPECT_EQ(j->Put(bad).code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(Disk(), before);
  EXPECT_EQ(j->List()->size(), 1u);
}

TEST_F(FileJournalTest, FileIsTheDocumentedFormat) {
  WriteOld();
  json doc = json::parse(ReadRaw(path_));
  EXPECT_EQ(doc["schema_version"], FileJournal::kSchemaVersion);
  EXPECT_EQ(doc["format"], "aura-controller journal");
  EXPECT_EQ(doc["generation"], 1);
  EXPECT_EQ(doc["checksum"], *detail::JournalChecksum(doc));
  EXPECT_EQ(doc["entries"]["shop/old"]["instance_id"], "old");
}

TEST_F(FileJournalTest, SecondOpenInTheSameProcessIsRefused) {
  auto first = MustOpen();
  auto second = FileJournal::Open(path_, &clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), base::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(),
              HasSubstr("another aura-controller is using the journal " + path_));
  EXPECT_THAT(second.status().message(), HasSubstr("pid " + std::to_string(::getpid())));
  first.reset();
  EXPECT_TRUE(FileJournal::Open(path_, &clock_).ok());
}

TEST_F(FileJournalTest, OpenInAChildProcessIsRefusedWhileTheParentHoldsIt) {
  auto held = MustOpen();
  const std::string parent_pid = std::to_string(::getpid());
  int code = RunInChild([&] {
    auto j = FileJournal::Open(path_, &clock_);
    if (j.ok()) return 1;
    if (j.status().code() != base::StatusCode::kFailedPrecondition) return 2;
    if (j.status().message().find("pid " + parent_pid) == std::string::npos) return 3;
    return 0;
  });
  EXPECT_EQ(code, 0);
  held.reset();
  EXPECT_EQ(RunInChild([&] { return FileJournal::Open(path_, &clock_).ok() ? 0 : 1; }), 0);
}

TEST_F(FileJournalTest, OpenIsRefusedWhileAChildProcessHoldsIt) {
  int to_child[2], to_parent[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(to_parent), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto j = FileJournal::Open(path_, &clock_);
    char c = j.ok() ? 'y' : 'n';
    (void)!::write(to_parent[1], &c, 1);
    (void)!::read(to_child[0], &c, 1);  // hold the lock until told to go
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(to_parent[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  auto refused = FileJournal::Open(path_, &clock_);
  EXPECT_EQ(refused.status().code(), base::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("pid " + std::to_string(child)));
  ASSERT_EQ(::write(to_child[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) ::close(fd);
  EXPECT_TRUE(
      FileJournal::Open(path_, &clock_).ok());  // the kernel released the dead holder's lock
}

TEST_F(FileJournalTest, ReadOnlyOpenNeitherLocksNorWrites) {
  auto writer = MustOpen();
  ASSERT_TRUE(writer->Put(FullEntry("a/b")).ok());
  FileJournalOptions ro;
  ro.read_only = true;
  auto reader = MustOpen(ro);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->List()->size(), 1u);
  EXPECT_EQ(reader->Put(FullEntry("c/d")).code(), base::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reader->Remove("a/b").code(), base::StatusCode::kFailedPrecondition);
  EXPECT_EQ(writer->List()->size(), 1u);
}

// Every kind of damage: Open fails with kDataLoss, says what to do and leaves the bytes alone.
TEST_F(FileJournalTest, CorruptJournalRefusesToOpenAndIsLeftUntouched) {
  const std::string good = WriteOld();
  json resealed_v2 = json::parse(good);
  resealed_v2["schema_version"] = 3;
  resealed_v2["checksum"] = *detail::JournalChecksum(resealed_v2);
  json wrong_type = json::parse(good);
  wrong_type["entries"]["shop/old"]["credentials_saved"] = "yes";
  wrong_type["checksum"] = *detail::JournalChecksum(wrong_type);
  std::string bad_checksum = good;
  bad_checksum.replace(bad_checksum.find("europe-west1"), 6, "europa");
  struct Case {
    std::string name, bytes, detail;
  };
  const Case cases[] = {
      {"truncated", good.substr(0, good.size() / 2), "not valid JSON"},
      {"empty", "", "empty"},
      {"bad json", "{not json", "not valid JSON"},
      {"bad checksum", bad_checksum, "checksum mismatch"},
      {"unknown version", resealed_v2.dump(2), "schema_version 3 is not supported"},
      {"wrong type", wrong_type.dump(2), "credentials_saved: expected a boolean"},
      {"binary garbage", std::string("\x00\xff\x13\x37", 4), "not valid JSON"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    WriteRaw(path_, c.bytes);
    auto j = FileJournal::Open(path_, &clock_);
    ASSERT_FALSE(j.ok());
    EXPECT_EQ(j.status().code(), base::StatusCode::kDataLoss);
    EXPECT_THAT(j.status().message(), HasSubstr(path_));
    EXPECT_THAT(j.status().message(), HasSubstr(c.detail));
    EXPECT_THAT(j.status().message(), HasSubstr("has not modified the file"));
    EXPECT_THAT(j.status().message(), HasSubstr("restore it from a backup"));
    EXPECT_EQ(ReadRaw(path_), c.bytes);
  }
  WriteRaw(path_, good);
  EXPECT_NE(MustOpen(), nullptr);  // a failed Open released the lock
}

TEST_F(FileJournalTest, UnreadableJournalIsDataLoss) {
  const std::string good = WriteOld();
  FaultInjectingFileSystem fs;
  fs.FailOp("read", EIO);
  auto j = FileJournal::Open(path_, &clock_, {.fs = &fs});
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), base::StatusCode::kDataLoss);
  EXPECT_THAT(j.status().message(), HasSubstr("EIO"));
  EXPECT_EQ(ReadRaw(path_), good);
}

TEST_F(FileJournalTest, LockFailureOtherThanContentionIsReported) {
  FaultInjectingFileSystem fs;
  fs.FailOp("lock", EACCES);
  auto j = FileJournal::Open(path_, &clock_, {.fs = &fs});
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), base::StatusCode::kPermissionDenied);
  EXPECT_THAT(j.status().message(), HasSubstr("locking the journal " + path_));
}

// A compaction of a journal larger than one piece (the snapshot goes out in ~1 MiB appends,
// never whole): stopped before any of its steps, the snapshot on disk is the old one, whole, and
// every entry is read back; let run, the new snapshot holds them all.
TEST_F(FileJournalTest, ACompactionInPiecesStoppedAtAnyStepLosesNothing) {
  constexpr int kEntries = 2200;  // ~2.3 MiB of snapshot: three pieces
  {
    auto j = MustOpen();
    for (int i = 0; i < kEntries; ++i) {
      const std::string key = "ns/k" + std::to_string(i);
      ASSERT_TRUE(j->Put(FullEntry(key, "id" + std::to_string(i))).ok());
    }
  }
  const std::string before = Disk();
  ASSERT_GT(ReadRaw(path_).size() + ReadRaw(log_).size(), 2u << 20);
  // The compaction a reopen makes (its log holds records), traced once without faults.
  FaultInjectingFileSystem tracer;
  std::vector<std::string> steps;
  {
    const std::string saved_snapshot = ReadRaw(path_), saved_log = ReadRaw(log_);
    ASSERT_NE(MustOpen({.fs = &tracer}), nullptr);
    steps = tracer.trace();
    WriteRaw(path_, saved_snapshot);
    WriteRaw(log_, saved_log);
  }
  const auto snapshot_appends = std::count_if(steps.begin(), steps.end(), [&](const auto& t) {
    return t.rfind("append ", 0) == 0 && t.find("journal.json.tmp") != std::string::npos;
  });
  EXPECT_GE(snapshot_appends, 3) << ::testing::PrintToString(steps);
  // From the compaction's first step on (Open's "mkdir" of the folder is not part of it).
  const int first =
      static_cast<int>(std::find_if(steps.begin(), steps.end(),
                                    [](const auto& t) { return t.rfind("mkdir ", 0) != 0; }) -
                       steps.begin());
  ASSERT_LT(first, static_cast<int>(steps.size()));
  // Up to the step after the snapshot's rename (the empty log's replacement after it is the
  // crash tests' subject).
  const auto rename = std::find_if(steps.begin(), steps.end(),
                                   [](const auto& t) { return t.rfind("rename ", 0) == 0; });
  ASSERT_NE(rename, steps.end());
  const int last = static_cast<int>(rename - steps.begin()) + 1;
  for (int stop = first; stop <= last; ++stop) {
    // Each append of the snapshot, its rename and the step after (each costs a 2.3 MiB open).
    const std::string& at = steps[static_cast<std::size_t>(stop)];
    if (stop != first && stop < last - 1 && at.rfind("append ", 0) != 0) continue;
    SCOPED_TRACE("stopped before step " + std::to_string(stop) + ": " + at);
    {
      FaultInjectingFileSystem fs;
      fs.StopAtStep(stop);
      auto j = FileJournal::Open(path_, &clock_, {.fs = &fs});
      ASSERT_TRUE(j.ok()) << j.status();  // a failed compaction on open only delays it
    }
    auto j = MustOpen({.read_only = true});
    ASSERT_NE(j, nullptr);
    auto all = j->List();
    ASSERT_TRUE(all.ok()) << all.status();
    ASSERT_EQ(all->size(), static_cast<std::size_t>(kEntries));
    EXPECT_EQ(all->at("ns/k2199").instance_id, "id2199");
    // Stopped at or before the rename: the snapshot and the log on disk are the old ones.
    if (stop < last) {
      EXPECT_EQ(Disk(), before);
    }
    WriteRaw(path_, before.substr(0, before.find("\n--- log ---\n")));
    WriteRaw(log_, before.substr(before.find("\n--- log ---\n") + 13));
  }
}

// An append that fails (ENOSPC, EIO or EACCES on its write or its fsync): an error naming it,
// the in-memory view unchanged, and the next write compacts, so the log never continues after
// a record that may be partly on disk.
TEST_F(FileJournalTest, FailedAppendsLeaveThePreviousViewAndTheNextWriteCompacts) {
  WriteOld();
  for (int step = 0; step < 2; ++step) {  // append, sync
    for (int err : {ENOSPC, EIO, EACCES}) {
      SCOPED_TRACE("step " + std::to_string(step) + ": " + ErrnoText(err));
      FaultInjectingFileSystem fs;
      auto j = MustOpen({.fs = &fs});
      fs.Reset();
      fs.FailStep(step, err);
      base::Status s = j->Put(FullEntry("shop/new", "new"));
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(fs.trace()[0].rfind("append " + log_, 0), 0u) << fs.trace()[0];
      EXPECT_THAT(s.message(), HasSubstr("recording shop/new in the journal " + path_ + " failed"));
      EXPECT_THAT(s.message(), HasSubstr(ErrnoText(err)));
      EXPECT_EQ(j->List()->size(), 1u);
      EXPECT_EQ(j->Get("shop/new").status().code(), base::StatusCode::kNotFound);
      fs.Reset();
      ASSERT_TRUE(j->Put(FullEntry("shop/other", "other")).ok());
      EXPECT_EQ(fs.trace()[0].rfind("create " + dir_ / "state/.journal.json.tmp.", 0), 0u)
          << fs.trace()[0];
      EXPECT_EQ(j->records_in_log(), 0u);
      j.reset();
      auto reopened = MustOpen();
      EXPECT_EQ(reopened->List()->size(), 2u);
      EXPECT_EQ(reopened->Get("shop/new").status().code(), base::StatusCode::kNotFound);
      ASSERT_TRUE(reopened->Remove("shop/other").ok());
    }
  }
}

// A compaction that fails at any step up to the snapshot's rename: an error naming it, the
// files and the in-memory view unchanged, no temp file left, and the next write works.
TEST_F(FileJournalTest, FailedCompactionsLeaveThePreviousContent) {
  WriteOld();
  const std::string before = Disk();
  for (int step = 0; step < 5; ++step) {  // create, append, sync, close, rename
    for (int err : {ENOSPC, EIO, EACCES}) {
      SCOPED_TRACE("step " + std::to_string(step) + ": " + ErrnoText(err));
      FaultInjectingFileSystem fs;
      auto j = MustOpen({.fs = &fs, .compact_every = 1});
      ASSERT_TRUE(j->Put(FullEntry("shop/old", "old")).ok());  // a record: the next compacts
      const std::string with_record = Disk();
      fs.Reset();
      fs.FailStep(step, err);
      base::Status s = j->Put(FullEntry("shop/new", "new"));
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(fs.trace()[0].rfind("create " + dir_ / "state/.journal.json.tmp.", 0), 0u);
      EXPECT_THAT(s.message(), HasSubstr("recording shop/new in the journal " + path_ + " failed"));
      EXPECT_THAT(s.message(), HasSubstr(ErrnoText(err)));
      EXPECT_EQ(Disk(), with_record);
      EXPECT_EQ(j->List()->size(), 1u);
      EXPECT_EQ(j->Get("shop/new").status().code(), base::StatusCode::kNotFound);
      EXPECT_EQ(Names(dir_ / "state"),
                (std::set<std::string>{"journal.json", "journal.json.lock", "journal.json.log"}));
      fs.Reset();
      fs.FailStep(step, err);
      EXPECT_FALSE(j->Remove("shop/old").ok());
      EXPECT_EQ(Disk(), with_record);
      EXPECT_TRUE(j->Get("shop/old").ok());
      j.reset();
      // Open compacts the record away: back to the first content but for the generation.
      auto reopened = MustOpen();
      EXPECT_EQ(reopened->List()->size(), 1u);
      EXPECT_EQ(reopened->records_in_log(), 0u);
    }
  }
  auto j = MustOpen();
  ASSERT_TRUE(j->Put(FullEntry("shop/new")).ok());
  EXPECT_EQ(j->List()->size(), 2u);
  EXPECT_NE(Disk(), before);
}

// A failed folder fsync comes after the snapshot's rename: the error is reported (nothing may be
// sent), the in-memory view stays old, and whichever content survives is whole.
TEST_F(FileJournalTest, FailedFolderSyncIsAnError) {
  WriteOld();
  FaultInjectingFileSystem fs;
  auto j = MustOpen({.fs = &fs});
  fs.Reset();
  fs.FailStep(0, EIO);  // the append fails: the next write compacts
  ASSERT_FALSE(j->Put(FullEntry("shop/new")).ok());
  fs.Reset();
  fs.FailOp("syncdir", EIO);
  base::Status s = j->Put(FullEntry("shop/new"));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("EIO"));
  EXPECT_EQ(j->Get("shop/new").status().code(), base::StatusCode::kNotFound);
  const std::uint64_t generation = j->generation();
  j.reset();
  auto reopened = MustOpen();
  EXPECT_EQ(reopened->generation(), generation);
  EXPECT_TRUE(reopened->Get("shop/old").ok());
}

// Puts append one record each; the snapshot is not rewritten until a compaction.
TEST_F(FileJournalTest, PutsAppendRecordsAndCompactEveryKRecords) {
  WriteOld();
  const std::string snapshot = ReadRaw(path_);
  FaultInjectingFileSystem fs;
  auto j = MustOpen({.fs = &fs, .compact_every = 3});
  for (int i = 0; i < 3; ++i) {
    fs.Reset();
    ASSERT_TRUE(j->Put(FullEntry("shop/k" + std::to_string(i))).ok());
    EXPECT_EQ(fs.trace().size(), 2u);  // append, sync: nothing else
    EXPECT_EQ(j->records_in_log(), static_cast<std::uint64_t>(i + 1));
  }
  EXPECT_EQ(ReadRaw(path_), snapshot);
  fs.Reset();
  ASSERT_TRUE(j->Remove("shop/k0").ok());  // the 4th: a compaction
  EXPECT_EQ(j->records_in_log(), 0u);
  EXPECT_NE(ReadRaw(path_), snapshot);
  const json doc = json::parse(ReadRaw(path_));
  EXPECT_EQ(doc["generation"], 5);
  EXPECT_EQ(doc["entries"].size(), 3u);
  EXPECT_EQ(ReadRaw(log_), detail::EncodeLogHeader(5));
  ASSERT_TRUE(j->SetBinding({"https://api", "sha256:x"}).ok());
  EXPECT_EQ(j->records_in_log(), 1u);
  j.reset();
  auto reopened = MustOpen();
  EXPECT_EQ(reopened->generation(), 6u);
  EXPECT_EQ(reopened->GetBinding()->api_url, "https://api");
  EXPECT_EQ(reopened->List()->size(), 3u);
}

// A journal written by a release before the record log (schema_version 1, no log file) is read
// and rewritten as version 2 with an empty log on the first open.
TEST_F(FileJournalTest, VersionOneJournalIsMigratedOnOpen) {
  WriteOld();
  json v1 = json::parse(ReadRaw(path_));
  v1["schema_version"] = 1;
  v1["checksum"] = *detail::JournalChecksum(v1);
  WriteRaw(path_, v1.dump(2) + "\n");
  ::unlink(log_.c_str());
  FileJournalOptions ro;
  ro.read_only = true;
  EXPECT_EQ(MustOpen(ro)->List()->size(), 1u);  // readers read it and change nothing
  EXPECT_FALSE(testutil::Exists(log_));
  auto j = MustOpen();
  EXPECT_TRUE(SameEntry(*j->Get("shop/old"), FullEntry("shop/old", "old"), false));
  EXPECT_EQ(json::parse(ReadRaw(path_))["schema_version"], 2);
  EXPECT_EQ(ReadRaw(log_), detail::EncodeLogHeader(1));
  EXPECT_EQ(j->generation(), 1u);
}

// The log's tail cut at every byte offset (a crash while appending, on any file system): the
// journal opens with every whole record before the cut, the torn one ignored, and the next
// writer compacts it away.
TEST_F(FileJournalTest, LogCutAtEveryByteOffsetOpensWithTheWholeRecords) {
  WriteOld();
  std::vector<std::size_t> ends;  // end offset of the header and of each record
  {
    auto j = MustOpen();
    ends.push_back(ReadRaw(log_).size());
    ASSERT_TRUE(j->Put(FullEntry("shop/a", "a")).ok());
    ends.push_back(ReadRaw(log_).size());
    ASSERT_TRUE(j->Remove("shop/old").ok());
    ends.push_back(ReadRaw(log_).size());
    ASSERT_TRUE(j->Put(FullEntry("shop/b", "b")).ok());
    ends.push_back(ReadRaw(log_).size());
  }
  const std::string snapshot = ReadRaw(path_);
  const std::string log = ReadRaw(log_);
  ASSERT_EQ(log.size(), ends.back());
  for (std::size_t cut = ends.front(); cut <= log.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    WriteRaw(path_, snapshot);
    WriteRaw(log_, log.substr(0, cut));
    int whole = 0;
    while (whole + 1 < static_cast<int>(ends.size()) && ends[whole + 1] <= cut) ++whole;
    FileJournalOptions ro;
    ro.read_only = true;
    auto reader = MustOpen(ro);
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(reader->generation(), 1u + whole);
    EXPECT_EQ(ReadRaw(log_), log.substr(0, cut));  // readers change nothing
    auto j = MustOpen();
    ASSERT_NE(j, nullptr);
    EXPECT_EQ(j->generation(), 1u + whole);
    EXPECT_EQ(j->Get("shop/old").ok(), whole < 2);
    EXPECT_EQ(j->Get("shop/a").ok(), whole >= 1);
    EXPECT_EQ(j->Get("shop/b").ok(), whole >= 3);
    if (whole > 0 || cut > ends.front()) {
      EXPECT_EQ(ReadRaw(log_), detail::EncodeLogHeader(1u + whole)) << "not compacted";
    }
    ASSERT_TRUE(j->Put(FullEntry("shop/after")).ok());  // appends after a whole record
    j.reset();
    EXPECT_TRUE(MustOpen()->Get("shop/after").ok());
  }
}

// Damage that is not a torn tail refuses Open like a damaged snapshot, leaving both files as
// they are; a damaged last record alone is the torn tail.
TEST_F(FileJournalTest, DamagedLogRefusesToOpenUnlessOnlyTheLastRecordIsDamaged) {
  WriteOld();
  {
    auto j = MustOpen();
    ASSERT_TRUE(j->Put(FullEntry("shop/a", "a")).ok());
    ASSERT_TRUE(j->Put(FullEntry("shop/b", "b")).ok());
  }
  const std::string snapshot = ReadRaw(path_);
  const std::string log = ReadRaw(log_);
  const std::size_t first = log.find('\n') + 1;          // the first record
  const std::size_t second = log.find('\n', first) + 1;  // the last record
  const auto flip = [&](std::size_t at) {
    std::string bad = log;
    bad[at] = bad[at] == 'a' ? 'b' : 'a';
    return bad;
  };
  std::string reordered =
      log.substr(0, first) + log.substr(second) + log.substr(first, second - first);
  json v3_header = json::parse(log.substr(65, first - 66));
  v3_header["schema_version"] = 3;
  const std::string body = v3_header.dump();
  struct Case {
    std::string name, bytes, detail;
  };
  const Case refused[] = {
      {"bad checksum in a record followed by another", flip(first + 80),
       "record at byte " + std::to_string(first) + " is damaged"},
      {"damaged header", flip(70), "no valid header"},
      {"empty log", "", "no valid header"},
      {"records out of order", reordered, "where 2 was expected"},
      {"a record cut out", log.substr(0, first) + log.substr(second), "where 2 was expected"},
      {"header of another version", *detail::Sha256Hex(body) + " " + body + "\n",
       "schema_version is not 1"},
      {"log continues a later snapshot", detail::EncodeLogHeader(7), "continues generation 7"},
      {"two torn lines", log + "abc\ndef", "is damaged"},
  };
  for (const Case& c : refused) {
    SCOPED_TRACE(c.name);
    WriteRaw(path_, snapshot);
    WriteRaw(log_, c.bytes);
    auto j = FileJournal::Open(path_, &clock_);
    ASSERT_FALSE(j.ok());
    EXPECT_EQ(j.status().code(), base::StatusCode::kDataLoss);
    EXPECT_THAT(j.status().message(), HasSubstr(path_));
    EXPECT_THAT(j.status().message(), HasSubstr(c.detail));
    EXPECT_THAT(j.status().message(), HasSubstr("has not modified the file"));
    EXPECT_EQ(ReadRaw(path_), snapshot);
    EXPECT_EQ(ReadRaw(log_), c.bytes);
  }
  // The last record with a bad checksum, whole or not, or garbage after the last record: torn.
  for (const std::string& torn :
       {flip(second + 80), log + "0000", log + std::string(300, '\0'), log + "x\n"}) {
    WriteRaw(path_, snapshot);
    WriteRaw(log_, torn);
    auto j = MustOpen();
    ASSERT_NE(j, nullptr);
    EXPECT_TRUE(j->Get("shop/a").ok());
    EXPECT_EQ(j->Get("shop/b").ok(), torn.size() > log.size());
  }
}

// A compaction killed between its snapshot and its new log leaves a log whose records the
// snapshot holds: skipped. One holding a record the snapshot lacks cannot be explained: refused.
TEST_F(FileJournalTest, StaleLogAfterAnInterruptedCompactionIsSkipped) {
  WriteOld();
  {
    auto j = MustOpen();
    ASSERT_TRUE(j->Put(FullEntry("shop/a", "a")).ok());
    ASSERT_TRUE(j->Put(FullEntry("shop/b", "b")).ok());
  }
  const std::string stale_log = ReadRaw(log_);  // base 1, records 2 and 3
  auto j = MustOpen();                          // compacts: snapshot 3, empty log
  ASSERT_TRUE(j->Remove("shop/a").ok());
  j.reset();
  MustOpen().reset();  // snapshot 4
  const std::string snapshot4 = ReadRaw(path_);
  WriteRaw(log_, stale_log);
  j = MustOpen();
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(j->generation(), 4u);
  EXPECT_EQ(j->Get("shop/a").status().code(), base::StatusCode::kNotFound);
  EXPECT_EQ(ReadRaw(log_), detail::EncodeLogHeader(4));
  j.reset();
  // Snapshot 2 with a log based on 1 holding records 2 and 3: record 3 is not in the snapshot.
  json doc = json::parse(snapshot4);
  doc["generation"] = 2;
  doc["checksum"] = *detail::JournalChecksum(doc);
  WriteRaw(path_, doc.dump(2));
  WriteRaw(log_, stale_log);
  auto refused = FileJournal::Open(path_, &clock_);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("holds generation 3, newer"));
}

// `aura-controller status` beside a running controller: a read-only open never fails and never
// sees a partial state while the writer appends and compacts (it reads the files again when a
// compaction replaced them between its two reads).
TEST_F(FileJournalTest, ReadOnlyOpenBesideACompactingWriterSeesWholeStates) {
  auto writer = MustOpen({.compact_every = 3});
  ASSERT_TRUE(writer->Put(FullEntry("shop/base")).ok());
  std::atomic<bool> done{false};
  std::thread t([&] {
    for (int i = 0; i < 300; ++i) {
      // Each write keeps "shop/base" and the count of "shop/k*" entries equal to its number.
      ASSERT_TRUE(writer->Put(FullEntry("shop/k" + std::to_string(i % 7), "id")).ok());
    }
    done = true;
  });
  FileJournalOptions ro;
  ro.read_only = true;
  int reads = 0;
  while (!done || reads == 0) {
    auto r = FileJournal::Open(path_, &clock_, ro);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE((*r)->Get("shop/base").ok());
    EXPECT_LE((*r)->List()->size(), 8u);
    ++reads;
  }
  t.join();
  EXPECT_GT(reads, 0);
}

TEST_F(FileJournalTest, OpenRemovesLeftoverTempFilesOnly) {
  WriteOld();
  WriteRaw(dir_ / "state/.journal.json.tmp.999.1", "{half");
  WriteRaw(dir_ / "state/.journal.json.tmp.999.2", "");
  WriteRaw(dir_ / "state/unrelated.txt", "keep");
  WriteRaw(dir_ / "state/.other.json.tmp.999.1", "keep");
  WriteRaw(dir_ / "state/.journal.json.log.tmp.999.4", "half a log");
  auto j = MustOpen();
  EXPECT_EQ(Names(dir_ / "state"),
            (std::set<std::string>{"journal.json", "journal.json.lock", "journal.json.log",
                                   "unrelated.txt", ".other.json.tmp.999.1"}));
  FileJournalOptions ro;
  ro.read_only = true;
  WriteRaw(dir_ / "state/.journal.json.tmp.999.3", "");
  auto reader = MustOpen(ro);
  EXPECT_TRUE(testutil::Exists(dir_ / "state/.journal.json.tmp.999.3"));  // readers never delete
}

TEST_F(FileJournalTest, ConcurrentWritersAreSerialized) {
  auto j = MustOpen();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string key = "ns" + std::to_string(t) + "/k" + std::to_string(i);
        EXPECT_TRUE(j->Put(FullEntry(key)).ok());
        EXPECT_TRUE(j->Get(key).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(j->generation(), 40u);
  j.reset();
  EXPECT_EQ(MustOpen()->List()->size(), 40u);
}

TEST_F(FileJournalTest, RelativePathWithoutFolder) {
  ScratchDir cwd;
  char old[4096];
  ASSERT_NE(::getcwd(old, sizeof old), nullptr);
  ASSERT_EQ(::chdir(cwd.path().c_str()), 0);
  {
    auto j = FileJournal::Open("journal.json", &clock_);
    ASSERT_TRUE(j.ok()) << j.status();
    EXPECT_TRUE((*j)->Put(FullEntry("a/b")).ok());
  }
  ASSERT_EQ(::chdir(old), 0);
  EXPECT_TRUE(testutil::Exists(cwd / "journal.json"));
}

TEST_F(FileJournalTest, OpenValidatesArguments) {
  EXPECT_EQ(FileJournal::Open("", &clock_).status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(FileJournal::Open(path_, nullptr).status().code(), base::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace aura::store
