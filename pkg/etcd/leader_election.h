// LeaderElection: one leader among the aura-controller processes sharing an etcd prefix.
//
// Campaign: while `<prefix>/leader` exists, watch it (a read every `retry_interval`); when it is
// gone, grant a lease of `ttl` and run the transaction
//   IF create_revision(leader) == 0 THEN put leader = identity WITH lease ELSE get leader.
// The winner's term is (lease, the revision that created the key); etcd compares both in every
// fenced write (etcd_fence.h).
//
// Leading: the lease is renewed every `renew_interval` (default ttl/3) and the key checked
// (still ours: same create_revision). Time is the LOCAL monotonic clock (base::Clock): leadership
// is assumed only until
//     deadline = (send time of the last successful renewal, or of the grant) + ttl - clock_margin
// The etcd cluster starts the TTL when it receives that request, never before it was sent, so
// no successor can have been elected before the deadline (clocks ticking at the same rate, to
// within clock_margin). CheckLeader() fails from the deadline on, at once, whether or not the
// election thread has woken; the thread itself wakes at the deadline, calls OnLost and
// campaigns again. A renewal refused (lease expired) or the key found changed also ends the
// term at once. Renewal failures are retried every retry_interval/2 until the deadline.
//
// Resign (Run's stop): OnLost, then the lease is revoked so a standby takes over at once. A
// lease that could not be revoked when its term ended (etcd unreachable, e.g. no quorum) is
// revoked when the campaign finds it still holding the key, so recovery does not wait a TTL.
//
// Thread-safety: Run() on one thread; the queries may be called from any thread. Callbacks run
// on Run's thread and must not call Run; they may call the queries.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/base/status.h"
#include "pkg/etcd/etcd_client.h"
#include "pkg/etcd/etcd_fence.h"

namespace aura::etcd {

struct LeaderElectionOptions {
  std::string key;       // "<prefix>/leader"
  std::string identity;  // stored as the key's value: who leads ("host pid N")
  base::Duration ttl = std::chrono::seconds(15);  // whole seconds, at least 1 (etcd leases)
  base::Duration renew_interval{};                // 0: ttl/3
  base::Duration retry_interval{};                // campaign polling and retries; 0: min(ttl/3, 1s)
  base::Duration clock_margin{};                  // 0: 50ms + 1% of ttl
};

// One period of leadership of this process.
struct LeaderTerm {
  std::uint64_t term = 0;  // 1, 2, ... within this process
  std::int64_t lease = 0;
  std::int64_t create_revision = 0;  // of the leader key
  std::string key;
};

class LeaderElection {
 public:
  using ElectedFn = std::function<void(const LeaderTerm&)>;
  using LostFn = std::function<void(const LeaderTerm&, const std::string& reason)>;

  // REQUIRES: etcd and clock outlive the election.
  LeaderElection(EtcdClient* etcd, base::Clock* clock, LeaderElectionOptions options,
                 base::Logger log = base::DefaultLogger());
  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;

  // Set before Run().
  void OnElected(ElectedFn f) { on_elected_ = std::move(f); }
  void OnLost(LostFn f) { on_lost_ = std::move(f); }

  // Campaigns, leads, campaigns again...; returns after `stop`, having resigned.
  void Run(std::stop_token stop);

  // OK while `term` is the current term and the local deadline has not passed;
  // kFailedPrecondition "not the leader: ..." otherwise. Cheap: no I/O.
  base::Status CheckLeader(std::uint64_t term) const;
  // The current term, while leader by the local clock.
  std::optional<LeaderTerm> Current() const;
  bool IsLeader() const { return Current().has_value(); }
  // The fence for writes of `term` (its local_check is CheckLeader(term.term)).
  LeaderFence FenceFor(const LeaderTerm& term) const;
  // When an etcd request of this election last succeeded (quorum seen); nullopt: never.
  std::optional<base::TimePoint> LastContact() const;
  // The leader key's value when last read ("" when none or unknown).
  std::string Holder() const;

  const LeaderElectionOptions& options() const { return options_; }

 private:
  // One campaign attempt; true when this process became leader.
  bool Campaign();
  // Leads until the term ends (returns false) or `stop` (returns true: resign).
  bool Lead(std::stop_token stop);
  void EndTerm(const std::string& reason, bool revoke);
  void Contact();

  EtcdClient* const etcd_;
  base::Clock* const clock_;
  LeaderElectionOptions options_;
  base::Logger log_;
  ElectedFn on_elected_;
  LostFn on_lost_;

  mutable std::mutex mu_;
  std::optional<LeaderTerm> term_;          // GUARDED_BY(mu_)
  base::TimePoint deadline_{};              // GUARDED_BY(mu_)
  std::uint64_t terms_ = 0;                 // GUARDED_BY(mu_)
  std::optional<base::TimePoint> contact_;  // GUARDED_BY(mu_)
  std::string holder_;                      // GUARDED_BY(mu_)
  std::int64_t unrevoked_lease_ = 0;        // Run's thread only: an ended term's lease
};

}  // namespace aura::etcd
