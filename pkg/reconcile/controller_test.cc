#include "pkg/reconcile/controller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "pkg/reconcile/testing/fakes.h"

namespace aura::reconcile {
namespace {

using std::chrono::seconds;
using testing::CreateFault;
using testing::FakeAuraApi;
using ::testing::HasSubstr;
using testing::MakeSpec;
using testing::MemCredentialStore;
using testing::MemJournal;
using testing::StaticSpecSource;

class ControllerTest : public ::testing::Test {
 protected:
  ControllerTest() : api_(&clock_) {
    options_.poll_initial = seconds(5);
    options_.poll_max = seconds(20);
    options_.plan.settle_window = seconds(60);
    options_.resync = seconds(60);
    log_ = base::Logger(
        base::LogLevel::kDebug, base::LogFormat::kJson,
        [this](std::string_view l) {
          std::lock_guard<std::mutex> g(log_mu_);
          lines_.emplace_back(l);
        },
        &clock_);
  }

  Controller& Make() {
    controller_ = std::make_unique<Controller>(options_, api_, journal_, creds_, specs_, clock_,
                                               metrics_, log_);
    return *controller_;
  }

  // Passes and reconciles, stepping the fake clock, until converged or `limit` steps.
  bool Converge(int limit = 60) {
    return testing::Converge(*controller_, api_, clock_, limit, /*first_pass_ok=*/true);
  }

  // Statuses and logs, for failure messages.
  std::string Dump() {
    std::string out;
    for (const auto& s : controller_->Statuses()) {
      out += s.key + " phase=" + s.phase + " msg=" + s.message + " err=" + s.last_error + "\n";
    }
    std::lock_guard<std::mutex> g(log_mu_);
    for (const auto& l : lines_) out += l + "\n";
    return out;
  }

  // A new controller on the same journal (a restart), starting from the observations it kept,
  // and its first pass.
  void RestartAndPass() {
    controller_.reset();
    Make();
    controller_->LoadStoredObservations();
    ASSERT_TRUE(controller_->StartPass().ok());
    controller_->ProcessReady();
  }

  const SpecStatus* StatusOf(const std::string& key) {
    statuses_ = controller_->Statuses();
    for (const auto& s : statuses_) {
      if (s.key == key) return &s;
    }
    return nullptr;
  }

  base::FakeClock clock_;
  FakeAuraApi api_;
  MemJournal journal_;
  MemCredentialStore creds_;
  StaticSpecSource specs_;
  metrics::Metrics metrics_;
  ControllerOptions options_;
  std::mutex log_mu_;
  std::vector<std::string> lines_;
  base::Logger log_;
  std::unique_ptr<Controller> controller_;
  std::vector<SpecStatus> statuses_;
};

TEST_F(ControllerTest, CreatesEverySpecOnceAndConverges) {
  specs_.Set({MakeSpec("a"), MakeSpec("b"), MakeSpec("c")});
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.creates_landed(), 3);
  EXPECT_EQ(api_.calls()["create"], 3);
  EXPECT_EQ(creds_.all().size(), 3u);
  const SpecStatus* s = StatusOf("default/a");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->ready);
  EXPECT_TRUE(s->synced);
  EXPECT_EQ(s->phase, kPhaseReady);
  EXPECT_FALSE(s->aura_id.empty());
  EXPECT_FALSE(s->last_request_id.empty());
  EXPECT_EQ(metrics_.Instances("in_sync").Value(), 3);
}

TEST_F(ControllerTest, CommittedThenFailedCreateIsResolvedWithoutASecondPost) {
  specs_.Set({MakeSpec("orders")});
  api_.ScriptCreate(CreateFault::kCommitThen500);
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.calls()["create"], 1);
  EXPECT_EQ(api_.creates_landed(), 1);
  const SpecStatus* s = StatusOf("default/orders");
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->credentials_known);  // the password was in the lost response
  EXPECT_EQ(metrics_.Creates("ambiguous").Value(), 1);
}

