// Customer-managed keys created and deleted from AuraCustomerManagedKey specs, exactly once
// (controller_keys_lifecycle.cc, issue 22), and their journal entries never taken for instances.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pkg/reconcile/controller.h"
#include "pkg/reconcile/testing/key_fixture.h"

namespace aura::reconcile {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr char kEntry[] = "cmk/default/vault-key";

spec::CustomerManagedKeySpec KeySpec(spec::DeletionPolicy policy = spec::DeletionPolicy::kRetain) {
  return testing::VaultKeySpec(policy);
}

spec::InstanceSpec Encrypted() { return testing::VaultInstanceSpec(spec::DeletionPolicy::kDelete); }

class KeyLifecycleTest : public testing::KeyControllerTest {
 protected:
  KeyLifecycleTest() { options_.plan.settle_window = seconds(60); }
  std::optional<store::JournalEntry> Entry(const std::string& key = kEntry) {
    auto e = journal_.Get(key);
    if (!e.ok()) return std::nullopt;
    return *e;
  }
};

TEST_F(KeyLifecycleTest, CreatesTheKeyOnceThenTheInstanceWithIt) {
  specs_.SetKeys({KeySpec()});
  specs_.Set({Encrypted()});
  Start();
  auto plan = controller_->PlanOnly();
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->key_changes.size(), 1u);
  EXPECT_EQ(plan->key_changes[0].op, "key-create");
  EXPECT_EQ(plan->key_changes[0].message,
            "create customer-managed key \"Vault Key\" in tenant tenant-1");
  EXPECT_TRUE(plan->HasChanges());
  EXPECT_EQ(api_.calls()["create_key"], 0);  // plan sends no write

  Pass();
  EXPECT_EQ(api_.calls()["create_key"], 1);
  ASSERT_EQ(api_.keys().size(), 1u);
  const std::string key_id = api_.keys()[0].id;
  auto e = Entry();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->instance_id, key_id);
  EXPECT_FALSE(e->intent.has_value());
  EXPECT_EQ(api_.calls()["create"], 0);  // the key is still pending
  EXPECT_THAT(Status().message, HasSubstr("to be ready: status pending"));

  ASSERT_TRUE(testing::Converge(*controller_, api_, clock_, 60, true)) << Status().message;
  EXPECT_EQ(api_.calls()["create_key"], 1);
  EXPECT_EQ(api_.calls()["create"], 1);
  ASSERT_EQ(api_.instances().size(), 1u);
  EXPECT_EQ(api_.instances()[0].customer_managed_key_id, key_id);
  // Resolved through the journal: the key is not listed by name once recorded.
  const int lists = api_.calls()["list_keys"];
  for (int i = 0; i < 3; ++i) Pass();
  EXPECT_EQ(api_.calls()["list_keys"], lists);
  EXPECT_EQ(api_.calls()["create_key"], 1);
  EXPECT_EQ(api_.keys().size(), 1u);
}

TEST_F(KeyLifecycleTest, AnExistingKeyOfTheNameIsAdoptedNotCreated) {
  const std::string key_id = api_.AddKey("tenant-1", "Vault Key", "ready");
  specs_.SetKeys({KeySpec()});
  Start();
  Pass();
  EXPECT_EQ(api_.calls()["create_key"], 0);
  ASSERT_TRUE(Entry().has_value());
  EXPECT_EQ(Entry()->instance_id, key_id);
  EXPECT_EQ(Entry()->origin, store::Origin::kAdopted);
}

TEST_F(KeyLifecycleTest, CrashAfterTheIntentThenRestartAdoptsInsteadOfCreating) {
  specs_.SetKeys({KeySpec()});
  // An earlier run wrote its intent, sent the POST (which landed) and died.
  store::JournalEntry e;
  e.key = kEntry;
  e.intent = store::CreateIntent{"Vault Key", "tenant-1", clock_.SystemNow(), 1, false, ""};
  e.aura_name = "Vault Key";
  e.tenant_id = "tenant-1";
  e.updated = clock_.SystemNow();
  ASSERT_TRUE(journal_.Put(e).ok());
  const std::string key_id = api_.AddKey("tenant-1", "Vault Key");
  Start();
  Pass();
  EXPECT_EQ(api_.calls()["create_key"], 0);
  ASSERT_TRUE(Entry().has_value());
  EXPECT_FALSE(Entry()->intent.has_value());
  EXPECT_EQ(Entry()->instance_id, key_id);
  EXPECT_EQ(api_.keys().size(), 1u);
}

