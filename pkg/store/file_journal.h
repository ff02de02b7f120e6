// FileJournal: the Journal kept in a snapshot file (`--state`) and an append-only record log
// beside it, the default backend.
//
// Files:
//   <path>       the snapshot: every entry as of one generation, written whole (atomic replace);
//   <path>.log   the record log: one checksummed line per write since that snapshot
//                (detail::EncodeLogRecord; the format is in codec.h);
//   <path>.lock  flock'd for the writer's lifetime, holds its pid (flock is advisory and per
//                host, so keep --state on a local or block volume, not a shared NFS one);
//   .<name>.tmp.<pid>.<seq>  temp files of writes interrupted by a crash, deleted by the next
//                writer's Open.
//
// Snapshot format (schema_version 2; version 1, the format before the log existed, is read too
// and migrated on Open), written pretty-printed, members in sorted order:
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
//     "schema_version": 2
//   }
// Readers reject (kDataLoss) bad JSON, an unknown schema_version, a checksum mismatch and
// members of the wrong type; missing entry members take their defaults; unknown members are
// ignored (and dropped by the next write). Hand edits invalidate the checksum on purpose.
//
// Writes (issue 21: a whole-file rewrite per write cost O(N), 44-58 ms at 10,000 entries): a
// Put/Remove/SetBinding appends one record line to the log and fsyncs it, O(1), and returns OK
// only after the fsync. Every `compact_every` records (and whenever the log cannot be trusted:
// on the first write after an append failed, and on Open when the log holds records, a torn
// tail or the snapshot is version 1) the write compacts instead: the whole state, with the
// write, goes into a new snapshot through WriteFileAtomic (temp, fsync, rename, fsync folder),
// then the log is replaced by an empty one (header only, same protocol) that continues the
// snapshot's generation. Each record carries its generation, so a crash between the two
// replacements leaves a snapshot and an older log whose records it already holds: they are
// skipped.
//
// Crash safety: a record is either whole in the log or is its last line, damaged (a write torn
// by a crash, never reported as durable): Open ignores such a torn tail and the next writer
// compacts it away. Damage anywhere else (a bad line followed by another, a record that
// decodes wrong, a gap in the generations, a log from another snapshot) refuses Open with
// kDataLoss like a damaged snapshot, leaving both files byte-for-byte untouched.
//
// On any write error the in-memory view is unchanged and the caller must send nothing that
// depended on the write. The write may still be on disk (an append whose fsync failed, a
// snapshot whose folder fsync failed): safe under the exactly-once protocol, as an intent
// without a POST is resolved from a LIST.
//
// Thread-safety: safe for concurrent use; writes are serialized by a mutex and reads are served
// from memory. One writer process per file (the lock). A read-only Open beside a writer reads
// the log before the snapshot, so a compaction between its two reads leaves it a snapshot that
// already holds the log's records.
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

namespace detail {
struct LogRecord;
}  // namespace detail

struct FileJournalOptions {
  FileSystem* fs = nullptr;  // nullptr: FileSystem::Default()
  // No lock, no folder creation, no temp cleanup; Put/Remove fail with kFailedPrecondition.
  // For `aura-controller status` beside a running controller: renames are atomic, so a reader
  // always sees a whole file.
  bool read_only = false;
  const base::Logger* logger = nullptr;  // nullptr: base::DefaultLogger()
  // Compact after this many records in the log; 0: max(kMinCompactEvery, entries), which keeps
  // the log about the snapshot's size and a write's amortized cost O(1).
  std::uint64_t compact_every = 0;
  // False: a writer's Open leaves the snapshot and the log as they are (the first write
  // compacts instead); for `state migrate`, which holds the lock but promises the files unchanged.
  bool compact_on_open = true;
};

class FileJournal final : public Journal {
 public:
  static constexpr int kSchemaVersion = 2;
  static constexpr std::uint64_t kMinCompactEvery = 1000;

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
  [[nodiscard]] base::Status PutObservation(const std::string& key, const std::string& instance_id,
                                            const StoredObservation& o) override;
  [[nodiscard]] base::Status Remove(const std::string& key) override;
  base::StatusOr<StateBinding> GetBinding() const override;
  [[nodiscard]] base::Status SetBinding(const StateBinding& b) override;

  const std::string& path() const { return path_; }
  std::string log_path() const { return path_ + ".log"; }
  // The generation of the last write attempted (persisted in the file; grows with every write).
  std::uint64_t generation() const;
  // Records in the log since the last compaction (for tests and benchmarks).
  std::uint64_t records_in_log() const;

 private:
  FileJournal(std::string path, const base::Clock* clock, FileJournalOptions options,
              std::unique_ptr<FileLock> lock);
  // Makes the write `r` (already applied to the in-memory state) durable as the next
  // generation: one appended record, or a compaction. On failure the caller restores the
  // in-memory state.
  // `sync` false: the record is appended without an fsync of its own (a cache, like an
  // observation); the next synced record or compaction makes it durable with everything before.
  base::Status Write(const detail::LogRecord& r, const std::string& what, bool sync = true);
  // Writes the in-memory state as the snapshot of `generation` (generation_ becomes it), then
  // an empty log continuing it. An error when the snapshot was not written durably.
  base::Status Compact(const std::string& context, std::uint64_t generation);
  std::uint64_t CompactEvery() const;
  FileSystem& fs() const { return *options_.fs; }

  const std::string path_;
  const base::Clock* const clock_;
  const FileJournalOptions options_;
  const std::unique_ptr<FileLock> lock_;  // null when read-only

  mutable std::mutex mu_;
  std::map<std::string, JournalEntry> entries_;  // GUARDED_BY(mu_)
  std::uint64_t generation_ = 0;                 // GUARDED_BY(mu_)
  StateBinding binding_;                         // GUARDED_BY(mu_)
  // The log, once opened for appends. Null until the first write, and after a failed write.
  std::unique_ptr<WritableFile> log_;  // GUARDED_BY(mu_)
  // The log on disk continues the snapshot on disk and ends with a whole record: the next
  // write may append to it. False: the next write compacts.
  bool log_appendable_ = false;       // GUARDED_BY(mu_)
  std::uint64_t records_in_log_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace aura::store
