// Subprocess: a child process for integration tests (fork/exec), with bounded waits.
//
// The child runs in a process group of its own; signals go to the whole group, so helpers a
// binary spawns (node for Prism) go with it. It is killed (SIGKILL) and reaped in the
// destructor, and asks the kernel to SIGKILL it if the thread that started it dies, so a
// crashed test leaves nothing behind. stdout and stderr each go to a pipe that a thread drains
// (read with ReadLine()/Output()), to a file, to /dev/null, or to the test's own streams.
//
// Thread-safety: one owner; ReadLine/Output/Signal/Wait may be called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pkg/base/status.h"

namespace aura::test_harness {

enum class OutputMode {
  kPipe,     // captured in memory: ReadLine(), Output()
  kFile,     // written to `*_file` (created or truncated)
  kDiscard,  // /dev/null
  kInherit,  // the test's own stream
};

struct SubprocessOptions {
  std::string path;                        // the executable
  std::vector<std::string> args;           // argv[1..]
  std::map<std::string, std::string> env;  // set (added or replaced) in the child
  std::vector<std::string> unset_env;      // removed from the child's environment
  std::string working_dir;                 // "" = the test's
  OutputMode stdout_mode = OutputMode::kPipe;
  std::string stdout_file;
  OutputMode stderr_mode = OutputMode::kInherit;
  std::string stderr_file;
};

struct ExitStatus {
  bool exited = false;  // normal exit: `code` is set
  int code = -1;
  int signal = 0;  // killed by this signal
  bool ok() const { return exited && code == 0; }
  std::string ToString() const;
};

class Subprocess {
 public:
  [[nodiscard]] static base::StatusOr<std::unique_ptr<Subprocess>> Start(SubprocessOptions options);
  ~Subprocess();

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }

  // The next complete line of stdout without its newline (kPipe only). kDeadlineExceeded if
  // none came within `timeout`; kNotFound if stdout closed first.
  [[nodiscard]] base::StatusOr<std::string> ReadLine(std::chrono::milliseconds timeout);
  // Everything captured so far on stdout or stderr (kPipe only), lines already read included.
  std::string Output() const;
  std::string ErrorOutput() const;

  // Sends `sig` to the child's process group. kFailedPrecondition once it has been reaped.
  [[nodiscard]] base::Status Signal(int sig);
  base::Status Terminate();  // SIGTERM
  base::Status Kill();       // SIGKILL
  base::Status Pause();      // SIGSTOP
  base::Status Resume();     // SIGCONT

  // Waits up to `timeout` for the child to exit and reaps it, then (up to 5 s more) until its
  // piped output has been read to the end. kDeadlineExceeded if it is still running. Once
  // reaped, every call returns the same status.
  [[nodiscard]] base::StatusOr<ExitStatus> Wait(std::chrono::milliseconds timeout);
  // SIGTERM, wait up to `grace`, then SIGKILL and reap.
  ExitStatus Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  bool Running();

 private:
  struct Captured {
    mutable std::mutex mu;
    std::condition_variable cv;
    std::string data;     // GUARDED_BY(mu)
    size_t consumed = 0;  // GUARDED_BY(mu): bytes returned by ReadLine
    bool closed = false;  // GUARDED_BY(mu)
  };
  Subprocess() = default;
  static void Drain(int fd, Captured* out);
  bool Reap(int options);

  pid_t pid_ = -1;
  std::mutex wait_mu_;
  bool reaped_ = false;  // GUARDED_BY(wait_mu_)
  ExitStatus status_;    // GUARDED_BY(wait_mu_)
  Captured out_, err_;
  std::thread out_thread_, err_thread_;
};

}  // namespace aura::test_harness
