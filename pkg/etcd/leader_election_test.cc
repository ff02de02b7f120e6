// The election's state machine on a FakeEtcd and a FakeClock: acquire, renew, step down at once
// by the local clock when renewals fail, lose on an expired lease or a replaced key, fencing
// after the loss, resign. Time only moves when the test steps it: from one waiter's deadline
// to the next, after every election thread has gone back to sleep.
#include "pkg/etcd/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "pkg/etcd/fake_etcd.h"

namespace aura::etcd {
namespace {

using base::StatusCode;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kKey[] = "/aura/leader";

// One process's view of the cluster: cut it to partition that process alone.
class ProcessLink final : public EtcdClient {
 public:
  explicit ProcessLink(EtcdClient* cluster) : cluster_(cluster) {}
  void Cut(bool cut) { cut_ = cut; }

  base::StatusOr<EtcdRangeResult> Range(const std::string& k, bool p, std::int64_t l) override {
    AURA_RETURN_IF_ERROR(Check());
    return cluster_->Range(k, p, l);
  }
  base::StatusOr<std::int64_t> Put(const std::string& k, const std::string& v,
                                   std::int64_t lease) override {
    AURA_RETURN_IF_ERROR(Check());
    return cluster_->Put(k, v, lease);
  }
  base::StatusOr<std::int64_t> Delete(const std::string& k, bool p) override {
    AURA_RETURN_IF_ERROR(Check());
    return cluster_->Delete(k, p);
  }
  base::StatusOr<EtcdTxnResult> Txn(const std::vector<EtcdCompare>& c, const std::vector<EtcdOp>& s,
                                    const std::vector<EtcdOp>& f) override {
    AURA_RETURN_IF_ERROR(Check());
    return cluster_->Txn(c, s, f);
  }
  base::StatusOr<EtcdLease> LeaseGrant(std::chrono::seconds ttl) override {
    AURA_RETURN_IF_ERROR(Check());
    return cluster_->LeaseGrant(ttl);
  }
  base::StatusOr<std::chrono::seconds> LeaseKeepAlive(std::int64_t id) override {
    AURA_RETURN_IF_ERROR(Check());
    return cluster_->LeaseKeepAlive(id);
  }
  base::Status LeaseRevoke(std::int64_t id) override {
    AURA_RETURN_IF_ERROR(Check());
    return cluster_->LeaseRevoke(id);
  }

 private:
  base::Status Check() const {
    if (cut_) return base::UnavailableError("partitioned").SetReason("connect");
    return base::Status();
  }
  EtcdClient* cluster_;
  std::atomic<bool> cut_{false};
};

// An election with its thread and what its callbacks saw.
struct Candidate {
  Candidate(EtcdClient* cluster, base::FakeClock* fake_clock, const std::string& identity)
      : link(cluster), clock(fake_clock) {
    LeaderElectionOptions o;
    o.key = kKey;
    o.identity = identity;
    o.ttl = seconds(3);
    election = std::make_unique<LeaderElection>(&link, fake_clock, o);
    election->OnElected([this](const LeaderTerm& t) {
      std::lock_guard<std::mutex> g(mu);
      terms.push_back(t);
      elected_at.push_back(this->clock->Now());
    });
    election->OnLost([this](const LeaderTerm&, const std::string& reason) {
      std::lock_guard<std::mutex> g(mu);
      lost_reasons.push_back(reason);
      lost_at.push_back(this->clock->Now());
    });
  }
  ~Candidate() { Stop(); }
  void Start() {
    thread = std::jthread([this](std::stop_token st) { election->Run(st); });
  }
  void Stop() {
    if (!thread.joinable()) return;
    thread.request_stop();
    thread.join();
  }
  size_t elections() {
    std::lock_guard<std::mutex> g(mu);
    return terms.size();
  }
  size_t losses() {
    std::lock_guard<std::mutex> g(mu);
    return lost_reasons.size();
  }

  ProcessLink link;
  base::FakeClock* clock;
  std::unique_ptr<LeaderElection> election;
  std::mutex mu;
  std::vector<LeaderTerm> terms;
  std::vector<base::TimePoint> elected_at;
  std::vector<std::string> lost_reasons;
  std::vector<base::TimePoint> lost_at;
  std::jthread thread;
};

class LeaderElectionTest : public ::testing::Test {
 protected:
  LeaderElectionTest() : etcd_(&clock_) {}

  // Steps fake time from deadline to deadline (each time after `threads` election threads are
  // asleep) until `done` or `limit` has passed. Returns done().
  bool StepUntil(size_t threads, const std::function<bool()>& done, base::Duration limit) {
    const base::TimePoint end = clock_.Now() + limit;
    while (!done()) {
      if (!clock_.AwaitWaiters(threads)) return false;
      if (done()) return true;
      base::TimePoint next;
      if (!clock_.NextDeadline(&next) || next > end) return done();
      if (next > clock_.Now()) clock_.Advance(next - clock_.Now());
    }
    return true;
  }
  // Moves time by `d` in deadline-sized steps.
  void Elapse(size_t threads, base::Duration d) {
    const base::TimePoint end = clock_.Now() + d;
    StepUntil(
        threads, [&] { return clock_.Now() >= end; }, d);
    if (clock_.Now() < end) {
      ASSERT_TRUE(clock_.AwaitWaiters(threads));
      clock_.Advance(end - clock_.Now());
    }
    ASSERT_TRUE(clock_.AwaitWaiters(threads));
  }

