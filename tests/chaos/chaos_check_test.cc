// The chaos test's oracle must catch what it exists to catch: a test that cannot fail proves
// nothing.
#include "tests/chaos/chaos_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace aura::chaos {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Instance(const std::string& id, const std::string& name, int64_t created_ms,
              const std::string& code = "202", int64_t delay_ms = 0) {
  return {{"id", id},
          {"created_name", name},
          {"created_by", "sim-client"},
          {"deleted", false},
          {"status", "running"},
          {"created_ms", created_ms},
          {"password", "pw-" + id},
          {"create_response_code", code},
          {"create_response_delay_ms", delay_ms},
          {"create_response_password", code == "202"}};
}

json Entry(const std::string& id, bool credentials_saved) {
  return {{"instance_id", id},
          {"origin", "created"},
          {"credentials_saved", credentials_saved},
          {"duplicate_ids", json::array()}};
}

// Two specs, both created once, both passwords saved.
Evidence Clean() {
  Evidence e;
  e.ns = "e2e";
  e.names = {"a", "b"};
  e.client_id = "sim-client";
  e.sim_instances = {{"instances", {Instance("i1", "a", 10000), Instance("i2", "b", 20000)}}};
  e.journal = {{"entries", {{"e2e/a", Entry("i1", true)}, {"e2e/b", Entry("i2", true)}}}};
  e.credentials["e2e/a"] = {{"instance_id", "i1"}, {"password", "pw-i1"}};
  e.credentials["e2e/b"] = {{"instance_id", "i2"}, {"password", "pw-i2"}};
  e.request_timeout_ms = 2000;
  e.kill_grace_ms = 2000;
  return e;
}

std::string All(const Verdict& v) {
  std::string s;
  for (const auto& x : v.violations) s += x + "\n";
  return s;
}

TEST(ChaosCheckTest, CleanEvidencePasses) {
  Verdict v = Check(Clean());
  EXPECT_TRUE(v.ok()) << All(v);
  EXPECT_EQ(v.instances, 2);
  EXPECT_EQ(v.passwords_sent, 2);
  EXPECT_EQ(v.passwords_saved, 2);
}

TEST(ChaosCheckTest, DuplicateCreationIsCaught) {
  Evidence e = Clean();
  e.sim_instances["instances"].push_back(Instance("i3", "a", 30000, "500"));
  e.journal["entries"]["e2e/a"]["duplicate_ids"] = {"i3"};
  Verdict v = Check(e);
  EXPECT_EQ(v.extra_creations, 1);
  EXPECT_THAT(All(v), HasSubstr("DUPLICATE: spec e2e/a created 2 times"));
  EXPECT_THAT(All(v), HasSubstr("records duplicate i3"));
}

TEST(ChaosCheckTest, UnownedAndForeignInstancesAreCaught) {
  Evidence e = Clean();
  e.journal["entries"].erase("e2e/b");
  e.sim_instances["instances"].push_back(Instance("x1", "stranger", 1));
  Verdict v = Check(e);
  EXPECT_EQ(v.unowned, 2);
  EXPECT_THAT(All(v), HasSubstr("UNOWNED: instance i2"));
  EXPECT_THAT(All(v), HasSubstr("matches no spec"));
  EXPECT_THAT(All(v), HasSubstr("journal has no entry for e2e/b"));
}

TEST(ChaosCheckTest, PendingIntentAndWrongRecordAreCaught) {
  Evidence e = Clean();
  e.journal["entries"]["e2e/a"]["intent"] = {{"attempt", 2}};
  e.journal["entries"]["e2e/b"]["instance_id"] = "other";
  e.journal["entries"]["e2e/b"]["origin"] = "adopted";
  e.journal["entries"]["e2e/b"]["credentials_saved"] = false;
  Verdict v = Check(e);
  EXPECT_THAT(All(v), HasSubstr("e2e/a still has a create intent"));
  EXPECT_THAT(All(v), HasSubstr("records \"other\" but the instance is i2"));
  EXPECT_THAT(All(v), HasSubstr("origin is \"adopted\""));
}

TEST(ChaosCheckTest, ReceivedPasswordMissingWithoutAKillIsLost) {
  Evidence e = Clean();
  e.credentials.erase("e2e/b");
  e.journal["entries"]["e2e/b"]["credentials_saved"] = false;
  // Kills just outside the window, or that did not interrupt this create.
  e.kills = {{20000 - 2001, {"e2e/b"}}, {20000 + 2001, {"e2e/b"}}, {20300, {"e2e/a"}}};
  Verdict v = Check(e);
  EXPECT_EQ(v.passwords_lost, 1);
  EXPECT_THAT(All(v), HasSubstr("LOST PASSWORD: the 202 for i2"));
}

TEST(ChaosCheckTest, PasswordMissingAfterAKillNearItsResponseIsExcused) {
  Evidence e = Clean();
  e.credentials.erase("e2e/b");
  e.journal["entries"]["e2e/b"]["credentials_saved"] = false;
  e.kills = {{20300, {"e2e/a", "e2e/b"}}};
  Verdict v = Check(e);
  EXPECT_TRUE(v.ok()) << All(v);
  EXPECT_EQ(v.passwords_lost_to_kills, 1);
  EXPECT_EQ(v.kills_after_commit, 1);  // i1 and i2 were committed before the kill
  EXPECT_EQ(v.lost_after_receipt, 0);
  e.received_ids = {"i2"};  // the 202 was read, the process died before saving it
  EXPECT_EQ(Check(e).lost_after_receipt, 1);
  // ... unless the controller had logged it as saved.
  e.saved_ids = {"i2"};
  v = Check(e);
  EXPECT_THAT(All(v), HasSubstr("logged the credentials of i2 (e2e/b) as saved"));
}

