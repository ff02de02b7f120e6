// EtcdCredentialStore: the one-time Aura credentials in etcd, sealed (sealing.h), so that a
// password survives the loss of the node that received it (HA mode).
//
// Layout: `<prefix>/credentials-by-id/<instance id>` holds each instance's record and
// `<prefix>/credentials/<namespace>/<name>` the key's current one, both Seal(key, the
// credentials file format of codec.h, aad = that etcd key), written in one transaction. An
// instance's record is never replaced by another password. Keys must be "namespace/name" as for
// FileCredentialStore.
//
// Save: a fenced transaction (etcd_fence.h), so a deposed leader cannot overwrite what the
// current one saved. One exception keeps a password Aura will never show again: when the fence
// says "not the leader" (the create's response arrived after this process lost leadership),
// the value is still written if and only if the key holds nothing yet (IF version == 0 THEN
// put): it can fill an empty slot, never replace anything. The new leader, resolving that
// create from a LIST, finds the password with the matching instance id.
// Load: a linearizable read and Unseal with any of the keys; kNotFound when nothing was saved,
// kDataLoss when it does not open (wrong key: the message names the key ids).
//
// Passwords are registered with base::RegisterSecret on Save and Load.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/etcd/etcd_client.h"
#include "pkg/etcd/etcd_fence.h"
#include "pkg/store/journal.h"
#include "pkg/store/sealing.h"

namespace aura::etcd {

struct EtcdCredentialStoreOptions {
  EtcdClient* etcd = nullptr;            // required; outlives the store
  const base::Clock* clock = nullptr;    // required (saved_at)
  std::string prefix;                    // "/aura"
  std::vector<store::SealingKey> keys;   // at least one; the first seals
  std::optional<LeaderFence> fence;      // nullopt: read-only (Save fails)
  const base::Logger* logger = nullptr;  // nullptr: base::DefaultLogger()
};

class EtcdCredentialStore final : public store::CredentialStore {
 public:
  [[nodiscard]] static base::StatusOr<std::unique_ptr<EtcdCredentialStore>> Open(
      EtcdCredentialStoreOptions options);

  [[nodiscard]] base::Status Save(const std::string& key, const store::Credentials& c) override;
  base::StatusOr<store::Credentials> Load(const std::string& key) const override;
  base::StatusOr<store::Credentials> LoadInstance(const std::string& id) const override;
  base::StatusOr<std::vector<store::Credentials>> History(const std::string& key) const override;
  [[nodiscard]] base::Status Link(const std::string& key, const std::string& id) override;

  static std::string KeyPrefix(const std::string& prefix) { return prefix + "/credentials/"; }
  static std::string IdPrefix(const std::string& prefix) { return prefix + "/credentials-by-id/"; }

 private:
  explicit EtcdCredentialStore(EtcdCredentialStoreOptions o) : options_(std::move(o)) {}
  const base::Logger& log() const;
  // Reads, unseals and decodes one value.
  base::StatusOr<store::Credentials> Read(const std::string& etcd_key,
                                          const std::string& what) const;
  base::StatusOr<std::string> Sealed(const std::string& key, const store::Credentials& c,
                                     const std::string& etcd_key) const;

  const EtcdCredentialStoreOptions options_;
};

}  // namespace aura::etcd
