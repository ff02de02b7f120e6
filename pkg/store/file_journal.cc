#include "pkg/store/file_journal.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "pkg/store/codec.h"

namespace aura::store {

using base::Status;
using base::StatusOr;

namespace {

const base::Logger& Log(const FileJournalOptions& o) {
  return o.logger != nullptr ? *o.logger : base::DefaultLogger();
}

Status Unreadable(const std::string& path, const Status& cause) {
  return base::DataLossError(
      "the journal " + path + " cannot be used: " + cause.message() +
      ". aura-controller refuses to start and has not modified the file. Inspect it, or restore "
      "it from a backup; moving it and its log (" +
      path +
      ".log) aside starts an empty "
      "journal (instances already created are "
      "then adopted by name, and creates that were in flight cannot be told apart from "
      "duplicates)");
}

}  // namespace

FileJournal::FileJournal(std::string path, const base::Clock* clock, FileJournalOptions options,
                         std::unique_ptr<FileLock> lock)
    : path_(std::move(path)), clock_(clock), options_(options), lock_(std::move(lock)) {}

StatusOr<std::unique_ptr<FileJournal>> FileJournal::Open(const std::string& path,
                                                         const base::Clock* clock,
                                                         FileJournalOptions options) {
  if (path.empty()) return base::InvalidArgumentError("the journal path (--state) is empty");
  if (clock == nullptr) return base::InvalidArgumentError("FileJournal::Open needs a clock");
  if (options.fs == nullptr) options.fs = &FileSystem::Default();
  FileSystem& fs = *options.fs;
  const std::string dir = DirName(path);
  const std::string base_name = BaseName(path);
  const std::string log_path = path + ".log";

  std::unique_ptr<FileLock> lock;
  if (!options.read_only) {
    Status s = fs.CreateDirs(dir, 0700);
    if (!s.ok()) return s.WithContext("creating the folder of the journal " + path);
    StatusOr<std::unique_ptr<FileLock>> l = fs.LockExclusive(path + ".lock");
    if (!l.ok()) {
      if (l.status().code() == base::StatusCode::kFailedPrecondition) {
        return base::FailedPreconditionError(
            "another aura-controller is using the journal " + path + ": " + l.status().message() +
            ". Stop it first, or give this one its own --state (only one controller may act on "
            "a journal)");
      }
      return l.status().WithContext("locking the journal " + path);
    }
    lock = std::move(l).value();
  }

  // The log first, then the snapshot: a compaction only ever replaces the snapshot with a
  // newer one, so a reader beside a writer that compacts in between finds a snapshot holding
  // every record of the log it read (skipped as stale) rather than a log ahead of its snapshot.
  // Should that still happen (the files replaced by hand), a reader tries again a few times.
  detail::JournalImage image;
  detail::LogReplay replay;
  bool have_snapshot = false, have_log = false;
  for (int attempt = 1;; ++attempt) {
    image = {};
    have_snapshot = have_log = false;
    StatusOr<std::string> log_bytes = fs.ReadFile(log_path);
    if (!log_bytes.ok() && log_bytes.status().code() != base::StatusCode::kNotFound) {
      return Unreadable(path, log_bytes.status());
    }
    StatusOr<std::string> bytes = fs.ReadFile(path);
    if (bytes.ok()) {
      StatusOr<detail::JournalImage> decoded = detail::DecodeJournal(*bytes);
      if (!decoded.ok()) return Unreadable(path, decoded.status());
      image = std::move(decoded).value();
      have_snapshot = true;
    } else if (bytes.status().code() != base::StatusCode::kNotFound) {
      return Unreadable(path, bytes.status());
    }
    if (!log_bytes.ok()) break;
    have_log = true;
    Status s = detail::ReplayLog(*log_bytes, &image, &replay);
    if (s.ok()) break;
    if (!options.read_only || attempt == 3) {
      return Unreadable(path, s.WithContext("its log " + log_path));
    }
  }
  if (replay.torn_bytes > 0) {
    Log(options).Warn(
        "ignored the torn last record of the journal log (a write interrupted by a "
        "crash, never reported as durable)",
        {{"path", log_path},
         {"offset", std::to_string(replay.torn_at)},
         {"bytes", std::to_string(replay.torn_bytes)}});
  }

  std::unique_ptr<FileJournal> j(new FileJournal(path, clock, options, std::move(lock)));
  j->entries_ = std::move(image.entries);
  j->generation_ = image.generation;
  j->binding_ = image.binding;
  j->log_appendable_ = have_log && replay.applied == 0 && replay.skipped == 0 &&
                       replay.torn_bytes == 0 && replay.base_generation == image.generation &&
                       image.schema_version == kSchemaVersion;
  if (options.read_only) return j;

  // Leftovers of writes interrupted by a crash. We hold the lock, so no writer owns them.
  StatusOr<std::vector<std::string>> names = fs.ListDir(dir);
  for (const std::string& name : names.ok() ? *names : std::vector<std::string>{}) {
    if (!IsTempFileOf(name, base_name) && !IsTempFileOf(name, base_name + ".log")) continue;
    Status s = fs.RemoveFile(dir + "/" + name);
    if (s.ok()) {
      Log(options).Info("removed the temp file of an interrupted journal write",
                        {{"path", dir + "/" + name}});
    } else {
      Log(options).Warn("cannot remove the temp file of an interrupted journal write",
                        base::StatusFields(s));
    }
  }

  // Compaction on open: the log's records go into the snapshot, a torn tail is dropped, a
  // version 1 file is migrated. Nothing to do for an empty journal or a log that is only a
  // header. A failure here only delays it: the next write compacts (and fails the same way if
  // the disk still refuses).
  if (options.compact_on_open && !j->log_appendable_ && (have_snapshot || have_log)) {
    std::lock_guard<std::mutex> g(j->mu_);
    Status s = j->Compact("compacting", j->generation_);
    if (s.ok()) {
      Log(options).Info("compacted the journal on open",
                        {{"path", path},
                         {"records", std::to_string(replay.applied + replay.skipped)},
                         {"from_schema_version", std::to_string(image.schema_version)}});
    } else {
      Log(options).Warn("cannot compact the journal on open; the next write will try again",
                        base::StatusFields(s));
    }
  }
  return j;
}

StatusOr<std::map<std::string, JournalEntry>> FileJournal::List() const {
  std::lock_guard<std::mutex> g(mu_);
  return entries_;
}

Status FileJournal::ForEach(const std::function<void(const JournalEntry&)>& visit) const {
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& [_, e] : entries_) visit(e);
  return Status::Ok();
}

