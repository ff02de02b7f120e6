#include "pkg/store/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace aura::store {
namespace {

using base::Status;
using base::StatusOr;

// Retries a system call interrupted by a signal.
template <typename F>
auto RetryEintr(F f) {
  decltype(f()) r;
  do {
    r = f();
  } while (r == -1 && errno == EINTR);
  return r;
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return base::InternalError("append to closed file " + path_);
    while (!data.empty()) {
      ssize_t n = RetryEintr([&] { return ::write(fd_, data.data(), data.size()); });
      if (n < 0) return ErrnoStatus(errno, "write", path_);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (fd_ < 0) return base::InternalError("fsync of closed file " + path_);
    if (RetryEintr([&] { return ::fsync(fd_); }) != 0) return ErrnoStatus(errno, "fsync", path_);
    return Status::Ok();
  }

  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    int fd = std::exchange(fd_, -1);
    // close(2) must not be retried on EINTR (Linux always releases the descriptor).
    if (::close(fd) != 0 && errno != EINTR) return ErrnoStatus(errno, "close", path_);
    return Status::Ok();
  }

 private:
  int fd_;
  std::string path_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // releases the flock

 private:
  int fd_;
};

StatusOr<std::string> ReadFd(int fd, const std::string& path) {
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = RetryEintr([&] { return ::read(fd, buf, sizeof buf); });
    if (n < 0) return ErrnoStatus(errno, "read", path);
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

class PosixFileSystem final : public FileSystem {
 public:
  StatusOr<std::string> ReadFile(const std::string& path) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
    if (fd < 0) return ErrnoStatus(errno, "open", path);
    StatusOr<std::string> out = ReadFd(fd, path);
    ::close(fd);
    return out;
  }

  StatusOr<std::unique_ptr<WritableFile>> CreateExclusive(const std::string& path,
                                                          unsigned mode) override {
    int fd = RetryEintr([&] {
      return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                    static_cast<mode_t>(mode));
    });
    if (fd < 0) return ErrnoStatus(errno, "create", path);
    // The umask may have removed bits; the caller asked for exactly `mode`.
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
      Status s = ErrnoStatus(errno, "chmod", path);
      ::close(fd);
      ::unlink(path.c_str());
      return s;
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path));
  }

  StatusOr<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC); });
    if (fd < 0) return ErrnoStatus(errno, "open for append", path);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus(errno, "rename", from + " -> " + to);
    }
    return Status::Ok();
  }

  Status SyncDir(const std::string& dir) override {
    int fd = RetryEintr([&] { return ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
    if (fd < 0) return ErrnoStatus(errno, "open folder", dir);
    int rc = RetryEintr([&] { return ::fsync(fd); });
    int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus(err, "fsync folder", dir);
    return Status::Ok();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "unlink", path);
    return Status::Ok();
  }

  Status CreateDirs(const std::string& dir, unsigned mode) override {
    if (dir.empty() || dir == "." || dir == "/") return Status::Ok();
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return Status::Ok();
      return ErrnoStatus(ENOTDIR, "mkdir", dir);
    }
    const std::string parent = DirName(dir);
    if (parent != dir) AURA_RETURN_IF_ERROR(CreateDirs(parent, mode));
    if (::mkdir(dir.c_str(), static_cast<mode_t>(mode)) != 0) {
      if (errno == EEXIST) return Status::Ok();  // raced with another creator
      return ErrnoStatus(errno, "mkdir", dir);
    }
    if (::chmod(dir.c_str(), static_cast<mode_t>(mode)) != 0) {
      return ErrnoStatus(errno, "chmod", dir);
    }
    // The new entry in the parent must be durable before anything written inside it is.
    return SyncDir(parent);
  }

  StatusOr<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoStatus(errno, "list", dir);
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return ErrnoStatus(err, "list", dir);
    return names;
  }

  StatusOr<std::unique_ptr<FileLock>> LockExclusive(const std::string& path) override {
    int fd = RetryEintr([&] { return ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600); });
    if (fd < 0) return ErrnoStatus(errno, "open lock file", path);
    if (RetryEintr([&] { return ::flock(fd, LOCK_EX | LOCK_NB); }) != 0) {
      int err = errno;
      if (err != EWOULDBLOCK) {
        ::close(fd);
        return ErrnoStatus(err, "flock", path);
      }
      StatusOr<std::string> holder = ReadFd(fd, path);
      ::close(fd);
      std::string pid;
      if (holder.ok()) {
        for (char c : *holder) {
          if (c < '0' || c > '9') break;
          pid += c;
        }
      }
      return base::FailedPreconditionError(
          path + " is locked by another process" +
          (pid.empty() ? std::string(" (pid unknown)") : " (pid " + pid + ")"));
    }
    // Best effort: the pid only makes the refusal message of the next process more helpful.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) {
      [[maybe_unused]] ssize_t n = ::pwrite(fd, pid.data(), pid.size(), 0);
    }
    return std::unique_ptr<FileLock>(new PosixFileLock(fd));
  }
};

}  // namespace

