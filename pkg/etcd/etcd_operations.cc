#include "pkg/etcd/etcd_operations.h"

namespace aura::etcd {

base::Status EtcdOperationLog::Record(const store::OperationRecord& r) {
  auto put = etcd_->Put(dir_ + r.key, store::EncodeOperation(r));
  if (!put.ok()) return put.status().WithContext("recording the " + r.operation + " of " + r.key);
  return base::Status::Ok();
}

base::Status EtcdOperationLog::Clear(const std::string& key) {
  auto del = etcd_->Delete(dir_ + key);
  if (!del.ok()) return del.status().WithContext("clearing the operation record of " + key);
  return base::Status::Ok();
}

base::StatusOr<std::vector<store::OperationRecord>> EtcdOperationLog::List() const {
  AURA_ASSIGN_OR_RETURN(EtcdRangeResult r, etcd_->Range(dir_, /*prefix=*/true));
  std::vector<store::OperationRecord> out;
  for (const EtcdKeyValue& kv : r.kvs) {
    auto rec = store::DecodeOperation(kv.value);
    if (rec.ok()) out.push_back(std::move(*rec));
  }
  return out;
}

}  // namespace aura::etcd