TEST_F(KeyLifecycleTest, CrashAfterTheIntentWithNothingListedWaitsTheSettleWindow) {
  specs_.SetKeys({KeySpec()});
  store::JournalEntry e;
  e.key = kEntry;
  e.intent = store::CreateIntent{"Vault Key", "tenant-1", clock_.SystemNow(), 1, false, ""};
  e.updated = clock_.SystemNow();
  ASSERT_TRUE(journal_.Put(e).ok());
  Start();  // marks the intent ambiguous: the settle window counts from now
  Pass();
  EXPECT_EQ(api_.calls()["create_key"], 0);
  ASSERT_TRUE(Entry()->intent.has_value());
  EXPECT_TRUE(Entry()->intent->ambiguous);
  clock_.Advance(seconds(61));
  Pass();
  EXPECT_EQ(api_.calls()["create_key"], 1);  // the LIST after the window is authoritative
  EXPECT_EQ(api_.keys().size(), 1u);
  EXPECT_FALSE(Entry()->intent.has_value());
}

TEST_F(KeyLifecycleTest, AnAmbiguousCreateIsReobservedNeverResent) {
  specs_.SetKeys({KeySpec()});
  specs_.Set({Encrypted()});
  Start();
  // The POST commits but its reply is lost.
  api_.ScriptError("create_key", base::AmbiguousError("connection reset after the request"));
  (void)controller_->StartPass();
  EXPECT_EQ(api_.calls()["create_key"], 1);
  ASSERT_TRUE(Entry().has_value());
  ASSERT_TRUE(Entry()->intent.has_value());
  EXPECT_TRUE(Entry()->intent->ambiguous);
  controller_->ProcessReady();
  EXPECT_THAT(Status().message, HasSubstr("of unknown outcome"));
  EXPECT_EQ(api_.calls()["create"], 0);
  const std::string key_id = api_.AddKey("tenant-1", "Vault Key", "ready");  // it did land

  for (int i = 0; i < 3; ++i) Pass();
  EXPECT_EQ(api_.calls()["create_key"], 1);
  EXPECT_FALSE(Entry()->intent.has_value());
  EXPECT_EQ(Entry()->instance_id, key_id);
  ASSERT_TRUE(testing::Converge(*controller_, api_, clock_, 60, true)) << Status().message;
  EXPECT_EQ(api_.calls()["create_key"], 1);
  EXPECT_EQ(api_.instances()[0].customer_managed_key_id, key_id);
}

TEST_F(KeyLifecycleTest, ARefusedCreateClearsTheIntent) {
  specs_.SetKeys({KeySpec()});
  Start();
  api_.ScriptError("create_key", base::InvalidArgumentError("bad key id").SetHttpStatus(400));
  (void)controller_->StartPass();
  EXPECT_EQ(api_.calls()["create_key"], 1);
  EXPECT_FALSE(Entry().has_value());
}

TEST_F(KeyLifecycleTest, DeleteWaitsForTheInstanceThenDeletesTheKey) {
  options_.plan.allow_delete = true;
  specs_.SetKeys({KeySpec(spec::DeletionPolicy::kDelete)});
  specs_.Set({Encrypted()});
  Start();
  ASSERT_TRUE(testing::Converge(*controller_, api_, clock_, 60, true)) << Status().message;
  ASSERT_EQ(api_.keys().size(), 1u);
  const std::string key_id = api_.keys()[0].id;

  // The key spec goes first while the instance spec still refers to it: nothing is deleted.
  specs_.SetKeys({});
  Pass();
  EXPECT_EQ(api_.calls()["delete_key"], 0);
  EXPECT_EQ(api_.keys().size(), 1u);
  auto plan = controller_->PlanOnly();
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->key_changes.size(), 1u);
  EXPECT_EQ(plan->key_changes[0].op, "key-wait");
  EXPECT_THAT(plan->key_changes[0].message, HasSubstr("instance spec default/vault refers to it"));

  // Then the instance spec: the instance is deleted, then the key.
  specs_.Set({});
  for (int i = 0; i < 10 && !api_.keys().empty(); ++i) {
    Pass();
    api_.SettleAll();
  }
  EXPECT_TRUE(api_.instances().empty());
  EXPECT_TRUE(api_.keys().empty());
  EXPECT_FALSE(Entry().has_value());
  // Aura's 400 while the instance was still there was reported, never acted on.
  EXPECT_GE(api_.calls()["delete_key"], 1);
  EXPECT_EQ(api_.calls()["delete"], 1);
}