TEST_F(ControllerTest, LostCreateIsRetriedOnlyAfterTheSettleWindow) {
  specs_.Set({MakeSpec("orders")});
  api_.ScriptCreate(CreateFault::kLostBefore500);
  Make();
  ASSERT_TRUE(controller_->StartPass().ok());
  controller_->ProcessReady();
  EXPECT_EQ(api_.calls()["create"], 1);
  // Within the settle window: no second POST however often it reconciles.
  for (int i = 0; i < 11; ++i) {
    clock_.Advance(seconds(5));
    controller_->ProcessReady();
  }
  EXPECT_EQ(api_.calls()["create"], 1);
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.calls()["create"], 2);
  EXPECT_EQ(api_.creates_landed(), 1);
  EXPECT_EQ(creds_.all().size(), 1u);
}

TEST_F(ControllerTest, LaggingListDoesNotCauseADuplicate) {
  specs_.Set({MakeSpec("orders")});
  api_.SetListLag(seconds(40));  // shorter than the settle window
  api_.ScriptCreate(CreateFault::kCommitThenReset);
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.creates_landed(), 1);
  EXPECT_EQ(api_.calls()["create"], 1);
}

TEST_F(ControllerTest, RestartResolvesTheIntentLeftByACrash) {
  // A crash right after the intent was written and the POST landed.
  store::JournalEntry e;
  e.key = "default/orders";
  e.aura_name = "orders";
  e.tenant_id = "tenant-1";
  e.intent = store::CreateIntent{"orders", "tenant-1", clock_.SystemNow(), 1, false, ""};
  ASSERT_TRUE(journal_.Put(e).ok());
  clock_.Advance(seconds(1));
  api_.AddInstance("tenant-1", "orders", "creating");
  specs_.Set({MakeSpec("orders")});
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.calls()["create"], 0);
  EXPECT_EQ(api_.instances().size(), 1u);
}

TEST_F(ControllerTest, AdoptsAnExistingInstanceAndFixesItsSize) {
  const std::string id = api_.AddInstance("tenant-1", "orders", "running", "2GB");
  specs_.Set({MakeSpec("orders")});
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.calls()["create"], 0);
  EXPECT_EQ(api_.calls()["patch"], 1);
  EXPECT_EQ(api_.instance(id)->memory, "4GB");
  EXPECT_EQ(metrics_.adoptions.Value(), 1);
}

TEST_F(ControllerTest, SpecChangesArePatchedPausedAndResumed) {
  specs_.Set({MakeSpec("orders")});
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  const std::string id = StatusOf("default/orders")->aura_id;

  auto s = MakeSpec("orders");
  s.memory = "8GB";
  s.storage = "16GB";
  specs_.Set({s});
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.instance(id)->memory, "8GB");

  s.paused = true;
  specs_.Set({s});
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.instance(id)->status, "paused");
  EXPECT_EQ(StatusOf("default/orders")->phase, kPhasePaused);

  s.paused = false;
  specs_.Set({s});
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.instance(id)->status, "running");
}

