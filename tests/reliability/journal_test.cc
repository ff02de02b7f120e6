// Journal trouble (issue 9). The journal and the credentials folder on a small tmpfs that
// fills up in the middle of convergence: no POST may go out without a durable intent, the
// controller must say why in its log, keep running, and finish once space returns, with every
// password saved. A corrupted journal: every command that would use it refuses to start
// (exit 1, naming the file) and leaves the file byte for byte as it was.
//
// The tmpfs is mounted by the test (root, or CAP_SYS_ADMIN; skipped with a message otherwise)
// and always unmounted. Environment: AURA_REL_JOURNAL_SPECS (60; 40 under sanitizers),
// AURA_REL_JOURNAL_FULL_SECONDS (4).
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/harness/http.h"
#include "tests/reliability/reliability_fixture.h"

namespace aura::reliability {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test_harness::WaitFor;

// A tmpfs of `size` bytes mounted on `dir` for the life of this object.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, size_t size) : dir_(dir) {
    fs::create_directories(dir);
    const std::string opts = "size=" + std::to_string(size) + ",mode=0700";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (mounted_ && ::umount2(dir_.c_str(), 0) != 0) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes `path` until the file system is full; the bytes written.
int64_t FillUp(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  const std::string chunk(4096, 'x');
  int64_t total = 0;
  for (;;) {
    const ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n <= 0) break;
    total += n;
  }
  ::close(fd);
  return total;
}

class JournalTest : public ReliabilityTest {};

TEST_F(JournalTest, FullDiskSendsNoCreateWithoutADurableIntentAndRecovers) {
  const int specs = EnvInt("AURA_REL_JOURNAL_SPECS", 60, 40);
  const int full_s = EnvInt("AURA_REL_JOURNAL_FULL_SECONDS", 4);
  const std::string vol = ws_.dir() + "/vol";
  TmpfsMount mount(vol, 1 << 20);
  if (!mount.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs on " << vol << " (" << mount.error()
                 << "): this test needs root or CAP_SYS_ADMIN";
  }
  const std::string state = vol + "/journal.json";
  const std::string creds = vol + "/credentials";
  StartSimulator({"--rate-limit", "125", "--rate-window", "3", "--create-seconds", "1"});
  ws_.WriteSpecs("full.yaml", "full", specs);
  const auto names = SpecNames("full", specs);
  std::vector<std::string> flags = Flags();
  SetFlag(&flags, "--state", state);
  SetFlag(&flags, "--credentials-dir", creds);
  SetFlag(&flags, "--rate-limit", "125");
  SetFlag(&flags, "--rate-window", "3s");
  auto run = StartController(flags);
  ASSERT_NE(run, nullptr);

  // Mid-convergence, the volume fills up.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto s = sim_->Stats();
        return s.ok() && (*s)["post_instances"].get<int>() >= specs / 4;
      },
      seconds(120), milliseconds(5)));
  const std::string filler = vol + "/filler";
  const int64_t filled = FillUp(filler);
  ASSERT_GT(filled, 0);
  // Once the controller has met the full disk, the journal on disk is frozen: every POST from
  // then on must be one of the intents it holds.
  ASSERT_TRUE(WaitFor([&] { return !LogLines(run->Log(), "not durable").empty(); }, seconds(60)))
      << "no create was refused for want of a durable intent";
  const std::string frozen = e2e::ReadJournal(state);
  const json frozen_journal = json::parse(frozen, nullptr, false);
  ASSERT_TRUE(frozen_journal.is_object()) << frozen;
  std::set<std::string> intents;
  for (const auto& [key, e] : frozen_journal["entries"].items()) {
    if (e.contains("intent")) intents.insert(key.substr(key.find('/') + 1));
  }
  const int64_t posts_frozen = (*sim_->Stats())["post_instances"].get<int64_t>();
  const int64_t instances_frozen = static_cast<int64_t>((*sim_->Instances())["instances"].size());
  const auto full_at = std::chrono::steady_clock::now();
  int healthz = 0;
  WaitFor(
      [&] {
        run->Get("/healthz", &healthz);
        EXPECT_EQ(healthz, 200);
        EXPECT_TRUE(run->Running());
        return Seconds(full_at) >= full_s;
      },
      seconds(full_s + 30), milliseconds(200));
  const int64_t posts_full = (*sim_->Stats())["post_instances"].get<int64_t>() - posts_frozen;
  auto inst = sim_->Instances();
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ(e2e::ReadJournal(state), frozen) << "the journal changed on a full disk";
  EXPECT_LE(posts_full, static_cast<int64_t>(intents.size()))
      << "more POSTs on a full disk than durable intents";
  for (size_t i = static_cast<size_t>(instances_frozen); i < (*inst)["instances"].size(); ++i) {
    const std::string name = Str((*inst)["instances"][i], "created_name");
    EXPECT_TRUE(intents.count(name)) << name << " was created without a durable intent";
  }
  // The error is clear: it says nothing was sent, why, and where.
  const auto refused = LogLines(run->Log(), "not durable");
  ASSERT_FALSE(refused.empty());
  const std::string error = Str(refused.front(), "error");
  EXPECT_NE(error.find("nothing was sent"), std::string::npos) << error;
  EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
  EXPECT_NE(error.find(vol), std::string::npos) << error;
  const int refusals = static_cast<int>(refused.size());

  // Space returns: convergence completes, every password saved.
  fs::remove(filler);
  const auto freed_at = std::chrono::steady_clock::now();
  std::string why;
  ASSERT_TRUE(WaitFor([&] { return Converged(*sim_, state, names, run.get(), &why); },
                      seconds(kSanitizerBuild ? 300 : 120), milliseconds(250)))
      << "not converged after space returned: " << why;
  const double recovered_s = Seconds(freed_at);
  EXPECT_TRUE(run->Stop().ok());
  const chaos::Verdict v = Judge(*sim_, state, creds, names, 3000, AllLogs());
  for (const auto& violation : v.violations) ADD_FAILURE() << violation;
  RecordFigures("journal_full", {{"specs", std::to_string(specs)},
                                 {"tmpfs", "1MiB"},
                                 {"posts_before_full", std::to_string(posts_frozen)},
                                 {"full_s", std::to_string(full_s)},
                                 {"intents_on_disk_when_full", std::to_string(intents.size())},
                                 {"posts_while_full", std::to_string(posts_full)},
                                 {"creates_refused_not_durable", std::to_string(refusals)},
                                 {"converged_after_space_s", Fmt(recovered_s)},
                                 {"duplicates", std::to_string(v.extra_creations)},
                                 {"passwords_saved", std::to_string(v.passwords_saved) + "/" +
                                                         std::to_string(v.passwords_sent)},
                                 {"lost_passwords", std::to_string(v.passwords_lost)}});
}

