#include "pkg/store/file_journal.h"

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
      "it from a backup; moving it aside starts an empty journal (instances already created are "
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

  detail::JournalImage image;
  StatusOr<std::string> bytes = fs.ReadFile(path);
  if (bytes.ok()) {
    StatusOr<detail::JournalImage> decoded = detail::DecodeJournal(*bytes);
    if (!decoded.ok()) return Unreadable(path, decoded.status());
    image = std::move(decoded).value();
  } else if (bytes.status().code() != base::StatusCode::kNotFound) {
    return Unreadable(path, bytes.status());
  }

  std::unique_ptr<FileJournal> j(new FileJournal(path, clock, options, std::move(lock)));
  j->entries_ = std::move(image.entries);
  j->generation_ = image.generation;
  j->binding_ = image.binding;

  if (!options.read_only) {
    // Leftovers of writes interrupted by a crash. We hold the lock, so no writer owns them.
    StatusOr<std::vector<std::string>> names = fs.ListDir(dir);
    for (const std::string& name : names.ok() ? *names : std::vector<std::string>{}) {
      if (!IsTempFileOf(name, base_name)) continue;
      Status s = fs.RemoveFile(dir + "/" + name);
      if (s.ok()) {
        Log(options).Info("removed the temp file of an interrupted journal write",
                          {{"path", dir + "/" + name}});
      } else {
        Log(options).Warn("cannot remove the temp file of an interrupted journal write",
                          base::StatusFields(s));
      }
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
  stored.updated = clock_->SystemNow();
  Status s = Commit("recording " + e.key);
  if (!s.ok()) {
    if (before) {
      entries_[e.key] = std::move(*before);
    } else {
      entries_.erase(e.key);
    }
  }
  return s;
}

Status FileJournal::Remove(const std::string& key) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return Status::Ok();
  JournalEntry before = std::move(it->second);
  entries_.erase(it);
  Status s = Commit("removing " + key);
  if (!s.ok()) entries_.emplace(key, std::move(before));
  return s;
}

std::uint64_t FileJournal::generation() const {
  std::lock_guard<std::mutex> g(mu_);
  return generation_;
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
  Status s = Commit("binding it to " + b.api_url);
  if (!s.ok()) binding_ = before;
  return s;
}

Status FileJournal::Commit(const std::string& what) {
  const std::string context = what + " in the journal " + path_ + " failed";
  if (options_.read_only) {
    return base::FailedPreconditionError(context + ": the journal was opened read-only");
  }
  StatusOr<std::string> bytes = detail::EncodeJournal(entries_, generation_ + 1, binding_);
  if (!bytes.ok()) return bytes.status().WithContext(context);
  // Advanced even on failure: a failed final folder fsync may have left this generation on
  // disk, and another content must not reuse its number.
  ++generation_;
  Status s = WriteFileAtomic(fs(), path_, *bytes, 0600);
  if (!s.ok()) return s.WithContext(context);
  return Status::Ok();
}

}  // namespace aura::store