// Polls of an operation double up to poll_max; the next operation starts again at
// poll_initial (it used to inherit the grown interval: a pause right after a slow create was
// first polled 20 s later instead of 5 s), unless it is the same write again.
TEST_F(ControllerTest, EachOperationIsPolledFromTheShortestInterval) {
  spec::InstanceSpec s = MakeSpec("orders");
  s.paused = true;
  specs_.Set({s});
  Make();
  ASSERT_TRUE(controller_->StartPass().ok());
  controller_->ProcessReady();
  ASSERT_EQ(api_.calls()["create"], 1);
  // The create is slow: polls at +5, +10 (doubled), +20 see it creating.
  int gets = api_.calls()["get"];
  for (int wait : {5, 10, 20}) {
    clock_.Advance(seconds(wait - 1));
    controller_->ProcessReady();
    EXPECT_EQ(api_.calls()["get"], gets) << "polled before +" << wait << " s";
    clock_.Advance(seconds(1));
    controller_->ProcessReady();
    EXPECT_EQ(api_.calls()["get"], ++gets) << "not polled at +" << wait << " s";
  }
  // Running at the next poll (+20, poll_max), which pauses it as the spec says.
  api_.SettleAll();
  clock_.Advance(seconds(20));
  controller_->ProcessReady();
  ASSERT_EQ(api_.calls()["pause"], 1) << Dump();
  gets = api_.calls()["get"];
  // The pause is polled 5 s later, not 20 or 40.
  clock_.Advance(seconds(5));
  controller_->ProcessReady();
  EXPECT_EQ(api_.calls()["get"], gets + 1) << Dump();
  // If it does not stick (running again), the same write again keeps the interval growing:
  // polled at +5 and +10 while pausing, the second pause is polled after 20 s, not 5.
  const std::string id = api_.instances().at(0).id;
  api_.SetStatus(id, "running");
  clock_.Advance(seconds(10));  // the poll of the pausing instance, doubled
  controller_->ProcessReady();
  ASSERT_EQ(api_.calls()["pause"], 2) << Dump();
  gets = api_.calls()["get"];
  clock_.Advance(seconds(19));
  controller_->ProcessReady();
  EXPECT_EQ(api_.calls()["get"], gets) << Dump();
  clock_.Advance(seconds(1));
  controller_->ProcessReady();
  EXPECT_EQ(api_.calls()["get"], gets + 1) << Dump();
}

// A pass does not pull an operation's poll forward (issue 21, finding 6): an instance still
// creating is GET at its poll time, not by every pass that starts before it.
TEST_F(ControllerTest, PassesDoNotPollOperationsAheadOfTheirSchedule) {
  specs_.Set({MakeSpec("orders")});
  Make();
  ASSERT_TRUE(controller_->StartPass().ok());
  controller_->ProcessReady();
  ASSERT_EQ(api_.calls()["create"], 1);
  const int gets = api_.calls()["get"];
  for (int t : {1, 2, 4}) {  // passes before the first poll (+5 s)
    clock_.Advance(seconds(t == 1 ? 1 : t / 2));
    ASSERT_TRUE(controller_->StartPass().ok());
    controller_->ProcessReady();
    EXPECT_EQ(api_.calls()["get"], gets) << "GET by the pass at +" << t << " s\n" << Dump();
  }
  api_.SettleAll();
  clock_.Advance(seconds(1));  // +5 s: the poll, which sees it running
  controller_->ProcessReady();
  EXPECT_EQ(api_.calls()["get"], gets + 1) << Dump();
  EXPECT_TRUE(controller_->Converged()) << Dump();
  // Settled: the next pass does not skip it (nothing is scheduled for it any more).
  clock_.Advance(seconds(60));
  ASSERT_TRUE(controller_->StartPass().ok());
  controller_->ProcessReady();
  EXPECT_TRUE(controller_->Converged()) << Dump();
}

TEST_F(ControllerTest, SameNamedInstanceAppearingLaterIsAlarmedAndKept) {
  specs_.Set({MakeSpec("orders")});
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  const std::string late = api_.AddInstance("tenant-1", "orders");
  clock_.Advance(seconds(60));
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(journal_.Get("default/orders")->duplicate_ids, std::vector<std::string>{late});
  EXPECT_EQ(metrics_.duplicate_instances.Value(), 1);
  EXPECT_EQ(api_.instances().size(), 2u);  // nothing deleted
  EXPECT_EQ(api_.calls()["delete"], 0);
}

TEST_F(ControllerTest, ConflictIsRequeuedQuietly) {
  const std::string id = api_.AddInstance("tenant-1", "orders", "running", "2GB");
  specs_.Set({MakeSpec("orders")});
  api_.ScriptError("patch", base::ConflictError("ongoing-database-operation").SetHttpStatus(409));
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.calls()["patch"], 2);
  EXPECT_EQ(api_.instance(id)->memory, "4GB");
  EXPECT_EQ(metrics_.ReconcileTotal("requeue").Value(), 1);
}

