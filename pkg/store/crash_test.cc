// Crash tests: a writer killed between every pair of steps (issue 6).
//
// Each case first runs the write once, unharmed, to learn its steps (create, append, sync,
// close, rename, syncdir, ...). Then, for every step N, a forked child opens the store through a
// FaultInjectingFileSystem that _exit()s at step N, and performs the write; the parent reopens
// with the real file system and checks the state is whole and is exactly the old one when the
// child died at or before the step that publishes the write, the new one after it. Stray temp
// files must be gone after the reopen. "torn" cases die half-way through the write(2).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <optional>

#include "pkg/store/fault_file_system.h"
#include "pkg/store/file_credential_store.h"
#include "pkg/store/file_journal.h"
#include "pkg/store/test_util.h"

namespace aura::store {
namespace {

using testutil::FullEntry;
using testutil::Names;
using testutil::RunInChild;
using testutil::SameEntry;
using testutil::ScratchDir;

using State = std::map<std::string, JournalEntry>;

std::string Describe(const State& s) {
  std::string out = "{";
  for (const auto& [k, e] : s) {
    out += " " + k + (e.intent ? "[intent]" : "") + "=" + e.instance_id;
  }
  return out + " }";
}

bool SameState(const State& a, const State& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, e] : a) {
    auto it = b.find(k);
    if (it == b.end() || !SameEntry(e, it->second)) return false;
  }
  return true;
}

int IndexOf(const std::vector<std::string>& trace, const std::string& op) {
  for (size_t i = 0; i < trace.size(); ++i) {
    if (trace[i].rfind(op + " ", 0) == 0) return static_cast<int>(i);
  }
  return -1;
}

JournalEntry Intent(const std::string& key) {
  JournalEntry e;
  e.key = key;
  e.intent.emplace();
  e.intent->aura_name = "aura-" + key.substr(key.find('/') + 1);
  e.intent->tenant_id = "tenant-1";
  e.intent->intent_time = base::SystemTime(std::chrono::seconds(1798761600));
  e.aura_name = e.intent->aura_name;
  e.tenant_id = "tenant-1";
  return e;
}

JournalEntry Created(const std::string& key, const std::string& id) {
  JournalEntry e = Intent(key);
  e.intent.reset();
  e.instance_id = id;
  e.credentials_saved = true;
  return e;
}

struct JournalScenario {
  std::string name;
  std::function<void(Journal&)> setup;          // the old state, written normally
  std::function<base::Status(Journal&)> write;  // the write under test
  // Compaction tests: the writer opens with this compact_every and does `before` (unharmed)
  // before the write under test.
  std::uint64_t compact_every = 0;
  std::function<void(Journal&)> before = [](Journal&) {};
};

class JournalCrashTest : public ::testing::TestWithParam<JournalScenario> {
 protected:
  // A fresh folder holding the scenario's old state; returns the journal path.
  std::string Prepare(const ScratchDir& dir) {
    const std::string path = dir / "journal.json";
    auto j = FileJournal::Open(path, &clock_);
    EXPECT_TRUE(j.ok()) << j.status();
    if (j.ok()) GetParam().setup(**j);
    return path;
  }
  State Reopen(const std::string& path) {
    auto j = FileJournal::Open(path, &clock_);
    EXPECT_TRUE(j.ok()) << j.status();
    if (!j.ok()) return {};
    State s = *(*j)->List();
    EXPECT_TRUE((*j)->Put(FullEntry("after/crash")).ok());  // the journal is usable again
    return s;
  }

  base::FakeClock clock_;
};

// The step after which a write is on disk: the snapshot's rename for a compaction, else the
// append of its record (a process killed after write(2) leaves the data to the kernel).
int PublishStep(const std::vector<std::string>& trace) {
  const int rename = IndexOf(trace, "rename");
  return rename >= 0 ? rename : IndexOf(trace, "append");
}

