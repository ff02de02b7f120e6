// In-memory fakes for reconciler tests: an Aura account (FakeAuraApi), a journal, a
// credential store and a spec source. Faults are scripted per call; nothing here sleeps.
//
// Thread-safety: every fake locks internally.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pkg/aura/api.h"
#include "pkg/base/clock.h"
#include "pkg/reconcile/controller.h"
#include "pkg/reconcile/spec_source.h"
#include "pkg/store/journal.h"

namespace aura::reconcile::testing {

// What a scripted create failure does.
enum class CreateFault {
  kNone,
  kRefuse400,        // definite refusal: nothing created
  kCommitThen500,    // created, then answered 500 (ambiguous)
  kCommitThenReset,  // created, then the connection dropped (ambiguous)
  kLostBefore500,    // NOT created, answered 500 (ambiguous)
  kConnectFailure,   // never sent
  kThrottle,         // 429: nothing created
  kNoPassword,       // created; the reply carries the id but no password (a lean reply)
  kNoId,             // created; the reply was cut short: the password without the id
};

class FakeAuraApi : public api::AuraApi {
 public:
  explicit FakeAuraApi(const base::Clock* clock) : clock_(clock) {}

  // --- scripting ---
  void ScriptCreate(CreateFault f);                             // applies to the next create
  void ScriptError(const std::string& method, base::Status s);  // next call of `method`
  // Adds an instance as if made outside the controller. Returns its id.
  std::string AddInstance(const std::string& tenant, const std::string& name,
                          const std::string& status = "running", const std::string& memory = "4GB");
  void SetStatus(const std::string& id, const std::string& status);
  void Remove(const std::string& id);
  // Every instance whose status is transitional becomes stable (running/paused/gone).
  void SettleAll();
  // LIST hides instances created less than this long ago (Aura's LIST lag).
  void SetListLag(base::Duration lag) { list_lag_ = lag; }

  // --- inspection ---
  std::map<std::string, int> calls() const;  // by method name
  int creates_landed() const;                // instances created through CreateInstance
  std::vector<api::Instance> instances() const;
  std::optional<api::Instance> instance(const std::string& id) const;
  std::vector<std::string> passwords() const;

  // --- AuraApi ---
  base::StatusOr<api::Reply<std::vector<api::InstanceSummary>>> ListInstances(
      std::string_view tenant_id, api::Priority p) override;
  base::StatusOr<api::Reply<api::Instance>> GetInstance(std::string_view id,
                                                        api::Priority p) override;
  base::StatusOr<api::Reply<api::CreatedInstance>> CreateInstance(
      const api::CreateInstanceRequest& req) override;
  base::StatusOr<api::Reply<api::Instance>> UpdateInstance(
      std::string_view id, const api::UpdateInstanceRequest& req) override;
  base::StatusOr<api::Reply<api::DeleteResult>> DeleteInstance(std::string_view id) override;
  base::StatusOr<api::Reply<api::Instance>> PauseInstance(std::string_view id) override;
  base::StatusOr<api::Reply<api::Instance>> ResumeInstance(std::string_view id) override;
  // Not scripted: kUnimplemented (the reconciler never overwrites).
  base::StatusOr<api::Reply<api::Instance>> OverwriteInstance(std::string_view, std::string_view,
                                                              std::string_view) override {
    return base::FailedPreconditionError("FakeAuraApi: overwrite is not scripted");
  }
  // professional-db only (else 400), running only (else 409); the type changes at once, the
  // status becomes "updating".
  base::StatusOr<api::Reply<api::Instance>> UpgradeInstance(
      std::string_view id, const api::UpgradeInstanceRequest& req) override;
  base::StatusOr<api::Reply<std::vector<api::Tenant>>> ListTenants(api::Priority p) override;
  base::StatusOr<api::Reply<api::TenantDetail>> GetTenant(std::string_view id,
                                                          api::Priority p) override;
  // Customer-managed keys (fakes_keys.cc): created `pending`, `ready` after SettleAll() or
  // SetKeyStatus. Errors scripted under "list_keys", "create_key", "get_key", "delete_key".
  base::StatusOr<api::Reply<std::vector<api::CustomerManagedKey>>> ListCustomerManagedKeys(
      std::string_view tenant_id, api::Priority p) override;
  base::StatusOr<api::Reply<api::CustomerManagedKey>> CreateCustomerManagedKey(
      const api::CreateCustomerManagedKeyRequest& req) override;
  base::StatusOr<api::Reply<api::CustomerManagedKey>> GetCustomerManagedKey(
      std::string_view id, api::Priority p) override;
  base::StatusOr<api::Reply<api::DeleteResult>> DeleteCustomerManagedKey(
      std::string_view id) override;
  // Adds a key as if made outside the controller. Returns its id.
  std::string AddKey(const std::string& tenant, const std::string& name,
                     const std::string& status = "ready");
  void SetKeyStatus(const std::string& id, const std::string& status);
  // Makes instance `instance_id` encrypted with key `key_id` (its delete is then refused).
  void SetKeyOf(const std::string& instance_id, const std::string& key_id);
  std::vector<api::CustomerManagedKey> keys() const;  // live keys
  base::StatusOr<api::Reply<std::vector<api::Snapshot>>> ListSnapshots(std::string_view) override;
  base::StatusOr<api::Reply<std::string>> CreateSnapshot(std::string_view) override;
  base::StatusOr<api::Reply<api::Snapshot>> GetSnapshot(std::string_view,
                                                        std::string_view) override;
  base::StatusOr<api::Reply<api::Instance>> RestoreSnapshot(std::string_view,
                                                            std::string_view) override;