FileSystem& FileSystem::Default() {
  static auto* fs = new PosixFileSystem();
  return *fs;
}

std::string DirName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

namespace {
constexpr std::string_view kTempMarker = ".tmp.";
}  // namespace

bool IsTempFileOf(std::string_view name, std::string_view base_name) {
  // "." + base + ".tmp." + pid + "." + seq
  if (name.size() <= 1 + base_name.size() + kTempMarker.size() || name[0] != '.') return false;
  name.remove_prefix(1);
  if (name.substr(0, base_name.size()) != base_name) return false;
  name.remove_prefix(base_name.size());
  if (name.substr(0, kTempMarker.size()) != kTempMarker) return false;
  name.remove_prefix(kTempMarker.size());
  int dots = 0;
  for (char c : name) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 1 && name.front() != '.' && name.back() != '.';
}

namespace {

std::string TempPathFor(const std::string& path) {
  static std::atomic<unsigned long> seq{0};
  return DirName(path) + "/." + BaseName(path) + std::string(kTempMarker) +
         std::to_string(::getpid()) + "." + std::to_string(++seq);
}

}  // namespace

Status WriteFileAtomic(FileSystem& fs, const std::string& path, std::string_view data,
                       unsigned mode) {
  return WriteFileAtomicStreamed(fs, path, mode,
                                 [data](const AppendFn& append) { return append(data); });
}

Status WriteFileAtomicStreamed(FileSystem& fs, const std::string& path, unsigned mode,
                               const std::function<Status(const AppendFn&)>& write) {
  const std::string dir = DirName(path);
  const std::string temp = TempPathFor(path);

  StatusOr<std::unique_ptr<WritableFile>> file = fs.CreateExclusive(temp, mode);
  if (!file.ok()) return file.status();
  WritableFile& f = **file;
  Status s = write([&f](std::string_view piece) { return f.Append(piece); });
  if (s.ok()) s = (*file)->Sync();
  if (s.ok()) s = (*file)->Close();
  if (s.ok()) s = fs.Rename(temp, path);
  if (!s.ok()) {
    file->reset();
    (void)fs.RemoveFile(temp);  // best effort: a leftover is recognized and ignored by readers
    return s;
  }
  return fs.SyncDir(dir);
}

std::string ErrnoText(int err) {
  const char* desc = ::strerrordesc_np(err);
  const char* name = ::strerrorname_np(err);
  std::string out = desc != nullptr ? desc : "error " + std::to_string(err);
  if (name != nullptr) out += std::string(" (") + name + ")";
  return out;
}

Status ErrnoStatus(int err, std::string_view op, const std::string& path) {
  std::string msg = std::string(op) + " " + path + ": " + ErrnoText(err);
  switch (err) {
    case ENOENT:
      return base::NotFoundError(std::move(msg));
    case EEXIST:
      return base::AlreadyExistsError(std::move(msg));
    case EACCES:
    case EPERM:
    case EROFS:
      return base::PermissionDeniedError(std::move(msg));
    default:
      return base::UnavailableError(std::move(msg));
  }
}

}  // namespace aura::store
