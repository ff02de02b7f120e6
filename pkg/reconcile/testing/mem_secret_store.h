// MemSecretStore: an in-memory SecretStore for reconciler tests, with Kubernetes' optimistic
// concurrency (resourceVersion bumped on every write, a stale Put or Delete refused with
// kConflict, a create of an existing name with kAlreadyExists), scripted failures per operation,
// a hook that runs between a Get and the next write (someone else writing in between), and
// namespaces refused as RBAC would.
//
// Thread-safety: every method locks internally; hooks run outside the lock.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "pkg/reconcile/secret_store.h"

namespace aura::reconcile::testing {

class MemSecretStore final : public SecretStore {
 public:
  base::StatusOr<SecretObject> Get(const std::string& ns, const std::string& name) override;
  base::Status Put(const SecretObject& s) override;
  base::Status Delete(const std::string& ns, const std::string& name,
                      const std::string& resource_version) override;

  // --- scripting ---
  // The next call of `op` ("get", "put", "delete") fails with `s`.
  void FailNext(const std::string& op, base::Status s, int times = 1);
  // Every call fails with kUnavailable (the API is down) until set false.
  void SetDown(bool down);
  // Writes in `ns` are refused with kPermissionDenied (RBAC); reads too.
  void Forbid(const std::string& ns, bool forbidden = true);
  // Runs once, after the next Get and before the write that follows it.
  void BeforeNextWrite(std::function<void(MemSecretStore&)> hook);
  // Stores `s` as if written by someone else (a new resourceVersion).
  void Seed(SecretObject s);
  void Remove(const std::string& ns, const std::string& name);

  // --- inspection ---
  std::optional<SecretObject> Find(const std::string& ns, const std::string& name) const;
  std::size_t size() const;
  int calls(const std::string& op) const;
  int writes() const;  // successful puts and deletes

 private:
  base::Status Fault(const std::string& op, const std::string& ns);  // REQUIRES mu_

  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, SecretObject> secrets_;
  std::map<std::string, std::deque<base::Status>> faults_;
  std::map<std::string, int> calls_;
  std::set<std::string> forbidden_;
  std::function<void(MemSecretStore&)> hook_;
  void RunHook();  // the hook set by BeforeNextWrite, once, outside the lock
  bool down_ = false;
  int version_ = 100;
  int writes_ = 0;
};

}  // namespace aura::reconcile::testing