TEST_F(ControllerTest, MissingInstanceIsRecreated) {
  specs_.Set({MakeSpec("orders")});
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  const std::string id = StatusOf("default/orders")->aura_id;
  api_.Remove(id);
  // The next drift check sees the 404.
  clock_.Advance(seconds(120));
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.creates_landed(), 2);
  EXPECT_NE(StatusOf("default/orders")->aura_id, id);
}

TEST_F(ControllerTest, RemovedSpecIsDeletedOnlyWithAllowDelete) {
  auto s = MakeSpec("orders");
  s.deletion_policy = spec::DeletionPolicy::kDelete;
  specs_.Set({s});
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  const std::string id = StatusOf("default/orders")->aura_id;
  specs_.Set({});
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_TRUE(api_.instance(id).has_value());
  EXPECT_THAT(StatusOf("default/orders")->message, HasSubstr("--allow-delete"));

  options_.plan.allow_delete = true;
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_FALSE(api_.instance(id).has_value());
  EXPECT_EQ(journal_.List()->size(), 0u);
}

TEST_F(ControllerTest, RemovedRetainedSpecIsForgottenAndKept) {
  specs_.Set({MakeSpec("orders")});
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  specs_.Set({});
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.instances().size(), 1u);
  EXPECT_EQ(journal_.List()->size(), 0u);
}

TEST_F(ControllerTest, DriftChecksStayWithinTheirShareOfTheBudget) {
  std::vector<spec::InstanceSpec> many;
  for (int i = 0; i < 40; ++i) many.push_back(MakeSpec("s" + std::to_string(i)));
  specs_.Set(many);
  options_.rate_limit = 20;
  options_.drift_share = 0.5;  // 10 drift GETs per 60 s pass
  Make();
  ASSERT_TRUE(Converge(200)) << Dump();
  clock_.Advance(seconds(600));
  const int gets_before = api_.calls()["get"];
  const int lists_before = api_.calls()["list"];
  ASSERT_TRUE(controller_->StartPass().ok());
  controller_->ProcessReady();
  EXPECT_EQ(api_.calls()["get"] - gets_before, 10);
  EXPECT_EQ(api_.calls()["list"] - lists_before, 1);
  EXPECT_GT(metrics_.observation_staleness.Value(), 500);
}

TEST_F(ControllerTest, DriftChecksYieldToKeysWithWorkOfTheirOwn) {
  std::vector<spec::InstanceSpec> many;
  for (int i = 0; i < 40; ++i) many.push_back(MakeSpec("s" + std::to_string(i)));
  specs_.Set(many);
  options_.rate_limit = 20;
  options_.drift_share = 0.5;  // 10 drift GETs per 60 s pass
  Make();
  ASSERT_TRUE(Converge(200)) << Dump();
  clock_.Advance(seconds(600));
  // Six new specs to create: the pass leaves their slots to them (10 - 6 drift GETs).
  for (int i = 0; i < 6; ++i) many.push_back(MakeSpec("new" + std::to_string(i)));
  specs_.Set(many);
  const int gets_before = api_.calls()["get"];
  const int creates_before = api_.calls()["create"];
  ASSERT_TRUE(controller_->StartPass().ok());
  controller_->ProcessReady();
  EXPECT_EQ(api_.calls()["create"] - creates_before, 6);
  EXPECT_EQ(api_.calls()["get"] - gets_before, 4);
  // Once they are in sync, the whole share is for drift checks again.
  ASSERT_TRUE(Converge(200)) << Dump();
  clock_.Advance(seconds(600));
  const int gets_in_sync = api_.calls()["get"];
  ASSERT_TRUE(controller_->StartPass().ok());
  controller_->ProcessReady();
  EXPECT_EQ(api_.calls()["get"] - gets_in_sync, 10);
}

