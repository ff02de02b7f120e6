#include "tests/e2e/e2e_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pkg/base/clock.h"
#include "pkg/store/codec.h"
#include "pkg/store/file_journal.h"

namespace aura::e2e {
namespace fs = std::filesystem;

std::string ControllerBinary() { return AURA_CONTROLLER_BINARY; }

Workspace::Workspace() {
  std::string tmpl = (fs::temp_directory_path() / "aura-e2e-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  dir_ = ::mkdtemp(buf.data());
  fs::create_directories(specs());
}

Workspace::~Workspace() {
  if (std::getenv("AURA_E2E_KEEP") == nullptr) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

void Workspace::WriteFile(const std::string& relative, const std::string& content) const {
  const fs::path p = fs::path(dir_) / relative;
  fs::create_directories(p.parent_path());
  std::ofstream(p) << content;
}

void Workspace::RemoveFile(const std::string& relative) const {
  std::error_code ec;
  fs::remove(fs::path(dir_) / relative, ec);
}

void Workspace::WriteSpecs(const std::string& file, const std::string& prefix, int count,
                           const std::string& memory, const std::string& extra) const {
  std::ostringstream y;
  for (int i = 0; i < count; ++i) {
    y << "---\napiVersion: aura.neo4j.io/v1alpha1\nkind: AuraInstance\nmetadata:\n  name: "
      << prefix << "-" << i
      << "\n  namespace: e2e\nspec:\n  tenantId: " << test_harness::kSimTenantId
      << "\n  cloudProvider: gcp\n  region: europe-west1\n  type: professional-db\n  memory: "
      << memory << "\n"
      << extra;
  }
  WriteFile("specs/" + file, y.str());
}

std::vector<std::string> Workspace::Passwords() const {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(credentials(), ec)) return out;
  for (auto it = fs::recursive_directory_iterator(credentials(), ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file() || it->path().extension() != ".json") continue;
    // Keys' current records only: by_id/ holds a copy of each instance's.
    if (it->path().parent_path().filename() == "by_id") continue;
    auto j = nlohmann::json::parse(ReadFile(it->path().string()), nullptr, false);
    if (j.is_object() && j.contains("password")) out.push_back(j["password"].get<std::string>());
  }
  return out;
}

std::vector<std::string> ControllerFlags(const test_harness::SimulatorProcess& sim,
                                         const Workspace& ws) {
  return {"--api-url",        sim.api_url(), "--token-url",       sim.token_url(),
          "--state",          ws.state(),    "--credentials-dir", ws.credentials(),
          "--poll-interval",  "200ms",       "--poll-max",        "1s",
          "--resync",         "1s",          "--spec-poll",       "200ms",
          "--settle-window",  "2s",          "--request-timeout", "3s",
          "--token-cooldown", "1s",          "--log-format",      "json",
          "--specs",          ws.specs()};
}

std::map<std::string, std::string> ControllerEnv() {
  return {{"AURA_CLIENT_ID", test_harness::kSimClientId},
          {"AURA_CLIENT_SECRET", test_harness::kSimClientSecret}};
}

CliResult RunCli(std::vector<std::string> args, std::chrono::milliseconds timeout,
                 std::map<std::string, std::string> env) {
  test_harness::SubprocessOptions o;
  o.path = ControllerBinary();
  o.args = std::move(args);
  o.env = std::move(env);
  o.stdout_mode = test_harness::OutputMode::kPipe;
  o.stderr_mode = test_harness::OutputMode::kPipe;
  CliResult r;
  auto p = test_harness::Subprocess::Start(o);
  if (!p.ok()) {
    r.err = p.status().ToString();
    return r;
  }
  auto st = (*p)->Wait(timeout);
  r.exit = st.ok() ? *st : (*p)->Stop(std::chrono::seconds(2));
  r.out = (*p)->Output();
  r.err = (*p)->ErrorOutput();
  return r;
}

base::StatusOr<std::unique_ptr<test_harness::Subprocess>> StartRun(
    std::vector<std::string> args, const std::string& log_file,
    std::map<std::string, std::string> env) {
  test_harness::SubprocessOptions o;
  o.path = ControllerBinary();
  o.args = std::move(args);
  o.args.insert(o.args.begin(), "run");
  o.env = std::move(env);
  o.stdout_mode = test_harness::OutputMode::kDiscard;
  o.stderr_mode = test_harness::OutputMode::kFile;
  o.stderr_file = log_file;
  return test_harness::Subprocess::Start(o);
}

std::unique_ptr<test_harness::SimulatorProcess> StartSimulator(std::vector<std::string> flags) {
  auto sim = test_harness::SimulatorProcess::Start(std::move(flags));
  if (!sim.ok()) {
    ADD_FAILURE() << "aura-simulator did not start: " << sim.status();
    return nullptr;
  }
  return std::move(*sim);
}

std::vector<std::string> Args(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ReadJournal(const std::string& state) {
  store::FileJournalOptions o;
  o.read_only = true;
  auto j = store::FileJournal::Open(state, &base::RealClock(), o);
  if (!j.ok()) return "";
  store::detail::JournalImage image;
  image.entries = *(*j)->List();
  image.generation = (*j)->generation();
  image.binding = *(*j)->GetBinding();
  auto bytes = store::detail::EncodeJournal(image);
  return bytes.ok() ? *bytes : "";
}

}  // namespace aura::e2e
