#include "tests/harness/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

extern char** environ;

namespace aura::test_harness {
namespace {

// Opens what the child's stdout/stderr should be; -1 when it inherits.
base::StatusOr<int> OpenTarget(OutputMode mode, const std::string& file) {
  switch (mode) {
    case OutputMode::kInherit:
    case OutputMode::kPipe:
      return -1;
    case OutputMode::kDiscard:
      return ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    case OutputMode::kFile: {
      int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return base::UnavailableError("open " + file + ": " + std::strerror(errno));
      return fd;
    }
  }
  return -1;
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (exited) return "exit code " + std::to_string(code);
  if (signal != 0) return std::string("killed by signal ") + strsignal(signal);
  return "not exited";
}

base::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(SubprocessOptions o) {
  // Everything the child needs is built before fork(): after it, only async-signal-safe calls.
  std::vector<std::string> argv_s = {o.path};
  argv_s.insert(argv_s.end(), o.args.begin(), o.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::map<std::string, std::string> env_map;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env_map[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& k : o.unset_env) env_map.erase(k);
  for (const auto& [k, v] : o.env) env_map[k] = v;
  std::vector<std::string> env_s;
  for (const auto& [k, v] : env_map) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  AURA_ASSIGN_OR_RETURN(int out_fd, OpenTarget(o.stdout_mode, o.stdout_file));
  auto err_fd_or = OpenTarget(o.stderr_mode, o.stderr_file);
  if (!err_fd_or.ok()) {
    if (out_fd >= 0) ::close(out_fd);
    return err_fd_or.status();
  }
  int err_fd = *err_fd_or;
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (o.stdout_mode == OutputMode::kPipe && ::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return base::UnavailableError(std::string("pipe: ") + std::strerror(errno));
  }
  if (o.stderr_mode == OutputMode::kPipe && ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return base::UnavailableError(std::string("pipe: ") + std::strerror(errno));
  }
  if (o.stdout_mode == OutputMode::kPipe) out_fd = out_pipe[1];
  if (o.stderr_mode == OutputMode::kPipe) err_fd = err_pipe[1];

  const pid_t parent = ::getpid();
  const char* dir = o.working_dir.empty() ? nullptr : o.working_dir.c_str();
  pid_t pid = ::fork();
  if (pid < 0) return base::UnavailableError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // Signals the test process blocked or ignored must not leak into the child.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (out_fd >= 0) ::dup2(out_fd, STDOUT_FILENO);
    if (err_fd >= 0) ::dup2(err_fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (dir != nullptr && ::chdir(dir) != 0) ::_exit(127);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so that Signal() works before the child gets to it
  std::unique_ptr<Subprocess> p(new Subprocess());
  p->pid_ = pid;
  if (o.stdout_mode == OutputMode::kPipe) {
    ::close(out_pipe[1]);
    p->out_thread_ = std::thread(Drain, out_pipe[0], &p->out_);
  } else if (out_fd >= 0) {
    ::close(out_fd);
  }
  if (o.stderr_mode == OutputMode::kPipe) {
    ::close(err_pipe[1]);
    p->err_thread_ = std::thread(Drain, err_pipe[0], &p->err_);
  } else if (err_fd >= 0) {
    ::close(err_fd);
  }
  return p;
}

Subprocess::~Subprocess() {
  if (Running()) {
    (void)Signal(SIGKILL);
    (void)Wait(std::chrono::seconds(10));
  }
  // The group may hold grandchildren that keep the pipes open.
  ::kill(-pid_, SIGKILL);
  if (out_thread_.joinable()) out_thread_.join();
  if (err_thread_.joinable()) err_thread_.join();
}

void Subprocess::Drain(int fd, Captured* out) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard<std::mutex> lock(out->mu);
    out->data.append(buf, static_cast<size_t>(n));
    out->cv.notify_all();
  }
  ::close(fd);
  std::lock_guard<std::mutex> lock(out->mu);
  out->closed = true;
  out->cv.notify_all();
}

base::StatusOr<std::string> Subprocess::ReadLine(std::chrono::milliseconds timeout) {
  if (!out_thread_.joinable()) return base::FailedPreconditionError("stdout is not a pipe");
  std::unique_lock<std::mutex> lock(out_.mu);
  size_t nl = std::string::npos;
  bool got = out_.cv.wait_for(lock, timeout, [&] {
    nl = out_.data.find('\n', out_.consumed);
    return nl != std::string::npos || out_.closed;
  });
  if (nl == std::string::npos) {
    if (!got) {
      return base::DeadlineExceededError("no stdout line within " +
                                         std::to_string(timeout.count()) + " ms");
    }
    return base::NotFoundError("stdout closed without a complete line");
  }
  std::string line = out_.data.substr(out_.consumed, nl - out_.consumed);
  out_.consumed = nl + 1;
  return line;
}

std::string Subprocess::Output() const {
  std::lock_guard<std::mutex> lock(out_.mu);
  return out_.data;
}

std::string Subprocess::ErrorOutput() const {
  std::lock_guard<std::mutex> lock(err_.mu);
  return err_.data;
}

base::Status Subprocess::Signal(int sig) {
  std::lock_guard<std::mutex> lock(wait_mu_);
  if (reaped_) return base::FailedPreconditionError("the process has exited");
  if (::kill(-pid_, sig) != 0 && ::kill(pid_, sig) != 0) {
    return base::UnavailableError(std::string("kill: ") + std::strerror(errno));
  }
  return base::Status();
}

base::Status Subprocess::Terminate() { return Signal(SIGTERM); }
base::Status Subprocess::Kill() { return Signal(SIGKILL); }
base::Status Subprocess::Pause() { return Signal(SIGSTOP); }
base::Status Subprocess::Resume() { return Signal(SIGCONT); }

bool Subprocess::Reap(int options) {
  // REQUIRES: wait_mu_ held.
  if (reaped_) return true;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, options);
  if (r != pid_) return false;
  reaped_ = true;
  if (WIFEXITED(st)) {
    status_.exited = true;
    status_.code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    status_.signal = WTERMSIG(st);
  }
  return true;
}

base::StatusOr<ExitStatus> Subprocess::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::optional<ExitStatus> done;
    {
      std::lock_guard<std::mutex> lock(wait_mu_);
      if (Reap(WNOHANG)) done = status_;
    }
    if (done) {
      // What the child wrote just before exiting may still be in the pipes: wait until the
      // drain threads reach end of file, so that Output() after Wait() is complete (bounded:
      // a grandchild may hold a pipe open).
      for (auto [captured, thread] : {std::pair{&out_, &out_thread_}, {&err_, &err_thread_}}) {
        if (!thread->joinable()) continue;
        std::unique_lock<std::mutex> lock(captured->mu);
        captured->cv.wait_for(lock, std::chrono::seconds(5),
                              [captured] { return captured->closed; });
      }
      return *done;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return base::DeadlineExceededError("process " + std::to_string(pid_) +
                                         " still running after " + std::to_string(timeout.count()) +
                                         " ms");
    }
    // A bounded poll: waitpid has no timeout of its own.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

ExitStatus Subprocess::Stop(std::chrono::milliseconds grace) {
  (void)Terminate();
  auto st = Wait(grace);
  if (st.ok()) return *st;
  (void)Kill();
  st = Wait(std::chrono::seconds(10));
  return st.ok() ? *st : ExitStatus{};
}

bool Subprocess::Running() {
  std::lock_guard<std::mutex> lock(wait_mu_);
  return !Reap(WNOHANG);
}

}  // namespace aura::test_harness
