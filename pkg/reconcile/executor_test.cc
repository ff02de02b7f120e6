#include "pkg/reconcile/executor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pkg/reconcile/testing/fakes.h"

namespace aura::reconcile {
namespace {

using testing::CreateFault;
using testing::FakeAuraApi;
using ::testing::HasSubstr;
using testing::MakeSpec;
using testing::MemCredentialStore;
using testing::MemJournal;

// Checks, at the moment of each POST, that the journal already holds the intent.
class IntentCheckingApi : public FakeAuraApi {
 public:
  IntentCheckingApi(const base::Clock* c, MemJournal* j) : FakeAuraApi(c), journal_(j) {}
  base::StatusOr<api::Reply<api::CreatedInstance>> CreateInstance(
      const api::CreateInstanceRequest& req) override {
    auto e = journal_->Get("default/orders");
    intent_seen_at_post = e.ok() && e->intent.has_value() && e->intent->aura_name == req.name;
    return FakeAuraApi::CreateInstance(req);
  }
  bool intent_seen_at_post = false;

 private:
  MemJournal* journal_;
};

class ExecutorTest : public ::testing::Test {
 protected:
  ExecutorTest()
      : api_(&clock_, &journal_),
        log_(
            base::LogLevel::kDebug, base::LogFormat::kJson,
            [this](std::string_view l) { lines_.emplace_back(l); }, &clock_),
        exec_(api_, journal_, creds_, clock_, metrics_, log_) {}

  Action CreateAction(int attempt = 1) {
    spec::InstanceSpec s = MakeSpec("orders");
    Action a;
    a.type = ActionType::kCreate;
    a.key = s.key();
    a.attempt = attempt;
    a.create.name = s.aura_name;
    a.create.tenant_id = s.tenant_id;
    a.create.cloud_provider = s.cloud_provider;
    a.create.region = s.region;
    a.create.type = s.type;
    a.create.version = s.version;
    a.create.memory = s.memory;
    a.create.storage = s.storage;
    return a;
  }
  Action OnInstance(ActionType t, const std::string& id) {
    Action a;
    a.type = t;
    a.key = "default/orders";
    a.instance_id = id;
    return a;
  }
  double Creates(const char* outcome) { return metrics_.Creates(outcome).Value(); }
  std::string AllLogs() const {
    std::string s;
    for (const auto& l : lines_) s += l + "\n";
    return s;
  }

  base::FakeClock clock_;
  MemJournal journal_;
  MemCredentialStore creds_;
  IntentCheckingApi api_;
  metrics::Metrics metrics_;
  std::vector<std::string> lines_;
  base::Logger log_;
  Executor exec_;
};

// A run died between an intent and recording its POST's outcome; the POST may have left just
// before the death, long after the intent. The next run's executor marks the intent ambiguous
// (stamping `updated`), which the planner's settle window counts from.
TEST_F(ExecutorTest, MarksIntentsLeftByADeadRunAmbiguous) {
  store::JournalEntry orphan;
  orphan.key = "default/orders";
  orphan.aura_name = "orders";
  orphan.intent = store::CreateIntent{"orders", "tenant-1", clock_.SystemNow(), 1, false, ""};
  orphan.updated = clock_.SystemNow();
  ASSERT_TRUE(journal_.Put(orphan).ok());
  store::JournalEntry marked = orphan;
  marked.key = "default/marked";
  marked.intent->ambiguous = true;
  ASSERT_TRUE(journal_.Put(marked).ok());
  store::JournalEntry done;
  done.key = "default/done";
  done.instance_id = "abcd0001";
  ASSERT_TRUE(journal_.Put(done).ok());
  clock_.Advance(std::chrono::seconds(30));
  const int writes = journal_.writes();

  Executor restarted(api_, journal_, creds_, clock_, metrics_, log_);
  auto e = journal_.Get("default/orders");
  ASSERT_TRUE(e.ok() && e->intent.has_value());
  EXPECT_TRUE(e->intent->ambiguous);
  EXPECT_EQ(e->updated, clock_.SystemNow());
  EXPECT_EQ(e->intent->intent_time, orphan.intent->intent_time);
  EXPECT_EQ(journal_.writes(), writes + 1);  // the others are left alone
  EXPECT_EQ(journal_.Get("default/marked")->updated, orphan.updated);
  EXPECT_THAT(AllLogs(), HasSubstr("marked ambiguous"));

  // A journal that refuses writes (a read-only `plan`) only loses the mark.
  store::JournalEntry again = orphan;
  again.key = "default/again";
  ASSERT_TRUE(journal_.Put(again).ok());
  journal_.FailWrites(1, base::FailedPreconditionError("read-only"));
  Executor read_only(api_, journal_, creds_, clock_, metrics_, log_);
  EXPECT_FALSE(journal_.Get("default/again")->intent->ambiguous);
}

TEST_F(ExecutorTest, AcceptedCreateSavesCredentialsThenRecordsCreated) {
  ActionResult r = exec_.Execute(CreateAction());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(api_.intent_seen_at_post);
  auto e = journal_.Get("default/orders");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->intent.has_value());
  EXPECT_FALSE(e->instance_id.empty());
  EXPECT_TRUE(e->credentials_saved);
  EXPECT_EQ(e->version, "5");
  auto c = creds_.Load("default/orders");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->instance_id, e->instance_id);
  EXPECT_EQ(c->password, api_.passwords().at(0));
  ASSERT_TRUE(r.observation.has_value());
  EXPECT_EQ(r.observation->second.instance.status, "creating");
  EXPECT_EQ(Creates("accepted"), 1);
  EXPECT_FALSE(r.request_id.empty());
}

