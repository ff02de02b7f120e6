// What the codec's files share (codec.cc: the journal and its entries; codec_log.cc: the
// record log; codec_credentials.cc: credentials records). Not for use outside pkg/store.
#ifndef AURA_PKG_STORE_CODEC_INTERNAL_H_
#define AURA_PKG_STORE_CODEC_INTERNAL_H_

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pkg/store/codec.h"

namespace aura::store::detail::internal {

// Reads typed members of a JSON object, reporting the first problem with where it is.
// Missing members keep their defaults; members of the wrong type are data loss.
class ObjectReader {
 public:
  using json = nlohmann::json;

  ObjectReader(const nlohmann::json& obj, std::string where)
      : obj_(obj), where_(std::move(where)) {}

  base::Status status() const { return status_; }

  void Get(const char* name, std::string* out) {
    if (const json* v = Find(name, "a string", &json::is_string)) *out = v->get<std::string>();
  }
  void Get(const char* name, base::Atom* out) {
    if (const json* v = Find(name, "a string", &json::is_string)) *out = v->get<std::string>();
  }
  void Get(const char* name, bool* out) {
    if (const json* v = Find(name, "a boolean", &json::is_boolean)) *out = v->get<bool>();
  }
  void Get(const char* name, int* out) {
    const json* v = Find(name, "an integer", &json::is_number_integer);
    if (v == nullptr) return;
    if (v->is_number_unsigned()
            ? v->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<int>::max())
            : (v->get<std::int64_t>() < std::numeric_limits<int>::min() ||
               v->get<std::int64_t>() > std::numeric_limits<int>::max())) {
      Fail(name, "an integer in the int range", *v);
      return;
    }
    *out = v->is_number_unsigned() ? static_cast<int>(v->get<std::uint64_t>())
                                   : static_cast<int>(v->get<std::int64_t>());
  }
  void Get(const char* name, std::uint64_t* out) {
    if (const json* v = Find(name, "a non-negative integer", &json::is_number_unsigned)) {
      *out = v->get<std::uint64_t>();
    }
  }
  void Get(const char* name, base::SystemTime* out) {
    const json* v = Find(name, "an RFC 3339 time", &json::is_string);
    if (v == nullptr) return;
    base::StatusOr<base::SystemTime> t = ParseTime(v->get_ref<const std::string&>());
    if (!t.ok()) {
      Fail(name, "an RFC 3339 time", *v);
      return;
    }
    *out = *t;
  }
  void Get(const char* name, std::vector<std::string>* out) {
    const json* v = Find(name, "an array of strings", &json::is_array);
    if (v == nullptr) return;
    out->clear();
    for (const nlohmann::json& item : *v) {
      if (!item.is_string()) {
        Fail(name, "an array of strings", item);
        return;
      }
      out->push_back(item.get<std::string>());
    }
  }
  void Get(const char* name, Origin* out) {
    const json* v = Find(name, "\"created\" or \"adopted\"", &json::is_string);
    if (v == nullptr) return;
    if (*v == "created") {
      *out = Origin::kCreated;
    } else if (*v == "adopted") {
      *out = Origin::kAdopted;
    } else {
      Fail(name, "\"created\" or \"adopted\"", *v);
    }
  }
  // Requires the member to be present.
  void Require(const char* name) {
    if (status_.ok() && !obj_.contains(name)) {
      status_ = base::DataLossError(where_ + "." + name + " is missing");
    }
  }

 private:
  const json* Find(const char* name, const char* want, bool (json::*is)() const noexcept) {
    if (!status_.ok()) return nullptr;
    auto it = obj_.find(name);
    if (it == obj_.end()) return nullptr;
    if (!((*it).*is)()) {
      Fail(name, want, *it);
      return nullptr;
    }
    return &*it;
  }
  void Fail(const char* name, const char* want, const json& found) {
    // Names the type only: values may be secrets (credentials files).
    status_ = base::DataLossError(where_ + "." + name + ": expected " + want + ", found " +
                                  (found.is_string() ? "another string" : found.type_name()));
  }

  const nlohmann::json& obj_;
  std::string where_;
  base::Status status_;
};

// Whether `doc` is an object whose member `name` is the string `want`. (Written out rather than
// doc.value(name, "") == want: GCC 12 at -O2 warns of a null dereference inside nlohmann's
// inlined comparison.)
inline bool IsString(const nlohmann::json& doc, const char* name, std::string_view want) {
  if (!doc.is_object()) return false;
  auto it = doc.find(name);
  return it != doc.end() && it->is_string() && it->get_ref<const std::string&>() == want;
}

// One journal entry as the snapshot and the log's put records hold it.
nlohmann::json EncodeEntry(const JournalEntry& e);
[[nodiscard]] base::Status DecodeEntry(const std::string& key, const nlohmann::json& j,
                                       JournalEntry* e);

}  // namespace aura::store::detail::internal

#endif  // AURA_PKG_STORE_CODEC_INTERNAL_H_
