// SecretStore: where connection Secrets live (Kubernetes namespaced Secrets), as reconcile sees
// them: plain values and four operations with optimistic concurrency. Reconcile knows nothing
// of Kubernetes or HTTP; cmd/aura-controller wires this to pkg/kube (kube_secrets.cc), tests
// use testing::MemSecretStore.
//
// Errors: kNotFound (Get of an absent Secret), kAlreadyExists (Put of a new Secret whose name
// exists), kConflict (Put or Delete of a Secret that changed since it was read: read again and
// decide again), kPermissionDenied (refused by RBAC: the message names the namespace and the
// verb), kFailedPrecondition (the namespace does not exist), anything else retryable.
//
// Thread-safety: implementations are safe for concurrent use.
#pragma once

#include <map>
#include <string>

#include "pkg/base/status.h"

namespace aura::reconcile {

struct SecretObject {
  std::string namespace_name;
  std::string name;
  std::string type = "Opaque";
  std::map<std::string, std::string> data;  // plain values
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // The version it was read at; "" for a Secret that is to be created.
  std::string resource_version;
};

class SecretStore {
 public:
  virtual ~SecretStore() = default;
  virtual base::StatusOr<SecretObject> Get(const std::string& ns, const std::string& name) = 0;
  // Creates `s` when s.resource_version is empty, else replaces the Secret if it is still at
  // that version.
  [[nodiscard]] virtual base::Status Put(const SecretObject& s) = 0;
  // Deletes the Secret if it is still at `resource_version`. OK when it does not exist.
  [[nodiscard]] virtual base::Status Delete(const std::string& ns, const std::string& name,
                                            const std::string& resource_version) = 0;
};

}  // namespace aura::reconcile
