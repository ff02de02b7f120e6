// Helpers for end-to-end tests: run the real aura-controller binary against a real
// aura-simulator over 127.0.0.1, in a scratch folder of its own.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/harness/simulator_process.h"
#include "tests/harness/subprocess.h"

namespace aura::e2e {

std::string ControllerBinary();

struct CliResult {
  test_harness::ExitStatus exit;
  std::string out;
  std::string err;
};

// A scratch folder with a spec folder, a journal and a credentials folder.
class Workspace {
 public:
  Workspace();
  ~Workspace();
  const std::string& dir() const { return dir_; }
  std::string specs() const { return dir_ + "/specs"; }
  std::string state() const { return dir_ + "/state/journal.json"; }
  std::string credentials() const { return dir_ + "/credentials"; }
  // Writes specs/<file> with `count` professional-db specs named <prefix>-<i> (namespace e2e).
  void WriteSpecs(const std::string& file, const std::string& prefix, int count,
                  const std::string& memory = "1GB", const std::string& extra = "") const;
  void WriteFile(const std::string& relative, const std::string& content) const;
  void RemoveFile(const std::string& relative) const;
  // The password of every key's current record in the credentials folder (by_id/ copies left
  // out).
  std::vector<std::string> Passwords() const;

 private:
  std::string dir_;
};

// Flags that point the controller at `sim` and `ws`, with short timings for tests.
std::vector<std::string> ControllerFlags(const test_harness::SimulatorProcess& sim,
                                         const Workspace& ws);
std::map<std::string, std::string> ControllerEnv();

// Runs `aura-controller args...` to completion (bounded by `timeout`).
CliResult RunCli(std::vector<std::string> args, std::chrono::milliseconds timeout,
                 std::map<std::string, std::string> env = ControllerEnv());

// Starts `aura-controller run ...` in the background; stderr to `log_file`.
base::StatusOr<std::unique_ptr<test_harness::Subprocess>> StartRun(
    std::vector<std::string> args, const std::string& log_file,
    std::map<std::string, std::string> env = ControllerEnv());

// `aura-simulator flags...` started, or nullptr after a test failure naming why.
std::unique_ptr<test_harness::SimulatorProcess> StartSimulator(std::vector<std::string> flags);

// A command line: its words, then shared flags.
std::vector<std::string> Args(std::vector<std::string> head, const std::vector<std::string>& tail);

std::string ReadFile(const std::string& path);
// The file journal at `state` as one document in the snapshot's format, its record log
// (`<state>.log`) applied, read as `aura-controller status` reads it (read-only, no lock); ""
// when it cannot be read. Tests that inspect the journal's entries read it this way: since
// issue 21 the snapshot alone lacks the writes made since the last compaction.
std::string ReadJournal(const std::string& state);

}  // namespace aura::e2e
