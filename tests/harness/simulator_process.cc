#include "tests/harness/simulator_process.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "tests/harness/http.h"

#ifndef AURA_SIMULATOR_BINARY
#error "AURA_SIMULATOR_BINARY must name the built aura-simulator (tests/harness/CMakeLists.txt)"
#endif

namespace aura::test_harness {

std::string SimulatorBinary() { return AURA_SIMULATOR_BINARY; }

base::StatusOr<std::unique_ptr<SimulatorProcess>> SimulatorProcess::Start(
    std::vector<std::string> flags) {
  std::unique_ptr<SimulatorProcess> sim(new SimulatorProcess());
  char tmpl[] = "/tmp/aura-simulator-log-XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd < 0) return base::UnavailableError("mkstemp failed");
  ::close(fd);
  sim->log_path_ = tmpl;

  SubprocessOptions o;
  o.path = SimulatorBinary();
  o.args = {"--listen", "127.0.0.1:0"};
  o.args.insert(o.args.end(), flags.begin(), flags.end());
  o.stdout_mode = OutputMode::kPipe;
  o.stderr_mode = OutputMode::kFile;
  o.stderr_file = sim->log_path_;
  AURA_ASSIGN_OR_RETURN(sim->process_, Subprocess::Start(o));
  auto line = sim->process_->ReadLine(std::chrono::seconds(15));
  const std::string prefix = "listening on ";
  if (!line.ok() || !line->starts_with(prefix)) {
    return base::UnavailableError("aura-simulator did not start (" +
                                  (line.ok() ? "first line: " + *line : line.status().ToString()) +
                                  "); log:\n" + sim->Logs());
  }
  sim->base_url_ = line->substr(prefix.size());
  sim->port_ = std::stoi(sim->base_url_.substr(sim->base_url_.rfind(':') + 1));
  return sim;
}

SimulatorProcess::~SimulatorProcess() {
  process_.reset();
  if (!log_path_.empty() && !::getenv("AURA_KEEP_TEST_LOGS")) std::remove(log_path_.c_str());
}

std::string SimulatorProcess::Logs() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

base::StatusOr<nlohmann::json> SimulatorProcess::Stats() const {
  return GetJson(base_url_ + "/_sim/stats");
}

base::StatusOr<nlohmann::json> SimulatorProcess::Instances() const {
  return GetJson(base_url_ + "/_sim/instances");
}

base::StatusOr<nlohmann::json> SimulatorProcess::SetFaults(const nlohmann::json& faults) const {
  return PostJson(base_url_ + "/_sim/faults", faults);
}

base::Status SimulatorProcess::Reset() const {
  return PostJson(base_url_ + "/_sim/reset", nlohmann::json::object()).status();
}

base::StatusOr<std::string> SimulatorProcess::Token() const {
  return FetchToken(token_url(), kSimClientId, kSimClientSecret);
}

base::StatusOr<ExitStatus> SimulatorProcess::Stop(std::chrono::milliseconds timeout) {
  if (!process_->Running()) return process_->Wait(std::chrono::milliseconds(0));
  AURA_RETURN_IF_ERROR(process_->Terminate());
  auto st = process_->Wait(timeout);
  if (!st.ok()) process_->Stop(std::chrono::milliseconds(0));
  return st;
}

}  // namespace aura::test_harness
