// The harness itself: Subprocess on /bin/sh, and SimulatorProcess on the real binary.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>

#include "tests/harness/http.h"
#include "tests/harness/simulator_process.h"
#include "tests/harness/subprocess.h"

namespace aura::test_harness {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::unique_ptr<Subprocess> Shell(const std::string& script, SubprocessOptions o = {}) {
  o.path = "/bin/sh";
  o.args = {"-c", script};
  auto p = Subprocess::Start(o);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(p).value() : nullptr;
}

TEST(SubprocessTest, ReadsLinesWithABoundedWaitAndExitCodes) {
  auto p = Shell("echo first; echo second; read x < /dev/null; exit 3");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p->ReadLine(seconds(10)), "first");
  EXPECT_EQ(*p->ReadLine(seconds(10)), "second");
  auto st = p->Wait(seconds(10));
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(st->exited);
  EXPECT_EQ(st->code, 3);
  EXPECT_EQ(p->ReadLine(milliseconds(100)).status().code(), base::StatusCode::kNotFound);
  EXPECT_EQ(p->Output(), "first\nsecond\n");
}

// Once Wait() returns, Output() holds all the child wrote, its last bytes too (the e2e tests
// read a CLI's whole answer that way; they used to see "" now and then, when the child was
// reaped before the pipe was drained). Here the last bytes come from a background process that
// still holds the pipes and writes only once the child is gone (reaped: `kill -0` still
// succeeds on a zombie), so they always arrive after Wait() has reaped it.
TEST(SubprocessTest, OutputIsCompleteOnceWaitReturns) {
  SubprocessOptions o;
  o.stdout_mode = OutputMode::kPipe;
  o.stderr_mode = OutputMode::kPipe;
  auto p = Shell(
      "printf first; parent=$$;"
      " (while kill -0 $parent 2>/dev/null; do :; done; printf ' last'; printf done >&2) &"
      " exit 0",
      o);
  ASSERT_NE(p, nullptr);
  auto st = p->Wait(seconds(10));
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->code, 0);
  EXPECT_EQ(p->Output(), "first last");
  EXPECT_EQ(p->ErrorOutput(), "done");
}

TEST(SubprocessTest, ReadLineAndWaitTimeOut) {
  auto p = Shell("exec sleep 30");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->ReadLine(milliseconds(50)).status().code(), base::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(p->Wait(milliseconds(50)).status().code(), base::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(p->Running());
  ExitStatus st = p->Stop(seconds(5));
  EXPECT_EQ(st.signal, SIGTERM);
  EXPECT_FALSE(p->Running());
  EXPECT_FALSE(p->Signal(SIGTERM).ok());  // reaped
}

TEST(SubprocessTest, EnvironmentAndFiles) {
  char dir[] = "/tmp/aura-harness-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  SubprocessOptions o;
  o.env = {{"AURA_HARNESS_X", "42"}};
  o.unset_env = {"HOME"};
  o.stdout_mode = OutputMode::kFile;
  o.stdout_file = std::string(dir) + "/out";
  o.stderr_mode = OutputMode::kPipe;
  auto p = Shell("echo \"x=$AURA_HARNESS_X home=${HOME:-none}\"; echo oops >&2", o);
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->Wait(seconds(10)).ok());
  std::ifstream in(o.stdout_file);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "x=42 home=none\n");
  EXPECT_TRUE(WaitFor([&] { return p->ErrorOutput() == "oops\n"; }, seconds(10)));
  std::remove(o.stdout_file.c_str());
  rmdir(dir);
}

TEST(SubprocessTest, StopAndContinue) {
  // The child counts; while stopped it cannot print.
  auto p = Shell("i=0; while true; do i=$((i+1)); echo $i; sleep 0.01; done");
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->ReadLine(seconds(10)).ok());
  ASSERT_TRUE(p->Pause().ok());
  // Let whatever was in flight arrive, then nothing more may.
  ASSERT_TRUE(WaitFor(
      [&] {
        size_t before = p->Output().size();
        std::this_thread::sleep_for(milliseconds(100));
        return p->Output().size() == before;
      },
      seconds(10)));
  size_t frozen = p->Output().size();
  ASSERT_TRUE(p->Resume().ok());
  EXPECT_TRUE(WaitFor([&] { return p->Output().size() > frozen; }, seconds(10)));
}

TEST(SubprocessTest, DestructorKillsTheWholeGroup) {
  pid_t child = -1;
  {
    auto p = Shell("sleep 60 & echo $!; wait");
    ASSERT_NE(p, nullptr);
    auto line = p->ReadLine(seconds(10));
    ASSERT_TRUE(line.ok());
    child = std::stoi(*line);
    EXPECT_EQ(::kill(child, 0), 0);
  }
  // The grandchild was in the group: killed too (it may linger briefly as a zombie of init).
  EXPECT_TRUE(WaitFor(
      [&] {
        std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
        std::string s;
        std::getline(stat, s);
        return s.empty() || s.find(") Z") != std::string::npos;
      },
      seconds(10)));
}

TEST(SubprocessTest, MissingBinaryExits127) {
  SubprocessOptions o;
  o.path = "/nonexistent/binary";
  auto p = Subprocess::Start(o);
  ASSERT_TRUE(p.ok());
  auto st = (*p)->Wait(seconds(10));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->code, 127);
}

TEST(SimulatorProcessTest, StartsOnAFreePortAndStopsCleanly) {
  auto sim = SimulatorProcess::Start({"--create-seconds", "0.1"});
  ASSERT_TRUE(sim.ok()) << sim.status();
  EXPECT_TRUE((*sim)->base_url().starts_with("http://127.0.0.1:"));
  EXPECT_GT((*sim)->port(), 0);
  auto token = (*sim)->Token();
  ASSERT_TRUE(token.ok()) << token.status();
  auto stats = (*sim)->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ((*stats)["tokens_issued"], 1);
  ASSERT_TRUE((*sim)->SetFaults({{"list_lag_seconds", 1}}).ok());
  ASSERT_TRUE((*sim)->Reset().ok());
  auto instances = (*sim)->Instances();
  ASSERT_TRUE(instances.ok());
  EXPECT_TRUE((*instances)["instances"].empty());
  auto st = (*sim)->Stop();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(st->ok()) << st->ToString() << "\n" << (*sim)->Logs();
}

TEST(SimulatorProcessTest, BadFlagsFailFast) {
  auto sim = SimulatorProcess::Start({"--no-such-flag"});
  ASSERT_FALSE(sim.ok());
  EXPECT_NE(sim.status().message().find("unknown flag"), std::string::npos)
      << sim.status().message();
}

TEST(HttpHelpersTest, PickFreePortAndBasicAuth) {
  auto port = PickFreePort();
  ASSERT_TRUE(port.ok());
  EXPECT_GT(*port, 0);
  EXPECT_EQ(BasicAuth("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

}  // namespace
}  // namespace aura::test_harness
