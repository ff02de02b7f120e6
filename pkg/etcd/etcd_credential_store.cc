#include "pkg/etcd/etcd_credential_store.h"

#include <utility>

#include "pkg/store/codec.h"
#include "pkg/store/file_credential_store.h"

namespace aura::etcd {

using base::Status;
using base::StatusOr;

const base::Logger& EtcdCredentialStore::log() const {
  return options_.logger != nullptr ? *options_.logger : base::DefaultLogger();
}

StatusOr<std::unique_ptr<EtcdCredentialStore>> EtcdCredentialStore::Open(
    EtcdCredentialStoreOptions options) {
  if (options.etcd == nullptr || options.clock == nullptr) {
    return base::InvalidArgumentError("EtcdCredentialStore::Open needs an etcd client and a clock");
  }
  if (options.prefix.empty()) return base::InvalidArgumentError("the etcd key prefix is empty");
  if (options.keys.empty()) {
    return base::InvalidArgumentError(
        "credentials in etcd are sealed with a key the user provides: --credentials-key-file "
        "is required with an etcd --state");
  }
  return std::unique_ptr<EtcdCredentialStore>(new EtcdCredentialStore(std::move(options)));
}

Status EtcdCredentialStore::Save(const std::string& key, const store::Credentials& c) {
  AURA_RETURN_IF_ERROR(store::FileCredentialStore::SplitKey(key).status());
  base::RegisterSecret(c.password);
  const std::string etcd_key = KeyPrefix(options_.prefix) + key;
  const std::string what = "saving the credentials of " + key + " in etcd";
  if (!options_.fence) {
    return base::FailedPreconditionError(what + " failed: the store was opened read-only");
  }
  StatusOr<std::string> plain =
      store::detail::EncodeCredentials(key, c, options_.clock->SystemNow());
  if (!plain.ok()) return plain.status();
  StatusOr<std::string> sealed = store::Seal(options_.keys.front(), *plain, etcd_key);
  if (!sealed.ok()) return sealed.status().WithContext(what);
  Status s = FencedWrite(*options_.etcd, *options_.fence, {EtcdOp::Put(etcd_key, *sealed)}, what);
  if (!IsNotLeader(s)) return s;
  // Deposed while the create was in flight: fill an empty slot only (see the header).
  StatusOr<EtcdTxnResult> r =
      options_.etcd->Txn({EtcdCompare::Version(etcd_key, 0)}, {EtcdOp::Put(etcd_key, *sealed)}, {});
  if (!r.ok()) return r.status().WithContext(what + " (not the leader; only if absent)");
  if (!r->succeeded) {
    return s.WithContext("credentials already saved for " + key + "; not replaced");
  }
  log().Warn(
      "saved the credentials of a create answered after this process lost leadership (the "
      "slot was empty)",
      {{"key", key}, {"instance_id", c.instance_id}});
  return Status();
}

StatusOr<store::Credentials> EtcdCredentialStore::Load(const std::string& key) const {
  AURA_RETURN_IF_ERROR(store::FileCredentialStore::SplitKey(key).status());
  const std::string etcd_key = KeyPrefix(options_.prefix) + key;
  StatusOr<EtcdRangeResult> r = options_.etcd->Range(etcd_key);
  if (!r.ok()) return r.status().WithContext("reading the credentials of " + key);
  if (r->kvs.empty()) return base::NotFoundError("no credentials saved for " + key);
  StatusOr<std::string> plain = store::Unseal(options_.keys, r->kvs[0].value, etcd_key);
  if (!plain.ok()) return plain.status().WithContext("the credentials of " + key + " in etcd");
  StatusOr<store::detail::DecodedCredentials> d = store::detail::DecodeCredentials(*plain);
  if (!d.ok()) return d.status().WithContext("the credentials of " + key + " in etcd");
  if (d->key != key) {
    return base::DataLossError("the credentials stored for " + key + " say they are for " + d->key);
  }
  base::RegisterSecret(d->credentials.password);
  return d->credentials;
}

}  // namespace aura::etcd