TEST_F(ExecutorTest, PasswordNeverReachesTheLogs) {
  ASSERT_TRUE(exec_.Execute(CreateAction()).status.ok());
  ASSERT_FALSE(lines_.empty());
  EXPECT_THAT(AllLogs(), ::testing::Not(HasSubstr(api_.passwords().at(0))));
}

TEST_F(ExecutorTest, DefiniteRefusalsClearTheIntent) {
  for (CreateFault f :
       {CreateFault::kRefuse400, CreateFault::kThrottle, CreateFault::kConnectFailure}) {
    api_.ScriptCreate(f);
    ActionResult r = exec_.Execute(CreateAction());
    EXPECT_FALSE(r.status.ok());
    EXPECT_EQ(journal_.Get("default/orders").status().code(), base::StatusCode::kNotFound);
  }
  EXPECT_EQ(Creates("rejected"), 3);
  EXPECT_EQ(api_.creates_landed(), 0);
}

TEST_F(ExecutorTest, RefusalCarriesTheRequestId) {
  api_.ScriptCreate(CreateFault::kRefuse400);
  ActionResult r = exec_.Execute(CreateAction());
  EXPECT_EQ(r.status.code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.request_id, "req-400");
  EXPECT_THAT(AllLogs(), HasSubstr("req-400"));
}

TEST_F(ExecutorTest, AmbiguousOutcomesKeepTheIntentAndNeverResend) {
  for (CreateFault f :
       {CreateFault::kCommitThen500, CreateFault::kCommitThenReset, CreateFault::kLostBefore500}) {
    api_.ScriptCreate(f);
    ActionResult r = exec_.Execute(CreateAction());
    EXPECT_EQ(r.status.code(), base::StatusCode::kAmbiguous);
    auto e = journal_.Get("default/orders");
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE(e->intent.has_value());
    EXPECT_TRUE(e->intent->ambiguous);
    EXPECT_TRUE(e->instance_id.empty());
  }
  EXPECT_EQ(api_.calls()["create"], 3);  // one POST per Execute: never a transport resend
  EXPECT_EQ(Creates("ambiguous"), 3);
  EXPECT_EQ(journal_.Get("default/orders")->intent->last_request_id, "req-500");
}

TEST(CreateClassificationTest, OnlyProvenRefusalsCount) {
  EXPECT_TRUE(CreateDefinitelyRefused(base::InvalidArgumentError("x").SetHttpStatus(400)));
  EXPECT_TRUE(CreateDefinitelyRefused(base::FailedPreconditionError("quota").SetHttpStatus(405)));
  EXPECT_TRUE(CreateDefinitelyRefused(base::UnauthenticatedError("x").SetHttpStatus(401)));
  EXPECT_TRUE(CreateDefinitelyRefused(base::ThrottledError("x").SetHttpStatus(429)));
  EXPECT_TRUE(CreateDefinitelyRefused(base::UnavailableError("refused").SetReason("connect")));
  EXPECT_FALSE(CreateDefinitelyRefused(base::UnavailableError("reset").SetReason("io")));
  EXPECT_FALSE(CreateDefinitelyRefused(
      base::UnavailableError("bad gateway").SetHttpStatus(502).SetReason("connect")));
  EXPECT_FALSE(CreateDefinitelyRefused(base::DeadlineExceededError("timeout")));
  EXPECT_FALSE(CreateDefinitelyRefused(base::AmbiguousError("500")));
  EXPECT_FALSE(CreateDefinitelyRefused(base::DataLossError("truncated 202 body")));
}

