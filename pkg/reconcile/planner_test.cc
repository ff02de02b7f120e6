#include "pkg/reconcile/planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pkg/reconcile/planner_internal.h"
#include "pkg/reconcile/testing/fakes.h"

namespace aura::reconcile {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeSpec;

const base::SystemTime kNow = base::SystemTime(std::chrono::seconds(1798761600));  // 2027-01-01

std::string At(base::SystemTime t) {
  std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class PlannerTestBase : public ::testing::Test {
 protected:
  // Adds an instance to tenant-1's listing (fetched at `listed_at`).
  void List(const std::string& id, const std::string& name, base::SystemTime created,
            base::SystemTime listed_at = kNow) {
    auto& l = observed_.listings["tenant-1"];
    l.fetched_at = listed_at;
    l.instances.push_back({id, name, "tenant-1", "gcp", At(created)});
  }
  void EmptyListing(base::SystemTime listed_at = kNow) {
    observed_.listings["tenant-1"].fetched_at = listed_at;
  }
  void Observe(const std::string& id, const std::string& status, const std::string& memory = "4GB",
               const std::string& name = "orders") {
    InstanceObservation o;
    o.found = true;
    o.instance.id = id;
    o.instance.name = name;
    o.instance.status = status;
    o.instance.tenant_id = "tenant-1";
    o.instance.cloud_provider = "gcp";
    o.instance.region = "europe-west1";
    o.instance.type = "professional-db";
    o.instance.memory = memory;
    o.instance.storage = std::to_string(2 * std::stoi(memory)) + "GB";
    o.instance.vector_optimized = false;
    o.instance.graph_analytics_plugin = false;
    o.observed_at = kNow;
    o.request_id = "req-get";
    observed_.instances[id] = o;
  }
  void ObserveGone(const std::string& id) {
    InstanceObservation o;
    o.found = false;
    o.observed_at = kNow;
    observed_.instances[id] = o;
  }
  store::JournalEntry Known(const std::string& id, bool delete_on_removal = false) {
    store::JournalEntry e;
    e.key = "default/orders";
    e.instance_id = id;
    e.aura_name = "orders";
    e.tenant_id = "tenant-1";
    e.cloud_provider = "gcp";
    e.region = "europe-west1";
    e.type = "professional-db";
    e.version = "5";
    e.delete_on_removal = delete_on_removal;
    return e;
  }
  store::JournalEntry WithIntent(base::SystemTime at, int attempt = 1) {
    store::JournalEntry e;
    e.key = "default/orders";
    e.aura_name = "orders";
    e.tenant_id = "tenant-1";
    e.intent = store::CreateIntent{"orders", "tenant-1", at, attempt, true, "req-500"};
    return e;
  }
  KeyPlan PlanFor(const spec::InstanceSpec* s, const store::JournalEntry* e, bool invalid = false,
                  const Owners& owners = {}) {
    return PlanKey(s, invalid, e, observed_, owners, kNow, options_);
  }
  static std::vector<ActionType> Types(const KeyPlan& p) {
    std::vector<ActionType> t;
    for (const auto& a : p.actions) t.push_back(a.type);
    return t;
  }

  Observed observed_;
  PlanOptions options_;
  spec::InstanceSpec spec_ = MakeSpec("orders");
};

class PlannerTest : public PlannerTestBase {};

// ---- no journal entry ----

TEST_F(PlannerTest, NewSpecWithEmptyTenantIsCreated) {
  EmptyListing();
  KeyPlan p = PlanFor(&spec_, nullptr);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kCreate));
  EXPECT_EQ(p.actions[0].attempt, 1);
  EXPECT_EQ(p.actions[0].create.name, "orders");
  EXPECT_EQ(p.actions[0].create.memory, "4GB");
  EXPECT_EQ(p.actions[0].create.storage, "8GB");
  EXPECT_EQ(p.status.phase, kPhaseCreating);
}

TEST_F(PlannerTest, NewSpecWithoutListingWaitsForIt) {
  KeyPlan p = PlanFor(&spec_, nullptr);
  EXPECT_TRUE(p.actions.empty());
  ASSERT_TRUE(p.need_listing_after.has_value());
  EXPECT_EQ(p.tenant_id, "tenant-1");
}

TEST_F(PlannerTest, SameNamedInstanceIsAdoptedWhenIfExists) {
  List("aaaa0001", "orders", kNow - minutes(60));
  // First its details: what the adoption changes is shown with it.
  KeyPlan first = PlanFor(&spec_, nullptr);
  EXPECT_TRUE(first.actions.empty());
  EXPECT_TRUE(first.need_detail);
  EXPECT_EQ(first.status.aura_id, "aaaa0001");
  Observe("aaaa0001", "running", spec_.memory);
  KeyPlan p = PlanFor(&spec_, nullptr);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kAdopt));
  EXPECT_EQ(p.actions[0].instance_id, "aaaa0001");
  EXPECT_THAT(p.actions[0].reason, HasSubstr("as specified"));
  EXPECT_THAT(p.actions[0].reason, HasSubstr("password: unknown, instance not created here"));
}

