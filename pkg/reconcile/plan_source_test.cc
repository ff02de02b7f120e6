// spec.source in the planner: clone at create only, the source must exist (issue 22).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pkg/reconcile/planner.h"
#include "pkg/reconcile/testing/fakes.h"

namespace aura::reconcile {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeSpec;

const base::SystemTime kNow = base::SystemTime(std::chrono::seconds(1798761600));

class PlanSourceTest : public ::testing::Test {
 protected:
  PlanSourceTest() {
    spec_ = MakeSpec("clone");
    observed_.listings["tenant-1"].fetched_at = kNow;
  }
  void List(const std::string& id, const std::string& name) {
    observed_.listings["tenant-1"].instances.push_back(
        {id, name, "tenant-1", "gcp", "2026-01-01T00:00:00Z"});
  }
  KeyPlan Plan(const store::JournalEntry* e = nullptr, const Owners& owners = {}) {
    return PlanKey(&spec_, false, e, observed_, owners, kNow, PlanOptions{});
  }
  static std::vector<ActionType> Types(const KeyPlan& p) {
    std::vector<ActionType> t;
    for (const auto& a : p.actions) t.push_back(a.type);
    return t;
  }
  Observed observed_;
  spec::InstanceSpec spec_;
};

TEST_F(PlanSourceTest, InstanceIdListedIsSentWithTheCreate) {
  List("db1d1234", "prod");
  spec_.source = spec::SourceSpec{"", "db1d1234", "3e5e6e27-bf0a"};
  KeyPlan p = Plan();
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kCreate));
  EXPECT_EQ(p.actions[0].create.source_instance_id, "db1d1234");
  EXPECT_EQ(p.actions[0].create.source_snapshot_id, "3e5e6e27-bf0a");
  EXPECT_THAT(p.actions[0].reason, HasSubstr("clone of db1d1234 snapshot 3e5e6e27-bf0a"));
}

TEST_F(PlanSourceTest, InstanceIdNotListedIsAnErrorNotACreate) {
  List("aaaa0000", "other");
  spec_.source = spec::SourceSpec{"", "db1d1234", ""};
  KeyPlan p = Plan();
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(p.status.phase, kPhaseError);
  EXPECT_TRUE(p.terminal);
  EXPECT_THAT(p.status.message,
              HasSubstr("spec.source.instanceId: instance db1d1234 not found in the instance "
                        "lists of tenant(s) tenant-1"));
}

TEST_F(PlanSourceTest, SpecReferenceUsesTheOtherKeysInstanceOnceItHasOne) {
  spec_.source = spec::SourceSpec{"default/prod", "", ""};
  KeyPlan waiting = Plan();
  EXPECT_TRUE(waiting.actions.empty());
  EXPECT_EQ(waiting.status.phase, kPhasePending);
  EXPECT_FALSE(waiting.terminal);
  EXPECT_THAT(waiting.status.message, HasSubstr("default/prod: that spec has no instance yet"));

  List("db1d1234", "prod");
  KeyPlan p = Plan(nullptr, Owners{{"db1d1234", "default/prod"}});
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kCreate));
  EXPECT_EQ(p.actions[0].create.source_instance_id, "db1d1234");
  EXPECT_FALSE(p.actions[0].create.source_snapshot_id.has_value());
}

TEST_F(PlanSourceTest, SourceNotStableWaits) {
  List("db1d1234", "prod");
  InstanceObservation o;
  o.found = true;
  o.instance.id = "db1d1234";
  o.instance.status = "creating";
  observed_.instances["db1d1234"] = o;
  spec_.source = spec::SourceSpec{"", "db1d1234", ""};
  KeyPlan p = Plan();
  EXPECT_TRUE(p.actions.empty());
  EXPECT_THAT(p.status.message, HasSubstr("source instance db1d1234 is creating"));
}

TEST_F(PlanSourceTest, SameNamedInstanceIsStillAdoptedNotCloned) {
  List("bbbb1111", "clone");
  spec_.source = spec::SourceSpec{"", "db1d1234", ""};
  KeyPlan first = Plan();  // an adoption reads the instance first
  EXPECT_TRUE(first.need_detail);
  EXPECT_TRUE(first.actions.empty());
  InstanceObservation o;
  o.found = true;
  o.instance.id = "bbbb1111";
  o.instance.status = "running";
  observed_.instances["bbbb1111"] = o;
  KeyPlan p = Plan();
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kAdopt));
  EXPECT_FALSE(p.actions[0].create.source_instance_id.has_value());
}

TEST_F(PlanSourceTest, AfterCreateTheSourceHasNoEffectAndThePlanSaysSo) {
  List("bbbb1111", "clone");
  spec_.source = spec::SourceSpec{"", "cccc2222", ""};  // changed, or gone: no matter
  store::JournalEntry e;
  e.key = spec_.key();
  e.instance_id = "bbbb1111";
  e.aura_name = "clone";
  e.tenant_id = "tenant-1";
  KeyPlan p = Plan(&e, Owners{{"bbbb1111", spec_.key()}});
  for (const auto& a : p.actions) EXPECT_NE(a.type, ActionType::kCreate);
  EXPECT_NE(p.status.phase, kPhaseError);
  EXPECT_THAT(p.status.message,
              HasSubstr("spec.source (instance cccc2222) is used only at create: no effect on "
                        "the existing instance"));
}

}  // namespace
}  // namespace aura::reconcile
