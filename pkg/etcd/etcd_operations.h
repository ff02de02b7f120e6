// Operation records (store/operations.h) in etcd, under `<prefix>/operations/<namespace>/<name>`.
// Not fenced: any process with the state's etcd credentials may write them (an operator command
// beside the leader); the leader only reads them.
#pragma once

#include <string>
#include <vector>

#include "pkg/etcd/etcd_client.h"
#include "pkg/store/operations.h"

namespace aura::etcd {

class EtcdOperationLog final : public store::OperationLog {
 public:
  // `etcd` must outlive it.
  EtcdOperationLog(EtcdClient* etcd, std::string prefix)
      : etcd_(etcd), dir_(std::move(prefix) + "/operations/") {}
  [[nodiscard]] base::Status Record(const store::OperationRecord& r) override;
  [[nodiscard]] base::Status Clear(const std::string& key) override;
  base::StatusOr<std::vector<store::OperationRecord>> List() const override;

 private:
  EtcdClient* etcd_;
  std::string dir_;
};

}  // namespace aura::etcd
