// FaultInjectingFileSystem: a FileSystem for tests that wraps another one and, on a chosen step,
// fails with an errno, stops (every later step fails too, as if the process had died there), or
// really kills the process with _exit (for use in a forked child).
//
// Steps are the calls that change the disk, counted from 0 since construction or Reset():
// "create", "append", "sync", "close", "rename", "syncdir", "remove", "mkdir". Reads ("read"),
// listings ("list"), opens for append ("open") and locks ("lock") are not counted (a crash cannot
// tear them) but FailOp() applies to them too. A WriteFileAtomic() is exactly: create, append,
// sync, close, rename, syncdir.
//
// Target aura::store_testing; never linked into the binaries.
// Thread-safety: safe for concurrent use; the step counter is shared by all threads.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pkg/store/file_system.h"

namespace aura::store {

class FaultInjectingFileSystem final : public FileSystem {
 public:
  // The exit code of a process killed by CrashAtStep().
  static constexpr int kCrashExitCode = 86;

  // `base` must outlive this object.
  explicit FaultInjectingFileSystem(FileSystem& base = FileSystem::Default());

  // Step `n` fails with errno `err` without touching the disk; later steps run normally.
  void FailStep(int n, int err);
  // Every call of kind `op` ("rename", "sync", "read", ...) fails with `err` until Reset().
  void FailOp(const std::string& op, int err);
  // Step `n` and every later step fail with kCancelled without touching the disk: the on-disk
  // state is what a process killed just before step `n` leaves, without forking.
  void StopAtStep(int n);
  // Step `n` does not happen: the process calls _exit(kCrashExitCode) instead. With `torn` and
  // an "append" step, the first half of the data is written before dying.
  // REQUIRES: only in a forked child (it ends the process).
  void CrashAtStep(int n, bool torn = false);
  // Clears every fault, the step counter and the trace.
  void Reset();

  // Steps attempted since construction or Reset().
  int steps() const;
  // "create <path>", "rename <from> -> <to>", ... for every step attempted, in order.
  std::vector<std::string> trace() const;

  base::StatusOr<std::string> ReadFile(const std::string& path) override;
  base::StatusOr<std::unique_ptr<WritableFile>> CreateExclusive(const std::string& path,
                                                                unsigned mode) override;
  base::StatusOr<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) override;
  base::Status Rename(const std::string& from, const std::string& to) override;
  base::Status SyncDir(const std::string& dir) override;
  base::Status RemoveFile(const std::string& path) override;
  base::Status CreateDirs(const std::string& dir, unsigned mode) override;
  base::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override;
  base::StatusOr<std::unique_ptr<FileLock>> LockExclusive(const std::string& path) override;

 private:
  class File;
  enum class Action { kRun, kFail, kStop, kCrash, kTornCrash };
  struct Decision {
    Action action = Action::kRun;
    int err = 0;
  };

  // Counts a step and decides its fate. kCrash never returns.
  Decision Step(const std::string& op, const std::string& what);
  // FailOp() for the uncounted calls.
  base::Status Uncounted(const std::string& op, const std::string& what);
  static base::Status Injected(const Decision& d, const std::string& op, const std::string& what);

  FileSystem& base_;
  mutable std::mutex mu_;
  int steps_ = 0;                        // GUARDED_BY(mu_)
  std::map<int, int> fail_steps_;        // GUARDED_BY(mu_): step -> errno
  std::map<std::string, int> fail_ops_;  // GUARDED_BY(mu_): op -> errno
  int stop_at_ = -1;                     // GUARDED_BY(mu_)
  int crash_at_ = -1;                    // GUARDED_BY(mu_)
  bool torn_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::string> trace_;       // GUARDED_BY(mu_)
};

}  // namespace aura::store