TEST_P(JournalCrashTest, KilledAtEveryStepLeavesOldOrNewStateWhole) {
  // The unharmed run: steps, and the old and new states.
  std::vector<std::string> trace;
  State old_state, new_state;
  const FileJournalOptions options{.compact_every = GetParam().compact_every};
  {
    ScratchDir dir;
    const std::string path = Prepare(dir);
    FaultInjectingFileSystem fs;
    FileJournalOptions o = options;
    o.fs = &fs;
    auto j = FileJournal::Open(path, &clock_, o);
    ASSERT_TRUE(j.ok());
    GetParam().before(**j);
    old_state = *(*j)->List();
    fs.Reset();
    ASSERT_TRUE(GetParam().write(**j).ok());
    trace = fs.trace();
    new_state = *(*j)->List();
  }
  const int steps = static_cast<int>(trace.size());
  const int rename = PublishStep(trace);
  ASSERT_GE(rename, 0);
  ASSERT_FALSE(SameState(old_state, new_state));

  struct Kill {
    int step;
    bool torn;
  };
  std::vector<Kill> kills;
  for (int n = 0; n <= steps; ++n) kills.push_back({n, false});  // n == steps: no kill
  kills.push_back({IndexOf(trace, "append"), true});

  for (const Kill& kill : kills) {
    const std::string where = kill.step < steps ? "before step " + std::to_string(kill.step) +
                                                      " (" + trace[kill.step] + ")"
                                                : "after the last step";
    SCOPED_TRACE("killed " + where + (kill.torn ? ", torn write" : ""));
    ScratchDir dir;
    const std::string path = Prepare(dir);
    const int code = RunInChild([&] {
      FaultInjectingFileSystem fs;
      FileJournalOptions o = options;
      o.fs = &fs;
      auto j = FileJournal::Open(path, &clock_, o);
      if (!j.ok()) return 2;
      GetParam().before(**j);
      fs.Reset();
      fs.CrashAtStep(kill.step, kill.torn);
      return GetParam().write(**j).ok() ? 0 : 1;
    });
    ASSERT_EQ(code, kill.step < steps ? FaultInjectingFileSystem::kCrashExitCode : 0);
    const State s = Reopen(path);
    const bool published = kill.step > rename;
    EXPECT_TRUE(SameState(s, published ? new_state : old_state))
        << "expected the " << (published ? "new" : "old") << " state, found " << Describe(s);
    for (const std::string& name : Names(dir.path())) {
      EXPECT_TRUE(name == "journal.json" || name == "journal.json.lock" ||
                  name == "journal.json.log")
          << "left over: " << name;
    }
  }
}

