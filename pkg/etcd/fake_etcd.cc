#include "pkg/etcd/fake_etcd.h"

#include <utility>

namespace aura::etcd {

using base::Status;
using base::StatusOr;

Status FakeEtcd::Begin(Op op) {
  std::function<void(Op)> hook;
  {
    std::lock_guard<std::mutex> g(mu_);
    ++calls_[op];
    hook = hook_;
  }
  if (hook) hook(op);
  std::lock_guard<std::mutex> g(mu_);
  if (!reachable_) {
    return base::UnavailableError("fake etcd: no member reachable").SetReason("connect");
  }
  return Status();
}

Status FakeEtcd::TakeFault(Op op, Status* after) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != op) continue;
    Status e = it->error;
    const bool post = it->after_apply;
    if (--it->count <= 0) faults_.erase(it);
    if (post) {
      *after = e;
      return Status();
    }
    return e;
  }
  return Status();
}

void FakeEtcd::ExpireLocked() const {
  const base::TimePoint now = clock_->Now();
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (now < it->second.expires) {
      ++it;
      continue;
    }
    bool deleted = false;
    for (auto kv = kvs_.begin(); kv != kvs_.end();) {
      if (kv->second.lease == it->first) {
        kv = kvs_.erase(kv);
        deleted = true;
      } else {
        ++kv;
      }
    }
    if (deleted) ++revision_;
    it = leases_.erase(it);
  }
}

void FakeEtcd::PutLocked(const std::string& key, const std::string& value, std::int64_t lease) {
  ++revision_;
  auto it = kvs_.find(key);
  if (it == kvs_.end()) {
    EtcdKeyValue kv;
    kv.key = key;
    kv.create_revision = revision_;
    kv.version = 0;
    it = kvs_.emplace(key, kv).first;
  }
  it->second.value = value;
  it->second.mod_revision = revision_;
  it->second.version += 1;
  it->second.lease = lease;
}

