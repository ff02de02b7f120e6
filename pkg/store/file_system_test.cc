#include "pkg/store/file_system.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "pkg/store/fault_file_system.h"
#include "pkg/store/test_util.h"

namespace aura::store {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testutil::ModeOf;
using testutil::Names;
using testutil::ReadRaw;
using testutil::ScratchDir;

TEST(FileSystemTest, WriteFileAtomicCreatesAndReplacesWithExactMode) {
  ScratchDir dir;
  const mode_t old_umask = ::umask(0077);
  FileSystem& fs = FileSystem::Default();
  ASSERT_TRUE(WriteFileAtomic(fs, dir / "f", "one", 0644).ok());
  EXPECT_EQ(ReadRaw(dir / "f"), "one");
  EXPECT_EQ(ModeOf(dir / "f"), 0644);  // the umask did not apply
  ASSERT_TRUE(WriteFileAtomic(fs, dir / "f", "two", 0600).ok());
  ::umask(old_umask);
  EXPECT_EQ(ReadRaw(dir / "f"), "two");
  EXPECT_EQ(ModeOf(dir / "f"), 0600);
  EXPECT_EQ(Names(dir.path()), std::set<std::string>{"f"});
}

TEST(FileSystemTest, ReadFileOfMissingFileIsNotFound) {
  ScratchDir dir;
  auto r = FileSystem::Default().ReadFile(dir / "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr(dir / "nope"));
  EXPECT_THAT(r.status().message(), HasSubstr("ENOENT"));
}

TEST(FileSystemTest, CreateExclusiveRefusesAnExistingFile) {
  ScratchDir dir;
  FileSystem& fs = FileSystem::Default();
  ASSERT_TRUE(fs.CreateExclusive(dir / "f", 0600).ok());
  auto again = fs.CreateExclusive(dir / "f", 0600);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), base::StatusCode::kAlreadyExists);
}

TEST(FileSystemTest, CreateDirsMakesNestedFoldersWithExactMode) {
  ScratchDir dir;
  FileSystem& fs = FileSystem::Default();
  ASSERT_TRUE(fs.CreateDirs(dir / "a/b/c", 0700).ok());
  EXPECT_EQ(ModeOf(dir / "a"), 0700);
  EXPECT_EQ(ModeOf(dir / "a/b/c"), 0700);
  EXPECT_TRUE(fs.CreateDirs(dir / "a/b/c", 0700).ok());  // existing is fine
  ASSERT_TRUE(WriteFileAtomic(fs, dir / "file", "x", 0600).ok());
  EXPECT_FALSE(fs.CreateDirs(dir / "file", 0700).ok());
}

TEST(FileSystemTest, LockIsExclusiveWithinOneProcessAndNamesTheHolder) {
  ScratchDir dir;
  FileSystem& fs = FileSystem::Default();
  auto first = fs.LockExclusive(dir / "x.lock");
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = fs.LockExclusive(dir / "x.lock");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), base::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr(dir / "x.lock"));
  EXPECT_THAT(second.status().message(), HasSubstr("pid " + std::to_string(::getpid())));
  first->reset();
  EXPECT_TRUE(fs.LockExclusive(dir / "x.lock").ok());
}

TEST(FileSystemTest, TempFileNames) {
  EXPECT_TRUE(IsTempFileOf(".journal.json.tmp.123.4", "journal.json"));
  EXPECT_FALSE(IsTempFileOf("journal.json", "journal.json"));
  EXPECT_FALSE(IsTempFileOf(".journal.json.tmp.", "journal.json"));
  EXPECT_FALSE(IsTempFileOf(".journal.json.tmp.123", "journal.json"));
  EXPECT_FALSE(IsTempFileOf(".journal.json.tmp.1x.4", "journal.json"));
  EXPECT_FALSE(IsTempFileOf(".other.json.tmp.1.4", "journal.json"));
  EXPECT_FALSE(IsTempFileOf(".journal.json.tmp.1.4", "journal"));
}

TEST(FileSystemTest, PathParts) {
  EXPECT_EQ(DirName("/a/b/c.json"), "/a/b");
  EXPECT_EQ(DirName("c.json"), ".");
  EXPECT_EQ(DirName("/c.json"), "/");
  EXPECT_EQ(BaseName("/a/b/c.json"), "c.json");
  EXPECT_EQ(BaseName("c.json"), "c.json");
}

TEST(FileSystemTest, ErrnoStatusNamesTheErrorAndPicksTheCode) {
  base::Status s = ErrnoStatus(ENOSPC, "write", "/x");
  EXPECT_EQ(s.code(), base::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "write /x: No space left on device (ENOSPC)");
  EXPECT_EQ(ErrnoStatus(EACCES, "open", "/x").code(), base::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(EROFS, "open", "/x").code(), base::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(ENOENT, "open", "/x").code(), base::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EIO, "fsync", "/x").code(), base::StatusCode::kUnavailable);
}

