#include "pkg/etcd/etcd_journal.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "pkg/store/codec.h"

namespace aura::etcd {

using base::Status;
using base::StatusOr;

const base::Logger& EtcdJournal::log() const {
  return options_.logger != nullptr ? *options_.logger : base::DefaultLogger();
}

StatusOr<std::unique_ptr<EtcdJournal>> EtcdJournal::Open(EtcdJournalOptions options) {
  if (options.etcd == nullptr || options.clock == nullptr) {
    return base::InvalidArgumentError("EtcdJournal::Open needs an etcd client and a clock");
  }
  if (options.prefix.empty()) return base::InvalidArgumentError("the etcd key prefix is empty");
  std::unique_ptr<EtcdJournal> j(new EtcdJournal(std::move(options)));
  {
    std::lock_guard<std::mutex> g(j->mu_);
    AURA_RETURN_IF_ERROR(j->LoadLocked());
  }
  return j;
}

Status EtcdJournal::LoadLocked() const {
  const std::string prefix = KeyPrefix(options_.prefix);
  StatusOr<EtcdRangeResult> r = options_.etcd->Range(prefix, /*prefix=*/true);
  if (!r.ok()) return r.status().WithContext("reading the journal under " + prefix);
  std::map<std::string, store::JournalEntry> loaded;
  for (const EtcdKeyValue& kv : r->kvs) {
    StatusOr<store::JournalEntry> e = store::detail::DecodeJournalEntry(kv.value);
    if (!e.ok()) {
      return base::DataLossError("the journal entry " + kv.key +
                                 " in etcd cannot be used: " + e.status().message() +
                                 ". aura-controller has not modified it; inspect it with "
                                 "etcdctl get " +
                                 kv.key);
    }
    const std::string key = kv.key.substr(prefix.size());
    if (e->key != key) {
      return base::DataLossError("the journal entry " + kv.key + " in etcd says it is for \"" +
                                 e->key + "\": moved by hand?");
    }
    loaded.emplace(key, std::move(e).value());
  }
  entries_ = std::move(loaded);
  stale_ = false;
  return Status();
}

StatusOr<std::map<std::string, store::JournalEntry>> EtcdJournal::List() const {
  std::lock_guard<std::mutex> g(mu_);
  if (stale_) AURA_RETURN_IF_ERROR(LoadLocked());
  return entries_;
}

Status EtcdJournal::ForEach(const std::function<void(const store::JournalEntry&)>& visit) const {
  std::lock_guard<std::mutex> g(mu_);
  if (stale_) AURA_RETURN_IF_ERROR(LoadLocked());
  for (const auto& [_, e] : entries_) visit(e);
  return Status::Ok();
}

StatusOr<store::JournalEntry> EtcdJournal::Get(const std::string& key) const {
  std::lock_guard<std::mutex> g(mu_);
  if (stale_) AURA_RETURN_IF_ERROR(LoadLocked());
  auto it = entries_.find(key);
  if (it == entries_.end()) return base::NotFoundError("no journal entry for " + key);
  return it->second;
}

Status EtcdJournal::Put(const store::JournalEntry& e) {
  if (e.key.empty()) return base::InvalidArgumentError("journal entry without a key");
  store::JournalEntry stored = e;
  stored.updated = options_.clock->SystemNow();
  std::lock_guard<std::mutex> g(mu_);
  if (!stale_) {
    if (auto it = entries_.find(e.key); it != entries_.end()) {
      store::KeepNewerObservation(it->second, &stored);
    }
  }
  StatusOr<std::string> bytes = store::detail::EncodeJournalEntry(stored);
  if (!bytes.ok()) return bytes.status().WithContext("recording " + e.key);
  AURA_RETURN_IF_ERROR(Write(EtcdOp::Put(EtcdKey(e.key), *bytes), "recording " + e.key));
  entries_[e.key] = std::move(stored);
  return Status();
}

Status EtcdJournal::PutObservation(const std::string& key, const std::string& instance_id,
                                   const store::StoredObservation& o) {
  std::lock_guard<std::mutex> g(mu_);
  if (stale_) AURA_RETURN_IF_ERROR(LoadLocked());
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.instance_id != instance_id || it->second.intent) {
    return Status();
  }
  store::JournalEntry stored = it->second;
  stored.observation = o;
  StatusOr<std::string> bytes = store::detail::EncodeJournalEntry(stored);
  if (!bytes.ok()) return bytes.status().WithContext("recording the observation of " + key);
  AURA_RETURN_IF_ERROR(
      Write(EtcdOp::Put(EtcdKey(key), *bytes), "recording the observation of " + key));
  it->second = std::move(stored);
  return Status();
}

Status EtcdJournal::Remove(const std::string& key) {
  std::lock_guard<std::mutex> g(mu_);
  if (!stale_ && entries_.find(key) == entries_.end()) return Status();
  AURA_RETURN_IF_ERROR(Write(EtcdOp::Delete(EtcdKey(key)), "removing " + key));
  entries_.erase(key);
  return Status();
}

StatusOr<store::StateBinding> EtcdJournal::GetBinding() const {
  StatusOr<EtcdRangeResult> r = options_.etcd->Range(options_.prefix + "/binding");
  if (!r.ok()) return r.status().WithContext("reading the journal's binding");
  store::StateBinding b;
  if (r->kvs.empty()) return b;
  nlohmann::json j = nlohmann::json::parse(r->kvs[0].value, nullptr, false);
  if (!j.is_object()) return base::DataLossError("the journal's binding in etcd is not JSON");
  b.api_url = j.value("api_url", "");
  b.client = j.value("client", "");
  return b;
}

Status EtcdJournal::SetBinding(const store::StateBinding& b) {
  const nlohmann::json j = {{"api_url", b.api_url}, {"client", b.client}};
  std::lock_guard<std::mutex> g(mu_);
  return Write(EtcdOp::Put(options_.prefix + "/binding", j.dump()), "binding the journal");
}

Status EtcdJournal::Write(const EtcdOp& op, const std::string& what) {
  const std::string context = what + " in the etcd journal";
  if (!options_.fence) {
    return base::FailedPreconditionError(context + " failed: the journal was opened read-only");
  }
  Status s = FencedWrite(*options_.etcd, *options_.fence, {op}, context);
  if (s.ok() || IsNotLeader(s)) return s;
  // Any other failure may hide an applied write (a timeout, a lost answer): read it back
  // before trusting memory again.
  if (s.code() != base::StatusCode::kInvalidArgument) stale_ = true;
  log().Warn("etcd journal write failed", base::StatusFields(s));
  return s;
}

}  // namespace aura::etcd
