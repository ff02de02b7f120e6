// Customer-managed keys (AuraCustomerManagedKey specs) keep their exactly-once entries in the
// same journal as instances, under "cmk/<namespace>/<name>": two slashes, so never the key of an
// instance spec ("<namespace>/<name>", DNS-1123 labels). Everything that treats journal entries
// as instances (removal planning, owners, passes that GET every journaled instance, status,
// metrics, plan) reads the journal through InstanceJournal, which hides key entries.
#pragma once

#include <string>
#include <string_view>

#include "pkg/store/journal.h"

namespace aura::store {

inline constexpr std::string_view kKeyEntryPrefix = "cmk/";

// True for the journal key of a customer-managed key's entry.
inline bool IsKeyEntry(std::string_view journal_key) {
  return journal_key.starts_with(kKeyEntryPrefix);
}

// A view of `inner` without the customer-managed keys' entries: List() and ForEach() skip them
// and Get() reports them as absent (kNotFound), so a key's entry is never planned, owned,
// polled or counted as an instance. Put, Remove and PutObservation pass through (callers name
// their keys).
class InstanceJournal : public Journal {
 public:
  explicit InstanceJournal(Journal& inner) : inner_(inner) {}

  base::StatusOr<StateBinding> GetBinding() const override { return inner_.GetBinding(); }
  [[nodiscard]] base::Status SetBinding(const StateBinding& b) override {
    return inner_.SetBinding(b);
  }
  base::StatusOr<std::map<std::string, JournalEntry>> List() const override {
    auto all = inner_.List();
    if (!all.ok()) return all.status();
    std::erase_if(*all, [](const auto& kv) { return IsKeyEntry(kv.first); });
    return all;
  }
  base::Status ForEach(const std::function<void(const JournalEntry&)>& visit) const override {
    return inner_.ForEach([&visit](const JournalEntry& e) {
      if (!IsKeyEntry(e.key)) visit(e);
    });
  }
  base::StatusOr<JournalEntry> Get(const std::string& key) const override {
    if (IsKeyEntry(key)) {
      return base::NotFoundError("no instance journal entry for " + key +
                                 " (a customer-managed key's)");
    }
    return inner_.Get(key);
  }
  [[nodiscard]] base::Status Put(const JournalEntry& e) override { return inner_.Put(e); }
  [[nodiscard]] base::Status Remove(const std::string& key) override { return inner_.Remove(key); }
  // Forwarded, so the inner journal's own lock protects it (not this class's Get and Put).
  [[nodiscard]] base::Status PutObservation(const std::string& key, const std::string& instance_id,
                                            const StoredObservation& o) override {
    if (IsKeyEntry(key)) return base::Status::Ok();
    return inner_.PutObservation(key, instance_id, o);
  }
  Journal& inner() const { return inner_; }

 private:
  Journal& inner_;
};

}  // namespace aura::store