TEST(FaultInjectingFileSystemTest, WriteFileAtomicIsSixSteps) {
  ScratchDir dir;
  FaultInjectingFileSystem fs;
  ASSERT_TRUE(WriteFileAtomic(fs, dir / "f", "data", 0600).ok());
  const auto trace = fs.trace();
  ASSERT_EQ(trace.size(), 6u);
  EXPECT_THAT(trace[0], StartsWith("create " + dir.path() + "/.f.tmp."));
  EXPECT_THAT(trace[1], StartsWith("append "));
  EXPECT_THAT(trace[2], StartsWith("sync "));
  EXPECT_THAT(trace[3], StartsWith("close "));
  EXPECT_THAT(trace[4], StartsWith("rename "));
  EXPECT_EQ(trace[5], "syncdir " + dir.path());
}

// A failure at any step before the rename leaves the old file and no temp file.
TEST(FaultInjectingFileSystemTest, FailureBeforeRenameKeepsOldContent) {
  for (int step = 0; step < 5; ++step) {
    for (int err : {ENOSPC, EIO, EACCES}) {
      SCOPED_TRACE("step " + std::to_string(step) + " errno " + std::to_string(err));
      ScratchDir dir;
      ASSERT_TRUE(WriteFileAtomic(FileSystem::Default(), dir / "f", "old", 0600).ok());
      FaultInjectingFileSystem fs;
      fs.FailStep(step, err);
      base::Status s = WriteFileAtomic(fs, dir / "f", "new", 0600);
      ASSERT_FALSE(s.ok());
      EXPECT_THAT(s.message(), HasSubstr(ErrnoText(err)));
      EXPECT_EQ(ReadRaw(dir / "f"), "old");
      EXPECT_EQ(Names(dir.path()), std::set<std::string>{"f"});
    }
  }
}

TEST(FaultInjectingFileSystemTest, FailureOfTheFolderSyncIsReportedAfterTheRename) {
  ScratchDir dir;
  FaultInjectingFileSystem fs;
  fs.FailOp("syncdir", EIO);
  base::Status s = WriteFileAtomic(fs, dir / "f", "new", 0600);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("EIO"));
  EXPECT_EQ(ReadRaw(dir / "f"), "new");
}

TEST(FaultInjectingFileSystemTest, StopLeavesWhatACrashLeaves) {
  ScratchDir dir;
  ASSERT_TRUE(WriteFileAtomic(FileSystem::Default(), dir / "f", "old", 0600).ok());
  FaultInjectingFileSystem fs;
  fs.StopAtStep(2);  // after create and write, before fsync
  base::Status s = WriteFileAtomic(fs, dir / "f", "new", 0600);
  EXPECT_EQ(s.code(), base::StatusCode::kCancelled);
  EXPECT_EQ(ReadRaw(dir / "f"), "old");
  EXPECT_EQ(Names(dir.path()).size(), 2u);  // the stray temp file stays, as after a crash
  EXPECT_EQ(fs.trace().back().substr(0, 7), "remove ");
}

TEST(FaultInjectingFileSystemTest, FailOpAppliesToUncountedCalls) {
  ScratchDir dir;
  FaultInjectingFileSystem fs;
  fs.FailOp("read", EIO);
  fs.FailOp("lock", EACCES);
  fs.FailOp("list", EIO);
  EXPECT_THAT(fs.ReadFile(dir / "f").status().message(), HasSubstr("EIO"));
  EXPECT_EQ(fs.LockExclusive(dir / "l").status().code(), base::StatusCode::kPermissionDenied);
  EXPECT_FALSE(fs.ListDir(dir.path()).ok());
  EXPECT_EQ(fs.steps(), 0);
  fs.Reset();
  EXPECT_TRUE(fs.ListDir(dir.path()).ok());
}

TEST(FaultInjectingFileSystemTest, CrashAtStepEndsTheProcess) {
  ScratchDir dir;
  int code = testutil::RunInChild([&] {
    FaultInjectingFileSystem fs;
    fs.CrashAtStep(4);  // the rename
    (void)WriteFileAtomic(fs, dir / "f", "new", 0600);
    return 0;
  });
  EXPECT_EQ(code, FaultInjectingFileSystem::kCrashExitCode);
  EXPECT_FALSE(testutil::Exists(dir / "f"));
  EXPECT_EQ(Names(dir.path()).size(), 1u);  // the complete temp file
}

}  // namespace
}  // namespace aura::store
