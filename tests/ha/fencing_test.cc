// The whole fencing path in one process, with fakes (FakeEtcd, FakeTransport, FakeClock): the
// executor's create over a real api::Client whose write guard is a LeaderElection's term
// check, and an EtcdJournal fenced by that term. Leadership is lost between the intent and
// the POST: the POST is not sent, the intent stays in etcd (the deposed term cannot clear it),
// and the next leader resolves it through the protocol (a LIST after the settle window shows
// nothing: a new attempt).
#include <gtest/gtest.h>

#include "pkg/base/base64.h"

#include <atomic>

#include "pkg/aura/client.h"
#include "pkg/etcd/etcd_credential_store.h"
#include "pkg/etcd/etcd_journal.h"
#include "pkg/etcd/fake_etcd.h"
#include "pkg/http/fake_transport.h"
#include "pkg/reconcile/executor.h"
#include "pkg/reconcile/planner.h"
#include "pkg/reconcile/testing/fakes.h"

namespace aura::ha_test {
namespace {

using http::FakeTransport;

using base::StatusCode;
using std::chrono::seconds;

constexpr char kLeader[] = "/aura/leader";

std::string CreatedBody(const std::string& name) {
  return R"({"data":{"id":"id-)" + name + R"(","connection_url":"neo4j+s://x","username":"neo4j",
    "password":"pw-)" +
         name + R"(-0123456789","tenant_id":"tenant-1","cloud_provider":"gcp",
    "region":"europe-west1","type":"professional-db","name":")" +
         name + R"(",
    "created_at":"2027-01-01T00:00:00Z"}})";
}

class FencingPathTest : public ::testing::Test {
 protected:
  FencingPathTest()
      : etcd_(&clock_),
        limiter_(LimiterOptions(), &clock_, nullptr),
        log_(
            base::LogLevel::kError, base::LogFormat::kJson, [](std::string_view) {}, &clock_),
        tokens_(TokenOptions(), &transport_, &limiter_, &clock_, nullptr, log_,
                [] { return 0.5; }) {
    transport_.OnApi([this](const http::HttpRequest& r) {
      ++api_calls_;
      if (r.method == "POST") {
        ++posts_;
        return http::FakeTransport::Response(202, CreatedBody("orders"), {{"X-Request-Id", "r"}});
      }
      return http::FakeTransport::Response(200, R"({"data":[]})", {{"X-Request-Id", "r"}});
    });
  }

  static ratelimit::Options LimiterOptions() {
    ratelimit::Options o;
    o.limit = 100;
    o.window = seconds(60);
    return o;
  }
  static api::TokenSourceOptions TokenOptions() {
    api::TokenSourceOptions o;
    o.token_url = "http://127.0.0.1:9/oauth/token";
    o.client_id = "c";
    o.client_secret = "client-secret-0123456789";
    return o;
  }

  // A term as LeaderElection makes one, and its local check (`leader_`).
  etcd::LeaderFence Lead(const std::string& who) {
    auto lease = etcd_.LeaseGrant(seconds(600));  // the tests end terms explicitly
    auto txn = etcd_.Txn({etcd::EtcdCompare::CreateRevision(kLeader, 0)},
                         {etcd::EtcdOp::Put(kLeader, who, lease->id)}, {});
    EXPECT_TRUE(txn.ok() && txn->succeeded);
    etcd::LeaderFence f{kLeader, txn->revision, lease->id, nullptr};
    f.local_check = [this] {
      return leader_ ? base::Status() : base::FailedPreconditionError("lease expired");
    };
    return f;
  }

  struct Term {
    std::unique_ptr<etcd::EtcdJournal> journal;
    std::unique_ptr<etcd::EtcdCredentialStore> creds;
    std::unique_ptr<api::Client> client;
    std::unique_ptr<reconcile::Executor> executor;
  };
  Term Open(const etcd::LeaderFence& fence) {
    Term t;
    etcd::EtcdJournalOptions jo;
    jo.etcd = &etcd_;
    jo.clock = &clock_;
    jo.prefix = "/aura";
    jo.fence = fence;
    t.journal = std::move(etcd::EtcdJournal::Open(jo)).value();
    etcd::EtcdCredentialStoreOptions co;
    co.etcd = &etcd_;
    co.clock = &clock_;
    co.prefix = "/aura";
    co.keys = {*store::ParseSealingKey(base::Base64Encode(std::string(32, 'k')))};
    co.fence = fence;
    t.creds = std::move(etcd::EtcdCredentialStore::Open(co)).value();
    api::ClientOptions o;
    o.api_url = "http://127.0.0.1:9/v1";
    o.write_guard = fence.local_check;
    t.client = std::make_unique<api::Client>(o, &transport_, &tokens_, &limiter_, &clock_, nullptr,
                                             log_, [] { return 0.5; });
    t.executor = std::make_unique<reconcile::Executor>(*t.client, *t.journal, *t.creds, clock_,
                                                       metrics_, log_);
    return t;
  }

