#include "pkg/store/file_journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

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
  // Writes a journal holding one full entry "shop/old" and returns its bytes.
  std::string WriteOld() {
    auto j = MustOpen();
    EXPECT_TRUE(j->Put(FullEntry("shop/old", "old")).ok());
    return ReadRaw(path_);
  }

  ScratchDir dir_;
  std::string path_ = dir_ / "state/journal.json";
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
  EXPECT_EQ(Names(dir_ / "state"), (std::set<std::string>{"journal.json", "journal.json.lock"}));
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

TEST_F(FileJournalTest, RemovingAnAbsentKeyIsOkAndWritesNothing) {
  const std::string before = WriteOld();
  auto j = MustOpen();
  EXPECT_TRUE(j->Remove("no/such").ok());
  EXPECT_EQ(ReadRaw(path_), before);
}

TEST_F(FileJournalTest, RejectsBadEntriesWithoutChangingAnything) {
  const std::string before = WriteOld();
  auto j = MustOpen();
  EXPECT_EQ(j->Put(JournalEntry{}).code(), base::StatusCode::kInvalidArgument);
  JournalEntry bad = FullEntry("a/b");
  bad.region = "\xc3";
  EXPECT_EQ(j->Put(bad).code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadRaw(path_), before);
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
  resealed_v2["schema_version"] = 2;
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
      {"unknown version", resealed_v2.dump(2), "schema_version 2 is not supported"},
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

// ENOSPC, EIO or EACCES at any step up to the rename: an error naming it, the file and the
// in-memory view unchanged, no temp file left, and the next write works.
TEST_F(FileJournalTest, FailedWritesLeaveThePreviousContent) {
  const std::string before = WriteOld();
  for (int step = 0; step < 5; ++step) {
    for (int err : {ENOSPC, EIO, EACCES}) {
      SCOPED_TRACE("step " + std::to_string(step) + ": " + ErrnoText(err));
      FaultInjectingFileSystem fs;
      auto j = MustOpen({.fs = &fs});
      fs.Reset();
      fs.FailStep(step, err);
      base::Status s = j->Put(FullEntry("shop/new", "new"));
      ASSERT_FALSE(s.ok());
      EXPECT_THAT(s.message(), HasSubstr("recording shop/new in the journal " + path_ + " failed"));
      EXPECT_THAT(s.message(), HasSubstr(ErrnoText(err)));
      EXPECT_EQ(ReadRaw(path_), before);
      EXPECT_EQ(j->List()->size(), 1u);
      EXPECT_EQ(j->Get("shop/new").status().code(), base::StatusCode::kNotFound);
      EXPECT_EQ(Names(dir_ / "state"),
                (std::set<std::string>{"journal.json", "journal.json.lock"}));
      fs.Reset();
      fs.FailStep(step, err);
      EXPECT_FALSE(j->Remove("shop/old").ok());
      EXPECT_EQ(ReadRaw(path_), before);
      EXPECT_TRUE(j->Get("shop/old").ok());
      fs.Reset();
      fs.FailStep(step, err);
      const std::string old_id = j->Get("shop/old")->instance_id;
      EXPECT_FALSE(j->Put(FullEntry("shop/old", "changed")).ok());
      EXPECT_EQ(ReadRaw(path_), before);
      EXPECT_EQ(j->Get("shop/old")->instance_id, old_id);
      EXPECT_NE(old_id, "changed");
    }
  }
  auto j = MustOpen();
  ASSERT_TRUE(j->Put(FullEntry("shop/new")).ok());
  EXPECT_EQ(j->List()->size(), 2u);
}

// A failed folder fsync comes after the rename: the error is reported (nothing may be sent), the
// in-memory view stays old, and whichever content survives is whole.
TEST_F(FileJournalTest, FailedFolderSyncIsAnError) {
  WriteOld();
  FaultInjectingFileSystem fs;
  auto j = MustOpen({.fs = &fs});
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

TEST_F(FileJournalTest, OpenRemovesLeftoverTempFilesOnly) {
  WriteOld();
  WriteRaw(dir_ / "state/.journal.json.tmp.999.1", "{half");
  WriteRaw(dir_ / "state/.journal.json.tmp.999.2", "");
  WriteRaw(dir_ / "state/unrelated.txt", "keep");
  WriteRaw(dir_ / "state/.other.json.tmp.999.1", "keep");
  auto j = MustOpen();
  EXPECT_EQ(Names(dir_ / "state"),
            (std::set<std::string>{"journal.json", "journal.json.lock", "unrelated.txt",
                                   ".other.json.tmp.999.1"}));
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
