// FileJournal: the Journal kept in one JSON file (`--state`), the default backend.
//
// On-disk format (schema_version 1), written pretty-printed, members in sorted order:
//   {
//     "checksum": "sha256:<64 hex>",  // SHA-256 (OpenSSL EVP) of the compact, key-sorted dump
//                                     // of this object without "checksum"
//     "entries": {                    // by spec key "namespace/name"
//       "shop/orders": {
//         "aura_name": "shop-orders", "tenant_id": "...", "instance_id": "" | "<id>",
//         "origin": "created" | "adopted", "credentials_saved": false, "duplicate_ids": [],
//         "delete_on_removal": false, "cloud_provider": "gcp", "region": "...", "type": "...",
//         "version": "5", "updated": "2027-01-01T00:00:00.000000000Z",
//         "intent": {                 // absent when there is no create in progress
//           "aura_name": "...", "tenant_id": "...", "intent_time": "<RFC 3339, ns>",
//           "attempt": 1, "ambiguous": false, "last_request_id": ""
//         }
//       }
//     },
//     "binding": {"api_url": "...", "client": "sha256:..."},  // absent until first bound
//     "format": "aura-controller journal",
//     "generation": 42,               // grows with every write since the file was created
//     "schema_version": 1
//   }
// Readers reject (kDataLoss) bad JSON, another schema_version, a checksum mismatch and members
// of the wrong type; missing entry members take their defaults; unknown members are ignored
// (and dropped by the next write: a format change that older readers must keep is a new
// schema_version). Hand edits invalidate the checksum on purpose.
//
// Beside the journal: `<path>.lock` (flock'd for the writer's lifetime, holds its pid; flock is
// advisory and per host, so keep --state on a local or block volume, not a shared NFS one) and,
// after a crash, `.<name>.tmp.<pid>.<seq>` temp files, which the next writer deletes on Open.
//
// Durability: each Put/Remove rewrites the whole file through WriteFileAtomic (temp file,
// fsync, rename, fsync folder) and returns OK only after all of it. On any error the in-memory
// view is unchanged and the file holds the old content, or (error in the final folder fsync)
// the new content not known to be durable; both are safe under the exactly-once protocol,
// because the caller sends nothing on an error.
//
// Thread-safety: safe for concurrent use; writes are serialized by a mutex and reads are served
// from memory. One writer process per file (the lock).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/base/status.h"
#include "pkg/store/file_system.h"
#include "pkg/store/journal.h"

namespace aura::store {

struct FileJournalOptions {
  FileSystem* fs = nullptr;  // nullptr: FileSystem::Default()
  // No lock, no folder creation, no temp cleanup; Put/Remove fail with kFailedPrecondition.
  // For `aura-controller status` beside a running controller: renames are atomic, so a reader
  // always sees a whole file.
  bool read_only = false;
  const base::Logger* logger = nullptr;  // nullptr: base::DefaultLogger()
};

class FileJournal final : public Journal {
 public:
  static constexpr int kSchemaVersion = 1;

  // Locks `<path>.lock` (unless read-only) and loads `path`; a missing file is an empty journal
  // and a missing folder is created (0700). Errors:
  //   kFailedPrecondition: another process holds the lock (the message names it and its pid);
  //   kDataLoss: the file is unreadable or corrupt; it is left byte-for-byte untouched and the
  //     message says what is wrong and what to do;
  //   others: the folder or lock file could not be created.
  // REQUIRES: clock outlives the journal; options.fs and options.logger too, when set.
  [[nodiscard]] static base::StatusOr<std::unique_ptr<FileJournal>> Open(
      const std::string& path, const base::Clock* clock, FileJournalOptions options = {});

  ~FileJournal() override = default;  // releases the lock
  FileJournal(const FileJournal&) = delete;
  FileJournal& operator=(const FileJournal&) = delete;

  base::StatusOr<std::map<std::string, JournalEntry>> List() const override;
  base::Status ForEach(const std::function<void(const JournalEntry&)>& visit) const override;
  base::StatusOr<JournalEntry> Get(const std::string& key) const override;
  // Sets e.updated to the clock's SystemNow() in what it stores. kInvalidArgument for an empty
  // key or strings that are not UTF-8; file-system errors as in file_system.h, with context.
  [[nodiscard]] base::Status Put(const JournalEntry& e) override;
  [[nodiscard]] base::Status Remove(const std::string& key) override;
  base::StatusOr<StateBinding> GetBinding() const override;
  [[nodiscard]] base::Status SetBinding(const StateBinding& b) override;

  const std::string& path() const { return path_; }
  // The generation of the last write attempted (persisted in the file; grows with every write).
  std::uint64_t generation() const;

 private:
  FileJournal(std::string path, const base::Clock* clock, FileJournalOptions options,
              std::unique_ptr<FileLock> lock);
  // Writes entries_ as the next generation. On failure entries_ is what the caller must restore
  // (the file holds the previous content, or, after a failed folder fsync, maybe this one).
  base::Status Commit(const std::string& what);
  FileSystem& fs() const { return *options_.fs; }

  const std::string path_;
  const base::Clock* const clock_;
  const FileJournalOptions options_;
  const std::unique_ptr<FileLock> lock_;  // null when read-only

  mutable std::mutex mu_;
  std::map<std::string, JournalEntry> entries_;  // GUARDED_BY(mu_)
  std::uint64_t generation_ = 0;                 // GUARDED_BY(mu_)
  StateBinding binding_;                         // GUARDED_BY(mu_)
};

}  // namespace aura::store