  base::FakeClock clock_;
  FakeEtcd etcd_;
};

TEST_F(LeaderElectionTest, AcquiresAFreeKeyWithALease) {
  Candidate a(&etcd_, &clock_, "a");
  a.Start();
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 1; }, seconds(1)));
  const LeaderTerm t = a.terms[0];
  EXPECT_EQ(t.term, 1u);
  EXPECT_EQ(t.key, kKey);
  auto kv = etcd_.Peek(kKey);
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->value, "a");
  EXPECT_EQ(kv->lease, t.lease);
  EXPECT_EQ(kv->create_revision, t.create_revision);
  EXPECT_TRUE(a.election->CheckLeader(t.term).ok());
  EXPECT_FALSE(a.election->CheckLeader(t.term + 1).ok());
  EXPECT_TRUE(a.election->IsLeader());
  EXPECT_EQ(a.election->Holder(), "a");
  EXPECT_TRUE(a.election->LastContact().has_value());
}

TEST_F(LeaderElectionTest, RenewsEveryThirdOfTheTtlAndStaysLeader) {
  Candidate a(&etcd_, &clock_, "a");
  a.Start();
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 1; }, seconds(1)));
  Elapse(1, seconds(30));
  EXPECT_EQ(etcd_.calls(FakeEtcd::Op::kKeepAlive), 30);  // every second of a 3 s TTL
  EXPECT_EQ(a.losses(), 0u);
  EXPECT_TRUE(a.election->CheckLeader(1).ok());
  EXPECT_EQ(etcd_.Peek(kKey)->lease, a.terms[0].lease);
}

TEST_F(LeaderElectionTest, StandbyWaitsWhileTheLeaderRenews) {
  Candidate a(&etcd_, &clock_, "a");
  a.Start();
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 1; }, seconds(1)));
  Candidate b(&etcd_, &clock_, "b");
  b.Start();
  Elapse(2, seconds(20));
  EXPECT_EQ(b.elections(), 0u);
  EXPECT_FALSE(b.election->IsLeader());
  EXPECT_EQ(b.election->Holder(), "a");
  EXPECT_TRUE(b.election->LastContact().has_value());
}

TEST_F(LeaderElectionTest, StepsDownByTheLocalClockBeforeAnyoneElseCanLead) {
  Candidate a(&etcd_, &clock_, "a");
  a.Start();
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 1; }, seconds(1)));
  Candidate b(&etcd_, &clock_, "b");
  b.Start();
  Elapse(2, seconds(5));  // a renewed at 1 s, 2 s, ... 5 s
  const base::TimePoint last_renewal = clock_.Now();
  a.link.Cut(true);  // a is partitioned from etcd; b is not
  const LeaderTerm term = a.terms[0];

  // Leader until just before last renewal + TTL - margin (3 s - 80 ms)...
  Elapse(2, milliseconds(2900));
  EXPECT_TRUE(a.election->CheckLeader(term.term).ok());
  // ...and not one moment later, before a's thread has even noticed.
  ASSERT_TRUE(clock_.AwaitWaiters(2));
  clock_.Advance(milliseconds(30));
  EXPECT_EQ(a.election->CheckLeader(term.term).code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(a.election->IsLeader());

  ASSERT_TRUE(StepUntil(
      2, [&] { return b.elections() == 1 && a.losses() == 1; }, seconds(5)));
  EXPECT_NE(a.lost_reasons[0].find("could not be renewed"), std::string::npos);
  // a stepped down before etcd's lease expired, b was elected after it did.
  EXPECT_LT(a.lost_at[0], last_renewal + seconds(3));
  EXPECT_GE(b.elected_at[0], last_renewal + seconds(3));
  EXPECT_LT(a.lost_at[0], b.elected_at[0]);
  EXPECT_EQ(etcd_.Peek(kKey)->value, "b");

  // a's term can no longer write, even if its local check is skipped: etcd refuses.
  LeaderFence stale = a.election->FenceFor(term);
  stale.local_check = nullptr;
  a.link.Cut(false);
  base::Status w = FencedWrite(a.link, stale, {EtcdOp::Put("/aura/journal/x/y", "v")}, "test");
  EXPECT_TRUE(IsNotLeader(w)) << w;
  EXPECT_NE(w.message().find("\"b\""), std::string::npos) << w;
  EXPECT_FALSE(etcd_.Peek("/aura/journal/x/y").has_value());
  // b's term can.
  const LeaderFence fresh = b.election->FenceFor(b.terms[0]);
  EXPECT_TRUE(FencedWrite(etcd_, fresh, {EtcdOp::Put("/aura/journal/x/y", "v")}, "test").ok());
}