TEST_F(KeyLifecycleTest, AKeyInUseIsReportedAndTriedAgain) {
  options_.plan.allow_delete = true;
  specs_.SetKeys({KeySpec(spec::DeletionPolicy::kDelete)});
  Start();
  Pass();
  const std::string key_id = Entry()->instance_id;
  // An instance this controller does not manage uses the key.
  const std::string other = api_.AddInstance("tenant-1", "elsewhere");
  api_.SetKeyOf(other, key_id);
  specs_.SetKeys({});
  auto plan = controller_->PlanOnly();
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->key_changes.size(), 1u);
  EXPECT_EQ(plan->key_changes[0].op, "key-delete");
  (void)controller_->StartPass();
  EXPECT_EQ(api_.calls()["delete_key"], 1);
  EXPECT_EQ(api_.keys().size(), 1u);
  EXPECT_TRUE(Entry().has_value());
  EXPECT_FALSE(controller_->Converged());
  api_.Remove(other);
  (void)controller_->StartPass();
  EXPECT_TRUE(api_.keys().empty());
  EXPECT_FALSE(Entry().has_value());
}

TEST_F(KeyLifecycleTest, DeleteNeedsAllowDelete) {
  specs_.SetKeys({KeySpec(spec::DeletionPolicy::kDelete)});
  Start();
  Pass();
  specs_.SetKeys({});
  Pass();
  EXPECT_EQ(api_.calls()["delete_key"], 0);
  EXPECT_TRUE(Entry().has_value());
  auto plan = controller_->PlanOnly();
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->key_changes.size(), 1u);
  EXPECT_THAT(plan->key_changes[0].message, HasSubstr("--allow-delete"));
}

TEST_F(KeyLifecycleTest, RetainForgetsTheEntryOnly) {
  options_.plan.allow_delete = true;
  specs_.SetKeys({KeySpec(spec::DeletionPolicy::kRetain)});
  Start();
  Pass();
  ASSERT_TRUE(Entry().has_value());
  specs_.SetKeys({});
  auto plan = controller_->PlanOnly();
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->key_changes.size(), 1u);
  EXPECT_EQ(plan->key_changes[0].op, "key-forget");
  Pass();
  EXPECT_FALSE(Entry().has_value());
  EXPECT_EQ(api_.keys().size(), 1u);
  EXPECT_EQ(api_.calls()["delete_key"], 0);
}

TEST_F(KeyLifecycleTest, AKeyEntryIsNeverPlannedDeletedOrReadAsAnInstance) {
  // A key entry whose id is also an instance's id in Aura, deletionPolicy Delete, deletes
  // allowed, no instance spec at all: nothing about instances may touch it.
  options_.plan.allow_delete = true;
  const std::string instance_id = api_.AddInstance("tenant-1", "Vault Key");
  specs_.SetKeys({KeySpec(spec::DeletionPolicy::kDelete)});
  store::JournalEntry e;
  e.key = kEntry;
  e.instance_id = instance_id;
  e.aura_name = "Vault Key";
  e.tenant_id = "tenant-1";
  e.delete_on_removal = true;
  ASSERT_TRUE(journal_.Put(e).ok());
  api_.AddKey("tenant-1", "Vault Key", "ready");
  Start();
  for (int i = 0; i < 3; ++i) Pass();
  EXPECT_EQ(api_.calls()["get"], 0);
  EXPECT_EQ(api_.calls()["delete"], 0);
  EXPECT_EQ(api_.calls()["delete_key"], 0);
  EXPECT_EQ(api_.instances().size(), 1u);
  for (const auto& s : controller_->Statuses()) EXPECT_NE(s.key, kEntry);
  auto plan = controller_->PlanOnly();
  ASSERT_TRUE(plan.ok()) << plan.status();
  for (const auto& k : plan->keys) EXPECT_NE(k.key, kEntry);
  EXPECT_TRUE(plan->Actions().empty());
  EXPECT_EQ(api_.calls()["get"], 0);
  EXPECT_TRUE(controller_->Converged());
  // Still in the journal, untouched.
  ASSERT_TRUE(Entry().has_value());
  EXPECT_EQ(Entry()->instance_id, instance_id);
  // And the view the controller reads for instances does not show it.
  store::InstanceJournal view(journal_);
  EXPECT_TRUE(view.List()->empty());
  EXPECT_EQ(view.Get(kEntry).status().code(), base::StatusCode::kNotFound);
}

}  // namespace
}  // namespace aura::reconcile
