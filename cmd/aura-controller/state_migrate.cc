// `aura-controller state migrate --to etcd`: the file state into an empty etcd prefix.
//
// What it copies, each value as the etcd backend stores it (etcd_journal.h,
// etcd_credential_store.h), timestamps included:
//   every journal entry            -> <prefix>/journal/<namespace>/<name>
//   the state's account binding    -> <prefix>/binding
//   each key's current credentials -> <prefix>/credentials/<namespace>/<name>   (sealed)
//   every instance's credentials   -> <prefix>/credentials-by-id/<instance id>  (sealed; history)
// How it stays safe:
//   - the file journal is opened for writing, so its lock is held throughout: no controller
//     runs on the files meanwhile (and the command refuses while one does);
//   - the etcd prefix must hold nothing at all (no journal, binding, credentials, leader): an
//     existing state is never overwritten or merged;
//   - it takes `<prefix>/leader` with a lease for the duration, so a controller started on the
//     etcd prefix meanwhile waits as a standby, and every write is fenced by that lease;
//   - it reads everything back and compares; on any failure it deletes what it wrote;
//   - the files are only read (opening the credentials folder recovers an interrupted save, as
//     a controller's start would).
#include "cmd/aura-controller/state_migrate.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cmd/aura-controller/common.h"
#include "cmd/aura-controller/ha.h"
#include "pkg/base/clock.h"
#include "pkg/base/status.h"
#include "pkg/etcd/etcd_client.h"
#include "pkg/etcd/etcd_credential_store.h"
#include "pkg/etcd/etcd_fence.h"
#include "pkg/etcd/etcd_journal.h"
#include "pkg/store/codec.h"
#include "pkg/store/file_credential_store.h"
#include "pkg/store/file_journal.h"
#include "pkg/store/sealing.h"

namespace aura::cmd {
namespace {

using base::Status;
using base::StatusOr;
namespace fs = std::filesystem;

// Operations per etcd transaction: below etcd's default --max-txn-ops (128), with room for the
// fence's compares, and far below its request size limit (a value is about 1 KiB).
constexpr size_t kOpsPerTxn = 64;

constexpr char kUsage[] =
    "usage: aura-controller state migrate --to etcd --etcd "
    "etcd[s]://HOST:PORT[,HOST:PORT...]/PREFIX "
    "--credentials-key-file KEY [--etcd-ca FILE --etcd-cert FILE --etcd-key FILE] "
    "[--state FILE] [--credentials-dir DIR]";

// The file state, read under the journal's lock.
struct FileState {
  std::unique_ptr<store::FileJournal> journal;  // kept open: its lock keeps controllers out
  std::map<std::string, store::JournalEntry> entries;
  store::StateBinding binding;
  bool credentials_dir_exists = false;
  std::map<std::string, store::Credentials> by_key;  // each key's current record
  std::map<std::string, store::Credentials> by_id;   // every instance's record
};

bool IsDir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

// The names of `dir`'s entries ending in ".json" (not hidden: temp files start with '.'),
// without the suffix.
StatusOr<std::vector<std::string>> JsonFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || name.size() <= 5 ||
        name.compare(name.size() - 5, 5, ".json") != 0 || !it->is_regular_file()) {
      continue;
    }
    out.push_back(name.substr(0, name.size() - 5));
  }
  if (ec) return base::UnavailableError("reading " + dir + ": " + ec.message());
  return out;
}