TEST_F(ExecutorTest, NoPostWithoutADurableIntent) {
  journal_.FailWrites(1, base::UnavailableError("No space left on device"));
  ActionResult r = exec_.Execute(CreateAction());
  EXPECT_FALSE(r.status.ok());
  EXPECT_THAT(r.status.message(), HasSubstr("nothing was sent"));
  EXPECT_EQ(api_.calls()["create"], 0);
}

TEST_F(ExecutorTest, CredentialsThatFailToSaveAreKeptAndSavedLater) {
  creds_.FailSaves(1);
  ActionResult r = exec_.Execute(CreateAction());
  ASSERT_TRUE(r.status.ok());
  auto e = journal_.Get("default/orders");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->instance_id.empty());  // recorded: never created twice
  EXPECT_FALSE(e->credentials_saved);
  EXPECT_TRUE(exec_.HasUnsavedCredentials());
  EXPECT_TRUE(exec_.FlushUnsavedCredentials().ok());
  EXPECT_FALSE(exec_.HasUnsavedCredentials());
  EXPECT_EQ(creds_.Load("default/orders")->password, api_.passwords().at(0));
  EXPECT_TRUE(journal_.Get("default/orders")->credentials_saved);
}

// The intent write succeeds, the Created write after the 202 fails.
struct SecondWriteFails : MemJournal {
  int n = 0;
  base::Status Put(const store::JournalEntry& e) override {
    if (++n == 2) return base::UnavailableError("disk full");
    return MemJournal::Put(e);
  }
};

TEST_F(ExecutorTest, JournalFailureAfterCreateLeavesTheIntentForResolution) {
  SecondWriteFails journal;
  Executor exec(api_, journal, creds_, clock_, metrics_, log_);
  ActionResult r = exec.Execute(CreateAction());
  EXPECT_FALSE(r.status.ok());
  auto e = journal.Get("default/orders");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->intent.has_value());  // the next pass resolves it from the LIST
  EXPECT_TRUE(creds_.Load("default/orders").ok());
  EXPECT_EQ(api_.creates_landed(), 1);
}

TEST_F(ExecutorTest, RecordCreatedKnowsWhetherCredentialsWereSaved) {
  ASSERT_TRUE(exec_.Execute(CreateAction()).status.ok());
  const std::string id = journal_.Get("default/orders")->instance_id;
  Action a = OnInstance(ActionType::kRecordCreated, id);
  a.duplicate_ids = {"dup00001"};
  ActionResult r = exec_.Execute(a);
  ASSERT_TRUE(r.status.ok());
  auto e = journal_.Get("default/orders");
  EXPECT_TRUE(e->credentials_saved);
  EXPECT_EQ(e->duplicate_ids, std::vector<std::string>{"dup00001"});
  EXPECT_THAT(AllLogs(), HasSubstr("DUPLICATE"));

  Action other = OnInstance(ActionType::kRecordCreated, "other001");
  ASSERT_TRUE(exec_.Execute(other).status.ok());
  EXPECT_FALSE(journal_.Get("default/orders")->credentials_saved);
  EXPECT_THAT(AllLogs(), HasSubstr("one-time password was not received"));
}

TEST_F(ExecutorTest, RecordDuplicatesAppendsOnceAndAlarms) {
  Action adopt = OnInstance(ActionType::kAdopt, "aaaa0001");
  ASSERT_TRUE(exec_.Execute(adopt).status.ok());
  Action d = OnInstance(ActionType::kRecordDuplicates, "aaaa0001");
  d.duplicate_ids = {"bbbb0002"};
  ASSERT_TRUE(exec_.Execute(d).status.ok());
  ASSERT_TRUE(exec_.Execute(d).status.ok());
  auto e = journal_.Get("default/orders");
  EXPECT_EQ(e->duplicate_ids, std::vector<std::string>{"bbbb0002"});
  EXPECT_EQ(e->origin, store::Origin::kAdopted);  // ownership of the main instance unchanged
  EXPECT_THAT(AllLogs(), HasSubstr("DUPLICATE"));
}

TEST_F(ExecutorTest, AdoptRecordsOrigin) {
  Action a = OnInstance(ActionType::kAdopt, "aaaa0001");
  a.delete_on_removal = true;
  ASSERT_TRUE(exec_.Execute(a).status.ok());
  auto e = journal_.Get("default/orders");
  EXPECT_EQ(e->origin, store::Origin::kAdopted);
  EXPECT_TRUE(e->delete_on_removal);
  EXPECT_EQ(metrics_.adoptions.Value(), 1);
}