TEST(ChaosCheckTest, CreatesAnsweredWithoutAPasswordAreNotExpected) {
  Evidence e = Clean();
  e.sim_instances["instances"][0] = Instance("i1", "a", 10000, "500");
  e.sim_instances["instances"][1] = Instance("i2", "b", 20000, "202", 4000);  // after 2 s timeout
  e.credentials.clear();
  e.journal["entries"]["e2e/a"]["credentials_saved"] = false;
  e.journal["entries"]["e2e/b"]["credentials_saved"] = false;
  Verdict v = Check(e);
  EXPECT_TRUE(v.ok()) << All(v);
  EXPECT_EQ(v.unsent.at("500"), 1);
  EXPECT_EQ(v.unsent.at("late"), 1);
  EXPECT_EQ(v.passwords_sent, 0);
}

TEST(ChaosCheckTest, UnreadableCreateAnswersCarriedNoPassword) {
  Evidence e = Clean();
  e.max_body_bytes = 1000;
  // Cut short before the password (the simulator found no whole password member in it).
  e.sim_instances["instances"][0]["create_response_faults"] = "malformed_truncate,latency";
  e.sim_instances["instances"][0]["create_response_password"] = false;
  e.sim_instances["instances"][1]["create_response_faults"] = "malformed_huge";
  e.sim_instances["instances"][1]["create_response_bytes"] = 1001;
  e.credentials.clear();
  e.journal["entries"]["e2e/a"]["credentials_saved"] = false;
  e.journal["entries"]["e2e/b"]["credentials_saved"] = false;
  Verdict v = Check(e);
  EXPECT_TRUE(v.ok()) << All(v);
  EXPECT_EQ(v.unsent.at("unreadable"), 2);
  EXPECT_EQ(v.passwords_sent, 0);
  // A huge body under the limit was readable: its password must be saved.
  e.sim_instances["instances"][1]["create_response_bytes"] = 1000;
  v = Check(e);
  EXPECT_EQ(v.passwords_lost, 1);
  EXPECT_THAT(All(v), HasSubstr("LOST PASSWORD: the 202 for i2"));
  // Other faults (latency, a trickle within the timeout), or a body cut short after the
  // password, or without an id, do not excuse a missing password.
  e.sim_instances["instances"][0]["create_response_faults"] = "malformed_truncate,trickle";
  e.sim_instances["instances"][0]["create_response_password"] = true;
  EXPECT_EQ(Check(e).passwords_lost, 2);
}

TEST(ChaosCheckTest, WrongPasswordAndUntruthfulJournalAreCaught) {
  Evidence e = Clean();
  e.credentials["e2e/a"]["password"] = "something else";
  e.journal["entries"]["e2e/b"]["credentials_saved"] = false;
  Verdict v = Check(e);
  EXPECT_THAT(All(v), HasSubstr("hold another password for i1"));
  EXPECT_THAT(All(v), HasSubstr("e2e/b says credentials_saved=false"));
}

TEST(ChaosCheckTest, ParsesTheControllerLog) {
  const std::string log =
      R"({"msg":"aura-controller running","metrics_port":41234,"level":"info"})"
      "\n"
      R"({"msg":"create intent recorded; sending POST /instances","key":"e2e/a","action":"create"})"
      "\n"
      R"({"msg":"create intent recorded; sending POST /instances","key":"e2e/b","action":"create"})"
      "\n"
      R"({"msg":"create intent recorded; sending POST /instances","key":"e2e/c","action":"create"})"
      "\n"
      R"({"msg":"instance creation accepted","component":"aura-client","instance_id":"i1"})"
      "\n"
      R"({"msg":"instance created","key":"e2e/a","action":"create","instance_id":"i1","credentials_saved":true})"
      "\n"
      R"({"msg":"create outcome unknown; keeping the intent","key":"e2e/b","action":"create"})"
      "\n"
      R"({"msg":"DUPLICATE instances after an ambiguous create","level":"error","key":"e2e/b"})"
      "\n"
      R"({"msg":"create intent recorded; sending POST /instances","key":"e2e/d","act)";
  LogFacts f = ParseControllerLog(log);
  EXPECT_EQ(f.metrics_port, 41234);
  EXPECT_EQ(f.intents, 3);
  EXPECT_EQ(f.pending_keys, std::set<std::string>({"e2e/c"}));
  EXPECT_EQ(f.saved_ids, std::set<std::string>({"i1"}));
  EXPECT_EQ(f.received_ids, std::set<std::string>({"i1"}));
  EXPECT_EQ(f.outcomes.at("accepted"), 1);
  EXPECT_EQ(f.outcomes.at("ambiguous"), 1);
  EXPECT_EQ(f.duplicate_alarms, 1);
  EXPECT_EQ(f.errors, 1);
}

}  // namespace
}  // namespace aura::chaos