TEST_F(PlannerTest, AdoptionShowsEveryChangeItBrings) {
  List("aaaa0001", "orders", kNow - minutes(60));
  spec_.memory = "2GB";
  spec_.storage = "4GB";
  spec_.paused = true;
  Observe("aaaa0001", "running", "8GB");  // storage 16GB
  KeyPlan p = PlanFor(&spec_, nullptr);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kAdopt));
  EXPECT_THAT(p.actions[0].reason,
              HasSubstr("adopt existing instance aaaa0001 named \"orders\", then memory 8GB -> "
                        "2GB, storage 16GB -> 4GB, pause"));
}

TEST_F(PlannerTest, SameNamedInstanceIsAConflictWhenNever) {
  spec_.adoption = spec::Adoption::kNever;
  List("aaaa0001", "orders", kNow - minutes(60));
  KeyPlan p = PlanFor(&spec_, nullptr);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(p.status.phase, kPhaseConflict);
  EXPECT_TRUE(p.status.conflict);
  EXPECT_TRUE(p.terminal);
}

TEST_F(PlannerTest, SeveralSameNamedInstancesAreNotGuessed) {
  List("aaaa0001", "orders", kNow - minutes(60));
  List("aaaa0002", "orders", kNow - minutes(30));
  KeyPlan p = PlanFor(&spec_, nullptr);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(p.status.phase, kPhaseConflict);
  EXPECT_THAT(p.status.message, HasSubstr("2 instances"));
}

TEST_F(PlannerTest, NameUsedByAnotherKeysInstanceIsNeverCreatedAgain) {
  List("aaaa0001", "orders", kNow - minutes(60));
  KeyPlan p = PlanFor(&spec_, nullptr, false, {{"aaaa0001", "default/other"}});
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(p.status.phase, kPhaseConflict);
  EXPECT_THAT(p.status.message, HasSubstr("default/other"));
  EXPECT_TRUE(p.requeue_after.has_value());
}

TEST_F(PlannerTest, OtherNamesInTheTenantDoNotMatter) {
  List("aaaa0001", "payments", kNow - minutes(60));
  KeyPlan p = PlanFor(&spec_, nullptr);
  EXPECT_THAT(Types(p), ElementsAre(ActionType::kCreate));
}

TEST_F(PlannerTest, CreateCarriesOptionalFlagsOnlyWhenSet) {
  EmptyListing();
  spec_.vector_optimized = true;
  KeyPlan p = PlanFor(&spec_, nullptr);
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_EQ(p.actions[0].create.vector_optimized, true);
  EXPECT_FALSE(p.actions[0].create.graph_analytics_plugin.has_value());
}

TEST_F(PlannerTest, DeletePolicyTravelsWithTheCreate) {
  EmptyListing();
  spec_.deletion_policy = spec::DeletionPolicy::kDelete;
  KeyPlan p = PlanFor(&spec_, nullptr);
  ASSERT_EQ(p.actions.size(), 1u);
  EXPECT_TRUE(p.actions[0].delete_on_removal);
}

// ---- pending create intents ----

TEST_F(PlannerTest, IntentWaitsForAListingSentAfterIt) {
  store::JournalEntry e = WithIntent(kNow - seconds(10));
  EmptyListing(kNow - seconds(20));
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  ASSERT_TRUE(p.need_listing_after.has_value());
  EXPECT_EQ(*p.need_listing_after, kNow - seconds(10));
  EXPECT_TRUE(p.status.pending_create);
}

TEST_F(PlannerTest, IntentResolvesToTheInstanceThatAppeared) {
  store::JournalEntry e = WithIntent(kNow - seconds(10));
  List("bbbb0001", "orders", kNow - seconds(9));
  KeyPlan p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kRecordCreated));
  EXPECT_EQ(p.actions[0].instance_id, "bbbb0001");
  EXPECT_TRUE(p.actions[0].duplicate_ids.empty());
}

TEST_F(PlannerTest, IntentWithTwoMatchesKeepsOldestAndReportsDuplicate) {
  store::JournalEntry e = WithIntent(kNow - seconds(100));
  List("bbbb0002", "orders", kNow - seconds(50));
  List("bbbb0001", "orders", kNow - seconds(90));
  KeyPlan p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kRecordCreated));
  EXPECT_EQ(p.actions[0].instance_id, "bbbb0001");
  EXPECT_THAT(p.actions[0].duplicate_ids, ElementsAre("bbbb0002"));
  EXPECT_THAT(p.status.duplicate_ids, ElementsAre("bbbb0002"));
}

TEST_F(PlannerTest, IntentWithNoInstanceWaitsOutTheSettleWindow) {
  store::JournalEntry e = WithIntent(kNow - seconds(20));
  EmptyListing(kNow);
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  ASSERT_TRUE(p.requeue_after.has_value());
  EXPECT_EQ(*p.requeue_after, seconds(40));
  EXPECT_EQ(*p.need_listing_after, kNow + seconds(40));
}

