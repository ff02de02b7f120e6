// EtcdJournal: the Journal in etcd, for high availability (`--state etcd://.../prefix`).
//
// Layout: one key per spec, `<prefix>/journal/<namespace>/<name>`, holding
// store::detail::EncodeJournalEntry (JSON, schema_version 1). Beside it: `<prefix>/leader` (the
// election, leader_election.h) and `<prefix>/credentials/...` (etcd_credential_store.h).
//
// Writes: every Put/Remove is one fenced transaction (etcd_fence.h): it is applied only while
// this process's leadership term holds, checked by etcd itself. Otherwise it fails with
// kFailedPrecondition "not the leader" and nothing was written, so the executor, which sends no
// POST without a durable intent, sends nothing. An etcd error (no quorum, timeout) fails the
// write too; when it may have been applied after all (timeout), the in-memory view is reloaded
// from etcd before the next read, and the exactly-once protocol resolves such an intent from a
// LIST like any other.
//
// Reads are served from memory: Open() loads every entry, successful writes update it. That
// is exact while this process is the only writer, which the fence guarantees for its term; a
// new term opens a new EtcdJournal (the previous leader's writes are then visible).
//
// Read-only (no fence): for `status` and `plan`; writes fail with kFailedPrecondition.
//
// Thread-safety: safe for concurrent use; writes are serialized.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/etcd/etcd_client.h"
#include "pkg/etcd/etcd_fence.h"
#include "pkg/store/journal.h"

namespace aura::etcd {

struct EtcdJournalOptions {
  EtcdClient* etcd = nullptr;            // required; outlives the journal
  const base::Clock* clock = nullptr;    // required (for `updated`)
  std::string prefix;                    // "/aura"
  std::optional<LeaderFence> fence;      // nullopt: read-only
  const base::Logger* logger = nullptr;  // nullptr: base::DefaultLogger()
};

class EtcdJournal final : public store::Journal {
 public:
  // Loads every entry. kUnavailable/kDeadlineExceeded when etcd cannot be read; kDataLoss when
  // an entry does not decode (the message names its etcd key; nothing is modified).
  [[nodiscard]] static base::StatusOr<std::unique_ptr<EtcdJournal>> Open(
      EtcdJournalOptions options);

  EtcdJournal(const EtcdJournal&) = delete;
  EtcdJournal& operator=(const EtcdJournal&) = delete;

  base::StatusOr<std::map<std::string, store::JournalEntry>> List() const override;
  // In place, under the journal's lock (no copy: a pass reads the journal several times).
  base::Status ForEach(const std::function<void(const store::JournalEntry&)>& visit) const override;
  base::StatusOr<store::JournalEntry> Get(const std::string& key) const override;
  // Sets e.updated to the clock's SystemNow() in what it stores.
  [[nodiscard]] base::Status Put(const store::JournalEntry& e) override;
  [[nodiscard]] base::Status PutObservation(const std::string& key, const std::string& instance_id,
                                            const store::StoredObservation& o) override;
  [[nodiscard]] base::Status Remove(const std::string& key) override;
  // `<prefix>/binding`: {"api_url": ..., "client": ...}, a fenced write.
  base::StatusOr<store::StateBinding> GetBinding() const override;
  [[nodiscard]] base::Status SetBinding(const store::StateBinding& b) override;

  // "<prefix>/journal/" and the etcd key of a spec key.
  static std::string KeyPrefix(const std::string& prefix) { return prefix + "/journal/"; }
  std::string EtcdKey(const std::string& key) const { return KeyPrefix(options_.prefix) + key; }

 private:
  explicit EtcdJournal(EtcdJournalOptions options) : options_(std::move(options)) {}
  // Reads every entry from etcd into entries_. REQUIRES: mu_ held.
  base::Status LoadLocked() const;
  // A fenced write of `op`. REQUIRES: mu_ held (the caller updates memory on success).
  base::Status Write(const EtcdOp& op, const std::string& what);
  const base::Logger& log() const;

  const EtcdJournalOptions options_;
  mutable std::mutex mu_;
  mutable std::map<std::string, store::JournalEntry> entries_;  // GUARDED_BY(mu_)
  mutable bool stale_ = false;  // GUARDED_BY(mu_): a write's outcome is unknown: reload
};

}  // namespace aura::etcd
