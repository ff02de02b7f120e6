// The reliability suite's test fixture: a workspace, a simulator, controller runs, and on
// failure the evidence (workspace, controller and simulator logs) copied to
// $TMPDIR/aura-reliability-failures/<suite>.<test>.
//
// Thread-safety: test-only, one thread.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/reliability/reliability_util.h"

namespace aura::reliability {

class ReliabilityTest : public ::testing::Test {
 protected:
  // The controller's flags for `ws_` and `sim_`: e2e::ControllerFlags (short timings) with
  // /metrics on a port of its own choosing.
  std::vector<std::string> Flags() const {
    std::vector<std::string> f = e2e::ControllerFlags(*sim_, ws_);
    SetFlag(&f, "--metrics-addr", "127.0.0.1:0");
    return f;
  }

  void StartSimulator(std::vector<std::string> extra = {}) {
    sim_ = StartSim(std::move(extra));
    ASSERT_NE(sim_, nullptr);
  }

  // Starts `run` with `flags`; its log is ws_/controller-<n>.log.
  std::unique_ptr<ControllerRun> StartController(
      const std::vector<std::string>& flags,
      std::map<std::string, std::string> env = e2e::ControllerEnv()) {
    const std::string log = ws_.dir() + "/controller-" + std::to_string(logs_.size()) + ".log";
    logs_.push_back(log);
    auto run = ControllerRun::Start(flags, log, std::move(env));
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? std::move(run).value() : nullptr;
  }

  // Every controller log of this test, concatenated.
  std::vector<std::string> AllLogs() const {
    std::vector<std::string> out;
    for (const auto& l : logs_) out.push_back(e2e::ReadFile(l));
    return out;
  }

  void TearDown() override {
    if (!HasFailure()) return;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::filesystem::path to = std::filesystem::temp_directory_path() /
                                     "aura-reliability-failures" /
                                     (std::string(info->test_suite_name()) + "." + info->name());
    std::error_code ec;
    std::filesystem::remove_all(to, ec);
    std::filesystem::create_directories(to, ec);
    std::filesystem::copy(ws_.dir(), to / "workspace", std::filesystem::copy_options::recursive,
                          ec);
    if (sim_) std::filesystem::copy_file(sim_->log_path(), to / "simulator.log", ec);
    std::cerr << "evidence kept in " << to.string() << "\n";
    for (const auto& l : logs_) {
      const std::string text = e2e::ReadFile(l);
      std::cerr << "--- last lines of " << l << ":\n"
                << text.substr(text.size() > 6000 ? text.size() - 6000 : 0) << "\n";
    }
  }

  e2e::Workspace ws_;
  std::unique_ptr<test_harness::SimulatorProcess> sim_;
  std::vector<std::string> logs_;
};

}  // namespace aura::reliability
