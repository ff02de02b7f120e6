// EtcdJournal on a FakeEtcd: the layout, the fenced transaction every write is, what a deposed
// leader's write does (nothing), reloading after a write of unknown outcome, read-only mode.
#include "pkg/etcd/etcd_journal.h"

#include <gtest/gtest.h>

#include "pkg/etcd/etcd_operations.h"
#include "pkg/etcd/fake_etcd.h"
#include "pkg/store/codec.h"
#include "pkg/store/test_util.h"

namespace aura::etcd {
namespace {

using base::StatusCode;

constexpr char kLeader[] = "/aura/leader";

class EtcdJournalTest : public ::testing::Test {
 protected:
  EtcdJournalTest() : etcd_(&clock_) {}

  // Takes the leader key the way LeaderElection does; returns the fence of that term.
  LeaderFence Lead(const std::string& who) {
    auto lease = etcd_.LeaseGrant(std::chrono::seconds(10));
    EXPECT_TRUE(lease.ok());
    auto txn = etcd_.Txn({EtcdCompare::CreateRevision(kLeader, 0)},
                         {EtcdOp::Put(kLeader, who, lease->id)}, {});
    EXPECT_TRUE(txn.ok() && txn->succeeded);
    LeaderFence f;
    f.leader_key = kLeader;
    f.create_revision = txn->revision;
    f.lease = lease->id;
    return f;
  }

  std::unique_ptr<EtcdJournal> Open(std::optional<LeaderFence> fence) {
    EtcdJournalOptions o;
    o.etcd = &etcd_;
    o.clock = &clock_;
    o.prefix = "/aura";
    o.fence = std::move(fence);
    auto j = EtcdJournal::Open(o);
    EXPECT_TRUE(j.ok()) << j.status();
    return j.ok() ? std::move(j).value() : nullptr;
  }

  base::FakeClock clock_;
  FakeEtcd etcd_;
};

TEST_F(EtcdJournalTest, PutStoresOneKeyPerSpecAndReadsBack) {
  auto j = Open(Lead("a"));
  const store::JournalEntry e = store::testutil::FullEntry("shop/orders");
  ASSERT_TRUE(j->Put(e).ok());
  auto kv = etcd_.Peek("/aura/journal/shop/orders");
  ASSERT_TRUE(kv.has_value());
  auto decoded = store::detail::DecodeJournalEntry(kv->value);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(store::testutil::SameEntry(*decoded, e, /*compare_updated=*/false));
  EXPECT_EQ(decoded->updated, clock_.SystemNow());
  EXPECT_EQ(kv->lease, 0);  // journal entries outlive the leader's lease

  auto got = j->Get("shop/orders");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(store::testutil::SameEntry(*got, e, false));
  EXPECT_EQ(j->Get("shop/none").status().code(), StatusCode::kNotFound);

  // A new term (or another process) loads what is in etcd.
  auto reopened = Open(std::nullopt);
  auto all = reopened->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_TRUE(store::testutil::SameEntry(all->at("shop/orders"), e, false));
}

TEST_F(EtcdJournalTest, PutObservationChangesOnlyTheObservation) {
  auto j = Open(Lead("a"));
  store::JournalEntry e = store::testutil::FullEntry("shop/orders", "id1");
  e.intent.reset();
  e.observation.reset();
  ASSERT_TRUE(j->Put(e).ok());
  const store::StoredObservation o{R"({"status":"running"})",
                                   base::SystemTime(std::chrono::seconds(7)),
                                   base::SystemTime(std::chrono::seconds(6))};
  ASSERT_TRUE(j->PutObservation("shop/orders", "other", o).ok());
  EXPECT_FALSE(j->Get("shop/orders")->observation.has_value());
  ASSERT_TRUE(j->PutObservation("shop/orders", "id1", o).ok());
  auto reopened = Open(std::nullopt);
  auto got = reopened->Get("shop/orders");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->observation.has_value());
  EXPECT_EQ(*got->observation, o);
  e.observation = o;
  EXPECT_TRUE(store::testutil::SameEntry(*got, e, false));
}

TEST_F(EtcdJournalTest, EveryWriteIsOneTransactionComparingTheLeaderKey) {
  auto j = Open(Lead("a"));
  const int before = etcd_.calls(FakeEtcd::Op::kTxn);
  ASSERT_TRUE(j->Put(store::testutil::FullEntry("a/b")).ok());
  ASSERT_TRUE(j->Remove("a/b").ok());
  EXPECT_EQ(etcd_.calls(FakeEtcd::Op::kTxn) - before, 2);
  EXPECT_EQ(etcd_.calls(FakeEtcd::Op::kPut), 0);
  EXPECT_EQ(etcd_.calls(FakeEtcd::Op::kDelete), 0);
  EXPECT_FALSE(etcd_.Peek("/aura/journal/a/b").has_value());
  EXPECT_TRUE(j->Remove("a/b").ok());  // already absent
}

TEST_F(EtcdJournalTest, ADeposedLeaderWritesNothing) {
  const LeaderFence old_term = Lead("a");
  auto j = Open(old_term);
  ASSERT_TRUE(j->Put(store::testutil::FullEntry("k/one", "id1")).ok());
  // a's lease expires (paused, partitioned) and b takes over.
  etcd_.ExpireLease(old_term.lease);
  const LeaderFence new_term = Lead("b");
  auto b = Open(new_term);
  ASSERT_TRUE(b->Put(store::testutil::FullEntry("k/two", "id2")).ok());
  const auto before = etcd_.Dump("/aura/journal/");

  base::Status put = j->Put(store::testutil::FullEntry("k/one", "other"));
  EXPECT_EQ(put.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsNotLeader(put)) << put;
  EXPECT_NE(put.message().find("not the leader"), std::string::npos);
  EXPECT_NE(put.message().find("\"b\""), std::string::npos) << put;
  EXPECT_TRUE(IsNotLeader(j->Remove("k/one")));
  EXPECT_TRUE(IsNotLeader(j->Put(store::testutil::FullEntry("k/three"))));

  const auto after = etcd_.Dump("/aura/journal/");
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [k, kv] : before) EXPECT_EQ(after.at(k).mod_revision, kv.mod_revision) << k;
  // Its memory is unchanged by the refused writes.
  EXPECT_EQ(j->Get("k/one")->instance_id, "id1");
}