StatusOr<JournalEntry> FileJournal::Get(const std::string& key) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return base::NotFoundError("no journal entry for " + key);
  return it->second;
}

Status FileJournal::Put(const JournalEntry& e) {
  if (e.key.empty()) return base::InvalidArgumentError("journal entry without a key");
  std::lock_guard<std::mutex> g(mu_);
  // Changed in place and put back if the write fails: no copy of the whole journal per write.
  std::optional<JournalEntry> before;
  if (auto it = entries_.find(e.key); it != entries_.end()) before = it->second;
  JournalEntry& stored = entries_[e.key] = e;
  if (before) KeepNewerObservation(*before, &stored);
  stored.updated = clock_->SystemNow();
  detail::LogRecord r;
  r.op = detail::LogRecord::Op::kPut;
  r.key = e.key;
  r.entry = stored;
  Status s = Write(r, "recording " + e.key);
  if (!s.ok()) {
    if (before) {
      entries_[e.key] = std::move(*before);
    } else {
      entries_.erase(e.key);
    }
  }
  return s;
}

Status FileJournal::PutObservation(const std::string& key, const std::string& instance_id,
                                   const StoredObservation& o) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.instance_id != instance_id || it->second.intent) {
    return Status::Ok();
  }
  std::optional<StoredObservation> before = std::move(it->second.observation);
  it->second.observation = o;
  detail::LogRecord r;
  r.op = detail::LogRecord::Op::kPut;
  r.key = key;
  r.entry = it->second;
  // Not fsync'd on its own: losing the last observations in a crash costs a GET each.
  Status s = Write(r, "recording the observation of " + key, /*sync=*/false);
  if (!s.ok()) it->second.observation = std::move(before);
  return s;
}