  reconcile::Action CreateAction(int attempt = 1) {
    reconcile::Action a;
    a.type = reconcile::ActionType::kCreate;
    a.key = "shop/orders";
    a.attempt = attempt;
    a.create.name = "orders";
    a.create.tenant_id = "tenant-1";
    a.create.cloud_provider = "gcp";
    a.create.region = "europe-west1";
    a.create.type = "professional-db";
    a.create.version = "5";
    a.create.memory = "1GB";
    return a;
  }

  base::FakeClock clock_;
  etcd::FakeEtcd etcd_;
  metrics::Metrics metrics_;
  ratelimit::Limiter limiter_;
  http::FakeTransport transport_;
  base::Logger log_;
  api::TokenSource tokens_;
  std::atomic<bool> leader_{true};
  std::atomic<int> posts_{0};
  std::atomic<int> api_calls_{0};
};

TEST_F(FencingPathTest, TheLeaderCreatesAndRecords) {
  Term t = Open(Lead("a"));
  reconcile::ActionResult r = t.executor->Execute(CreateAction());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(posts_.load(), 1);
  auto e = t.journal->Get("shop/orders");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->instance_id, "id-orders");
  EXPECT_FALSE(e->intent.has_value());
  EXPECT_TRUE(e->credentials_saved);
  EXPECT_EQ(t.creds->Load("shop/orders")->password, "pw-orders-0123456789");
}

TEST_F(FencingPathTest, LostBetweenIntentAndPostNothingIsSentAndTheIntentIsResolvedLater) {
  const etcd::LeaderFence first = Lead("a");
  Term a = Open(first);
  // Leadership ends after the intent is committed and before the POST goes out (the client
  // fetches its first token in between): the lease runs out (a pause, a partition) and etcd
  // deletes the key with it.
  transport_.OnToken([&](const http::HttpRequest&) {
    EXPECT_EQ(etcd_.Dump("/aura/journal/").size(), 1u);  // the intent is durable
    leader_ = false;
    etcd_.ExpireLease(first.lease);
    return http::FakeTransport::Response(
        200, R"({"access_token":"tok","expires_in":3600,"token_type":"bearer"})");
  });
  reconcile::ActionResult r = a.executor->Execute(CreateAction());
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled) << r.status;
  EXPECT_EQ(posts_.load(), 0) << "a deposed leader sent a POST";

  // The intent is in etcd: the deposed term could not clear it. The successor's executor marks
  // it ambiguous when it starts (its POST may have left before the old leader stopped), so the
  // settle window counts from the takeover.
  const etcd::LeaderFence second = [&] {
    leader_ = true;  // the successor's own local check
    return Lead("b");
  }();
  Term b = Open(second);
  auto entry = b.journal->Get("shop/orders");
  ASSERT_TRUE(entry.ok()) << entry.status();
  ASSERT_TRUE(entry->intent.has_value());
  EXPECT_EQ(entry->intent->attempt, 1);
  EXPECT_TRUE(entry->intent->ambiguous);
  EXPECT_EQ(entry->updated, clock_.SystemNow());

  // The successor plans it: a LIST after the intent shows nothing; within the settle window it
  // waits, after it a new attempt is allowed.
  reconcile::PlanOptions opts;
  opts.settle_window = seconds(60);
  const spec::InstanceSpec spec = [] {
    spec::InstanceSpec s = reconcile::testing::MakeSpec("orders");
    s.namespace_name = "shop";
    return s;
  }();
  reconcile::Observed observed;
  observed.listings["tenant-1"].fetched_at = clock_.SystemNow() + seconds(1);
  reconcile::KeyPlan wait = reconcile::PlanKey(&spec, false, &*entry, observed, {},
                                               clock_.SystemNow() + seconds(1), opts);
  for (const auto& act : wait.actions) EXPECT_NE(act.type, reconcile::ActionType::kCreate);
  clock_.Advance(seconds(61));
  observed.listings["tenant-1"].fetched_at = clock_.SystemNow();
  reconcile::KeyPlan retry =
      reconcile::PlanKey(&spec, false, &*entry, observed, {}, clock_.SystemNow(), opts);
  ASSERT_FALSE(retry.actions.empty());
  EXPECT_EQ(retry.actions[0].type, reconcile::ActionType::kCreate);
  EXPECT_EQ(retry.actions[0].attempt, 2);
  // ...which the new leader sends, once.
  reconcile::ActionResult again = b.executor->Execute(retry.actions[0]);
  ASSERT_TRUE(again.status.ok()) << again.status << " " << again.request_id;
  EXPECT_EQ(posts_.load(), 1);
  EXPECT_EQ(b.journal->Get("shop/orders")->instance_id, "id-orders");
}

TEST_F(FencingPathTest, ADeposedLeaderCannotWriteAnIntentSoSendsNothing) {
  const etcd::LeaderFence first = Lead("a");
  Term a = Open(first);
  etcd_.ExpireLease(first.lease);  // etcd ended the term; the local clock has not noticed yet
  Lead("b");
  reconcile::ActionResult r = a.executor->Execute(CreateAction());
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("not the leader"), std::string::npos) << r.status;
  EXPECT_EQ(posts_.load(), 0);
  EXPECT_TRUE(etcd_.Dump("/aura/journal/").empty());
}

}  // namespace
}  // namespace aura::ha_test