TEST_F(PlannerTest, IntentThatNeverLandedAllowsANewAttempt) {
  store::JournalEntry e = WithIntent(kNow - seconds(120), 1);
  EmptyListing(kNow);
  KeyPlan p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kCreate));
  EXPECT_EQ(p.actions[0].attempt, 2);
  EXPECT_THAT(p.actions[0].reason, HasSubstr("never landed"));
}

TEST_F(PlannerTest, ListingBeforeSettleDeadlineIsNotEnoughToRetry) {
  store::JournalEntry e = WithIntent(kNow - seconds(120));
  EmptyListing(kNow - seconds(61));  // sent 59 s after the intent: LIST may still lag
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(*p.need_listing_after, kNow - seconds(60));
}

// The POST waited 30 s in the limiter after its intent (a 429's Retry-After), then failed
// ambiguously: its instance may appear in LIST up to a settle window after that, not after the
// intent. Retrying 60 s after the intent made a duplicate under a lagging LIST.
TEST_F(PlannerTest, SettleWindowCountsFromTheAmbiguousOutcomeNotTheIntent) {
  store::JournalEntry e = WithIntent(kNow - seconds(70));
  e.updated = kNow - seconds(40);  // the ambiguous mark, written when the POST returned
  EmptyListing(kNow);
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(*p.need_listing_after, kNow + seconds(20));
  EXPECT_EQ(*p.requeue_after, seconds(20));

  EmptyListing(kNow + seconds(20));
  p = PlanKey(&spec_, false, &e, observed_, {}, kNow + seconds(20), options_);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kCreate));
  EXPECT_EQ(p.actions[0].attempt, 2);

  // Only a known outcome moves the window: an unmarked intent counts from the intent.
  e.intent->ambiguous = false;
  EmptyListing(kNow);
  p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kCreate));
}

TEST_F(PlannerTest, IntentMatchWithinClockSkewCounts) {
  store::JournalEntry e = WithIntent(kNow - seconds(10));
  List("bbbb0001", "orders", kNow - seconds(70));  // Aura's clock 60 s behind ours
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_THAT(Types(p), ElementsAre(ActionType::kRecordCreated));
}

TEST_F(PlannerTest, IntentIgnoresInstancesOlderThanTheSkewButAdoptsAfterSettle) {
  store::JournalEntry e = WithIntent(kNow - seconds(120));
  List("old00001", "orders", kNow - minutes(600));
  Observe("old00001", "running", spec_.memory);
  KeyPlan p = PlanFor(&spec_, &e);
  // Not recorded as our create; after the settle window the normal rules apply: adopt.
  EXPECT_THAT(Types(p), ElementsAre(ActionType::kAdopt));
}

TEST_F(PlannerTest, UnparsableCreatedAtCountsAsAMatch) {
  store::JournalEntry e = WithIntent(kNow - seconds(10));
  auto& l = observed_.listings["tenant-1"];
  l.fetched_at = kNow;
  l.instances.push_back({"cccc0001", "orders", "tenant-1", "gcp", "yesterday-ish"});
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_THAT(Types(p), ElementsAre(ActionType::kRecordCreated));
}

TEST_F(PlannerTest, IntentDoesNotClaimAnotherKeysInstance) {
  store::JournalEntry e = WithIntent(kNow - seconds(10));
  List("dddd0001", "orders", kNow - seconds(5));
  KeyPlan p = PlanFor(&spec_, &e, false, {{"dddd0001", "default/other"}});
  EXPECT_TRUE(p.actions.empty());
}

// ---- known instances ----

TEST_F(PlannerTest, KnownInstanceWithoutDetailsAsksForThem) {
  store::JournalEntry e = Known("aaaa0001");
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_TRUE(p.need_detail);
}

TEST_F(PlannerTest, RunningAndMatchingIsReady) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running");
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_TRUE(p.status.ready);
  EXPECT_EQ(p.status.phase, kPhaseReady);
  EXPECT_FALSE(p.status.drifted);
}

TEST_F(PlannerTest, MemoryDriftBecomesAPatchOfMemoryAndStorageOnly) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running", "2GB");
  KeyPlan p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kPatch));
  const api::UpdateInstanceRequest& patch = p.actions[0].patch;
  EXPECT_EQ(patch.memory, "4GB");
  EXPECT_EQ(patch.storage, "8GB");
  EXPECT_FALSE(patch.name.has_value());
  EXPECT_FALSE(patch.vector_optimized.has_value());
  EXPECT_THAT(p.actions[0].reason, HasSubstr("memory 2GB -> 4GB"));
  EXPECT_TRUE(p.status.drifted);
}