std::int64_t FakeEtcd::DeleteLocked(const std::string& key, bool prefix) {
  std::int64_t n = 0;
  for (auto it = kvs_.begin(); it != kvs_.end();) {
    if (prefix ? it->first.starts_with(key) : it->first == key) {
      it = kvs_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  if (n > 0) ++revision_;
  return n;
}

EtcdRangeResult FakeEtcd::RangeLocked(const std::string& key, bool prefix,
                                      std::int64_t limit) const {
  EtcdRangeResult r;
  r.revision = revision_;
  for (const auto& [k, kv] : kvs_) {
    if (prefix ? !k.starts_with(key) : k != key) continue;
    if (limit > 0 && static_cast<std::int64_t>(r.kvs.size()) >= limit) {
      r.more = true;
      break;
    }
    r.kvs.push_back(kv);
  }
  return r;
}

bool FakeEtcd::CompareLocked(const EtcdCompare& c) const {
  auto it = kvs_.find(c.key);
  const EtcdKeyValue none;
  const EtcdKeyValue& kv = it == kvs_.end() ? none : it->second;
  int cmp = 0;
  auto three_way = [](auto a, auto b) { return a < b ? -1 : (a > b ? 1 : 0); };
  switch (c.target) {
    case EtcdCompare::Target::kVersion:
      cmp = three_way(kv.version, c.number);
      break;
    case EtcdCompare::Target::kCreate:
      cmp = three_way(kv.create_revision, c.number);
      break;
    case EtcdCompare::Target::kMod:
      cmp = three_way(kv.mod_revision, c.number);
      break;
    case EtcdCompare::Target::kLease:
      cmp = three_way(kv.lease, c.number);
      break;
    case EtcdCompare::Target::kValue:
      if (it == kvs_.end()) return false;  // etcd: a value compare on a missing key fails
      cmp = three_way(kv.value, c.value);
      break;
  }
  switch (c.result) {
    case EtcdCompare::Result::kEqual:
      return cmp == 0;
    case EtcdCompare::Result::kNotEqual:
      return cmp != 0;
    case EtcdCompare::Result::kGreater:
      return cmp > 0;
    case EtcdCompare::Result::kLess:
      return cmp < 0;
  }
  return false;
}

StatusOr<EtcdRangeResult> FakeEtcd::Range(const std::string& key, bool prefix, std::int64_t limit) {
  AURA_RETURN_IF_ERROR(Begin(Op::kRange));
  std::lock_guard<std::mutex> g(mu_);
  Status after;
  AURA_RETURN_IF_ERROR(TakeFault(Op::kRange, &after));
  ExpireLocked();
  EtcdRangeResult r = RangeLocked(key, prefix, limit);
  if (!after.ok()) return after;
  return r;
}

StatusOr<std::int64_t> FakeEtcd::Put(const std::string& key, const std::string& value,
                                     std::int64_t lease) {
  AURA_RETURN_IF_ERROR(Begin(Op::kPut));
  std::lock_guard<std::mutex> g(mu_);
  Status after;
  AURA_RETURN_IF_ERROR(TakeFault(Op::kPut, &after));
  ExpireLocked();
  if (lease != 0 && leases_.count(lease) == 0) {
    return base::NotFoundError("fake etcd: requested lease not found");
  }
  PutLocked(key, value, lease);
  if (!after.ok()) return after;
  return revision_;
}

StatusOr<std::int64_t> FakeEtcd::Delete(const std::string& key, bool prefix) {
  AURA_RETURN_IF_ERROR(Begin(Op::kDelete));
  std::lock_guard<std::mutex> g(mu_);
  Status after;
  AURA_RETURN_IF_ERROR(TakeFault(Op::kDelete, &after));
  ExpireLocked();
  const std::int64_t n = DeleteLocked(key, prefix);
  if (!after.ok()) return after;
  return n;
}

StatusOr<EtcdTxnResult> FakeEtcd::Txn(const std::vector<EtcdCompare>& compares,
                                      const std::vector<EtcdOp>& success,
                                      const std::vector<EtcdOp>& failure) {
  AURA_RETURN_IF_ERROR(Begin(Op::kTxn));
  std::lock_guard<std::mutex> g(mu_);
  Status after;
  AURA_RETURN_IF_ERROR(TakeFault(Op::kTxn, &after));
  ExpireLocked();
  EtcdTxnResult r;
  r.succeeded = true;
  for (const auto& c : compares) r.succeeded = r.succeeded && CompareLocked(c);
  const std::vector<EtcdOp>& ops = r.succeeded ? success : failure;
  for (const auto& op : ops) {
    if (op.type == EtcdOp::Type::kPut && op.lease != 0 && leases_.count(op.lease) == 0) {
      return base::NotFoundError("fake etcd: requested lease not found");
    }
  }
  // One revision for the whole transaction, as etcd does.
  const std::int64_t before = revision_;
  bool wrote = false;
  for (const auto& op : ops) {
    switch (op.type) {
      case EtcdOp::Type::kRange:
        r.ranges.push_back(RangeLocked(op.key, op.prefix, 0));
        break;
      case EtcdOp::Type::kPut: {
        revision_ = before;  // PutLocked bumps it to before + 1
        PutLocked(op.key, op.value, op.lease);
        wrote = true;
        break;
      }
      case EtcdOp::Type::kDelete: {
        const std::int64_t saved = revision_;
        revision_ = before;
        if (DeleteLocked(op.key, op.prefix) > 0) {
          wrote = true;
        } else {
          revision_ = saved;
        }
        break;
      }
    }
  }
  if (wrote) revision_ = before + 1;
  r.revision = revision_;
  for (auto& range : r.ranges) range.revision = revision_;
  if (!after.ok()) return after;
  return r;
}

StatusOr<EtcdLease> FakeEtcd::LeaseGrant(std::chrono::seconds ttl) {
  AURA_RETURN_IF_ERROR(Begin(Op::kLeaseGrant));
  std::lock_guard<std::mutex> g(mu_);
  Status after;
  AURA_RETURN_IF_ERROR(TakeFault(Op::kLeaseGrant, &after));
  ExpireLocked();
  const std::int64_t id = next_lease_++;
  leases_[id] = Lease{ttl, clock_->Now() + ttl};
  if (!after.ok()) return after;
  return EtcdLease{id, ttl};
}

StatusOr<std::chrono::seconds> FakeEtcd::LeaseKeepAlive(std::int64_t id) {
  AURA_RETURN_IF_ERROR(Begin(Op::kKeepAlive));
  std::lock_guard<std::mutex> g(mu_);
  Status after;
  AURA_RETURN_IF_ERROR(TakeFault(Op::kKeepAlive, &after));
  ExpireLocked();
  auto it = leases_.find(id);
  if (it == leases_.end()) return base::NotFoundError("fake etcd: the lease has expired");
  it->second.expires = clock_->Now() + it->second.ttl;
  if (!after.ok()) return after;
  return it->second.ttl;
}

Status FakeEtcd::LeaseRevoke(std::int64_t id) {
  AURA_RETURN_IF_ERROR(Begin(Op::kRevoke));
  std::lock_guard<std::mutex> g(mu_);
  Status after;
  AURA_RETURN_IF_ERROR(TakeFault(Op::kRevoke, &after));
  ExpireLocked();
  auto it = leases_.find(id);
  if (it != leases_.end()) {
    it->second.expires = clock_->Now();
    ExpireLocked();
  }
  return after;
}

void FakeEtcd::SetReachable(bool reachable) {
  std::lock_guard<std::mutex> g(mu_);
  reachable_ = reachable;
}

void FakeEtcd::FailNext(Op op, Status error, int count, bool after_apply) {
  std::lock_guard<std::mutex> g(mu_);
  faults_.push_back(Fault{op, std::move(error), count, after_apply});
}

void FakeEtcd::OnCall(std::function<void(Op)> hook) {
  std::lock_guard<std::mutex> g(mu_);
  hook_ = std::move(hook);
}

int FakeEtcd::calls(Op op) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

std::int64_t FakeEtcd::revision() const {
  std::lock_guard<std::mutex> g(mu_);
  ExpireLocked();
  return revision_;
}

std::optional<EtcdKeyValue> FakeEtcd::Peek(const std::string& key) const {
  std::lock_guard<std::mutex> g(mu_);
  ExpireLocked();
  auto it = kvs_.find(key);
  if (it == kvs_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, EtcdKeyValue> FakeEtcd::Dump(const std::string& prefix) const {
  std::lock_guard<std::mutex> g(mu_);
  ExpireLocked();
  std::map<std::string, EtcdKeyValue> out;
  for (const auto& [k, kv] : kvs_) {
    if (k.starts_with(prefix)) out.emplace(k, kv);
  }
  return out;
}

void FakeEtcd::ExpireLease(std::int64_t id) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return;
  it->second.expires = clock_->Now();
  ExpireLocked();
}

}  // namespace aura::etcd
