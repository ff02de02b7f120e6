// Helpers of the /v1 resource handlers (engine_instances.cc, engine_upgrade.cc): replies,
// errors and status changes. Not part of the simulator's interface.
//
// Thread-safety: pure functions; FieldErrors is a plain value.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "pkg/simulator/engine.h"

namespace aura::simulator::resources {

using nlohmann::json;

inline SimResponse Reply(int status, std::string body) {
  SimResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

inline SimResponse Data(int status, json data) {
  return Reply(status, json{{"data", data}}.dump());
}

inline SimResponse DbNotFound(const std::string& id) {
  return Reply(404, AuraErrorBody("db-not-found", "DB not found: " + id));
}

inline SimResponse Busy(const InstanceRecord& r) {
  return Reply(409,
               AuraErrorBody("ongoing-database-operation",
                             "The database is currently undergoing an operation: " + r.status));
}

inline bool Transitional(const std::string& status) {
  return status != "running" && status != "paused";
}

inline void Become(InstanceRecord& r, std::string status, base::SystemTime at) {
  r.status = std::move(status);
  r.status_since = at;
}

inline base::SystemTime::duration Sys(base::Duration d) {
  return std::chrono::duration_cast<base::SystemTime::duration>(d);
}

// Collects 400 field errors.
class FieldErrors {
 public:
  void Add(std::string_view field, std::string_view message) {
    errors_.push_back({{"message", message}, {"reason", "validation-error"}, {"field", field}});
  }
  bool empty() const { return errors_.empty(); }
  SimResponse Response() const { return Reply(400, json{{"errors", errors_}}.dump()); }

 private:
  json errors_ = json::array();
};

inline json ParseBody(const std::string& body, bool* ok) {
  json j = body.empty() ? json::object() : json::parse(body, nullptr, false);
  *ok = !j.is_discarded() && j.is_object();
  return j;
}

// The 400 errors of the members of `body` that are not in `allowed` or not strings.
inline FieldErrors OnlyStringFields(const json& body,
                                    std::initializer_list<std::string_view> allowed) {
  FieldErrors errs;
  for (const auto& [k, v] : body.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      errs.Add(k, "Unknown field: " + k);
    } else if (!v.is_string()) {
      errs.Add(k, k + " must be a string");
    }
  }
  return errs;
}

inline SimResponse NotAnObject() {
  return Reply(400, AuraErrorBody("invalid-json", "The request body must be a JSON object"));
}

}  // namespace aura::simulator::resources