TEST_F(PlannerTest, RenameBecomesAPatchOfTheNameOnly) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running", "4GB", "old-name");
  KeyPlan p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kPatch));
  EXPECT_EQ(p.actions[0].patch.name, "orders");
  EXPECT_FALSE(p.actions[0].patch.memory.has_value());
}

TEST_F(PlannerTest, FeatureFlagDriftIsPatched) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running");
  spec_.graph_analytics_plugin = true;
  KeyPlan p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kPatch));
  EXPECT_EQ(p.actions[0].patch.graph_analytics_plugin, true);
}

TEST_F(PlannerTest, PausedSpecPausesARunningInstance) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running");
  spec_.paused = true;
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_THAT(Types(p), ElementsAre(ActionType::kPause));
}

TEST_F(PlannerTest, UnpausedSpecResumesAPausedInstance) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "paused");
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_THAT(Types(p), ElementsAre(ActionType::kResume));
}

TEST_F(PlannerTest, PausedAsSpecifiedIsReady) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "paused");
  spec_.paused = true;
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_TRUE(p.status.ready);
  EXPECT_EQ(p.status.phase, kPhasePaused);
}

TEST_F(PlannerTest, ResizeComesBeforePause) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running", "2GB");
  spec_.paused = true;
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_THAT(Types(p), ElementsAre(ActionType::kPatch));
}

TEST_F(PlannerTest, ResumeComesBeforeResize) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "paused", "2GB");
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_THAT(Types(p), ElementsAre(ActionType::kResume));
}

TEST_F(PlannerTest, SameNamedInstanceAppearingLaterIsRecordedAsDuplicate) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running");
  List("aaaa0001", "orders", kNow - minutes(10));
  List("bbbb0002", "orders", kNow - minutes(9));  // hidden by a lagging LIST until now
  KeyPlan p = PlanFor(&spec_, &e, false, {{"aaaa0001", "default/orders"}});
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kRecordDuplicates));
  EXPECT_THAT(p.actions[0].duplicate_ids, ElementsAre("bbbb0002"));
  EXPECT_THAT(p.status.duplicate_ids, ElementsAre("bbbb0002"));
  EXPECT_TRUE(p.status.ready);  // the instance itself is fine

  e.duplicate_ids = {"bbbb0002"};  // once recorded: nothing more to do
  KeyPlan again =
      PlanFor(&spec_, &e, false, {{"aaaa0001", "default/orders"}, {"bbbb0002", "default/orders"}});
  EXPECT_TRUE(again.actions.empty());
}

TEST_F(PlannerTest, LateDuplicateCheckLeavesOtherKeysInstancesAlone) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running");
  List("aaaa0001", "orders", kNow - minutes(10));
  List("cccc0003", "orders", kNow - minutes(5));
  KeyPlan p =
      PlanFor(&spec_, &e, false, {{"aaaa0001", "default/orders"}, {"cccc0003", "default/other"}});
  EXPECT_TRUE(p.actions.empty());
}

TEST_F(PlannerTest, OperationInFlightIsPolledNotActedOn) {
  store::JournalEntry e = Known("aaaa0001");
  for (const char* status : {"creating", "updating", "pausing", "resuming", "restoring"}) {
    Observe("aaaa0001", status, "2GB");
    KeyPlan p = PlanFor(&spec_, &e);
    EXPECT_TRUE(p.actions.empty()) << status;
    EXPECT_TRUE(p.need_detail) << status;
    EXPECT_FALSE(p.status.ready) << status;
  }
}

TEST_F(PlannerTest, VanishedInstanceIsRecordedThenRecreatedThroughTheProtocol) {
  store::JournalEntry e = Known("aaaa0001");
  ObserveGone("aaaa0001");
  EmptyListing();
  KeyPlan p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kRecordVanished));
  EXPECT_EQ(p.actions[0].instance_id, "aaaa0001");
  EXPECT_EQ(p.status.phase, kPhaseVanished);
  EXPECT_TRUE(p.status.vanished);
  // Recorded: the key has no instance and the history names the old one.
  e.vanished_ids = {"aaaa0001"};
  e.instance_id.clear();
  p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kCreate));
  EXPECT_THAT(p.actions[0].reason, HasSubstr("aaaa0001 vanished"));
  // recreate: Never leaves it reported, for a person.
  spec_.recreate = spec::Recreate::kNever;
  p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(p.status.phase, kPhaseVanished);
  EXPECT_TRUE(p.terminal);
}

TEST_F(PlannerTest, A404IsConfirmedByALaterListBeforeAnythingIsDone) {
  store::JournalEntry e = Known("aaaa0001");
  ObserveGone("aaaa0001");
  // A LIST older than the 404: list again.
  EmptyListing(kNow - minutes(5));
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  ASSERT_TRUE(p.need_listing_after.has_value());
  EXPECT_EQ(*p.need_listing_after, kNow);
  // A LIST after the 404 that still shows it: the two disagree; look again.
  List("aaaa0001", "orders", kNow - minutes(60));
  p = PlanFor(&spec_, &e, false, {{"aaaa0001", "default/orders"}});
  EXPECT_TRUE(p.actions.empty());
  EXPECT_TRUE(p.need_detail);
  EXPECT_EQ(p.status.phase, kPhaseMissing);
}