// The same without fork: the write fails at step N and every later step (a FileSystem that
// "died"); the in-memory view must stay old, and a reopen sees old or new as above.
TEST_P(JournalCrashTest, StoppedAtEveryStepKeepsTheInMemoryViewOld) {
  int steps = 0, publish = 0;
  {
    ScratchDir dir;
    const std::string path = Prepare(dir);
    FaultInjectingFileSystem fs;
    auto j =
        FileJournal::Open(path, &clock_, {.fs = &fs, .compact_every = GetParam().compact_every});
    ASSERT_TRUE(j.ok());
    GetParam().before(**j);
    fs.Reset();
    ASSERT_TRUE(GetParam().write(**j).ok());
    steps = fs.steps();
    publish = PublishStep(fs.trace());
  }
  for (int n = 0; n < steps; ++n) {
    SCOPED_TRACE("stopped at step " + std::to_string(n));
    ScratchDir dir;
    const std::string path = Prepare(dir);
    State old_state;
    {
      FaultInjectingFileSystem fs;
      auto j =
          FileJournal::Open(path, &clock_, {.fs = &fs, .compact_every = GetParam().compact_every});
      ASSERT_TRUE(j.ok());
      GetParam().before(**j);
      old_state = *(*j)->List();
      fs.Reset();
      fs.StopAtStep(n);
      base::Status s = GetParam().write(**j);
      // A compaction whose snapshot is durable is a durable write, even if the log that follows
      // could not be replaced.
      const bool durable = publish == IndexOf(fs.trace(), "rename") && n > publish + 1;
      EXPECT_EQ(s.ok(), durable) << s;
      if (!durable) {
        EXPECT_TRUE(SameState(*(*j)->List(), old_state));
      }
    }
    const State s = Reopen(path);
    if (n <= publish) {
      EXPECT_TRUE(SameState(s, old_state)) << Describe(s);
    } else {
      EXPECT_FALSE(SameState(s, old_state)) << Describe(s);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Writes, JournalCrashTest,
    ::testing::Values(
        JournalScenario{"FirstIntentIntoMissingFile", [](Journal&) {},
                        [](Journal& j) { return j.Put(Intent("shop/orders")); }},
        JournalScenario{"IntentBesideOtherEntries",
                        [](Journal& j) {
                          ASSERT_TRUE(j.Put(Created("shop/a", "id-a")).ok());
                          ASSERT_TRUE(j.Put(Intent("shop/b")).ok());
                        },
                        [](Journal& j) { return j.Put(Intent("shop/orders")); }},
        JournalScenario{"IntentBecomesCreated",
                        [](Journal& j) { ASSERT_TRUE(j.Put(Intent("shop/orders")).ok()); },
                        [](Journal& j) { return j.Put(Created("shop/orders", "id-1")); }},
        JournalScenario{"RemoveEntry",
                        [](Journal& j) {
                          ASSERT_TRUE(j.Put(Created("shop/a", "id-a")).ok());
                          ASSERT_TRUE(j.Put(Intent("shop/orders")).ok());
                        },
                        [](Journal& j) { return j.Remove("shop/orders"); }},
        JournalScenario{"RemoveLastEntry",
                        [](Journal& j) { ASSERT_TRUE(j.Put(Intent("shop/orders")).ok()); },
                        [](Journal& j) { return j.Remove("shop/orders"); }},
        // The K-th record's write is a compaction: snapshot, then a new empty log.
        JournalScenario{"IntentByCompaction",
                        [](Journal& j) { ASSERT_TRUE(j.Put(Created("shop/a", "id-a")).ok()); },
                        [](Journal& j) { return j.Put(Intent("shop/orders")); }, 1,
                        [](Journal& j) { ASSERT_TRUE(j.Put(Intent("shop/b")).ok()); }},
        JournalScenario{"CreatedByCompaction",
                        [](Journal& j) { ASSERT_TRUE(j.Put(Intent("shop/orders")).ok()); },
                        [](Journal& j) { return j.Put(Created("shop/orders", "id-1")); }, 1,
                        [](Journal& j) { ASSERT_TRUE(j.Put(Created("shop/a", "id-a")).ok()); }}),
    [](const ::testing::TestParamInfo<JournalScenario>& p) { return p.param.name; });

// Credentials: a Save killed at every step leaves the old file (or none) or the new one, never
// a damaged one. Once the temp file is complete (after its write), Open moves it into place: a
// one-time password Aura will not show again is kept.
class CredentialCrashTest : public ::testing::TestWithParam<bool /*replace*/> {
 protected:
  std::unique_ptr<FileCredentialStore> Open(const std::string& root, FileSystem* fs = nullptr) {
    auto s = FileCredentialStore::Open(root, {.fs = fs, .clock = &clock_});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  void Prepare(const std::string& root) {
    if (GetParam()) {
      ASSERT_TRUE(Open(root)->Save("shop/orders", old_).ok());
    }
  }

  base::FakeClock clock_;
  const Credentials old_{"id-old", "neo4j+s://old", "neo4j", "pw-old-crash-1"};
  const Credentials new_{"id-new", "neo4j+s://new", "neo4j", "pw-new-crash-2"};
};

TEST_P(CredentialCrashTest, KilledAtEveryStepLeavesOldOrNewCredentials) {
  std::vector<std::string> trace;
  {
    ScratchDir dir;
    Prepare(dir / "creds");
    FaultInjectingFileSystem fs;
    auto store = Open(dir / "creds", &fs);
    fs.Reset();
    ASSERT_TRUE(store->Save("shop/orders", new_).ok());
    trace = fs.trace();
  }
  const int steps = static_cast<int>(trace.size());
  // Two files: the instance's record (by_id/), then the key's current one.
  int append = -1, id_rename = -1;
  for (int i = 0; i < steps; ++i) {
    if (trace[i].rfind("append", 0) == 0) append = i;
    if (id_rename < 0 && trace[i].rfind("rename", 0) == 0) id_rename = i;
  }
  ASSERT_GE(append, 0);
  ASSERT_GE(id_rename, 0);
  ASSERT_NE(trace[id_rename].find("by_id"), std::string::npos) << trace[id_rename];
  std::vector<std::pair<int, bool>> kills;
  for (int n = 0; n <= steps; ++n) kills.emplace_back(n, false);
  kills.emplace_back(append, true);

  for (const auto& [step, torn] : kills) {
    SCOPED_TRACE("killed before step " + std::to_string(step) +
                 (step < steps ? " (" + trace[step] + ")" : " (none)") + (torn ? ", torn" : ""));
    clock_.Advance(std::chrono::seconds(1));
    ScratchDir dir;
    const std::string root = dir / "creds";
    Prepare(root);
    const int code = RunInChild([&] {
      FaultInjectingFileSystem fs;
      auto store = FileCredentialStore::Open(root, {.fs = &fs, .clock = &clock_});
      if (!store.ok()) return 2;
      fs.Reset();
      fs.CrashAtStep(step, torn);
      return (*store)->Save("shop/orders", new_).ok() ? 0 : 1;
    });
    ASSERT_EQ(code, step < steps ? FaultInjectingFileSystem::kCrashExitCode : 0);
    auto store = Open(root);
    ASSERT_NE(store, nullptr);
    auto c = store->Load("shop/orders");
    const bool complete = step > append && !torn;
    if (complete) {
      ASSERT_TRUE(c.ok()) << c.status();
      EXPECT_EQ(c->password, new_.password);
    } else if (GetParam()) {
      ASSERT_TRUE(c.ok()) << c.status();
      EXPECT_EQ(c->password, old_.password);
    } else {
      EXPECT_EQ(c.status().code(), base::StatusCode::kNotFound);
    }
    // Once the instance's record was renamed into place, its password is kept by id.
    if (step > id_rename) {
      auto by_id = store->LoadInstance(new_.instance_id);
      ASSERT_TRUE(by_id.ok()) << by_id.status();
      EXPECT_EQ(by_id->password, new_.password);
    }
    const std::set<std::string> names = Names(root + "/shop");
    for (const std::string& name : names) EXPECT_EQ(name, "orders.json") << "left over";
    if (!names.empty()) {
      EXPECT_EQ(testutil::ModeOf(root + "/shop/orders.json"), 0600);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Saves, CredentialCrashTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return std::string(p.param ? "Replace" : "First");
                         });

// The protocol's order across both stores (DESIGN.md "Exactly-once create"): intent, then
// credentials, then Created. Killed at any step of the whole sequence, the journal never says
// Created without the credentials on disk, and never loses the intent before Created is there.
TEST(ProtocolCrashTest, CreatedIsNeverRecordedWithoutCredentials) {
  base::FakeClock clock;
  const Credentials creds{"id-1", "neo4j+s://id-1", "neo4j", "pw-protocol-3"};
  auto sequence = [&](Journal& j, CredentialStore& cs) {
    AURA_RETURN_IF_ERROR(j.Put(Intent("shop/orders")));
    AURA_RETURN_IF_ERROR(cs.Save("shop/orders", creds));
    return j.Put(Created("shop/orders", "id-1"));
  };
  int steps = 0;
  {
    ScratchDir dir;
    FaultInjectingFileSystem fs;
    auto j = FileJournal::Open(dir / "journal.json", &clock, {.fs = &fs});
    auto cs = FileCredentialStore::Open(dir / "creds", {.fs = &fs, .clock = &clock});
    ASSERT_TRUE(j.ok() && cs.ok());
    fs.Reset();
    ASSERT_TRUE(sequence(**j, **cs).ok());
    steps = fs.steps();
  }
  int intents = 0, created = 0;
  for (int n = 0; n <= steps; ++n) {
    SCOPED_TRACE("killed before step " + std::to_string(n));
    ScratchDir dir;
    const int code = RunInChild([&] {
      FaultInjectingFileSystem fs;
      auto j = FileJournal::Open(dir / "journal.json", &clock, {.fs = &fs});
      auto cs = FileCredentialStore::Open(dir / "creds", {.fs = &fs, .clock = &clock});
      if (!j.ok() || !cs.ok()) return 2;
      fs.Reset();
      fs.CrashAtStep(n);
      return sequence(**j, **cs).ok() ? 0 : 1;
    });
    ASSERT_EQ(code, n < steps ? FaultInjectingFileSystem::kCrashExitCode : 0);
    auto j = FileJournal::Open(dir / "journal.json", &clock);
    auto cs = FileCredentialStore::Open(dir / "creds", {.clock = &clock});
    ASSERT_TRUE(j.ok() && cs.ok());
    auto e = (*j)->Get("shop/orders");
    if (!e.ok()) continue;  // died before the intent was published: nothing was sent
    if (e->intent) {
      ++intents;
    } else {
      ++created;
      EXPECT_EQ(e->instance_id, "id-1");
      auto c = (*cs)->Load("shop/orders");
      ASSERT_TRUE(c.ok()) << c.status();
      EXPECT_EQ(c->password, creds.password);
    }
  }
  EXPECT_GT(intents, 0);
  EXPECT_GT(created, 0);
}

}  // namespace
}  // namespace aura::store
