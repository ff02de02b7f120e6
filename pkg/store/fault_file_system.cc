#include "pkg/store/fault_file_system.h"

#include <unistd.h>

#include <utility>

namespace aura::store {

using base::Status;
using base::StatusOr;

class FaultInjectingFileSystem::File final : public WritableFile {
 public:
  File(FaultInjectingFileSystem* fs, std::unique_ptr<WritableFile> base, std::string path)
      : fs_(fs), base_(std::move(base)), path_(std::move(path)) {}

  Status Append(std::string_view data) override {
    Decision d = fs_->Step("append", path_ + " " + std::to_string(data.size()) + " bytes");
    if (d.action == Action::kTornCrash) {
      (void)base_->Append(data.substr(0, data.size() / 2));
      ::_exit(kCrashExitCode);
    }
    if (d.action != Action::kRun) return Injected(d, "write", path_);
    return base_->Append(data);
  }
  Status Sync() override {
    Decision d = fs_->Step("sync", path_);
    if (d.action != Action::kRun) return Injected(d, "fsync", path_);
    return base_->Sync();
  }
  Status Close() override {
    Decision d = fs_->Step("close", path_);
    if (d.action != Action::kRun) return Injected(d, "close", path_);
    return base_->Close();
  }

 private:
  FaultInjectingFileSystem* fs_;
  std::unique_ptr<WritableFile> base_;
  std::string path_;
};

FaultInjectingFileSystem::FaultInjectingFileSystem(FileSystem& base) : base_(base) {}

void FaultInjectingFileSystem::FailStep(int n, int err) {
  std::lock_guard<std::mutex> g(mu_);
  fail_steps_[n] = err;
}

void FaultInjectingFileSystem::FailOp(const std::string& op, int err) {
  std::lock_guard<std::mutex> g(mu_);
  fail_ops_[op] = err;
}

void FaultInjectingFileSystem::StopAtStep(int n) {
  std::lock_guard<std::mutex> g(mu_);
  stop_at_ = n;
}

void FaultInjectingFileSystem::CrashAtStep(int n, bool torn) {
  std::lock_guard<std::mutex> g(mu_);
  crash_at_ = n;
  torn_ = torn;
}

void FaultInjectingFileSystem::Reset() {
  std::lock_guard<std::mutex> g(mu_);
  steps_ = 0;
  fail_steps_.clear();
  fail_ops_.clear();
  stop_at_ = -1;
  crash_at_ = -1;
  torn_ = false;
  trace_.clear();
}

int FaultInjectingFileSystem::steps() const {
  std::lock_guard<std::mutex> g(mu_);
  return steps_;
}

std::vector<std::string> FaultInjectingFileSystem::trace() const {
  std::lock_guard<std::mutex> g(mu_);
  return trace_;
}

FaultInjectingFileSystem::Decision FaultInjectingFileSystem::Step(const std::string& op,
                                                                  const std::string& what) {
  std::lock_guard<std::mutex> g(mu_);
  const int n = steps_++;
  trace_.push_back(op + " " + what);
  if (n == crash_at_) {
    if (torn_ && op == "append") return {Action::kTornCrash, 0};
    ::_exit(kCrashExitCode);
  }
  if (stop_at_ >= 0 && n >= stop_at_) return {Action::kStop, 0};
  if (auto it = fail_steps_.find(n); it != fail_steps_.end()) return {Action::kFail, it->second};
  if (auto it = fail_ops_.find(op); it != fail_ops_.end()) return {Action::kFail, it->second};
  return {};
}

Status FaultInjectingFileSystem::Injected(const Decision& d, const std::string& op,
                                          const std::string& what) {
  if (d.action == Action::kStop) {
    return base::CancelledError(op + " " + what + ": stopped by fault injection");
  }
  return ErrnoStatus(d.err, op, what);
}

Status FaultInjectingFileSystem::Uncounted(const std::string& op, const std::string& what) {
  std::lock_guard<std::mutex> g(mu_);
  if (auto it = fail_ops_.find(op); it != fail_ops_.end()) {
    return ErrnoStatus(it->second, op, what);
  }
  return Status::Ok();
}

StatusOr<std::string> FaultInjectingFileSystem::ReadFile(const std::string& path) {
  AURA_RETURN_IF_ERROR(Uncounted("read", path));
  return base_.ReadFile(path);
}

StatusOr<std::unique_ptr<WritableFile>> FaultInjectingFileSystem::CreateExclusive(
    const std::string& path, unsigned mode) {
  Decision d = Step("create", path);
  if (d.action != Action::kRun) return Injected(d, "create", path);
  StatusOr<std::unique_ptr<WritableFile>> f = base_.CreateExclusive(path, mode);
  if (!f.ok()) return f.status();
  return std::unique_ptr<WritableFile>(new File(this, std::move(f).value(), path));
}

StatusOr<std::unique_ptr<WritableFile>> FaultInjectingFileSystem::OpenForAppend(
    const std::string& path) {
  AURA_RETURN_IF_ERROR(Uncounted("open", path));
  StatusOr<std::unique_ptr<WritableFile>> f = base_.OpenForAppend(path);
  if (!f.ok()) return f.status();
  return std::unique_ptr<WritableFile>(new File(this, std::move(f).value(), path));
}

Status FaultInjectingFileSystem::Rename(const std::string& from, const std::string& to) {
  Decision d = Step("rename", from + " -> " + to);
  if (d.action != Action::kRun) return Injected(d, "rename", from + " -> " + to);
  return base_.Rename(from, to);
}

Status FaultInjectingFileSystem::SyncDir(const std::string& dir) {
  Decision d = Step("syncdir", dir);
  if (d.action != Action::kRun) return Injected(d, "fsync folder", dir);
  return base_.SyncDir(dir);
}

Status FaultInjectingFileSystem::RemoveFile(const std::string& path) {
  Decision d = Step("remove", path);
  if (d.action != Action::kRun) return Injected(d, "unlink", path);
  return base_.RemoveFile(path);
}

Status FaultInjectingFileSystem::CreateDirs(const std::string& dir, unsigned mode) {
  Decision d = Step("mkdir", dir);
  if (d.action != Action::kRun) return Injected(d, "mkdir", dir);
  return base_.CreateDirs(dir, mode);
}

StatusOr<std::vector<std::string>> FaultInjectingFileSystem::ListDir(const std::string& dir) {
  AURA_RETURN_IF_ERROR(Uncounted("list", dir));
  return base_.ListDir(dir);
}

StatusOr<std::unique_ptr<FileLock>> FaultInjectingFileSystem::LockExclusive(
    const std::string& path) {
  AURA_RETURN_IF_ERROR(Uncounted("lock", path));
  return base_.LockExclusive(path);
}

}  // namespace aura::store
