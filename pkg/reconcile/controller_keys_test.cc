// spec.customerManagedKeyRef in the controller: an instance waits until its key spec's key is
// known (adopted from a LIST here; created: controller_keys_lifecycle_test.cc) and ready, then is
// created once with that key's id (issue 22).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pkg/reconcile/controller.h"
#include "pkg/reconcile/testing/key_fixture.h"

namespace aura::reconcile {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

class ControllerKeysTest : public testing::KeyControllerTest {
 protected:
  ControllerKeysTest() {
    specs_.SetKeys({testing::VaultKeySpec()});
    specs_.Set({testing::VaultInstanceSpec()});
    Start();
  }
};

TEST_F(ControllerKeysTest, WaitsForTheKeyThenCreatesOnceWithItsId) {
  // The key is listed (pending) before the first pass: adopted, not created.
  const std::string key_id = api_.AddKey("tenant-1", "Vault Key", "pending");
  api_.AddKey("tenant-2", "Vault Key", "ready");  // another tenant's: not listed for tenant-1
  Pass();
  EXPECT_EQ(api_.calls()["create_key"], 0);
  EXPECT_EQ(Status().phase, kPhasePending) << Status().message;
  EXPECT_FALSE(controller_->Converged());
  EXPECT_EQ(api_.calls()["create"], 0);
  EXPECT_THAT(Status().message, HasSubstr("to be ready: status pending"));

  api_.SetKeyStatus(key_id, "ready");
  ASSERT_TRUE(testing::Converge(*controller_, api_, clock_, 60, true)) << Status().message;
  EXPECT_EQ(api_.calls()["create"], 1);
  ASSERT_EQ(api_.instances().size(), 1u);
  EXPECT_EQ(api_.instances()[0].customer_managed_key_id, key_id);
  EXPECT_EQ(api_.instances()[0].type, "enterprise-db");
  // Resolved once: later passes neither list nor read the key again.
  const int gets = api_.calls()["get_key"];
  Pass();
  EXPECT_EQ(api_.calls()["get_key"], gets);
  EXPECT_TRUE(controller_->Converged());
}

TEST_F(ControllerKeysTest, SeveralKeysOfTheNameAreNeverGuessedBetween) {
  api_.AddKey("tenant-1", "Vault Key");
  api_.AddKey("tenant-1", "Vault Key");
  Pass();
  EXPECT_EQ(api_.calls()["create"], 0);
  EXPECT_THAT(Status().message, HasSubstr("several keys of that name"));
}

TEST_F(ControllerKeysTest, AListingErrorOnlyDelays) {
  api_.AddKey("tenant-1", "Vault Key");
  // Both the pass's key lookup and the instance's resolution fail once.
  api_.ScriptError("list_keys", base::UnavailableError("down"));
  api_.ScriptError("list_keys", base::UnavailableError("down"));
  (void)controller_->StartPass();
  controller_->ProcessReady();
  EXPECT_EQ(api_.calls()["create"], 0);
  EXPECT_THAT(Status().message, HasSubstr("listing keys fails"));
  ASSERT_TRUE(testing::Converge(*controller_, api_, clock_, 60, true)) << Status().message;
  EXPECT_EQ(api_.calls()["create"], 1);
}

TEST_F(ControllerKeysTest, PlanShowsTheWaitAndThenTheCreateWithTheKey) {
  auto plan = controller_->PlanOnly();
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->keys.size(), 1u);
  EXPECT_TRUE(plan->keys[0].actions.empty());
  EXPECT_EQ(plan->keys[0].status.phase, kPhasePending);
  EXPECT_THAT(plan->keys[0].status.message, HasSubstr("Aura lists no key"));

  const std::string key_id = api_.AddKey("tenant-1", "Vault Key");
  plan = controller_->PlanOnly();
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->keys[0].actions.size(), 1u);
  EXPECT_EQ(plan->keys[0].actions[0].type, ActionType::kCreate);
  EXPECT_EQ(plan->keys[0].actions[0].create.customer_managed_key_id, key_id);
}

}  // namespace
}  // namespace aura::reconcile
