#include "pkg/etcd/etcd_credential_store.h"

#include <algorithm>
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

StatusOr<std::string> EtcdCredentialStore::Sealed(const std::string& key,
                                                  const store::Credentials& c,
                                                  const std::string& etcd_key) const {
  StatusOr<std::string> plain =
      store::detail::EncodeCredentials(key, c, options_.clock->SystemNow());
  if (!plain.ok()) return plain.status();
  return store::Seal(options_.keys.front(), *plain, etcd_key);
}

StatusOr<store::Credentials> EtcdCredentialStore::Read(const std::string& etcd_key,
                                                       const std::string& what) const {
  StatusOr<EtcdRangeResult> r = options_.etcd->Range(etcd_key);
  if (!r.ok()) return r.status().WithContext("reading the credentials of " + what);
  if (r->kvs.empty()) return base::NotFoundError("no credentials saved for " + what);
  StatusOr<std::string> plain = store::Unseal(options_.keys, r->kvs[0].value, etcd_key);
  if (!plain.ok()) return plain.status().WithContext("the credentials of " + what + " in etcd");
  StatusOr<store::detail::DecodedCredentials> d = store::detail::DecodeCredentials(*plain);
  if (!d.ok()) return d.status().WithContext("the credentials of " + what + " in etcd");
  base::RegisterSecret(d->credentials.password);
  d->credentials.key = d->key;
  d->credentials.saved_at = d->saved_at;
  return d->credentials;
}

Status EtcdCredentialStore::Save(const std::string& key, const store::Credentials& c) {
  AURA_RETURN_IF_ERROR(store::FileCredentialStore::SplitKey(key).status());
  base::RegisterSecret(c.password);
  const std::string etcd_key = KeyPrefix(options_.prefix) + key;
  const std::string what = "saving the credentials of " + key + " in etcd";
  if (!options_.fence) {
    return base::FailedPreconditionError(what + " failed: the store was opened read-only");
  }
  StatusOr<std::string> sealed = Sealed(key, c, etcd_key);
  if (!sealed.ok()) return sealed.status().WithContext(what);
  std::vector<EtcdOp> ops = {EtcdOp::Put(etcd_key, *sealed)};
  std::string id_key;
  Status kept;
  if (!c.instance_id.empty()) {
    id_key = IdPrefix(options_.prefix) + c.instance_id;
    StatusOr<store::Credentials> existing = Read(id_key, "instance " + c.instance_id);
    if (existing.ok() && existing->password != c.password) {
      kept = base::AlreadyExistsError("instance " + c.instance_id +
                                      " already has a saved record with another password; kept it");
    } else if (!existing.ok()) {
      StatusOr<std::string> by_id = Sealed(key, c, id_key);
      if (!by_id.ok()) return by_id.status().WithContext(what);
      ops.push_back(EtcdOp::Put(id_key, *by_id));
    }
  }
  Status s = FencedWrite(*options_.etcd, *options_.fence, ops, what);
  if (!IsNotLeader(s)) return s.ok() ? kept : s;
  // Deposed while the create was in flight: fill empty slots only (see the header).
  std::vector<EtcdCompare> empty = {EtcdCompare::Version(etcd_key, 0)};
  if (ops.size() > 1) empty.push_back(EtcdCompare::Version(id_key, 0));
  StatusOr<EtcdTxnResult> r = options_.etcd->Txn(empty, ops, {});
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
  AURA_ASSIGN_OR_RETURN(store::Credentials c, Read(KeyPrefix(options_.prefix) + key, key));
  if (c.key != key) {
    return base::DataLossError("the credentials stored for " + key + " say they are for " + c.key);
  }
  return c;
}

StatusOr<store::Credentials> EtcdCredentialStore::LoadInstance(const std::string& id) const {
  if (id.empty() || id.find('/') != std::string::npos) {
    return base::InvalidArgumentError("bad instance id");
  }
  AURA_ASSIGN_OR_RETURN(store::Credentials c,
                        Read(IdPrefix(options_.prefix) + id, "instance " + id));
  if (c.instance_id != id) {
    return base::DataLossError("the record of instance " + id + " says it is for " + c.instance_id);
  }
  return c;
}

StatusOr<std::vector<store::Credentials>> EtcdCredentialStore::History(
    const std::string& key) const {
  std::vector<store::Credentials> out;
  std::string current_id;
  if (auto cur = Load(key); cur.ok()) {
    current_id = cur->instance_id;
    out.push_back(*cur);
  } else if (cur.status().code() != base::StatusCode::kNotFound) {
    return cur.status();
  }
  const std::string prefix = IdPrefix(options_.prefix);
  StatusOr<EtcdRangeResult> r = options_.etcd->Range(prefix, /*prefix=*/true);
  if (!r.ok()) return r.status().WithContext("listing credentials records");
  std::vector<store::Credentials> older;
  for (const EtcdKeyValue& kv : r->kvs) {
    auto c = Read(kv.key, kv.key.substr(prefix.size()));
    if (c.ok() && c->key == key && c->instance_id != current_id) older.push_back(*c);
  }
  std::sort(older.begin(), older.end(),
            [](const auto& a, const auto& b) { return a.saved_at > b.saved_at; });
  out.insert(out.end(), older.begin(), older.end());
  return out;
}

Status EtcdCredentialStore::Link(const std::string& key, const std::string& id) {
  AURA_RETURN_IF_ERROR(store::FileCredentialStore::SplitKey(key).status());
  if (!options_.fence) return base::FailedPreconditionError("the store was opened read-only");
  AURA_ASSIGN_OR_RETURN(store::Credentials c, LoadInstance(id));
  const std::string etcd_key = KeyPrefix(options_.prefix) + key;
  AURA_ASSIGN_OR_RETURN(std::string sealed, Sealed(key, c, etcd_key));
  return FencedWrite(*options_.etcd, *options_.fence, {EtcdOp::Put(etcd_key, sealed)},
                     "linking the credentials of instance " + id + " to " + key);
}

}  // namespace aura::etcd
