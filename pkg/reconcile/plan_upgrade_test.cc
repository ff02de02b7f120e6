// type: professional-db -> business-critical by POST /instances/{id}/upgrade (issue 22).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pkg/reconcile/executor.h"
#include "pkg/reconcile/planner.h"
#include "pkg/reconcile/testing/fakes.h"

namespace aura::reconcile {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeSpec;

const base::SystemTime kNow = base::SystemTime(std::chrono::seconds(1798761600));

class PlanUpgradeTest : public ::testing::Test {
 protected:
  PlanUpgradeTest() {
    spec_ = MakeSpec("orders");
    entry_.key = spec_.key();
    entry_.instance_id = "abcd1234";
    entry_.aura_name = "orders";
    entry_.tenant_id = spec_.tenant_id;
    entry_.cloud_provider = spec_.cloud_provider;
    entry_.region = spec_.region;
    entry_.type = "professional-db";
    entry_.version = spec_.version;
    observed_.listings[spec_.tenant_id].fetched_at = kNow;
    observed_.listings[spec_.tenant_id].instances.push_back(
        {"abcd1234", "orders", spec_.tenant_id, "gcp", "2026-01-01T00:00:00Z"});
    Observe("running", "professional-db", spec_.memory);
  }
  void Observe(const std::string& status, const std::string& type, const std::string& memory) {
    InstanceObservation o;
    o.found = true;
    o.instance.id = "abcd1234";
    o.instance.name = "orders";
    o.instance.status = status;
    o.instance.tenant_id = spec_.tenant_id;
    o.instance.cloud_provider = spec_.cloud_provider;
    o.instance.region = spec_.region;
    o.instance.type = type;
    o.instance.memory = memory;
    o.instance.storage = std::to_string(2 * std::stoi(memory)) + "GB";
    o.instance.vector_optimized = false;
    o.instance.graph_analytics_plugin = false;
    o.observed_at = kNow;
    observed_.instances["abcd1234"] = o;
  }
  KeyPlan Plan() {
    return PlanKey(&spec_, false, &entry_, observed_, Owners{{"abcd1234", spec_.key()}}, kNow,
                   PlanOptions{});
  }
  static std::vector<ActionType> Types(const KeyPlan& p) {
    std::vector<ActionType> t;
    for (const auto& a : p.actions) t.push_back(a.type);
    return t;
  }
  spec::InstanceSpec spec_;
  store::JournalEntry entry_;
  Observed observed_;
};

TEST_F(PlanUpgradeTest, ProfessionalToBusinessCriticalIsAnUpgradeWithoutResize) {
  spec_.type = "business-critical";
  KeyPlan p = Plan();
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kUpgrade));
  EXPECT_FALSE(p.actions[0].upgrade.memory.has_value());
  EXPECT_FALSE(p.actions[0].upgrade.storage.has_value());
  EXPECT_THAT(p.actions[0].reason, HasSubstr("type professional-db -> business-critical"));
  EXPECT_TRUE(p.actions[0].IsApiWrite());
  EXPECT_EQ(ActionTypeName(ActionType::kUpgrade), "upgrade");
}

TEST_F(PlanUpgradeTest, AResizeGoesWithTheUpgradeNotInAPatch) {
  spec_.type = "business-critical";
  spec_.memory = "8GB";
  spec_.storage = "16GB";
  KeyPlan p = Plan();
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kUpgrade));
  EXPECT_EQ(p.actions[0].upgrade.memory, "8GB");
  EXPECT_EQ(p.actions[0].upgrade.storage, "16GB");
  EXPECT_THAT(p.actions[0].reason, HasSubstr("memory 4GB -> 8GB, storage 8GB -> 16GB"));
}

TEST_F(PlanUpgradeTest, WaitsWhileBusyAndIsDoneOnceTheTypeReadsBack) {
  spec_.type = "business-critical";
  Observe("updating", "business-critical", spec_.memory);
  EXPECT_TRUE(Plan().actions.empty());
  Observe("running", "business-critical", spec_.memory);
  entry_.type = "business-critical";
  KeyPlan done = Plan();
  EXPECT_TRUE(done.actions.empty());
  EXPECT_EQ(done.status.phase, kPhaseReady);
  // Even with the journal not updated (its write failed), the observed type decides.
  entry_.type = "professional-db";
  EXPECT_TRUE(Plan().actions.empty());
  EXPECT_EQ(Plan().status.phase, kPhaseReady);
}

TEST_F(PlanUpgradeTest, OtherTypeChangesStayRefusedWithTheReason) {
  for (const char* to : {"enterprise-db", "professional-ds", "free-db"}) {
    spec_.type = to;
    KeyPlan p = Plan();
    EXPECT_TRUE(p.actions.empty()) << to;
    EXPECT_EQ(p.status.phase, kPhaseError) << to;
    EXPECT_TRUE(p.terminal);
    EXPECT_THAT(p.status.message,
                HasSubstr("Aura cannot change it in place (only professional-db to "
                          "business-critical, by an upgrade)"));
  }
  // And back: business-critical to professional-db is no upgrade.
  entry_.type = "business-critical";
  Observe("running", "business-critical", spec_.memory);
  spec_.type = "professional-db";
  EXPECT_EQ(Plan().status.phase, kPhaseError);
}

