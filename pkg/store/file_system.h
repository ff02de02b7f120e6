// FileSystem: the only way pkg/store touches the disk (the leveldb `Env` idea), so tests can
// wrap it to inject ENOSPC/EIO on any step or kill the process between two steps (the testing
// target aura::store_testing has such a wrapper).
//
// WriteFileAtomic() is the one atomic-replace protocol every durable write here uses:
//   1. create  <dir>/.<base>.tmp.<pid>.<seq>  with O_CREAT|O_EXCL and the final mode
//   2. write the whole content     3. fsync it     4. close it
//   5. rename it over <path>       6. fsync <dir>
// A crash before 5 leaves the old file and a stray temp file (IsTempFileOf() recognizes it);
// a crash after 5 leaves the new file. Readers never see a partial file.
//
// Errors carry the path, the operation and the errno name, e.g.
// "write /s/.journal.json.tmp.7.1: No space left on device (ENOSPC)". Codes: ENOENT ->
// kNotFound; EEXIST -> kAlreadyExists; EACCES/EPERM/EROFS -> kPermissionDenied; a lock held
// by another -> kFailedPrecondition; anything else (ENOSPC, EDQUOT, EIO, ...) -> kUnavailable
// (retry later; whatever depended on the write must not happen meanwhile).
//
// Thread-safety: FileSystem implementations are safe for concurrent use; a WritableFile is used
// by one thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/base/status.h"

namespace aura::store {

class WritableFile {
 public:
  virtual ~WritableFile() = default;  // closes the file if Close() was not called; never syncs
  [[nodiscard]] virtual base::Status Append(std::string_view data) = 0;
  [[nodiscard]] virtual base::Status Sync() = 0;  // fsync: data and metadata on stable storage
  [[nodiscard]] virtual base::Status Close() = 0;
};

// An exclusive advisory lock; released when destroyed (and by the kernel when the process dies).
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The process-wide POSIX implementation. Never destroyed.
  static FileSystem& Default();

  // The whole file. kNotFound when it does not exist.
  [[nodiscard]] virtual base::StatusOr<std::string> ReadFile(const std::string& path) = 0;
  // Creates a new file (O_CREAT|O_EXCL|O_CLOEXEC) with exactly `mode` (umask not applied).
  // kAlreadyExists when `path` exists.
  [[nodiscard]] virtual base::StatusOr<std::unique_ptr<WritableFile>> CreateExclusive(
      const std::string& path, unsigned mode) = 0;
  // Opens an existing file for appending (O_WRONLY|O_APPEND|O_CLOEXEC). kNotFound when it does
  // not exist. Opening changes nothing on disk; the appends do.
  [[nodiscard]] virtual base::StatusOr<std::unique_ptr<WritableFile>> OpenForAppend(
      const std::string& path) = 0;
  // rename(2): atomically replaces `to`.
  [[nodiscard]] virtual base::Status Rename(const std::string& from, const std::string& to) = 0;
  // fsync of a directory, making renames and creations in it durable.
  [[nodiscard]] virtual base::Status SyncDir(const std::string& dir) = 0;
  // OK when already absent.
  [[nodiscard]] virtual base::Status RemoveFile(const std::string& path) = 0;
  // mkdir -p; folders it creates get exactly `mode`; existing folders are left as they are.
  [[nodiscard]] virtual base::Status CreateDirs(const std::string& dir, unsigned mode) = 0;
  // Entry names (not paths) of `dir`, without "." and "..". kNotFound when it does not exist.
  [[nodiscard]] virtual base::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) = 0;
  // Takes an exclusive flock(2) on `path` (created 0600 if missing) without waiting, and writes
  // this process's pid into it. flock conflicts between two opens in one process too. When
  // another holder has it: kFailedPrecondition naming the path and the holder's pid if known.
  [[nodiscard]] virtual base::StatusOr<std::unique_ptr<FileLock>> LockExclusive(
      const std::string& path) = 0;
};

// The folder part of `path` ("." when it has none) and the last component.
std::string DirName(const std::string& path);
std::string BaseName(const std::string& path);

// True when `name` (an entry of the folder of `path`) is a temp file that WriteFileAtomic(path)
// may have left behind.
bool IsTempFileOf(std::string_view name, std::string_view base_name);

// Steps 1-6 above. On error the temp file is removed (best effort) and `path` holds its previous
// content, unless the error came from step 6: then `path` may hold the new content, not yet
// known to be durable.
[[nodiscard]] base::Status WriteFileAtomic(FileSystem& fs, const std::string& path,
                                           std::string_view data, unsigned mode);

// The same, with the content given in pieces: `write` calls `append` for each (a journal of
// 100,000 entries is ~110 MB, never held whole). An error of `write` or `append` is an error of
// step 2: the temp file is removed and `path` keeps its previous content.
using AppendFn = std::function<base::Status(std::string_view)>;
[[nodiscard]] base::Status WriteFileAtomicStreamed(
    FileSystem& fs, const std::string& path, unsigned mode,
    const std::function<base::Status(const AppendFn&)>& write);

// "No space left on device (ENOSPC)".
std::string ErrnoText(int err);
// The Status for errno `err` from `op` on `path` (mapping above).
base::Status ErrnoStatus(int err, std::string_view op, const std::string& path);

}  // namespace aura::store
