#include "tests/reliability/reliability_util.h"

#include <dirent.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>
#include <unordered_set>

#include "tests/harness/http.h"

namespace aura::reliability {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

int EnvInt(const char* name, int fallback, int sanitizer_fallback) {
  const char* v = std::getenv(name);
  if (v != nullptr && *v != '\0') return std::atoi(v);
  return kSanitizerBuild ? sanitizer_fallback : fallback;
}

void SetFlag(std::vector<std::string>* flags, const std::string& name, const std::string& value) {
  for (size_t i = 0; i + 1 < flags->size(); ++i) {
    if ((*flags)[i] == name) {
      (*flags)[i + 1] = value;
      return;
    }
  }
  flags->push_back(name);
  flags->push_back(value);
}

std::unique_ptr<test_harness::SimulatorProcess> StartSim(std::vector<std::string> extra) {
  std::vector<std::string> flags = {"--create-seconds",  "0.5", "--pause-seconds",  "0.3",
                                    "--resume-seconds",  "0.3", "--update-seconds", "0.3",
                                    "--destroy-seconds", "0.3"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  auto sim = test_harness::SimulatorProcess::Start(flags);
  if (!sim.ok()) {
    std::cerr << "simulator did not start: " << sim.status() << "\n";
    return nullptr;
  }
  return std::move(sim).value();
}

base::StatusOr<std::unique_ptr<ControllerRun>> ControllerRun::Start(
    std::vector<std::string> args, const std::string& log_path,
    std::map<std::string, std::string> env) {
  std::unique_ptr<ControllerRun> run(new ControllerRun());
  run->log_path_ = log_path;
  AURA_ASSIGN_OR_RETURN(run->process_, e2e::StartRun(std::move(args), log_path, std::move(env)));
  const bool up = test_harness::WaitFor(
      [&] {
        run->metrics_port_ = chaos::ParseControllerLog(run->Log()).metrics_port;
        return run->metrics_port_ != 0 || !run->process_->Running();
      },
      seconds(60), milliseconds(20));
  if (!up || run->metrics_port_ == 0) {
    return base::UnavailableError("aura-controller run did not start; log:\n" + run->Log());
  }
  return run;
}

std::string ControllerRun::Log() const { return e2e::ReadFile(log_path_); }

std::string ControllerRun::Get(const std::string& path, int* code) const {
  auto r = test_harness::Http("GET", "http://127.0.0.1:" + std::to_string(metrics_port_) + path, "",
                              {}, seconds(10));
  if (code != nullptr) *code = r.ok() ? r->status : 0;
  return r.ok() ? r->body : "";
}

double MetricFrom(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return -1;
}

double ControllerRun::Metric(const std::string& series) const {
  int code = 0;
  const std::string text = Get("/metrics", &code);
  return code == 200 ? MetricFrom(text, series) : -1;
}

double ControllerRun::MetricSum(const std::string& family) const {
  int code = 0;
  const std::string text = Get("/metrics", &code);
  if (code != 200) return -1;
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, family.size(), family) != 0 || line.size() <= family.size()) continue;
    const char next = line[family.size()];
    if (next != ' ' && next != '{') continue;
    sum += std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return sum;
}

test_harness::ExitStatus ControllerRun::Stop(std::chrono::milliseconds grace) {
  return process_->Stop(grace);
}

std::vector<std::string> SpecNames(const std::string& prefix, int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.push_back(prefix + "-" + std::to_string(i));
  return names;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string Fmt(double v, int decimals) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(decimals);
  s << v;
  return s.str();
}

bool Converged(const test_harness::SimulatorProcess& sim, const e2e::Workspace& ws,
               const std::vector<std::string>& names, const ControllerRun* run, std::string* why) {
  return Converged(sim, ws.state(), names, run, why);
}

bool Converged(const test_harness::SimulatorProcess& sim, const std::string& state,
               const std::vector<std::string>& names, const ControllerRun* run, std::string* why) {
  if (run != nullptr) {
    const double in_sync = run->Metric("aura_instances{state=\"in_sync\"}");
    const double pending = run->Metric("aura_instances{state=\"pending_create\"}");
    if (in_sync != static_cast<double>(names.size()) || pending != 0) {
      *why = "in_sync " + std::to_string(in_sync) + ", pending_create " + std::to_string(pending);
      return false;
    }
  }
  const json journal = json::parse(e2e::ReadJournal(state), nullptr, false);
  auto inst = sim.Instances();
  if (!journal.is_object() || !inst.ok()) {
    *why = "journal or simulator unreadable";
    return false;
  }
  std::map<std::string, std::string> status_of;
  for (const json& i : (*inst)["instances"]) {
    if (!i.value("deleted", false)) status_of[Str(i, "id")] = Str(i, "status");
  }
  const json entries = journal.value("entries", json::object());
  for (const std::string& n : names) {
    const std::string key = std::string(kNamespace) + "/" + n;
    if (!entries.contains(key)) {
      *why = key + ": no journal entry";
      return false;
    }
    const json& e = entries[key];
    const std::string id = Str(e, "instance_id");
    if (e.contains("intent") || id.empty() || status_of[id] != "running") {
      *why = key + ": " + e.dump() + " status " + status_of[id];
      return false;
    }
  }
  return true;
}