TEST_F(EtcdJournalTest, SameRevisionButAnotherLeaseIsRefused) {
  LeaderFence f = Lead("a");
  f.lease += 1;  // not our lease
  auto j = Open(f);
  EXPECT_TRUE(IsNotLeader(j->Put(store::testutil::FullEntry("a/b"))));
}

TEST_F(EtcdJournalTest, TheLocalCheckIsAskedFirst) {
  LeaderFence f = Lead("a");
  bool leader = false;
  f.local_check = [&] {
    return leader ? base::Status() : base::FailedPreconditionError("lease expired (local clock)");
  };
  auto j = Open(f);
  const int txns = etcd_.calls(FakeEtcd::Op::kTxn);
  base::Status s = j->Put(store::testutil::FullEntry("a/b"));
  EXPECT_TRUE(IsNotLeader(s));
  EXPECT_NE(s.message().find("local clock"), std::string::npos);
  EXPECT_EQ(etcd_.calls(FakeEtcd::Op::kTxn), txns);  // not even sent
  leader = true;
  EXPECT_TRUE(j->Put(store::testutil::FullEntry("a/b")).ok());
}

TEST_F(EtcdJournalTest, AWriteOfUnknownOutcomeReloadsBeforeTheNextRead) {
  auto j = Open(Lead("a"));
  // Applied, but the answer is lost.
  etcd_.FailNext(FakeEtcd::Op::kTxn, base::DeadlineExceededError("timed out"), 1, true);
  EXPECT_EQ(j->Put(store::testutil::FullEntry("a/b", "id9")).code(), StatusCode::kDeadlineExceeded);
  auto got = j->Get("a/b");
  ASSERT_TRUE(got.ok()) << got.status();  // read back from etcd
  EXPECT_EQ(got->instance_id, "id9");
  // Not applied, answer lost: the reload shows nothing.
  etcd_.FailNext(FakeEtcd::Op::kTxn, base::DeadlineExceededError("timed out"), 1, false);
  EXPECT_FALSE(j->Put(store::testutil::FullEntry("c/d")).ok());
  EXPECT_EQ(j->Get("c/d").status().code(), StatusCode::kNotFound);
  // When etcd cannot be read, reads fail rather than guess.
  etcd_.FailNext(FakeEtcd::Op::kTxn, base::DeadlineExceededError("timed out"), 1, false);
  EXPECT_FALSE(j->Put(store::testutil::FullEntry("e/f")).ok());
  etcd_.SetReachable(false);
  EXPECT_EQ(j->List().status().code(), StatusCode::kUnavailable);
  int visited = 0;
  EXPECT_EQ(j->ForEach([&visited](const store::JournalEntry&) { ++visited; }).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(visited, 0);
  etcd_.SetReachable(true);
  EXPECT_TRUE(j->List().ok());
  std::vector<std::string> keys;  // in place, in key order, as List() has them
  ASSERT_TRUE(j->ForEach([&keys](const store::JournalEntry& e) { keys.push_back(e.key); }).ok());
  EXPECT_EQ(keys, std::vector<std::string>{"a/b"});
}

TEST_F(EtcdJournalTest, ReadOnlyRefusesWrites) {
  Lead("a");
  auto j = Open(std::nullopt);
  base::Status s = j->Put(store::testutil::FullEntry("a/b"));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("read-only"), std::string::npos);
}