TEST_F(ExecutorTest, PatchReportsNewStateAndRecordsRename) {
  const std::string id = api_.AddInstance("tenant-1", "old", "running", "2GB");
  ASSERT_TRUE(exec_.Execute(OnInstance(ActionType::kAdopt, id)).status.ok());
  Action a = OnInstance(ActionType::kPatch, id);
  a.patch.memory = "4GB";
  a.patch.name = "orders";
  ActionResult r = exec_.Execute(a);
  ASSERT_TRUE(r.status.ok());
  ASSERT_TRUE(r.observation.has_value());
  EXPECT_EQ(r.observation->second.instance.status, "updating");
  EXPECT_EQ(journal_.Get("default/orders")->aura_name, "orders");
}

TEST_F(ExecutorTest, PatchDuringAnotherOperationIsAConflict) {
  const std::string id = api_.AddInstance("tenant-1", "orders", "updating");
  Action a = OnInstance(ActionType::kPatch, id);
  a.patch.memory = "8GB";
  EXPECT_EQ(exec_.Execute(a).status.code(), base::StatusCode::kConflict);
}

TEST_F(ExecutorTest, PatchOfAGoneInstanceObservesItGone) {
  Action a = OnInstance(ActionType::kPatch, "gone0001");
  a.patch.memory = "8GB";
  ActionResult r = exec_.Execute(a);
  EXPECT_EQ(r.status.code(), base::StatusCode::kNotFound);
  ASSERT_TRUE(r.observation.has_value());
  EXPECT_FALSE(r.observation->second.found);
}

TEST_F(ExecutorTest, PauseAndResume) {
  const std::string id = api_.AddInstance("tenant-1", "orders");
  ActionResult p = exec_.Execute(OnInstance(ActionType::kPause, id));
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.observation->second.instance.status, "pausing");
  api_.SettleAll();
  ActionResult r = exec_.Execute(OnInstance(ActionType::kResume, id));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.observation->second.instance.status, "resuming");
}

TEST_F(ExecutorTest, DeleteAcceptedAndAlreadyGoneAreBothDone) {
  const std::string id = api_.AddInstance("tenant-1", "orders");
  ActionResult d = exec_.Execute(OnInstance(ActionType::kDelete, id));
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(d.observation->second.instance.status, "destroying");
  api_.SettleAll();
  ActionResult again = exec_.Execute(OnInstance(ActionType::kDelete, id));
  ASSERT_TRUE(again.status.ok());
  EXPECT_FALSE(again.observation->second.found);
}

TEST_F(ExecutorTest, ForgetAndRecordPolicy) {
  ASSERT_TRUE(exec_.Execute(OnInstance(ActionType::kAdopt, "aaaa0001")).status.ok());
  Action p = OnInstance(ActionType::kRecordPolicy, "");
  p.delete_on_removal = true;
  ASSERT_TRUE(exec_.Execute(p).status.ok());
  EXPECT_TRUE(journal_.Get("default/orders")->delete_on_removal);
  ASSERT_TRUE(exec_.Execute(OnInstance(ActionType::kForget, "")).status.ok());
  EXPECT_EQ(journal_.Get("default/orders").status().code(), base::StatusCode::kNotFound);
}

}  // namespace
}  // namespace aura::reconcile

namespace aura::reconcile {
namespace {

// ---- the live service's replies ----

TEST_F(ExecutorTest, CreateReplyWithoutPasswordRecordsTheIdWithCredentialsUnknown) {
  api_.ScriptCreate(CreateFault::kNoPassword);
  ActionResult r = exec_.Execute(CreateAction());
  ASSERT_TRUE(r.status.ok()) << r.status;
  auto e = journal_.Get("default/orders");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->intent.has_value());
  EXPECT_FALSE(e->instance_id.empty());
  EXPECT_FALSE(e->credentials_saved);
  EXPECT_EQ(e->credentials_note, "reply-without-password");
  EXPECT_FALSE(creds_.Load("default/orders").ok());
  EXPECT_THAT(AllLogs(), HasSubstr("carried no password"));
  EXPECT_EQ(api_.creates_landed(), 1);
}

TEST_F(ExecutorTest, APasswordWithoutAnIdIsKeptAndLinkedWhenTheCreateResolves) {
  api_.ScriptCreate(CreateFault::kNoId);
  ActionResult r = exec_.Execute(CreateAction());
  EXPECT_EQ(r.status.code(), base::StatusCode::kAmbiguous) << r.status;
  auto e = journal_.Get("default/orders");
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(e->intent.has_value());
  EXPECT_TRUE(e->intent->ambiguous);
  // Saved at once, before anyone knows which instance it belongs to.
  auto pending = creds_.Load("default/orders");
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->instance_id, "");
  ASSERT_EQ(api_.passwords().size(), 1u);
  EXPECT_EQ(pending->password, api_.passwords()[0]);
  // The LIST resolves the intent: the password is linked to that instance.
  const std::string id = api_.instances().at(0).id;
  Action resolved = OnInstance(ActionType::kRecordCreated, id);
  ASSERT_TRUE(exec_.Execute(resolved).status.ok());
  auto linked = creds_.Load("default/orders");
  ASSERT_TRUE(linked.ok());
  EXPECT_EQ(linked->instance_id, id);
  EXPECT_EQ(linked->password, api_.passwords()[0]);
  e = journal_.Get("default/orders");
  EXPECT_TRUE(e->credentials_saved);
  EXPECT_EQ(e->credentials_note, "");
  EXPECT_EQ(api_.creates_landed(), 1);
}