chaos::Verdict Judge(const test_harness::SimulatorProcess& sim, const e2e::Workspace& ws,
                     const std::vector<std::string>& names, int64_t request_timeout_ms,
                     const std::vector<std::string>& controller_logs) {
  return Judge(sim, ws.state(), ws.credentials(), names, request_timeout_ms, controller_logs);
}

chaos::Verdict Judge(const test_harness::SimulatorProcess& sim, const std::string& state,
                     const std::string& credentials_dir, const std::vector<std::string>& names,
                     int64_t request_timeout_ms, const std::vector<std::string>& controller_logs) {
  chaos::Evidence e;
  e.ns = kNamespace;
  e.names = names;
  e.client_id = test_harness::kSimClientId;
  auto inst = sim.Instances();
  if (inst.ok()) e.sim_instances = *inst;
  e.journal = json::parse(e2e::ReadJournal(state), nullptr, false);
  if (!e.journal.is_object()) e.journal = json::object();
  std::error_code ec;
  const fs::path creds = fs::path(credentials_dir) / kNamespace;
  for (auto it = fs::directory_iterator(creds, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->path().extension() != ".json") continue;
    e.credentials[std::string(kNamespace) + "/" + it->path().stem().string()] =
        json::parse(e2e::ReadFile(it->path().string()), nullptr, false);
  }
  for (const std::string& log : controller_logs) {
    const chaos::LogFacts f = chaos::ParseControllerLog(log);
    e.saved_ids.insert(f.saved_ids.begin(), f.saved_ids.end());
    e.received_ids.insert(f.received_ids.begin(), f.received_ids.end());
  }
  e.request_timeout_ms = request_timeout_ms;
  chaos::Verdict v = chaos::Check(e);
  if (!inst.ok()) v.violations.push_back("simulator unreadable: " + inst.status().ToString());
  return v;
}

ProcSample SampleProc(pid_t pid) {
  ProcSample s;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    auto value = [&](const char* key) -> int64_t {
      return std::atoll(line.c_str() + std::string(key).size());
    };
    if (line.starts_with("VmRSS:")) s.rss_kb = value("VmRSS:");
    if (line.starts_with("VmHWM:")) s.hwm_kb = value("VmHWM:");
    if (line.starts_with("Threads:")) s.threads = static_cast<int>(value("Threads:"));
  }
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* d = ::opendir(dir.c_str())) {
    s.fds = 0;
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++s.fds;
    }
    ::closedir(d);
  }
  return s;
}

std::vector<std::string> KnownSecrets(const test_harness::SimulatorProcess& sim,
                                      const std::string& sim_state_file) {
  std::vector<std::string> out = {test_harness::kSimClientSecret};
  auto inst = sim.Instances();
  if (inst.ok()) {
    for (const json& i : (*inst)["instances"]) {
      const std::string p = Str(i, "password");
      if (!p.empty()) out.push_back(p);
    }
  }
  if (!sim_state_file.empty()) {
    const json state = json::parse(e2e::ReadFile(sim_state_file), nullptr, false);
    if (state.is_object() && state.contains("tokens")) {
      for (const auto& [token, _] : state["tokens"].items()) out.push_back(token);
    }
  }
  return out;
}

std::vector<std::string> Leaks(const std::string& text, const std::vector<std::string>& secrets) {
  std::vector<std::string> out;
  for (const std::string& s : secrets) {
    if (s.size() < 6) continue;  // too short to mean anything
    const size_t at = text.find(s);
    if (at == std::string::npos) continue;
    const size_t from = at > 80 ? at - 80 : 0;
    out.push_back("secret found: ..." + text.substr(from, at - from + s.size() + 80) + "...");
  }
  return out;
}

std::vector<std::string> PartialLeaks(const std::string& text,
                                      const std::vector<std::string>& secrets, size_t window) {
  std::unordered_set<std::string_view> windows;
  for (const std::string& s : secrets) {
    for (size_t i = 0; s.size() >= window && i + window <= s.size(); ++i) {
      windows.insert(std::string_view(s).substr(i, window));
    }
  }
  std::vector<std::string> out;
  const std::string_view t(text);
  for (size_t i = 0; i + window <= t.size() && out.size() < 10; ++i) {
    if (!windows.count(t.substr(i, window))) continue;
    const size_t from = i > 80 ? i - 80 : 0;
    out.push_back("part of a secret found: ..." + text.substr(from, i - from + window + 80) +
                  "...");
    i += window;
  }
  return out;
}

std::vector<json> LogLines(const std::string& log, const std::string& needle) {
  std::vector<json> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) == std::string::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (Str(j, "msg").find(needle) != std::string::npos ||
        Str(j, "error").find(needle) != std::string::npos) {
      out.push_back(std::move(j));
    }
  }
  return out;
}

void RecordFigures(const std::string& test,
                   const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string line = "reliability: " + test;
  for (const auto& [k, v] : kv) line += " " + k + "=" + v;
  line += kSanitizerBuild ? " build=sanitizer" : " build=plain";
  std::cout << line << std::endl;
  if (const char* file = std::getenv("AURA_RELIABILITY_FIGURES"); file != nullptr && *file) {
    std::ofstream(file, std::ios::app) << line << "\n";
  }
}

}  // namespace aura::reliability