TEST_F(EtcdJournalTest, OpenFailsWithoutQuorumAndOnDamagedEntries) {
  etcd_.SetReachable(false);
  EtcdJournalOptions o;
  o.etcd = &etcd_;
  o.clock = &clock_;
  o.prefix = "/aura";
  EXPECT_EQ(EtcdJournal::Open(o).status().code(), StatusCode::kUnavailable);
  etcd_.SetReachable(true);
  ASSERT_TRUE(etcd_.Put("/aura/journal/x/y", "{not json", 0).ok());
  auto bad = EtcdJournal::Open(o);
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(bad.status().message().find("/aura/journal/x/y"), std::string::npos);
  // An entry moved to another key by hand.
  auto bytes = store::detail::EncodeJournalEntry(store::testutil::FullEntry("x/z"));
  ASSERT_TRUE(etcd_.Put("/aura/journal/x/y", *bytes, 0).ok());
  EXPECT_EQ(EtcdJournal::Open(o).status().code(), StatusCode::kDataLoss);
}

TEST(JournalEntryCodecTest, RoundTripAndRejections) {
  const store::JournalEntry e = store::testutil::FullEntry("shop/orders");
  auto bytes = store::detail::EncodeJournalEntry(e);
  ASSERT_TRUE(bytes.ok());
  auto back = store::detail::DecodeJournalEntry(*bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(store::testutil::SameEntry(*back, e, true));
  store::JournalEntry no_intent = e;
  no_intent.intent.reset();
  auto b2 = store::detail::DecodeJournalEntry(*store::detail::EncodeJournalEntry(no_intent));
  ASSERT_TRUE(b2.ok());
  EXPECT_FALSE(b2->intent.has_value());
  for (
      const char* bad :
      {"", "[]", R"({"format":"x"})",
       R"({"format":"aura-controller journal entry","schema_version":2,"key":"a/b","entry":{}})",
       R"({"format":"aura-controller journal entry","schema_version":1,"entry":{}})",
       R"({"format":"aura-controller journal entry","schema_version":1,"key":"a/b","entry":{"attempt":"x","instance_id":5}})"}) {
    EXPECT_EQ(store::detail::DecodeJournalEntry(bad).status().code(), StatusCode::kDataLoss) << bad;
  }
}

// Operation records of operator commands: any process writes them (no fence), beside the journal.
TEST(EtcdOperationLogTest, RecordsListAndClears) {
  base::FakeClock clock;
  FakeEtcd etcd(&clock);
  EtcdOperationLog log(&etcd, "/aura");
  store::OperationRecord r;
  r.key = "shop/orders";
  r.instance_id = "id1";
  r.operation = "overwrite";
  r.detail = "from id2";
  r.started = clock.SystemNow();
  r.until = r.started + std::chrono::minutes(30);
  ASSERT_TRUE(log.Record(r).ok());
  ASSERT_TRUE(etcd.Peek("/aura/operations/shop/orders").has_value());
  ASSERT_TRUE(etcd.Put("/aura/operations/junk", "not a record", 0).ok());
  auto all = log.List();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front(), r);
  ASSERT_TRUE(log.Clear("shop/orders").ok());
  EXPECT_FALSE(etcd.Peek("/aura/operations/shop/orders").has_value());
}

}  // namespace
}  // namespace aura::etcd
