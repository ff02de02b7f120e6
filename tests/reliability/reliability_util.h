// Helpers of the reliability suite (issue 9): the real aura-controller `run` against the real
// aura-simulator, judged from evidence the controller does not control: the simulator's admin
// view (/_sim/stats, /_sim/instances), the journal and credentials files, the controller's logs,
// its /metrics and /proc.
//
// Sizes come from the environment so that one binary runs both the quick CI set and the long
// set (scripts/reliability.sh); sanitizer builds (AURA_SANITIZER_BUILD) use smaller defaults.
// Every test prints its figures as one line starting with "reliability: " and appends it to
// the file named by AURA_RELIABILITY_FIGURES when set (docs/RELIABILITY.md quotes them).
//
// Thread-safety: test-only; one thread unless a function says otherwise.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/chaos/chaos_check.h"
#include "tests/e2e/e2e_util.h"
#include "tests/harness/simulator_process.h"
#include "tests/harness/subprocess.h"

namespace aura::reliability {

inline constexpr char kNamespace[] = "e2e";  // e2e::Workspace::WriteSpecs

constexpr bool kSanitizerBuild =
#ifdef AURA_SANITIZER_BUILD
    true;
#else
    false;
#endif

// The environment variable `name` as an int, or `fallback` (`sanitizer_fallback` in sanitizer
// builds) when unset.
int EnvInt(const char* name, int fallback, int sanitizer_fallback);
inline int EnvInt(const char* name, int fallback) { return EnvInt(name, fallback, fallback); }

// Sets `name value` in a flag list, replacing an existing value.
void SetFlag(std::vector<std::string>* flags, const std::string& name, const std::string& value);

// Fast simulator lifecycles plus `extra`.
std::unique_ptr<test_harness::SimulatorProcess> StartSim(std::vector<std::string> extra = {});

// `aura-controller run` with JSON logs to a file and /metrics on a port it picked itself (read
// back from its "aura-controller running" log line).
class ControllerRun {
 public:
  // Starts `run <args>` (add --metrics-addr 127.0.0.1:0 yourself) and waits, bounded, for the
  // metrics port to appear in the log; fails when the process exits first.
  static base::StatusOr<std::unique_ptr<ControllerRun>> Start(
      std::vector<std::string> args, const std::string& log_path,
      std::map<std::string, std::string> env = e2e::ControllerEnv());

  pid_t pid() const { return process_->pid(); }
  int metrics_port() const { return metrics_port_; }
  bool Running() { return process_->Running(); }
  std::string Log() const;
  const std::string& log_path() const { return log_path_; }
  test_harness::Subprocess& process() { return *process_; }

  // GET path on the metrics port: the body, and the status in *code (0 when unreachable).
  std::string Get(const std::string& path, int* code = nullptr) const;
  // The value of one series of the last /metrics scrape, e.g. "aura_ratelimit_paused" or
  // "aura_instances{state=\"in_sync\"}"; -1 when absent or unreachable.
  double Metric(const std::string& series) const;
  // The sum of every series of `family` (all label sets), -1 when unreachable.
  double MetricSum(const std::string& family) const;

  // SIGTERM and a bounded wait.
  test_harness::ExitStatus Stop(std::chrono::milliseconds grace = std::chrono::seconds(30));

 private:
  std::unique_ptr<test_harness::Subprocess> process_;
  std::string log_path_;
  int metrics_port_ = 0;
};

// One series value from Prometheus text, -1 when absent.
double MetricFrom(const std::string& text, const std::string& series);

// The names of `count` specs written by Workspace::WriteSpecs(file, prefix, count).
std::vector<std::string> SpecNames(const std::string& prefix, int count);

// Every spec has its instance recorded in the journal without an intent, the simulator reports
// it running, and the controller's in_sync gauge counts them all (`run` may be null: no gauge
// check). `why` says what is missing.
bool Converged(const test_harness::SimulatorProcess& sim, const e2e::Workspace& ws,
               const std::vector<std::string>& names, const ControllerRun* run, std::string* why);
// The same with the journal at `state`.
bool Converged(const test_harness::SimulatorProcess& sim, const std::string& state,
               const std::vector<std::string>& names, const ControllerRun* run, std::string* why);

// The exactly-once and no-lost-password oracle of the chaos test (tests/chaos/chaos_check.h),
// with no kills: the simulator's admin view, the journal and the credentials folder.
chaos::Verdict Judge(const test_harness::SimulatorProcess& sim, const e2e::Workspace& ws,
                     const std::vector<std::string>& names, int64_t request_timeout_ms,
                     const std::vector<std::string>& controller_logs);
chaos::Verdict Judge(const test_harness::SimulatorProcess& sim, const std::string& state,
                     const std::string& credentials_dir, const std::vector<std::string>& names,
                     int64_t request_timeout_ms, const std::vector<std::string>& controller_logs);

// What the kernel says about a process.
struct ProcSample {
  int64_t rss_kb = -1;  // VmRSS
  int64_t hwm_kb = -1;  // VmHWM (peak RSS)
  int fds = -1;         // entries in /proc/PID/fd
  int threads = -1;
};
ProcSample SampleProc(pid_t pid);

// Every secret the simulator handed out or was given: the client secret, every password it
// generated (deleted instances included) and, with a --state file, every access token.
std::vector<std::string> KnownSecrets(const test_harness::SimulatorProcess& sim,
                                      const std::string& sim_state_file = "");
// Each secret found in `text`, with a little context, for failure messages.
std::vector<std::string> Leaks(const std::string& text, const std::vector<std::string>& secrets);
// Each place where `window` consecutive characters of a secret at least `window` long appear
// in `text`: a secret cut short (a truncated body quoted in an error) still leaks.
std::vector<std::string> PartialLeaks(const std::string& text,
                                      const std::vector<std::string>& secrets, size_t window = 12);

// Lines of a JSON-lines log whose "msg" or "error" contains `needle`.
std::vector<nlohmann::json> LogLines(const std::string& log, const std::string& needle);

// Prints "reliability: <test> k=v ..." and appends it to $AURA_RELIABILITY_FIGURES.
void RecordFigures(const std::string& test,
                   const std::vector<std::pair<std::string, std::string>>& kv);

std::string Str(const nlohmann::json& j, const char* key);
double Seconds(std::chrono::steady_clock::time_point since);
// A figure: `v` with `decimals` decimals.
std::string Fmt(double v, int decimals = 1);

}  // namespace aura::reliability
