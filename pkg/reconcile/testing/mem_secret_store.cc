#include "pkg/reconcile/testing/mem_secret_store.h"

namespace aura::reconcile::testing {

base::Status MemSecretStore::Fault(const std::string& op, const std::string& ns) {
  ++calls_[op];
  if (down_) return base::UnavailableError("kubernetes " + op + ": connection refused");
  auto& q = faults_[op];
  if (!q.empty()) {
    base::Status s = q.front();
    q.pop_front();
    return s;
  }
  if (forbidden_.contains(ns)) {
    return base::PermissionDeniedError("RBAC refused " + op + " on secrets in namespace " + ns)
        .SetHttpStatus(403);
  }
  return base::Status();
}

base::StatusOr<SecretObject> MemSecretStore::Get(const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> g(mu_);
  if (base::Status f = Fault("get", ns); !f.ok()) return f;
  auto it = secrets_.find({ns, name});
  if (it == secrets_.end()) return base::NotFoundError("secret " + ns + "/" + name);
  return it->second;
}

void MemSecretStore::RunHook() {
  std::function<void(MemSecretStore&)> hook;
  {
    std::lock_guard<std::mutex> g(mu_);
    hook = std::move(hook_);
    hook_ = nullptr;
  }
  if (hook) hook(*this);
}

base::Status MemSecretStore::Put(const SecretObject& s) {
  RunHook();
  std::lock_guard<std::mutex> g(mu_);
  if (base::Status f = Fault("put", s.namespace_name); !f.ok()) return f;
  auto it = secrets_.find({s.namespace_name, s.name});
  if (s.resource_version.empty()) {
    if (it != secrets_.end()) return base::AlreadyExistsError("secret exists: " + s.name);
  } else {
    if (it == secrets_.end()) return base::NotFoundError("secret gone: " + s.name);
    if (it->second.resource_version != s.resource_version) {
      return base::ConflictError("secret changed: " + s.name);
    }
  }
  SecretObject stored = s;
  stored.resource_version = std::to_string(++version_);
  secrets_[{s.namespace_name, s.name}] = std::move(stored);
  ++writes_;
  return base::Status();
}

base::Status MemSecretStore::Delete(const std::string& ns, const std::string& name,
                                    const std::string& resource_version) {
  RunHook();
  std::lock_guard<std::mutex> g(mu_);
  if (base::Status f = Fault("delete", ns); !f.ok()) return f;
  auto it = secrets_.find({ns, name});
  if (it == secrets_.end()) return base::Status();
  if (!resource_version.empty() && it->second.resource_version != resource_version) {
    return base::ConflictError("secret changed: " + name);
  }
  secrets_.erase(it);
  ++writes_;
  return base::Status();
}

void MemSecretStore::FailNext(const std::string& op, base::Status s, int times) {
  std::lock_guard<std::mutex> g(mu_);
  for (int i = 0; i < times; ++i) faults_[op].push_back(s);
}

void MemSecretStore::SetDown(bool down) {
  std::lock_guard<std::mutex> g(mu_);
  down_ = down;
}

void MemSecretStore::Forbid(const std::string& ns, bool forbidden) {
  std::lock_guard<std::mutex> g(mu_);
  if (forbidden) {
    forbidden_.insert(ns);
  } else {
    forbidden_.erase(ns);
  }
}

void MemSecretStore::BeforeNextWrite(std::function<void(MemSecretStore&)> hook) {
  std::lock_guard<std::mutex> g(mu_);
  hook_ = std::move(hook);
}

void MemSecretStore::Seed(SecretObject s) {
  std::lock_guard<std::mutex> g(mu_);
  s.resource_version = std::to_string(++version_);
  secrets_[{s.namespace_name, s.name}] = std::move(s);
}

void MemSecretStore::Remove(const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> g(mu_);
  secrets_.erase({ns, name});
}

std::optional<SecretObject> MemSecretStore::Find(const std::string& ns,
                                                 const std::string& name) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = secrets_.find({ns, name});
  if (it == secrets_.end()) return std::nullopt;
  return it->second;
}

std::size_t MemSecretStore::size() const {
  std::lock_guard<std::mutex> g(mu_);
  return secrets_.size();
}

int MemSecretStore::calls(const std::string& op) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

int MemSecretStore::writes() const {
  std::lock_guard<std::mutex> g(mu_);
  return writes_;
}

}  // namespace aura::reconcile::testing