 private:
  struct Inst {
    api::Instance i;
    base::SystemTime created{};
    bool deleted = false;
  };
  std::optional<base::Status> TakeError(const std::string& method);  // REQUIRES mu_
  std::string NextRequestId();                                       // REQUIRES mu_

  const base::Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, Inst> instances_;
  std::map<std::string, api::CustomerManagedKey> keys_;  // live keys by id
  int next_key_ = 1;
  std::deque<CreateFault> create_faults_;
  std::map<std::string, std::deque<base::Status>> errors_;
  std::map<std::string, int> calls_;
  std::vector<std::string> passwords_;
  base::Duration list_lag_{};
  int next_id_ = 1;
  int next_request_ = 1;
  int creates_landed_ = 0;
};

class MemJournal : public store::Journal {
 public:
  base::StatusOr<std::map<std::string, store::JournalEntry>> List() const override;
  base::StatusOr<store::JournalEntry> Get(const std::string& key) const override;
  base::Status Put(const store::JournalEntry& e) override;
  base::Status Remove(const std::string& key) override;
  // Observations are a cache: not counted in writes() nor failed by FailWrites.
  base::Status PutObservation(const std::string& key, const std::string& instance_id,
                              const store::StoredObservation& o) override;
  int observation_writes() const;
  base::StatusOr<store::StateBinding> GetBinding() const override {
    std::lock_guard<std::mutex> g(mu_);
    return binding_;
  }
  base::Status SetBinding(const store::StateBinding& b) override {
    std::lock_guard<std::mutex> g(mu_);
    binding_ = b;
    return base::Status();
  }
  // The next `n` writes fail with `s` (e.g. a full disk).
  void FailWrites(int n, base::Status s);
  int writes() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, store::JournalEntry> entries_;
  store::StateBinding binding_;
  int fail_writes_ = 0;
  base::Status fail_status_;
  int writes_ = 0;
  int observation_writes_ = 0;
};

class MemCredentialStore final : public store::CredentialStore {
 public:
  base::Status Save(const std::string& key, const store::Credentials& c) override;
  base::StatusOr<store::Credentials> Load(const std::string& key) const override;
  base::StatusOr<store::Credentials> LoadInstance(const std::string& id) const override;
  base::StatusOr<std::vector<store::Credentials>> History(const std::string& key) const override;
  base::Status Link(const std::string& key, const std::string& id) override;
  void FailSaves(int n);
  std::map<std::string, store::Credentials> all() const;  // current record by key

 private:
  mutable std::mutex mu_;
  std::map<std::string, store::Credentials> creds_;  // by key
  std::map<std::string, store::Credentials> by_id_;  // by instance id
  int fail_ = 0;
};

class StaticSpecSource final : public SpecSource {
 public:
  void Set(std::vector<spec::InstanceSpec> specs, std::set<std::string> invalid = {},
           bool complete = true);
  // AuraCustomerManagedKey specs, kept across Set().
  void SetKeys(std::vector<spec::CustomerManagedKeySpec> keys);
  spec::LoadDelta Load() override;  // always full
  std::string Fingerprint() override;

 private:
  std::mutex mu_;
  spec::LoadResult result_;
  int version_ = 0;
};

// A valid professional-db spec with the given name (namespace "default").
spec::InstanceSpec MakeSpec(const std::string& name, const std::string& tenant = "tenant-1");

// Passes and reconciles `c`, settling `api` and stepping `clock` 5 s at a time (a new pass
// every minute), until converged or `limit` steps. The first pass must succeed when
// `first_pass_ok` is set.
bool Converge(Controller& c, FakeAuraApi& api, base::FakeClock& clock, int limit,
              bool first_pass_ok);

}  // namespace aura::reconcile::testing
