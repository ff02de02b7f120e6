// LeaderFence: what makes an etcd write succeed only while this process holds leadership
// (DESIGN.md "Exactly-once create": one process acts on a journal at a time).
//
// A fenced write is one transaction: IF create_revision(leader key) == the revision at which
// THIS term created the key AND lease(leader key) == this term's lease THEN the write ELSE read
// the leader key (to say who holds it). A process whose lease expired (paused, partitioned) no
// longer matches: its key was deleted with the lease, and a successor's key has another
// create_revision and lease. The comparison is made by etcd inside the transaction, so it holds
// whatever the clocks say. `local_check` (the election's own, by the local monotonic clock) is
// asked first, so a process that cannot be sure of its lease does not even try.
//
// Thread-safety: FencedWrite may be called concurrently; the fence is a value.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pkg/base/status.h"
#include "pkg/etcd/etcd_client.h"

namespace aura::etcd {

struct LeaderFence {
  std::string leader_key;                     // "<prefix>/leader"
  std::int64_t create_revision = 0;           // of the leader key, for this term
  std::int64_t lease = 0;                     // this term's lease
  std::function<base::Status()> local_check;  // optional; non-OK: not leader, write nothing
};

// Runs `ops` atomically if `fence` holds. kFailedPrecondition "not the leader: ..." when it does
// not (nothing was written: a definite answer); etcd errors otherwise (kUnavailable,
// kDeadlineExceeded: the write may or may not have been applied). `what` names the write.
[[nodiscard]] base::Status FencedWrite(EtcdClient& etcd, const LeaderFence& fence,
                                       const std::vector<EtcdOp>& ops, const std::string& what);

// True for FencedWrite's "not the leader" answer.
bool IsNotLeader(const base::Status& s);

}  // namespace aura::etcd
