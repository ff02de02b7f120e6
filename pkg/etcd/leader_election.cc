#include "pkg/etcd/leader_election.h"

#include <algorithm>
#include <utility>

namespace aura::etcd {

using base::Duration;
using base::Status;
using base::TimePoint;

namespace {

std::chrono::seconds WholeSeconds(Duration d) {
  auto s = std::chrono::ceil<std::chrono::seconds>(d);
  return std::max(s, std::chrono::seconds(1));
}

}  // namespace

LeaderElection::LeaderElection(EtcdClient* etcd, base::Clock* clock, LeaderElectionOptions options,
                               base::Logger log)
    : etcd_(etcd),
      clock_(clock),
      options_(std::move(options)),
      log_(log.With({{"component", "leader-election"}})) {
  options_.ttl = WholeSeconds(options_.ttl);
  if (options_.renew_interval <= Duration::zero()) options_.renew_interval = options_.ttl / 3;
  if (options_.retry_interval <= Duration::zero()) {
    options_.retry_interval = std::min<Duration>(options_.ttl / 3, std::chrono::seconds(1));
  }
  if (options_.clock_margin <= Duration::zero()) {
    options_.clock_margin = std::chrono::milliseconds(50) + options_.ttl / 100;
  }
}

void LeaderElection::Contact() {
  std::lock_guard<std::mutex> g(mu_);
  contact_ = clock_->Now();
}

Status LeaderElection::CheckLeader(std::uint64_t term) const {
  std::lock_guard<std::mutex> g(mu_);
  if (!term_) return base::FailedPreconditionError("not the leader");
  if (term_->term != term) {
    return base::FailedPreconditionError("not the leader: term " + std::to_string(term) +
                                         " has ended");
  }
  if (clock_->Now() >= deadline_) {
    return base::FailedPreconditionError(
        "not the leader: the lease could not be renewed before it expired (local clock)");
  }
  return Status();
}

std::optional<LeaderTerm> LeaderElection::Current() const {
  std::lock_guard<std::mutex> g(mu_);
  if (!term_ || clock_->Now() >= deadline_) return std::nullopt;
  return term_;
}

LeaderFence LeaderElection::FenceFor(const LeaderTerm& term) const {
  LeaderFence f;
  f.leader_key = term.key;
  f.create_revision = term.create_revision;
  f.lease = term.lease;
  const std::uint64_t id = term.term;
  f.local_check = [this, id] { return CheckLeader(id); };
  return f;
}

std::optional<TimePoint> LeaderElection::LastContact() const {
  std::lock_guard<std::mutex> g(mu_);
  return contact_;
}

std::string LeaderElection::Holder() const {
  std::lock_guard<std::mutex> g(mu_);
  return holder_;
}

void LeaderElection::Run(std::stop_token stop) {
  log_.Info("campaigning", {{"key", options_.key},
                            {"identity", options_.identity},
                            {"ttl_s", base::ToSeconds(options_.ttl)}});
  while (!stop.stop_requested()) {
    if (!Campaign()) {
      if (!clock_->SleepFor(options_.retry_interval, stop)) break;
      continue;
    }
    if (Lead(stop)) break;
  }
  EndTerm("stopping", /*revoke=*/true);  // no-op unless leading
}

bool LeaderElection::Campaign() {
  base::StatusOr<EtcdRangeResult> current = etcd_->Range(options_.key);
  if (!current.ok()) {
    log_.Debug("cannot read the leader key", base::StatusFields(current.status()));
    return false;
  }
  Contact();
  if (!current->kvs.empty()) {
    if (unrevoked_lease_ != 0 && current->kvs[0].lease == unrevoked_lease_) {
      // Our own ended term still holds the key: give it back now rather than after a TTL.
      if (etcd_->LeaseRevoke(unrevoked_lease_).ok()) {
        log_.Info("revoked the lease of an ended term that still held the key");
        unrevoked_lease_ = 0;
        return false;  // the next attempt, a retry_interval later, campaigns on a free key
      }
    }
    std::lock_guard<std::mutex> g(mu_);
    holder_ = current->kvs[0].value;
    return false;
  }
  const TimePoint sent = clock_->Now();
  const std::chrono::seconds ttl = WholeSeconds(options_.ttl);
  base::StatusOr<EtcdLease> lease = etcd_->LeaseGrant(ttl);
  if (!lease.ok()) {
    log_.Warn("cannot grant a lease", base::StatusFields(lease.status()));
    return false;
  }
  base::StatusOr<EtcdTxnResult> txn = etcd_->Txn(
      {EtcdCompare::CreateRevision(options_.key, 0)},
      {EtcdOp::Put(options_.key, options_.identity, lease->id)}, {EtcdOp::Get(options_.key)});
  std::int64_t created = 0;
  if (txn.ok() && txn->succeeded) {
    created = txn->revision;
  } else {
    // Lost the race, or the answer was lost: the key tells which.
    base::StatusOr<EtcdRangeResult> now = txn.ok() && !txn->ranges.empty()
                                              ? base::StatusOr<EtcdRangeResult>(txn->ranges[0])
                                              : etcd_->Range(options_.key);
    if (now.ok() && !now->kvs.empty() && now->kvs[0].lease == lease->id) {
      created = now->kvs[0].create_revision;
    } else {
      if (now.ok() && !now->kvs.empty()) {
        std::lock_guard<std::mutex> g(mu_);
        holder_ = now->kvs[0].value;
      }
      (void)etcd_->LeaseRevoke(lease->id);  // best effort; it expires anyway
      return false;
    }
  }
  Contact();
  const TimePoint deadline = sent + std::min<Duration>(lease->ttl, ttl) - options_.clock_margin;
  if (clock_->Now() >= deadline) {
    // Won, but so slowly that the lease may already be gone by our clock: give it back.
    log_.Warn("won the election too late to use the lease; giving it back");
    (void)etcd_->LeaseRevoke(lease->id);
    return false;
  }
  LeaderTerm term;
  {
    std::lock_guard<std::mutex> g(mu_);
    term.term = ++terms_;
    term.lease = lease->id;
    term.create_revision = created;
    term.key = options_.key;
    term_ = term;
    deadline_ = deadline;
    holder_ = options_.identity;
  }
  log_.Info(
      "elected leader",
      {{"term", term.term}, {"lease", term.lease}, {"create_revision", term.create_revision}});
  if (on_elected_) on_elected_(term);
  return true;
}

bool LeaderElection::Lead(std::stop_token stop) {
  LeaderTerm term;
  TimePoint next_renew;
  {
    std::lock_guard<std::mutex> g(mu_);
    term = *term_;
    next_renew = deadline_ + options_.clock_margin - options_.ttl + options_.renew_interval;
  }
  while (true) {
    TimePoint deadline;
    {
      std::lock_guard<std::mutex> g(mu_);
      deadline = deadline_;
    }
    if (!clock_->SleepUntil(std::min(next_renew, deadline), stop)) return true;
    if (clock_->Now() >= deadline) {
      EndTerm("the lease could not be renewed before it expired (local clock)", true);
      return false;
    }
    const TimePoint sent = clock_->Now();
    base::StatusOr<std::chrono::seconds> ttl = etcd_->LeaseKeepAlive(term.lease);
    if (!ttl.ok()) {
      if (ttl.status().code() == base::StatusCode::kNotFound) {
        EndTerm("the lease expired in etcd", false);
        return false;
      }
      log_.Warn("lease renewal failed; retrying until the lease expires",
                base::StatusFields(ttl.status()));
      next_renew = clock_->Now() + options_.retry_interval / 2;
      continue;
    }
    Contact();
    {
      std::lock_guard<std::mutex> g(mu_);
      if (!term_ || term_->term != term.term) return false;
      // Only ever moves forward.
      deadline_ = std::max(deadline_,
                           sent + std::min<Duration>(*ttl, options_.ttl) - options_.clock_margin);
    }
    base::StatusOr<EtcdRangeResult> key = etcd_->Range(options_.key);
    if (key.ok()) {
      if (key->kvs.empty() || key->kvs[0].create_revision != term.create_revision) {
        EndTerm("the leader key was deleted or replaced", true);
        return false;
      }
    }
    next_renew = sent + options_.renew_interval;
  }
}

void LeaderElection::EndTerm(const std::string& reason, bool revoke) {
  std::optional<LeaderTerm> ended;
  {
    std::lock_guard<std::mutex> g(mu_);
    ended = term_;
    term_.reset();
    deadline_ = TimePoint{};
    if (holder_ == options_.identity) holder_.clear();
  }
  if (!ended) return;
  log_.Log(reason == "stopping" ? base::LogLevel::kInfo : base::LogLevel::kWarn,
           reason == "stopping" ? "resigning leadership" : "lost leadership",
           {{"term", ended->term}, {"reason", reason}});
  if (on_lost_) on_lost_(*ended, reason);
  unrevoked_lease_ = ended->lease;
  if (revoke) {
    // Lets a standby take over at once; when etcd is unreachable the lease expires, or the
    // next campaign revokes it.
    if (Status s = etcd_->LeaseRevoke(ended->lease); s.ok()) {
      unrevoked_lease_ = 0;
    } else {
      log_.Debug("could not revoke the lease", base::StatusFields(s));
    }
  }
}

}  // namespace aura::etcd