TEST_F(ControllerTest, FailuresBackOffPerKey) {
  api_.AddInstance("tenant-1", "orders", "running", "2GB");
  specs_.Set({MakeSpec("orders")});
  Make();
  for (int i = 0; i < 3; ++i) {
    api_.ScriptError("patch", base::UnavailableError("boom").SetHttpStatus(503));
  }
  ASSERT_TRUE(controller_->StartPass().ok());
  controller_->ProcessReady();
  EXPECT_EQ(controller_->queue().Failures("default/orders"), 1);
  auto first = *controller_->queue().NextReady() - clock_.Now();
  clock_.Advance(first);
  controller_->ProcessReady();
  auto second = *controller_->queue().NextReady() - clock_.Now();
  EXPECT_EQ(controller_->queue().Failures("default/orders"), 2);
  EXPECT_GT(second, first);
  const SpecStatus* s = StatusOf("default/orders");
  EXPECT_FALSE(s->synced);
  EXPECT_THAT(s->last_error, HasSubstr("boom"));
}

TEST_F(ControllerTest, InvalidSpecIsReportedAndNotConverged) {
  specs_.Set({MakeSpec("good")}, {"default/bad"});
  Make();
  EXPECT_FALSE(Converge(10));
  EXPECT_TRUE(controller_->OnlyTerminalLeft());
  EXPECT_EQ(StatusOf("default/bad")->phase, kPhaseError);
  EXPECT_TRUE(StatusOf("default/good")->ready);
}

TEST_F(ControllerTest, CombinationTheTenantDoesNotOfferIsNeverCreated) {
  auto big = MakeSpec("big");
  big.memory = "64GB";
  big.storage = "128GB";
  specs_.Set({MakeSpec("ok"), big});
  Make();
  EXPECT_FALSE(Converge(10));
  EXPECT_EQ(api_.creates_landed(), 1);
  EXPECT_EQ(api_.calls()["tenant"], 1);  // once per tenant, not per key or per step
  const SpecStatus* s = StatusOf("default/big");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->phase, kPhaseError);
  EXPECT_THAT(s->message, HasSubstr("spec.memory"));
  EXPECT_TRUE(controller_->OnlyTerminalLeft());
  auto plan = controller_->PlanOnly();
  ASSERT_TRUE(plan.ok());
  for (const auto& a : plan->Actions()) EXPECT_NE(a.key, "default/big");
}

TEST_F(ControllerTest, PlanOnlySendsNoWrites) {
  specs_.Set({MakeSpec("a"), MakeSpec("b")});
  api_.AddInstance("tenant-1", "b", "running", "2GB");
  Make();
  auto plan = controller_->PlanOnly();
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->HasChanges());
  auto calls = api_.calls();
  EXPECT_EQ(calls["create"] + calls["patch"] + calls["delete"] + calls["pause"], 0);
}

// Issue 21: a restarted controller (or a new HA leader) starts from the observations the
// journal kept: no GET per instance, ready at once; the oldest are refreshed by the drift
// budget, and a change GETs its instance first.
TEST_F(ControllerTest, ARestartStartsFromTheObservationsKeptInTheJournal) {
  specs_.Set({MakeSpec("a"), MakeSpec("b"), MakeSpec("c")});
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_GE(journal_.observation_writes(), 3);
  auto entries = journal_.List();
  ASSERT_TRUE(entries.ok());
  for (const auto& [k, e] : *entries) {
    ASSERT_TRUE(e.observation.has_value()) << k;
    EXPECT_THAT(e.observation->instance_json, HasSubstr("\"running\"")) << k;
  }
  const std::string id_a = StatusOf("default/a")->aura_id;

  const int gets = api_.calls()["get"];
  RestartAndPass();
  EXPECT_EQ(api_.calls()["get"], gets) << "a GET per instance after the restart";
  EXPECT_TRUE(controller_->Converged()) << Dump();
  EXPECT_EQ(metrics_.Instances("in_sync").Value(), 3);

  // A change of one spec: its instance is fetched first, then patched; the others are not.
  auto a = MakeSpec("a");
  a.memory = "8GB";
  a.storage = "16GB";
  specs_.Set({a, MakeSpec("b"), MakeSpec("c")});
  ASSERT_TRUE(controller_->StartPass().ok());
  controller_->ProcessReady();
  EXPECT_EQ(api_.calls()["get"], gets + 1);
  EXPECT_EQ(api_.calls()["patch"], 1);
  EXPECT_EQ(api_.instance(id_a)->memory, "8GB");

  // Later passes refresh the kept ones through the drift budget, as old observations.
  clock_.Advance(seconds(600));
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_GE(api_.calls()["get"], gets + 3);
}