TEST_F(LeaderElectionTest, ARenewalRetriedInTimeKeepsLeadership) {
  Candidate a(&etcd_, &clock_, "a");
  a.Start();
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 1; }, seconds(1)));
  etcd_.FailNext(FakeEtcd::Op::kKeepAlive, base::UnavailableError("etcdserver: request timed out"),
                 2);
  Elapse(1, seconds(10));
  EXPECT_EQ(a.losses(), 0u);
  EXPECT_TRUE(a.election->CheckLeader(1).ok());
}

TEST_F(LeaderElectionTest, LosesWhenEtcdExpiredTheLease) {
  Candidate a(&etcd_, &clock_, "a");
  a.Start();
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 1; }, seconds(1)));
  etcd_.ExpireLease(a.terms[0].lease);  // e.g. renewals lost while the cluster had no leader
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.losses() == 1; }, seconds(2)));
  EXPECT_NE(a.lost_reasons[0].find("expired in etcd"), std::string::npos);
  EXPECT_FALSE(a.election->CheckLeader(1).ok());
  // It campaigns again and wins a new term.
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 2; }, seconds(3)));
  EXPECT_EQ(a.terms[1].term, 2u);
  EXPECT_NE(a.terms[1].create_revision, a.terms[0].create_revision);
  EXPECT_FALSE(a.election->CheckLeader(1).ok());
  EXPECT_TRUE(a.election->CheckLeader(2).ok());
}

TEST_F(LeaderElectionTest, LosesWhenTheKeyIsReplaced) {
  Candidate a(&etcd_, &clock_, "a");
  a.Start();
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 1; }, seconds(1)));
  ASSERT_TRUE(etcd_.Delete(kKey, false).ok());  // an operator's `etcdctl del`
  ASSERT_TRUE(etcd_.Put(kKey, "intruder", 0).ok());
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.losses() == 1; }, seconds(2)));
  EXPECT_NE(a.lost_reasons[0].find("deleted or replaced"), std::string::npos);
}

TEST_F(LeaderElectionTest, AnAnsweredLostCampaignStillWins) {
  // The transaction is applied but its answer lost: the key's lease says it is ours.
  etcd_.FailNext(FakeEtcd::Op::kTxn, base::DeadlineExceededError("timeout"), 1, true);
  Candidate a(&etcd_, &clock_, "a");
  a.Start();
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 1; }, seconds(1)));
  EXPECT_EQ(a.terms[0].create_revision, etcd_.Peek(kKey)->create_revision);
}

TEST_F(LeaderElectionTest, ResignRevokesTheLeaseSoAStandbyTakesOverAtOnce) {
  Candidate a(&etcd_, &clock_, "a");
  a.Start();
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 1; }, seconds(1)));
  Candidate b(&etcd_, &clock_, "b");
  b.Start();
  ASSERT_TRUE(clock_.AwaitWaiters(2));
  a.Stop();
  EXPECT_EQ(a.losses(), 1u);
  EXPECT_EQ(a.lost_reasons[0], "stopping");
  EXPECT_FALSE(etcd_.Peek(kKey).has_value());
  const base::TimePoint stopped = clock_.Now();
  ASSERT_TRUE(StepUntil(
      1, [&] { return b.elections() == 1; }, seconds(2)));
  EXPECT_LE(clock_.Now() - stopped, seconds(1));  // one poll, not a TTL
}

TEST_F(LeaderElectionTest, NoQuorumMeansNoLeader) {
  etcd_.SetReachable(false);
  Candidate a(&etcd_, &clock_, "a");
  a.Start();
  Elapse(1, seconds(10));
  EXPECT_EQ(a.elections(), 0u);
  EXPECT_FALSE(a.election->LastContact().has_value());
  etcd_.SetReachable(true);
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 1; }, seconds(2)));
}

TEST_F(LeaderElectionTest, AnEndedTermsLeaseThatOutlivedItIsRevokedByTheNextCampaign) {
  Candidate a(&etcd_, &clock_, "a");
  a.Start();
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 1; }, seconds(1)));
  const std::int64_t lease = a.terms[0].lease;
  a.link.Cut(true);
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.losses() == 1; }, seconds(4)));
  // etcd had no leader meanwhile: when it gets one back, it extends every lease by a TTL (the
  // lease "promotion"), so the ended term's key lingers.
  ASSERT_TRUE(etcd_.LeaseKeepAlive(lease).ok());
  a.link.Cut(false);
  const base::TimePoint back = clock_.Now();
  ASSERT_TRUE(StepUntil(
      1, [&] { return a.elections() == 2; }, seconds(3)));
  EXPECT_LT(clock_.Now() - back, seconds(3));  // sooner than the extended lease
  EXPECT_NE(etcd_.Peek(kKey)->lease, lease);
}

}  // namespace
}  // namespace aura::etcd