TEST_F(JournalTest, CorruptedJournalRefusesToStartAndIsKeptAsItWas) {
  StartSimulator();
  ws_.WriteSpecs("c.yaml", "corrupt", 2);
  // A real journal first, then each kind of damage to it.
  e2e::CliResult apply = e2e::RunCli(
      [&] {
        std::vector<std::string> a = {"apply", "--wait", "--timeout", "60s"};
        auto f = e2e::ControllerFlags(*sim_, ws_);
        a.insert(a.end(), f.begin(), f.end());
        return a;
      }(),
      seconds(120));
  ASSERT_EQ(apply.exit.code, 0) << apply.out << apply.err;
  // The whole journal as one snapshot without a log (the writes since the last compaction are
  // in the log), so that each damage below hits every entry.
  const std::string good = e2e::ReadJournal(ws_.state());
  ASSERT_FALSE(good.empty());
  ASSERT_NE(json::parse(good)["entries"].size(), 0u);
  ws_.RemoveFile("state/journal.json.log");
  const int64_t posts = (*sim_->Stats())["post_instances"].get<int64_t>();
  std::string binary = good;
  for (size_t i = 0; i < binary.size(); i += 7) binary[i] = static_cast<char>(0x80 + i % 100);
  const std::vector<std::pair<std::string, std::string>> damages = {
      {"truncated", good.substr(0, good.size() / 2)},
      {"garbage bytes", binary},
      {"not an object", "[1, 2, 3]\n"},
      {"wrong types",
       [&] {
         json j = json::parse(good);
         for (auto& [k, e] : j["entries"].items()) e["instance_id"] = 42;
         return j.dump();
       }()},
      {"empty file", ""},
  };
  int refused = 0;
  for (const auto& [what, content] : damages) {
    SCOPED_TRACE(what);
    ws_.WriteFile("state/journal.json", content);
    for (const char* command : {"run", "apply", "plan", "status"}) {
      SCOPED_TRACE(command);
      std::vector<std::string> args = {command};
      auto f = e2e::ControllerFlags(*sim_, ws_);
      if (std::string(command) == "status") f = {"--state", ws_.state()};
      if (std::string(command) == "run") f.insert(f.end(), {"--metrics-addr", "127.0.0.1:0"});
      args.insert(args.end(), f.begin(), f.end());
      e2e::CliResult r = e2e::RunCli(args, seconds(60));
      EXPECT_TRUE(r.exit.exited) << r.exit.ToString();
      EXPECT_EQ(r.exit.code, 1) << r.out << r.err;
      EXPECT_NE(r.err.find(ws_.state()), std::string::npos)
          << "the error does not name the file: " << r.err;
      EXPECT_NE(r.err.find("refuses to start"), std::string::npos) << r.err;
      EXPECT_EQ(e2e::ReadFile(ws_.state()), content) << "the journal was modified";
      refused += r.exit.code == 1;
    }
  }
  EXPECT_EQ((*sim_->Stats())["post_instances"].get<int64_t>(), posts) << "a create was sent";
  RecordFigures("journal_corrupted", {{"damages", std::to_string(damages.size())},
                                      {"commands", "run,apply,plan,status"},
                                      {"refused", std::to_string(refused)},
                                      {"modified", "0"}});
}

}  // namespace
}  // namespace aura::reliability