// A kept observation that is not the controller's JSON is ignored: it costs a GET, nothing else.
TEST_F(ControllerTest, KeptObservationsThatDoNotFitAreIgnored) {
  specs_.Set({MakeSpec("a")});
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  auto e = journal_.Get("default/a");
  ASSERT_TRUE(e.ok());
  e->observation->instance_json = "not json";
  ASSERT_TRUE(journal_.Put(*e).ok());
  const int gets = api_.calls()["get"];
  RestartAndPass();
  EXPECT_EQ(api_.calls()["get"], gets + 1);
  EXPECT_TRUE(controller_->Converged()) << Dump();
}

// Operation records in memory, as an operator command would write them.
class MemOperationLog : public store::OperationLog {
 public:
  base::Status Record(const store::OperationRecord& r) override {
    std::lock_guard<std::mutex> g(mu_);
    records_[r.key] = r;
    return base::Status::Ok();
  }
  base::Status Clear(const std::string& key) override {
    std::lock_guard<std::mutex> g(mu_);
    records_.erase(key);
    return base::Status::Ok();
  }
  base::StatusOr<std::vector<store::OperationRecord>> List() const override {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<store::OperationRecord> out;
    for (const auto& [_, r] : records_) out.push_back(r);
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, store::OperationRecord> records_;
};

// Issue 22: while an operator's restore of an instance is recorded, the controller sends it no
// change (a spec change waits, and says why); once the record is cleared, or has expired, the
// change goes out.
TEST_F(ControllerTest, NoChangeIsSentWhileAnOperatorsOperationIsRecorded) {
  MemOperationLog operations;
  options_.operations = &operations;
  specs_.Set({MakeSpec("a")});
  Make();
  ASSERT_TRUE(Converge()) << Dump();
  const std::string id = StatusOf("default/a")->aura_id;
  store::OperationRecord op;
  op.key = "default/a";
  op.instance_id = id;
  op.operation = "restore";
  op.detail = "to snapshot s1";
  op.started = clock_.SystemNow();
  op.until = op.started + seconds(600);
  ASSERT_TRUE(operations.Record(op).ok());

  auto a = MakeSpec("a");
  a.memory = "8GB";
  a.storage = "16GB";
  specs_.Set({a});
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(controller_->StartPass().ok());
    controller_->ProcessReady();
    clock_.Advance(seconds(10));
  }
  EXPECT_EQ(api_.calls()["patch"], 0);
  EXPECT_THAT(StatusOf("default/a")->message, HasSubstr("an operator's restore of instance " + id));

  // An expired record holds nothing (a command killed before it cleared its record).
  clock_.Advance(seconds(600));
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.calls()["patch"], 1);
  EXPECT_EQ(api_.instance(id)->memory, "8GB");

  // A record for another instance of the key (an old one) holds nothing either.
  op.instance_id = "another";
  op.until = clock_.SystemNow() + seconds(600);
  ASSERT_TRUE(operations.Record(op).ok());
  a.memory = "16GB";
  a.storage = "32GB";
  specs_.Set({a});
  ASSERT_TRUE(Converge()) << Dump();
  EXPECT_EQ(api_.calls()["patch"], 2);
}

