#include "pkg/etcd/etcd_fence.h"

namespace aura::etcd {

namespace {
constexpr char kNotLeader[] = "not the leader";
}  // namespace

base::Status FencedWrite(EtcdClient& etcd, const LeaderFence& fence, const std::vector<EtcdOp>& ops,
                         const std::string& what) {
  if (fence.local_check) {
    if (base::Status s = fence.local_check(); !s.ok()) {
      return base::FailedPreconditionError(what + ": " + kNotLeader + " (" + s.message() +
                                           "); nothing was written")
          .SetReason("not_leader");
    }
  }
  if (fence.leader_key.empty() || fence.create_revision <= 0) {
    return base::FailedPreconditionError(what + ": " + kNotLeader +
                                         " (no leadership term); nothing was written")
        .SetReason("not_leader");
  }
  const std::vector<EtcdCompare> compares = {
      EtcdCompare::CreateRevision(fence.leader_key, fence.create_revision),
      EtcdCompare::Lease(fence.leader_key, fence.lease)};
  base::StatusOr<EtcdTxnResult> r = etcd.Txn(compares, ops, {EtcdOp::Get(fence.leader_key)});
  if (!r.ok()) return r.status().WithContext(what);
  if (r->succeeded) return base::Status();
  std::string holder = "nobody (the key is gone: our lease expired)";
  if (!r->ranges.empty() && !r->ranges[0].kvs.empty()) {
    const EtcdKeyValue& kv = r->ranges[0].kvs[0];
    holder =
        "\"" + kv.value + "\" (created at revision " + std::to_string(kv.create_revision) + ")";
  }
  return base::FailedPreconditionError(what + ": " + kNotLeader + ": " + fence.leader_key +
                                       " is held by " + holder + ", not by this term (revision " +
                                       std::to_string(fence.create_revision) +
                                       "); nothing was written")
      .SetReason("not_leader");
}

bool IsNotLeader(const base::Status& s) {
  return s.code() == base::StatusCode::kFailedPrecondition && s.reason() == "not_leader";
}

}  // namespace aura::etcd