TEST_F(PlannerTest, ImmutableChangesAreTerminalErrors) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running");
  for (auto mutate : std::vector<std::function<void(spec::InstanceSpec&)>>{
           [](spec::InstanceSpec& s) { s.region = "us-central1"; },
           [](spec::InstanceSpec& s) { s.cloud_provider = "aws"; },
           [](spec::InstanceSpec& s) { s.type = "enterprise-db"; },
           [](spec::InstanceSpec& s) { s.version = "4"; },
           [](spec::InstanceSpec& s) { s.tenant_id = "tenant-2"; }}) {
    spec::InstanceSpec s = spec_;
    mutate(s);
    KeyPlan p = PlanFor(&s, &e);
    EXPECT_TRUE(p.actions.empty());
    EXPECT_TRUE(p.terminal);
    EXPECT_EQ(p.status.phase, kPhaseError);
    EXPECT_THAT(p.status.message, HasSubstr("cannot change it in place"));
  }
}

TEST_F(PlannerTest, AdoptedInstanceChecksImmutablesAgainstObservation) {
  store::JournalEntry e = Known("aaaa0001");
  e.region.clear();
  e.version.clear();
  Observe("aaaa0001", "running");
  observed_.instances["aaaa0001"].instance.region = "us-east1";
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.terminal);
  EXPECT_THAT(p.status.message, HasSubstr("spec.region"));
}

TEST_F(PlannerTest, SuspendedSpecIsLeftAlone) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running", "2GB");
  spec_.suspend = true;
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(p.status.phase, kPhaseSuspended);
}

TEST_F(PlannerTest, InvalidSpecIsNeverActedOn) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running");
  KeyPlan p = PlanFor(nullptr, &e, /*invalid=*/true);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_TRUE(p.terminal);
  EXPECT_EQ(p.status.phase, kPhaseError);
}

TEST_F(PlannerTest, DeletionPolicyChangeIsRecordedFirst) {
  store::JournalEntry e = Known("aaaa0001", false);
  Observe("aaaa0001", "running", "2GB");
  spec_.deletion_policy = spec::DeletionPolicy::kDelete;
  KeyPlan p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kRecordPolicy, ActionType::kPatch));
  EXPECT_TRUE(p.actions[0].delete_on_removal);
}

// ---- removed specs ----

TEST_F(PlannerTest, RemovedRetainedSpecIsForgotten) {
  store::JournalEntry e = Known("aaaa0001", false);
  KeyPlan p = PlanFor(nullptr, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kForget));
  EXPECT_THAT(p.actions[0].reason, HasSubstr("left alone"));
}

TEST_F(PlannerTest, RemovedDeleteSpecWaitsForAllowDelete) {
  store::JournalEntry e = Known("aaaa0001", true);
  Observe("aaaa0001", "running");
  KeyPlan p = PlanFor(nullptr, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_THAT(p.status.message, HasSubstr("--allow-delete"));
}

TEST_F(PlannerTest, RemovedDeleteSpecIsDeletedWhenAllowed) {
  options_.allow_delete = true;
  store::JournalEntry e = Known("aaaa0001", true);
  Observe("aaaa0001", "running");
  KeyPlan p = PlanFor(nullptr, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kDelete));
  EXPECT_EQ(p.actions[0].instance_id, "aaaa0001");
}