TEST_F(ControllerTest, RunLoopConvergesWithWorkersAndStops) {
  specs_.Set({MakeSpec("a"), MakeSpec("b")});
  options_.workers = 3;
  Make();
  std::stop_source stop;
  std::thread loop([&] { controller_->Run(stop.get_token()); });
  // Step time until converged; the loop and the workers wait on the fake clock.
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(clock_.AwaitWaiters(4));  // 3 workers and the scheduler are idle
    if (controller_->Converged()) break;
    api_.SettleAll();
    clock_.Advance(seconds(1));
  }
  EXPECT_TRUE(controller_->Converged()) << Dump();
  EXPECT_EQ(api_.creates_landed(), 2);
  stop.request_stop();
  loop.join();
  EXPECT_TRUE(controller_->GetHealth().last_list_ok.has_value());
}

TEST_F(ControllerTest, ApplyWaitsUntilConverged) {
  specs_.Set({MakeSpec("a")});
  Make();
  int progress_calls = 0;
  std::thread settle([&] {
    for (int i = 0; i < 200; ++i) {
      if (!clock_.AwaitWaiters(1, std::chrono::milliseconds(2000))) break;
      api_.SettleAll();
      clock_.Advance(seconds(1));
    }
  });
  base::Status s =
      controller_->Apply(true, clock_.Now() + seconds(600), [&](const auto&) { ++progress_calls; });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_GT(progress_calls, 1);
  settle.join();
}

TEST_F(ControllerTest, AnUnreachableApiIsReportedWithItsLastErrorAfterTheThreshold) {
  specs_.Set({MakeSpec("orders")});
  Controller& c = Make();
  const base::TimePoint start = clock_.Now();
  ASSERT_TRUE(c.StartPass().ok());
  EXPECT_FALSE(c.Outage(seconds(30), start).has_value()) << "the API answered";
  // The API goes away: every LIST fails with no answer.
  for (int i = 0; i < 10; ++i) {
    api_.ScriptError("list", base::UnavailableError("connection refused"));
    clock_.Advance(seconds(5));
    (void)c.StartPass();
  }
  auto down = c.Outage(seconds(30), start);
  ASSERT_TRUE(down.has_value());
  EXPECT_GE(down->duration, seconds(45));
  EXPECT_THAT(down->last_error, HasSubstr("connection refused"));
  // Not before the threshold: a refusal is an answer, and resets it.
  api_.ScriptError("list", base::PermissionDeniedError("forbidden"));
  (void)c.StartPass();
  EXPECT_FALSE(c.Outage(seconds(30), start).has_value());
  // And --timeout names the last error.
  base::Status s = c.Apply(/*wait=*/true, clock_.Now(), nullptr, {});
  EXPECT_EQ(s.code(), base::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(s.message(), HasSubstr("the last Aura API error"));
}

TEST_F(ControllerTest, AJournalThatCannotBeWrittenIsNamedAndNoCreatingPhaseIsShown) {
  specs_.Set({MakeSpec("orders")});
  Controller& c = Make();
  journal_.FailWrites(
      100, base::InternalError("write /state/journal.json.tmp: No space left on device"));
  ASSERT_TRUE(c.StartPass().ok());
  c.ProcessReady();
  EXPECT_EQ(api_.calls()["create"], 0) << "nothing sent without a durable intent";
  const SpecStatus* s = StatusOf("default/orders");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->phase, kPhasePending) << Dump();
  EXPECT_THAT(s->message, HasSubstr("create not sent: the journal cannot be written"));
  EXPECT_THAT(s->message, HasSubstr("No space left on device"));
  EXPECT_THAT(c.GetHealth().journal_error, HasSubstr("/state/journal.json.tmp"));
  // The disk has room again: the error goes, the create is sent.
  journal_.FailWrites(0, base::Status());
  EXPECT_TRUE(Converge()) << Dump();
  EXPECT_EQ(c.GetHealth().journal_error, "");
  EXPECT_EQ(api_.calls()["create"], 1);
}

}  // namespace
}  // namespace aura::reconcile