StatusOr<FileState> ReadFileState(const Config& c, const base::Clock* clock) {
  FileState s;
  std::error_code ec;
  if (!fs::is_regular_file(c.state, ec)) {
    return base::NotFoundError("no journal file at " + c.state +
                               ": --state names the file journal to migrate (env AURA_STATE)");
  }
  store::FileJournalOptions options;
  options.compact_on_open = false;  // the files stay byte-for-byte as they were
  auto journal = store::FileJournal::Open(c.state, clock, options);
  if (!journal.ok()) {
    return journal.status().WithContext("opening " + c.state +
                                        " (stop the controller that uses it before migrating)");
  }
  s.journal = std::move(journal).value();
  AURA_ASSIGN_OR_RETURN(s.entries, s.journal->List());
  AURA_ASSIGN_OR_RETURN(s.binding, s.journal->GetBinding());

  s.credentials_dir_exists = IsDir(c.credentials_dir);
  if (!s.credentials_dir_exists) return s;  // nothing saved (and nothing created here)
  auto creds = store::FileCredentialStore::Open(c.credentials_dir);
  if (!creds.ok()) return creds.status().WithContext("--credentials-dir " + c.credentials_dir);
  for (fs::directory_iterator it(c.credentials_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string ns = it->path().filename().string();
    if (ns.empty() || ns[0] == '.' || !it->is_directory()) continue;
    AURA_ASSIGN_OR_RETURN(std::vector<std::string> names, JsonFiles(it->path().string()));
    for (const std::string& name : names) {
      if (ns == "by_id") {
        AURA_ASSIGN_OR_RETURN(store::Credentials cr, (*creds)->LoadInstance(name));
        s.by_id[name] = std::move(cr);
      } else {
        const std::string key = ns + "/" + name;
        AURA_ASSIGN_OR_RETURN(store::Credentials cr, (*creds)->Load(key));
        s.by_key[key] = std::move(cr);
      }
    }
  }
  if (ec) return base::UnavailableError("reading " + c.credentials_dir + ": " + ec.message());
  return s;
}

bool SameCredentials(const store::Credentials& a, const store::Credentials& b) {
  return a.instance_id == b.instance_id && a.connection_url == b.connection_url &&
         a.username == b.username && a.password == b.password && a.key == b.key &&
         a.saved_at == b.saved_at;
}

// `<prefix>/leader`, held by this command for its duration.
class Hold {
 public:
  Hold(etcd::EtcdClient& etcd, std::string prefix, std::chrono::seconds ttl)
      : etcd_(etcd), key_(prefix + "/leader"), ttl_(ttl) {}
  Hold(const Hold&) = delete;
  Hold& operator=(const Hold&) = delete;
  ~Hold() { Release(); }

  Status Take(const std::string& identity) {
    const auto sent = std::chrono::steady_clock::now();
    AURA_ASSIGN_OR_RETURN(etcd::EtcdLease lease, etcd_.LeaseGrant(ttl_));
    lease_ = lease.id;
    deadline_ = sent + lease.ttl - std::chrono::milliseconds(500);
    AURA_ASSIGN_OR_RETURN(
        etcd::EtcdTxnResult r,
        etcd_.Txn(
            {etcd::EtcdCompare::CreateRevision(key_, 0)},
            {etcd::EtcdOp::Put(key_, "aura-controller state migrate (" + identity + ")", lease_)},
            {etcd::EtcdOp::Get(key_)}));
    if (!r.succeeded) {
      return base::FailedPreconditionError(key_ +
                                           " is held by another process: a controller "
                                           "runs on this prefix; migrate into an empty prefix");
    }
    create_revision_ = r.revision;
    return Status();
  }
  // Renews the lease (before each batch of writes).
  Status Renew() {
    const auto sent = std::chrono::steady_clock::now();
    AURA_ASSIGN_OR_RETURN(std::chrono::seconds ttl, etcd_.LeaseKeepAlive(lease_));
    deadline_ = sent + ttl - std::chrono::milliseconds(500);
    return Status();
  }
  etcd::LeaderFence Fence() const {
    etcd::LeaderFence f;
    f.leader_key = key_;
    f.create_revision = create_revision_;
    f.lease = lease_;
    f.local_check = [this] {
      if (std::chrono::steady_clock::now() < deadline_) return Status();
      return base::FailedPreconditionError("not the leader: the lease on " + key_ +
                                           " may have run out");
    };
    return f;
  }
  void Release() {
    if (lease_ != 0) (void)etcd_.LeaseRevoke(lease_);  // deletes the key
    lease_ = 0;
  }

 private:
  etcd::EtcdClient& etcd_;
  const std::string key_;
  const std::chrono::seconds ttl_;
  std::int64_t lease_ = 0;
  std::int64_t create_revision_ = 0;
  std::chrono::steady_clock::time_point deadline_{};
};

Status WriteBatches(etcd::EtcdClient& etcd, Hold& hold, const std::vector<etcd::EtcdOp>& ops,
                    const std::string& what) {
  for (size_t i = 0; i < ops.size(); i += kOpsPerTxn) {
    AURA_RETURN_IF_ERROR(hold.Renew().WithContext("renewing the lease on the leader key"));
    const std::vector<etcd::EtcdOp> batch(
        ops.begin() + static_cast<std::ptrdiff_t>(i),
        ops.begin() + static_cast<std::ptrdiff_t>(std::min(ops.size(), i + kOpsPerTxn)));
    AURA_RETURN_IF_ERROR(etcd::FencedWrite(etcd, hold.Fence(), batch, what));
  }
  return Status();
}

// Reads everything back through the etcd backend's own readers and compares.
Status Verify(const Config& etcd_config, EtcdConnection& conn, const FileState& s,
              const base::Clock* clock) {
  AURA_ASSIGN_OR_RETURN(auto journal, OpenEtcdJournalReadOnly(conn, clock));
  AURA_ASSIGN_OR_RETURN(auto entries, journal->List());
  if (entries.size() != s.entries.size()) {
    return base::DataLossError("etcd holds " + std::to_string(entries.size()) +
                               " journal entries, the file " + std::to_string(s.entries.size()));
  }
  for (const auto& [key, e] : s.entries) {
    auto it = entries.find(key);
    if (it == entries.end()) return base::DataLossError("journal entry " + key + " missing");
    AURA_ASSIGN_OR_RETURN(std::string want, store::detail::EncodeJournalEntry(e));
    AURA_ASSIGN_OR_RETURN(std::string got, store::detail::EncodeJournalEntry(it->second));
    if (want != got) return base::DataLossError("journal entry " + key + " differs");
  }
  AURA_ASSIGN_OR_RETURN(store::StateBinding binding, journal->GetBinding());
  if (!(binding == s.binding)) return base::DataLossError("the state's binding differs");
  AURA_ASSIGN_OR_RETURN(auto creds, OpenEtcdCredentialsReadOnly(etcd_config, conn, clock));
  for (const auto& [key, want] : s.by_key) {
    AURA_ASSIGN_OR_RETURN(store::Credentials got, creds->Load(key));
    if (!SameCredentials(want, got)) {
      return base::DataLossError("credentials of " + key + " differ");
    }
  }
  for (const auto& [id, want] : s.by_id) {
    AURA_ASSIGN_OR_RETURN(store::Credentials got, creds->LoadInstance(id));
    if (!SameCredentials(want, got)) {
      return base::DataLossError("credentials of instance " + id + " differ");
    }
  }
  return Status();
}

int Migrate(const Config& c) {
  if (c.migrate_to != "etcd") {
    return Fail(
        base::InvalidArgumentError((c.migrate_to.empty() ? std::string("--to is required")
                                                         : "--to: found \"" + c.migrate_to + "\"") +
                                   "; allowed: etcd. " + kUsage));
  }
  if (!etcd::IsEtcdUrl(c.etcd_url)) {
    return Fail(base::InvalidArgumentError(
        "--etcd: the etcd state to create, etcd://HOST:PORT[,HOST:PORT...]/PREFIX (etcds:// for "
        "TLS). " +
        std::string(kUsage)));
  }
  if (IsEtcdState(c)) {
    return Fail(base::InvalidArgumentError(
        "--state names the file journal to migrate from (default .aura/journal.json), not etcd"));
  }
  // The etcd side as the HA commands see it: --state is the etcd URL there.
  Config e = c;
  e.state = c.etcd_url;
  const bool tls = e.state.rfind("etcds://", 0) == 0;
  if (!tls && (!e.etcd_ca.empty() || !e.etcd_cert.empty() || !e.etcd_key.empty())) {
    return Fail(base::InvalidArgumentError(
        "--etcd-ca, --etcd-cert and --etcd-key need TLS: write --etcd as etcds://..."));
  }
  if (e.etcd_cert.empty() != e.etcd_key.empty()) {
    return Fail(base::InvalidArgumentError("--etcd-cert and --etcd-key go together"));
  }
  auto keys = LoadCredentialKeys(e);
  if (!keys.ok()) return Fail(keys.status());
  const base::Clock* clock = &base::RealClock();

  // 1. The files, under the journal's lock (held until this function returns).
  auto file = ReadFileState(c, clock);
  if (!file.ok()) return Fail(file.status());
  const FileState& s = *file;

  // 2. An empty etcd prefix, held.
  auto conn = ConnectEtcd(e);
  if (!conn.ok()) return Fail(conn.status());
  const std::string prefix = conn->target.prefix;
  etcd::EtcdClient& etcd = *conn->etcd;
  auto existing = etcd.Range(prefix + "/", /*prefix=*/true, /*limit=*/1);
  if (!existing.ok()) return Fail(existing.status().WithContext("reading etcd at " + e.state));
  if (!existing->kvs.empty()) {
    return Fail(base::FailedPreconditionError(
        "etcd already holds a state under " + prefix + "/ (" + existing->kvs[0].key +
        (existing->more ? " and more" : "") +
        "): state migrate writes only into an empty prefix and never merges. Use another "
        "prefix, or, if it is left from an earlier attempt and no controller uses it, remove it "
        "with `etcdctl del --prefix " +
        prefix + "/`"));
  }
  std::string identity = c.identity;
  if (identity.empty()) identity = "pid " + std::to_string(::getpid());
  Hold hold(etcd, prefix,
            std::max(std::chrono::seconds(15),
                     std::chrono::duration_cast<std::chrono::seconds>(c.lease_ttl)));
  if (Status st = hold.Take(identity); !st.ok()) return Fail(st);

  // 3. The values, as the etcd backend writes them.
  const store::SealingKey& seal = keys->front();
  std::vector<etcd::EtcdOp> ops;
  std::vector<std::string> written;
  auto put = [&](std::string key, std::string value) {
    written.push_back(key);
    ops.push_back(etcd::EtcdOp::Put(std::move(key), std::move(value)));
  };
  auto sealed = [&](const std::string& etcd_key, const store::Credentials& cr) {
    StatusOr<std::string> plain = store::detail::EncodeCredentials(cr.key, cr, cr.saved_at);
    if (!plain.ok()) return plain;
    return store::Seal(seal, *plain, etcd_key);
  };
  for (const auto& [id, cr] : s.by_id) {
    const std::string k = etcd::EtcdCredentialStore::IdPrefix(prefix) + id;
    auto v = sealed(k, cr);
    if (!v.ok()) return Fail(v.status().WithContext("sealing the credentials of instance " + id));
    put(k, *v);
  }
  for (const auto& [key, cr] : s.by_key) {
    const std::string k = etcd::EtcdCredentialStore::KeyPrefix(prefix) + key;
    auto v = sealed(k, cr);
    if (!v.ok()) return Fail(v.status().WithContext("sealing the credentials of " + key));
    put(k, *v);
  }
  for (const auto& [key, entry] : s.entries) {
    auto v = store::detail::EncodeJournalEntry(entry);
    if (!v.ok()) return Fail(v.status().WithContext("encoding the journal entry " + key));
    put(etcd::EtcdJournal::KeyPrefix(prefix) + key, *v);
  }
  if (!s.binding.empty()) {  // last: as EtcdJournal::SetBinding writes it
    put(prefix + "/binding",
        nlohmann::json{{"api_url", s.binding.api_url}, {"client", s.binding.client}}.dump());
  }

  // 4. Written, then read back; on any failure what was written is deleted again.
  Status st = WriteBatches(etcd, hold, ops, "state migrate: writing to etcd");
  if (st.ok()) st = Verify(e, *conn, s, clock).WithContext("reading the copy back from etcd");
  if (!st.ok()) {
    std::vector<etcd::EtcdOp> undo;
    for (const std::string& k : written) undo.push_back(etcd::EtcdOp::Delete(k));
    const Status undone = WriteBatches(etcd, hold, undo, "state migrate: removing the copy");
    hold.Release();
    return Fail(st.WithContext(
        undone.ok() ? "state migrate failed; the copy in etcd was removed, the files are unchanged"
                    : "state migrate failed and the partial copy under " + prefix +
                          "/ could not be removed (" + undone.message() +
                          "): remove it with `etcdctl del --prefix " + prefix +
                          "/` before starting a controller on it; the files are unchanged"));
  }
  hold.Release();

  // 5. What was copied. Passwords are never printed.
  std::cout << "Migrated " << c.state << " and "
            << (s.credentials_dir_exists ? c.credentials_dir : c.credentials_dir + " (missing)")
            << " to " << e.state << "\n";
  std::map<std::string, int> history;  // earlier instances' records per key
  for (const auto& [id, cr] : s.by_id) {
    auto cur = s.by_key.find(cr.key);
    if (cur == s.by_key.end() || cur->second.instance_id != id) ++history[cr.key];
  }
  for (const auto& [key, entry] : s.entries) {
    std::cout << "  journal " << key << ": "
              << (entry.instance_id.empty() ? std::string("no instance")
                                            : "instance " + entry.instance_id)
              << (entry.intent ? ", create in flight" : "")
              << (s.by_key.count(key) ? ", credentials" : ", no credentials");
    if (history[key] > 0) std::cout << " (+" << history[key] << " earlier)";
    std::cout << "\n";
  }
  for (const auto& [key, cr] : s.by_key) {
    if (!s.entries.count(key)) std::cout << "  credentials " << key << " (no journal entry)\n";
  }
  std::cout << "  " << s.entries.size() << " journal entries -> " << prefix << "/journal/\n"
            << "  binding: "
            << (s.binding.empty() ? std::string("none (not used with an account yet)")
                                  : s.binding.api_url + " -> " + prefix + "/binding")
            << "\n"
            << "  " << s.by_key.size() << " credentials records by key -> " << prefix
            << "/credentials/, " << s.by_id.size() << " by instance id -> " << prefix
            << "/credentials-by-id/, sealed with key " << seal.id << "\n"
            << "Read back from etcd: identical. The files are unchanged; keep them as a backup "
               "until the controller runs on "
            << e.state << " (start it with --state " << e.state
            << " --credentials-key-file ...).\n";
  return kExitOk;
}

}  // namespace

int StateCommand(const Config& c) {
  if (c.args.empty() || c.args[0] != "migrate" || c.args.size() != 1) {
    return Fail(base::InvalidArgumentError(kUsage));
  }
  return Migrate(c);
}

}  // namespace aura::cmd