TEST_F(ExecutorTest, PatchRecordsWhatWasSentAndMarkUnobservableKeepsIt) {
  const std::string id = api_.AddInstance("tenant-1", "orders");
  store::JournalEntry e;
  e.key = "default/orders";
  e.instance_id = id;
  ASSERT_TRUE(journal_.Put(e).ok());
  Action a = OnInstance(ActionType::kPatch, id);
  a.patch.cdc_enrichment_mode = "FULL";
  store::FieldPatch rec;
  rec.value = "FULL";
  rec.repeats = 1;
  a.patch_records["cdcEnrichmentMode"] = rec;
  clock_.Advance(std::chrono::seconds(5));
  ASSERT_TRUE(exec_.Execute(a).status.ok());
  auto after = journal_.Get("default/orders");
  ASSERT_TRUE(after->patches.contains("cdcEnrichmentMode"));
  EXPECT_EQ(after->patches.at("cdcEnrichmentMode").value, "FULL");
  EXPECT_EQ(after->patches.at("cdcEnrichmentMode").sent_at, clock_.SystemNow());
  EXPECT_FALSE(after->patches.at("cdcEnrichmentMode").unobservable);
  Action mark = OnInstance(ActionType::kMarkUnobservable, id);
  mark.fields = {"cdcEnrichmentMode"};
  ASSERT_TRUE(exec_.Execute(mark).status.ok());
  EXPECT_TRUE(journal_.Get("default/orders")->patches.at("cdcEnrichmentMode").unobservable);
}

TEST_F(ExecutorTest, AVanishedInstanceGoesToTheHistoryAndIsCounted) {
  store::JournalEntry e;
  e.key = "default/orders";
  e.instance_id = "gone0001";
  e.credentials_saved = true;
  e.paused_here = true;
  e.patches["memory"] = store::FieldPatch{};
  ASSERT_TRUE(journal_.Put(e).ok());
  ActionResult r = exec_.Execute(OnInstance(ActionType::kRecordVanished, "gone0001"));
  ASSERT_TRUE(r.status.ok());
  EXPECT_TRUE(r.journal_changed);
  auto after = journal_.Get("default/orders");
  EXPECT_EQ(after->instance_id, "");
  EXPECT_EQ(after->vanished_ids, std::vector<std::string>{"gone0001"});
  EXPECT_TRUE(after->patches.empty());
  EXPECT_FALSE(after->paused_here);
  EXPECT_EQ(metrics_.instances_vanished.Value(), 1);
  // Recording it again (a second look at the same 404) changes nothing.
  ASSERT_TRUE(exec_.Execute(OnInstance(ActionType::kRecordVanished, "gone0001")).status.ok());
  EXPECT_EQ(journal_.Get("default/orders")->vanished_ids.size(), 1u);
}

TEST_F(ExecutorTest, PauseAndResumeAreRememberedAndARepauseCounted) {
  const std::string id = api_.AddInstance("tenant-1", "orders");
  store::JournalEntry e;
  e.key = "default/orders";
  e.instance_id = id;
  ASSERT_TRUE(journal_.Put(e).ok());
  Action pause = OnInstance(ActionType::kPause, id);
  pause.repause = true;
  ASSERT_TRUE(exec_.Execute(pause).status.ok());
  EXPECT_TRUE(journal_.Get("default/orders")->paused_here);
  EXPECT_EQ(metrics_.instances_repaused.Value(), 1);
  api_.SettleAll();
  ASSERT_TRUE(exec_.Execute(OnInstance(ActionType::kResume, id)).status.ok());
  EXPECT_FALSE(journal_.Get("default/orders")->paused_here);
}

}  // namespace
}  // namespace aura::reconcile