TEST_F(PlannerTest, RemovedDeleteSpecChecksTheInstanceFirst) {
  options_.allow_delete = true;
  store::JournalEntry e = Known("aaaa0001", true);
  KeyPlan p = PlanFor(nullptr, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_TRUE(p.need_detail);
}

TEST_F(PlannerTest, RemovedDeleteSpecWhoseInstanceIsGoneIsForgotten) {
  options_.allow_delete = true;
  store::JournalEntry e = Known("aaaa0001", true);
  ObserveGone("aaaa0001");
  KeyPlan p = PlanFor(nullptr, &e);
  EXPECT_THAT(Types(p), ElementsAre(ActionType::kForget));
}

TEST_F(PlannerTest, DestroyingInstanceIsWaitedFor) {
  options_.allow_delete = true;
  store::JournalEntry e = Known("aaaa0001", true);
  Observe("aaaa0001", "destroying");
  KeyPlan p = PlanFor(nullptr, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_TRUE(p.need_detail);
  EXPECT_EQ(p.status.phase, kPhaseDeleting);
}

TEST_F(PlannerTest, IncompleteSpecLoadDeletesAndForgetsNothing) {
  options_.allow_delete = true;
  options_.deletions_safe = false;
  store::JournalEntry e = Known("aaaa0001", true);
  Observe("aaaa0001", "running");
  EXPECT_TRUE(PlanFor(nullptr, &e).actions.empty());
  store::JournalEntry r = Known("aaaa0001", false);
  EXPECT_TRUE(PlanFor(nullptr, &r).actions.empty());
}

TEST_F(PlannerTest, RemovedSpecWithPendingIntentResolvesBeforeAnythingElse) {
  store::JournalEntry e = WithIntent(kNow - seconds(10));
  List("bbbb0001", "orders", kNow - seconds(5));
  KeyPlan p = PlanFor(nullptr, &e);
  EXPECT_THAT(Types(p), ElementsAre(ActionType::kRecordCreated));
}

TEST_F(PlannerTest, RemovedSpecWhoseCreateNeverLandedIsForgotten) {
  store::JournalEntry e = WithIntent(kNow - seconds(300));
  EmptyListing(kNow);
  KeyPlan p = PlanFor(nullptr, &e);
  EXPECT_THAT(Types(p), ElementsAre(ActionType::kForget));
}

// ---- whole plans ----

TEST_F(PlannerTest, PlanAllCapsDeletesPerPass) {
  options_.allow_delete = true;
  options_.max_deletes = 1;
  std::map<std::string, store::JournalEntry> journal;
  for (const char* k : {"default/a", "default/b"}) {
    store::JournalEntry e = Known(std::string("id-") + k[8], true);
    e.key = k;
    journal[k] = e;
    Observe(e.instance_id, "running");
  }
  Plan plan = PlanAll(DesiredState{}, journal, observed_, kNow, options_);
  int deletes = 0;
  for (const auto& a : plan.Actions()) deletes += a.type == ActionType::kDelete;
  EXPECT_EQ(deletes, 1);
  EXPECT_THAT(plan.keys[1].status.message, HasSubstr("--max-deletes"));
}

TEST_F(PlannerTest, PlanAllWithIncompleteLoadForgetsNothing) {
  std::map<std::string, store::JournalEntry> journal{{"default/orders", Known("aaaa0001")}};
  DesiredState desired;
  desired.complete = false;
  Plan plan = PlanAll(desired, journal, observed_, kNow, options_);
  EXPECT_FALSE(plan.HasChanges());
}

TEST_F(PlannerTest, PlanAllOrdersJournalWorkBeforeWrites) {
  EmptyListing();
  std::map<std::string, store::JournalEntry> journal{{"default/zeta", Known("aaaa0001")}};
  journal["default/zeta"].key = "default/zeta";
  DesiredState desired;
  desired.specs.push_back(MakeSpec("alpha"));
  Plan plan = PlanAll(desired, journal, observed_, kNow, options_);
  auto actions = plan.Actions();
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].type, ActionType::kForget);
  EXPECT_EQ(actions[1].type, ActionType::kCreate);
  EXPECT_TRUE(plan.HasChanges());
}

TEST_F(PlannerTest, PlanAllNeverAdoptsAnotherKeysInstance) {
  // "orders" is owned by default/old (renamed away in the spec, not yet in Aura).
  List("aaaa0001", "orders", kNow - minutes(60));
  store::JournalEntry old = Known("aaaa0001");
  old.key = "default/old";
  DesiredState desired;
  desired.specs.push_back(spec_);
  Plan plan = PlanAll(desired, {{"default/old", old}}, observed_, kNow, options_);
  for (const auto& a : plan.Actions()) {
    EXPECT_NE(a.type, ActionType::kAdopt);
    EXPECT_NE(a.type, ActionType::kCreate);
  }
}

TEST(PlanIsPureTest, IndexedAndScannedListingsPlanAlike) {
  Observed scanned;
  TenantListing& l = scanned.listings["tenant-1"];
  l.fetched_at = kNow;
  DesiredState d;
  std::map<std::string, store::JournalEntry> journal;
  for (int i = 0; i < 30; ++i) {
    d.specs.push_back(MakeSpec("s" + std::to_string(i)));
    if (i % 3 == 0)
      l.instances.push_back(
          {"id" + std::to_string(i), "s" + std::to_string(i), "tenant-1", "gcp", At(kNow)});
    if (i % 5 == 0)
      l.instances.push_back(
          {"dup" + std::to_string(i), "s" + std::to_string(i), "tenant-1", "gcp", At(kNow)});
  }
  Observed indexed = scanned;
  indexed.listings["tenant-1"].Index();
  Plan a = PlanAll(d, journal, scanned, kNow, {});
  Plan b = PlanAll(d, journal, indexed, kNow, {});
  ASSERT_EQ(a.keys.size(), b.keys.size());
  for (size_t i = 0; i < a.keys.size(); ++i) {
    ASSERT_EQ(a.keys[i].actions.size(), b.keys[i].actions.size()) << a.keys[i].key;
    for (size_t j = 0; j < a.keys[i].actions.size(); ++j) {
      EXPECT_EQ(a.keys[i].actions[j].type, b.keys[i].actions[j].type);
      EXPECT_EQ(a.keys[i].actions[j].instance_id, b.keys[i].actions[j].instance_id);
    }
    EXPECT_EQ(a.keys[i].status.phase, b.keys[i].status.phase);
  }
}

