// FakeEtcd: an in-memory EtcdClient with etcd's semantics where the HA code depends on them
// (revisions, create/mod revision and version per key, transactions with compares, leases that
// expire on a base::Clock and delete their keys), plus fault injection. For unit tests of the
// election, the journal and the credential store; never linked into the binaries.
//
// Faults: SetReachable(false) fails every call with kUnavailable reason "connect" (nothing
// applied: a partition or no quorum); FailNext() fails the next calls of one kind with a given
// Status, either before applying them or after (the write took effect but the caller hears an
// error: a lost answer).
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "pkg/base/clock.h"
#include "pkg/etcd/etcd_client.h"

namespace aura::etcd {

class FakeEtcd final : public EtcdClient {
 public:
  enum class Op { kRange, kPut, kDelete, kTxn, kLeaseGrant, kKeepAlive, kRevoke };

  explicit FakeEtcd(const base::Clock* clock) : clock_(clock) {}

  base::StatusOr<EtcdRangeResult> Range(const std::string& key, bool prefix,
                                        std::int64_t limit) override;
  base::StatusOr<std::int64_t> Put(const std::string& key, const std::string& value,
                                   std::int64_t lease) override;
  base::StatusOr<std::int64_t> Delete(const std::string& key, bool prefix) override;
  base::StatusOr<EtcdTxnResult> Txn(const std::vector<EtcdCompare>& compares,
                                    const std::vector<EtcdOp>& success,
                                    const std::vector<EtcdOp>& failure) override;
  base::StatusOr<EtcdLease> LeaseGrant(std::chrono::seconds ttl) override;
  base::StatusOr<std::chrono::seconds> LeaseKeepAlive(std::int64_t id) override;
  base::Status LeaseRevoke(std::int64_t id) override;

  // --- faults ---
  void SetReachable(bool reachable);
  // The next `count` calls of `op` fail with `error`; `after_apply`: they take effect first.
  void FailNext(Op op, base::Status error, int count = 1, bool after_apply = false);
  // Called at the start of every call (before faults), outside the lock: tests use it to step
  // the clock or to pause a call.
  void OnCall(std::function<void(Op)> hook);

  // --- inspection ---
  int calls(Op op) const;
  std::int64_t revision() const;
  // The key as stored now (leases expired by the clock are applied first); nullopt if absent.
  std::optional<EtcdKeyValue> Peek(const std::string& key) const;
  // Every key starting with `prefix`.
  std::map<std::string, EtcdKeyValue> Dump(const std::string& prefix = "") const;
  // Expires a lease now, as the cluster would (its keys are deleted).
  void ExpireLease(std::int64_t id);

 private:
  struct Lease {
    std::chrono::seconds ttl{0};
    base::TimePoint expires{};
  };
  struct Fault {
    Op op;
    base::Status error;
    int count;
    bool after_apply;
  };

  // Returns the error of a fault that fires before applying; records one that fires after it
  // in *after. REQUIRES: mu_ held.
  base::Status TakeFault(Op op, base::Status* after);
  void ExpireLocked() const;  // REQUIRES: mu_ held
  void PutLocked(const std::string& key, const std::string& value, std::int64_t lease);
  std::int64_t DeleteLocked(const std::string& key, bool prefix);
  EtcdRangeResult RangeLocked(const std::string& key, bool prefix, std::int64_t limit) const;
  bool CompareLocked(const EtcdCompare& c) const;
  base::Status Begin(Op op);  // hook, reachability; outside the lock

  const base::Clock* const clock_;
  mutable std::mutex mu_;
  // mutable: leases expire (and delete their keys) on reads too, as time passes.
  mutable std::map<std::string, EtcdKeyValue> kvs_;  // GUARDED_BY(mu_)
  mutable std::map<std::int64_t, Lease> leases_;     // GUARDED_BY(mu_)
  mutable std::int64_t revision_ = 1;                // GUARDED_BY(mu_)
  std::int64_t next_lease_ = 7001;                   // GUARDED_BY(mu_)
  bool reachable_ = true;                            // GUARDED_BY(mu_)
  std::vector<Fault> faults_;                        // GUARDED_BY(mu_)
  std::map<Op, int> calls_;                          // GUARDED_BY(mu_)
  std::function<void(Op)> hook_;                     // GUARDED_BY(mu_)
};

}  // namespace aura::etcd