Status FileJournal::Remove(const std::string& key) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return Status::Ok();
  JournalEntry before = std::move(it->second);
  entries_.erase(it);
  detail::LogRecord r;
  r.op = detail::LogRecord::Op::kRemove;
  r.key = key;
  Status s = Write(r, "removing " + key);
  if (!s.ok()) entries_.emplace(key, std::move(before));
  return s;
}

std::uint64_t FileJournal::generation() const {
  std::lock_guard<std::mutex> g(mu_);
  return generation_;
}

std::uint64_t FileJournal::records_in_log() const {
  std::lock_guard<std::mutex> g(mu_);
  return records_in_log_;
}

StatusOr<StateBinding> FileJournal::GetBinding() const {
  std::lock_guard<std::mutex> g(mu_);
  return binding_;
}

Status FileJournal::SetBinding(const StateBinding& b) {
  if (options_.read_only) {
    return base::FailedPreconditionError("the journal " + path_ + " was opened read-only");
  }
  std::lock_guard<std::mutex> g(mu_);
  const StateBinding before = binding_;
  binding_ = b;
  detail::LogRecord r;
  r.op = detail::LogRecord::Op::kBinding;
  r.binding = b;
  Status s = Write(r, "binding it to " + b.api_url);
  if (!s.ok()) binding_ = before;
  return s;
}

std::uint64_t FileJournal::CompactEvery() const {
  if (options_.compact_every > 0) return options_.compact_every;
  return std::max<std::uint64_t>(kMinCompactEvery, entries_.size());
}

Status FileJournal::Write(const detail::LogRecord& r, const std::string& what, bool sync) {
  const std::string context = what + " in the journal " + path_ + " failed";
  if (options_.read_only) {
    return base::FailedPreconditionError(context + ": the journal was opened read-only");
  }
  if (log_appendable_ && records_in_log_ < CompactEvery() && log_ == nullptr) {
    StatusOr<std::unique_ptr<WritableFile>> f = fs().OpenForAppend(log_path());
    if (f.ok()) {
      log_ = std::move(f).value();
    } else {
      log_appendable_ = false;  // compact instead
    }
  }
  if (!log_appendable_ || log_ == nullptr || records_in_log_ >= CompactEvery()) {
    return Compact(context, generation_ + 1);
  }
  detail::LogRecord record = r;
  record.generation = generation_ + 1;
  StatusOr<std::string> line = detail::EncodeLogRecord(record);
  if (!line.ok()) return line.status().WithContext(context);
  // Advanced even on failure: the record may be on disk, and another must not reuse its number.
  ++generation_;
  Status s = log_->Append(*line);
  if (s.ok() && sync) s = log_->Sync();
  if (!s.ok()) {
    // The log may now end with a part of this record, or all of it: never append after it.
    log_.reset();
    log_appendable_ = false;
    return s.WithContext(context);
  }
  ++records_in_log_;
  return Status::Ok();
}

Status FileJournal::Compact(const std::string& context, std::uint64_t generation) {
  // The text goes to the temp file in pieces, never held whole (~110 MB at 100,000 entries).
  StatusOr<std::string> checksum = detail::JournalFileChecksum(entries_, generation, binding_);
  if (!checksum.ok()) return checksum.status().WithContext(context);
  // Advanced even on failure: a failed final folder fsync may have left this generation on
  // disk, and another content must not reuse its number.
  generation_ = generation;
  // From here the log on disk may be older than the snapshot: append to it no more.
  log_.reset();
  log_appendable_ = false;
  Status s = WriteFileAtomicStreamed(fs(), path_, 0600, [&](const AppendFn& append) {
    return detail::WriteJournal(entries_, generation, binding_, *checksum, append);
  });
  if (!s.ok()) return s.WithContext(context);
  records_in_log_ = 0;
  // The snapshot holds the write durably. If the empty log cannot replace the old one, the old
  // one's records are all in the snapshot (skipped on open), and the next write compacts again.
  s = WriteFileAtomic(fs(), log_path(), detail::EncodeLogHeader(generation), 0600);
  if (!s.ok()) {
    Log(options_).Warn(
        "cannot replace the journal log after a compaction; the next write "
        "compacts again",
        base::StatusFields(s));
    return Status::Ok();
  }
  log_appendable_ = true;  // opened by the next write
  return Status::Ok();
}

}  // namespace aura::store