TEST(PlanIsPureTest, SameInputsSamePlan) {
  Observed o;
  o.listings["tenant-1"].fetched_at = kNow;
  DesiredState d;
  for (int i = 0; i < 20; ++i) d.specs.push_back(MakeSpec("s" + std::to_string(i)));
  Plan a = PlanAll(d, {}, o, kNow, {});
  Plan b = PlanAll(d, {}, o, kNow, {});
  ASSERT_EQ(a.keys.size(), b.keys.size());
  for (size_t i = 0; i < a.keys.size(); ++i) {
    EXPECT_EQ(a.keys[i].key, b.keys[i].key);
    EXPECT_EQ(a.keys[i].actions.size(), b.keys[i].actions.size());
  }
}

TEST(Rfc3339Test, Parses) {
  auto t = ParseRfc3339("2027-01-01T00:00:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, kNow);
  EXPECT_EQ(*ParseRfc3339("2027-01-01T01:00:00+01:00"), kNow);
  EXPECT_EQ(*ParseRfc3339("2027-01-01T00:00:00.500Z") - kNow, std::chrono::milliseconds(500));
  EXPECT_FALSE(ParseRfc3339("2027-01-01").has_value());
  EXPECT_FALSE(ParseRfc3339("2027-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2027-01-01T00:00:00").has_value());
  EXPECT_FALSE(ParseRfc3339("").has_value());
}

}  // namespace
}  // namespace aura::reconcile

namespace aura::reconcile {
namespace {

// ---- the live service: statuses, fields that never read back, lean observations ----

class RealApiPlannerTest : public PlannerTestBase {};

TEST_F(RealApiPlannerTest, StatusesBeyondTheOpenApiAreUnderstood) {
  store::JournalEntry e = Known("aaaa0001");
  // resizing (the live service after a memory change) is an operation in flight.
  Observe("aaaa0001", "resizing", "2GB");
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_TRUE(p.need_detail);
  EXPECT_EQ(p.status.phase, kPhaseUpdating);
  // suspended and loading failed need a person: reported, nothing sent, still watched.
  for (const char* failed : {"suspended", "loading failed", "Loading Failed"}) {
    Observe("aaaa0001", failed, "2GB");
    p = PlanFor(&spec_, &e);
    EXPECT_TRUE(p.actions.empty()) << failed;
    EXPECT_EQ(p.status.phase, kPhaseFailed) << failed;
    EXPECT_TRUE(p.status.failed);
    EXPECT_TRUE(p.terminal);
    EXPECT_TRUE(p.need_detail);
    EXPECT_THAT(p.status.message, HasSubstr(failed));
  }
}

TEST_F(RealApiPlannerTest, AnUnknownStatusIsWaitedForThenReported) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "hibernating");
  observed_.instances["aaaa0001"].status_since = kNow - minutes(10);
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_TRUE(p.need_detail);
  EXPECT_FALSE(p.terminal);
  EXPECT_THAT(p.status.message, HasSubstr("unknown to this controller"));
  observed_.instances["aaaa0001"].status_since = kNow - minutes(31);
  p = PlanFor(&spec_, &e);
  EXPECT_EQ(p.status.phase, kPhaseUnknown);
  EXPECT_TRUE(p.status.unknown_status);
  EXPECT_TRUE(p.terminal);
  // No status at all is no different.
  Observe("aaaa0001", "");
  observed_.instances["aaaa0001"].status_since = kNow - minutes(31);
  EXPECT_EQ(PlanFor(&spec_, &e).status.phase, kPhaseUnknown);
}

TEST_F(RealApiPlannerTest, FieldsAuraDoesNotReportAreNeverPatched) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running");
  observed_.instances["aaaa0001"].instance.memory.clear();
  observed_.instances["aaaa0001"].instance.storage.clear();
  observed_.instances["aaaa0001"].instance.name.clear();
  observed_.instances["aaaa0001"].instance.vector_optimized.reset();
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_TRUE(p.status.ready);
}