TEST(ExecutorUpgrade, SendsTheUpgradeAndRecordsTheNewType) {
  base::FakeClock clock;
  testing::FakeAuraApi api(&clock);
  testing::MemJournal journal;
  testing::MemCredentialStore creds;
  metrics::Metrics metrics;
  base::Logger log(base::LogLevel::kError, base::LogFormat::kJson, [](std::string_view) {});
  Executor exec(api, journal, creds, clock, metrics, log);
  const std::string id = api.AddInstance("tenant-1", "orders");
  store::JournalEntry e;
  e.key = "default/orders";
  e.instance_id = id;
  e.type = "professional-db";
  ASSERT_TRUE(journal.Put(e).ok());
  Action a;
  a.type = ActionType::kUpgrade;
  a.key = e.key;
  a.instance_id = id;
  a.upgrade.memory = "8GB";
  a.upgrade.storage = "16GB";
  ActionResult r = exec.Execute(a);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(api.instance(id)->type, "business-critical");
  EXPECT_EQ(api.instance(id)->memory, "8GB");
  ASSERT_TRUE(r.observation.has_value());
  EXPECT_EQ(r.observation->second.instance.status, "updating");
  EXPECT_EQ(journal.Get(e.key)->type, "business-critical");
  EXPECT_EQ(api.calls()["upgrade"], 1);

  // A second upgrade is refused by Aura; the journal is left alone.
  api.SettleAll();
  ActionResult again = exec.Execute(a);
  EXPECT_FALSE(again.status.ok());
}

}  // namespace
}  // namespace aura::reconcile

namespace aura::reconcile {
namespace {

// spec.secondariesCount: by PATCH once running, never while paused (issue 22).
TEST_F(PlanUpgradeTest, SecondariesArePatchedOnceRunning) {
  spec_.type = "enterprise-db";
  entry_.type = "enterprise-db";
  Observe("running", "enterprise-db", spec_.memory);
  observed_.instances["abcd1234"].instance.secondaries_count = 0;
  spec_.secondaries_count = 2;
  KeyPlan p = Plan();
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kPatch));
  EXPECT_EQ(p.actions[0].patch.secondaries_count, 2);
  EXPECT_THAT(p.actions[0].reason, HasSubstr("secondariesCount 0 -> 2"));

  observed_.instances["abcd1234"].instance.secondaries_count = 2;
  EXPECT_TRUE(Plan().actions.empty());
  EXPECT_EQ(Plan().status.phase, kPhaseReady);

  // Unset in the spec: left alone whatever Aura has.
  spec_.secondaries_count.reset();
  EXPECT_TRUE(Plan().actions.empty());
}

TEST_F(PlanUpgradeTest, SecondariesWaitForAPausedInstance) {
  spec_.type = "enterprise-db";
  entry_.type = "enterprise-db";
  spec_.paused = true;
  spec_.secondaries_count = 2;
  Observe("paused", "enterprise-db", spec_.memory);
  KeyPlan p = Plan();
  for (const auto& a : p.actions) EXPECT_NE(a.type, ActionType::kPatch);
}

}  // namespace
}  // namespace aura::reconcile

namespace aura::reconcile {
namespace {

TEST_F(PlanUpgradeTest, CustomerManagedKeyGoesWithTheCreateAndIsImmutable) {
  spec_.type = "enterprise-db";
  spec_.customer_managed_key_id = "key-1";
  Observed none;
  none.listings[spec_.tenant_id].fetched_at = kNow;
  KeyPlan create = PlanKey(&spec_, false, nullptr, none, Owners{}, kNow, PlanOptions{});
  ASSERT_THAT(Types(create), ElementsAre(ActionType::kCreate));
  EXPECT_EQ(create.actions[0].create.customer_managed_key_id, "key-1");

  entry_.type = "enterprise-db";
  Observe("running", "enterprise-db", spec_.memory);
  observed_.instances["abcd1234"].instance.customer_managed_key_id = "key-1";
  EXPECT_EQ(Plan().status.phase, kPhaseReady);
  spec_.customer_managed_key_id = "key-2";
  KeyPlan changed = Plan();
  EXPECT_TRUE(changed.actions.empty());
  EXPECT_EQ(changed.status.phase, kPhaseError);
  EXPECT_THAT(changed.status.message,
              HasSubstr("spec.customerManagedKeyId changed from \"key-1\" to \"key-2\": Aura "
                        "cannot change it in place"));
  // Not reported by Aura: not checked.
  observed_.instances["abcd1234"].instance.customer_managed_key_id.reset();
  EXPECT_NE(Plan().status.phase, kPhaseError);
}

}  // namespace
}  // namespace aura::reconcile