TEST_F(RealApiPlannerTest, CdcThatReadsBackNullIsSentOnceThenSetNotObservable) {
  spec_.type = "business-critical";
  spec_.cdc_enrichment_mode = "FULL";
  store::JournalEntry e = Known("aaaa0001");
  e.type = "business-critical";
  Observe("aaaa0001", "running");
  observed_.instances["aaaa0001"].instance.type = "business-critical";
  // Null: not readable. First time: PATCH, remembering what was sent.
  KeyPlan p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kPatch));
  EXPECT_EQ(p.actions[0].patch.cdc_enrichment_mode, "FULL");
  ASSERT_TRUE(p.actions[0].patch_records.contains("cdcEnrichmentMode"));
  EXPECT_EQ(p.actions[0].patch_records.at("cdcEnrichmentMode").value, "FULL");
  EXPECT_EQ(p.actions[0].patch_records.at("cdcEnrichmentMode").repeats, 1);
  // The PATCH was accepted just now: within the settle window, wait for it to read back.
  store::FieldPatch sent = p.actions[0].patch_records.at("cdcEnrichmentMode");
  sent.sent_at = kNow - seconds(10);
  e.patches["cdcEnrichmentMode"] = sent;
  p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_FALSE(p.status.ready);
  ASSERT_TRUE(p.requeue_after.has_value());
  EXPECT_EQ(*p.requeue_after, options_.settle_window - seconds(10));
  // Past the settle window and still null: recorded as set, not observable; no PATCH.
  e.patches["cdcEnrichmentMode"].sent_at = kNow - options_.settle_window - seconds(1);
  p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kMarkUnobservable));
  EXPECT_THAT(p.actions[0].fields, ElementsAre("cdcEnrichmentMode"));
  EXPECT_TRUE(p.status.ready);
  // Marked: ready, nothing sent, on every later pass.
  e.patches["cdcEnrichmentMode"].unobservable = true;
  p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_TRUE(p.status.ready);
  EXPECT_THAT(p.status.notes, ElementsAre("cdcEnrichmentMode FULL: set, not observable"));
  // A new value in the spec is sent again.
  spec_.cdc_enrichment_mode = "DIFF";
  p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kPatch));
  EXPECT_EQ(p.actions[0].patch.cdc_enrichment_mode, "DIFF");
  // CDC is never sent to a paused instance (Aura turns it off while paused).
  observed_.instances["aaaa0001"].instance.status = "paused";
  spec_.paused = true;
  EXPECT_TRUE(PlanFor(&spec_, &e).actions.empty());
}

TEST_F(RealApiPlannerTest, APatchThatNeverTakesEffectStopsAfterThreeTries) {
  store::JournalEntry e = Known("aaaa0001");
  spec_.storage = "4GB";
  Observe("aaaa0001", "running", "2GB");  // the spec says 4GB (storage 4GB as observed)
  store::FieldPatch r;
  r.value = "4GB";
  r.observed_before = "2GB";
  r.sent_at = kNow - options_.settle_window - seconds(1);
  for (int repeats = 1; repeats <= 2; ++repeats) {
    r.repeats = repeats;
    e.patches["memory"] = r;
    KeyPlan p = PlanFor(&spec_, &e);
    ASSERT_THAT(Types(p), ElementsAre(ActionType::kPatch)) << repeats;
    EXPECT_EQ(p.actions[0].patch_records.at("memory").repeats, repeats + 1);
  }
  r.repeats = detail::kMaxPatchRepeats;
  e.patches["memory"] = r;
  KeyPlan p = PlanFor(&spec_, &e);
  EXPECT_TRUE(p.actions.empty());
  EXPECT_EQ(p.status.phase, kPhaseStalled);
  EXPECT_TRUE(p.status.stalled);
  EXPECT_TRUE(p.terminal);
  EXPECT_THAT(p.status.message, HasSubstr("memory 4GB (sent 3 times; Aura still reports 2GB)"));
  // The observation moved (someone else changed it): the count starts again.
  Observe("aaaa0001", "running", "8GB");
  observed_.instances["aaaa0001"].instance.storage = "4GB";
  p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kPatch));
  EXPECT_EQ(p.actions[0].patch_records.at("memory").repeats, 1);
}

TEST_F(RealApiPlannerTest, PausedByTheControllerAndResumedByAuraIsPausedAgain) {
  spec_.paused = true;
  store::JournalEntry e = Known("aaaa0001");
  e.paused_here = true;
  Observe("aaaa0001", "running");
  KeyPlan p = PlanFor(&spec_, &e);
  ASSERT_THAT(Types(p), ElementsAre(ActionType::kPause));
  EXPECT_TRUE(p.actions[0].repause);
  EXPECT_THAT(p.actions[0].reason, HasSubstr("resumed outside the controller"));
  e.paused_here = false;
  EXPECT_FALSE(PlanFor(&spec_, &e).actions[0].repause);
}

TEST_F(RealApiPlannerTest, CredentialsNoteSaysWhyThePasswordIsUnknown) {
  store::JournalEntry e = Known("aaaa0001");
  Observe("aaaa0001", "running");
  e.credentials_saved = false;
  e.credentials_note = "reply-without-password";
  EXPECT_THAT(PlanFor(&spec_, &e).status.credentials_note, HasSubstr("carried none"));
  e.origin = store::Origin::kAdopted;
  e.credentials_note = "adopted";
  EXPECT_THAT(PlanFor(&spec_, &e).status.credentials_note, HasSubstr("not created here"));
  e.credentials_saved = true;
  EXPECT_EQ(PlanFor(&spec_, &e).status.credentials_note, "");
}

}  // namespace
}  // namespace aura::reconcile
