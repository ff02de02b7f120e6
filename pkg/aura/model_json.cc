#include "pkg/aura/model_json.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "pkg/base/log.h"

namespace aura::api {
namespace {

using nlohmann::json;

std::string TypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "number";
    default:
      return "value";
  }
}

Status Malformed(const std::string& what) {
  return base::DataLossError("malformed response body: " + what);
}

StatusOr<json> ParseJson(std::string_view body) {
  // No exceptions: a parse failure gives a discarded value. The position is reported, never the
  // text around it (it may be a secret).
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Malformed(body.empty() ? "empty, expected JSON"
                                  : "not valid JSON (" + std::to_string(body.size()) +
                                        " bytes; truncated?)");
  }
  return j;
}

// Reads the fields of one JSON object, naming them by path in errors.
class Fields {
 public:
  Fields(const json& obj, std::string path) : obj_(obj), path_(std::move(path)) {}

  static StatusOr<Fields> Of(const json& j, const std::string& path) {
    if (!j.is_object()) return Malformed(path + ": expected an object, got " + TypeName(j));
    return Fields(j, path);
  }

  const json* Find(const char* key) const {
    auto it = obj_.find(key);
    return it == obj_.end() ? nullptr : &*it;
  }
  std::string Path(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  // Required string.
  Status Str(const char* key, std::string* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Malformed(Path(key) + ": required field missing");
    if (!v->is_string()) return Malformed(Path(key) + ": expected a string, got " + TypeName(*v));
    *out = v->get<std::string>();
    return Status();
  }
  // Optional string: absent or null leaves "".
  Status OptStr(const char* key, std::string* out) const {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) return Status();
    if (!v->is_string()) return Malformed(Path(key) + ": expected a string, got " + TypeName(*v));
    *out = v->get<std::string>();
    return Status();
  }
  Status OptStr(const char* key, std::optional<std::string>* out) const {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) return Status();
    if (!v->is_string()) return Malformed(Path(key) + ": expected a string, got " + TypeName(*v));
    *out = v->get<std::string>();
    return Status();
  }
  Status OptBool(const char* key, std::optional<bool>* out) const {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) return Status();
    if (!v->is_boolean()) {
      return Malformed(Path(key) + ": expected a boolean, got " + TypeName(*v));
    }
    *out = v->get<bool>();
    return Status();
  }
  // The spec types counts as "number": integral floats (4.0) are accepted.
  Status OptInt(const char* key, std::optional<int>* out) const {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) return Status();
    if (v->is_number_integer() || v->is_number_unsigned()) {
      const auto n = v->get<long long>();
      if (n < 0 || n > 1'000'000) return Malformed(Path(key) + ": out of range");
      *out = static_cast<int>(n);
      return Status();
    }
    if (v->is_number_float()) {
      const double d = v->get<double>();
      if (std::floor(d) != d || d < 0 || d > 1e6) {
        return Malformed(Path(key) + ": expected a whole number");
      }
      *out = static_cast<int>(d);
      return Status();
    }
    return Malformed(Path(key) + ": expected a number, got " + TypeName(*v));
  }

 private:
  const json& obj_;
  std::string path_;
};

// The value of "data" in {"data": ...}.
StatusOr<json> Data(std::string_view body) {
  AURA_ASSIGN_OR_RETURN(json j, ParseJson(body));
  if (!j.is_object()) return Malformed("expected an object, got " + TypeName(j));
  auto it = j.find("data");
  if (it == j.end()) return Malformed("data: required field missing");
  return std::move(*it);  // not a copy: a LIST of 10,000 is ~5 MiB of DOM
}

StatusOr<InstanceSummary> ToSummary(const json& j, const std::string& path) {
  AURA_ASSIGN_OR_RETURN(Fields f, Fields::Of(j, path));
  InstanceSummary s;
  AURA_RETURN_IF_ERROR(f.Str("id", &s.id));
  AURA_RETURN_IF_ERROR(f.Str("name", &s.name));
  AURA_RETURN_IF_ERROR(f.Str("tenant_id", &s.tenant_id));
  AURA_RETURN_IF_ERROR(f.Str("cloud_provider", &s.cloud_provider));
  AURA_RETURN_IF_ERROR(f.Str("created_at", &s.created_at));
  return s;
}

StatusOr<Instance> ToInstance(const json& j, const std::string& path) {
  AURA_ASSIGN_OR_RETURN(Fields f, Fields::Of(j, path));
  Instance i;
  AURA_RETURN_IF_ERROR(f.Str("id", &i.id));
  AURA_RETURN_IF_ERROR(f.Str("name", &i.name));
  AURA_RETURN_IF_ERROR(f.Str("status", &i.status));
  // Empty (or absent) while paused.
  AURA_RETURN_IF_ERROR(f.OptStr("connection_url", &i.connection_url));
  AURA_RETURN_IF_ERROR(f.Str("tenant_id", &i.tenant_id));
  AURA_RETURN_IF_ERROR(f.Str("cloud_provider", &i.cloud_provider));
  AURA_RETURN_IF_ERROR(f.Str("region", &i.region));
  AURA_RETURN_IF_ERROR(f.Str("type", &i.type));
  AURA_RETURN_IF_ERROR(f.Str("memory", &i.memory));
  // Absent for free-db instances (AURA_API.md "Values").
  AURA_RETURN_IF_ERROR(f.OptStr("storage", &i.storage));
  AURA_RETURN_IF_ERROR(f.Str("created_at", &i.created_at));
  AURA_RETURN_IF_ERROR(f.OptBool("vector_optimized", &i.vector_optimized));
  AURA_RETURN_IF_ERROR(f.OptBool("graph_analytics_plugin", &i.graph_analytics_plugin));
  AURA_RETURN_IF_ERROR(f.OptInt("secondaries_count", &i.secondaries_count));
  AURA_RETURN_IF_ERROR(f.OptStr("cdc_enrichment_mode", &i.cdc_enrichment_mode));
  return i;
}

StatusOr<Snapshot> ToSnapshot(const json& j, const std::string& path) {
  AURA_ASSIGN_OR_RETURN(Fields f, Fields::Of(j, path));
  Snapshot s;
  AURA_RETURN_IF_ERROR(f.Str("snapshot_id", &s.snapshot_id));
  AURA_RETURN_IF_ERROR(f.Str("status", &s.status));
  AURA_RETURN_IF_ERROR(f.OptStr("instance_id", &s.instance_id));
  AURA_RETURN_IF_ERROR(f.OptStr("profile", &s.profile));
  AURA_RETURN_IF_ERROR(f.OptStr("timestamp", &s.timestamp));
  AURA_RETURN_IF_ERROR(f.OptBool("exportable", &s.exportable));
  return s;
}

template <typename T, typename F>
StatusOr<std::vector<T>> ToList(const json& data, F item) {
  if (!data.is_array()) return Malformed("data: expected an array, got " + TypeName(data));
  std::vector<T> out;
  out.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    AURA_ASSIGN_OR_RETURN(T v, item(data[i], "data[" + std::to_string(i) + "]"));
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

StatusOr<std::vector<InstanceSummary>> ParseInstanceList(std::string_view body) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  return ToList<InstanceSummary>(data, ToSummary);
}

StatusOr<Instance> ParseInstance(std::string_view body) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  return ToInstance(data, "data");
}

StatusOr<CreatedInstance> ParseCreatedInstance(std::string_view body) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  AURA_ASSIGN_OR_RETURN(Fields f, Fields::Of(data, "data"));
  CreatedInstance c;
  AURA_RETURN_IF_ERROR(f.Str("id", &c.id));
  AURA_RETURN_IF_ERROR(f.Str("name", &c.name));
  AURA_RETURN_IF_ERROR(f.Str("connection_url", &c.connection_url));
  AURA_RETURN_IF_ERROR(f.Str("username", &c.username));
  AURA_RETURN_IF_ERROR(f.Str("password", &c.password));
  AURA_RETURN_IF_ERROR(f.Str("tenant_id", &c.tenant_id));
  AURA_RETURN_IF_ERROR(f.Str("cloud_provider", &c.cloud_provider));
  AURA_RETURN_IF_ERROR(f.Str("region", &c.region));
  AURA_RETURN_IF_ERROR(f.Str("type", &c.type));
  AURA_RETURN_IF_ERROR(f.Str("created_at", &c.created_at));
  return c;
}

StatusOr<std::vector<Tenant>> ParseTenantList(std::string_view body) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  return ToList<Tenant>(data, [](const json& j, const std::string& path) -> StatusOr<Tenant> {
    AURA_ASSIGN_OR_RETURN(Fields f, Fields::Of(j, path));
    Tenant t;
    AURA_RETURN_IF_ERROR(f.Str("id", &t.id));
    AURA_RETURN_IF_ERROR(f.Str("name", &t.name));
    return t;
  });
}

StatusOr<TenantDetail> ParseTenantDetail(std::string_view body) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  AURA_ASSIGN_OR_RETURN(Fields f, Fields::Of(data, "data"));
  TenantDetail t;
  AURA_RETURN_IF_ERROR(f.Str("id", &t.id));
  AURA_RETURN_IF_ERROR(f.Str("name", &t.name));
  const json* configs = f.Find("instance_configurations");
  if (configs == nullptr) return Malformed("data.instance_configurations: required field missing");
  if (!configs->is_array()) {
    return Malformed("data.instance_configurations: expected an array, got " + TypeName(*configs));
  }
  for (size_t i = 0; i < configs->size(); ++i) {
    AURA_ASSIGN_OR_RETURN(Fields c, Fields::Of((*configs)[i], "data.instance_configurations[" +
                                                                  std::to_string(i) + "]"));
    InstanceConfiguration ic;
    AURA_RETURN_IF_ERROR(c.Str("cloud_provider", &ic.cloud_provider));
    AURA_RETURN_IF_ERROR(c.Str("region", &ic.region));
    AURA_RETURN_IF_ERROR(c.OptStr("region_name", &ic.region_name));
    AURA_RETURN_IF_ERROR(c.Str("type", &ic.type));
    AURA_RETURN_IF_ERROR(c.Str("memory", &ic.memory));
    AURA_RETURN_IF_ERROR(c.OptStr("storage", &ic.storage));  // absent for free-db
    AURA_RETURN_IF_ERROR(c.Str("version", &ic.version));
    t.instance_configurations.push_back(std::move(ic));
  }
  return t;
}

StatusOr<std::vector<Snapshot>> ParseSnapshotList(std::string_view body) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  return ToList<Snapshot>(data, ToSnapshot);
}

StatusOr<Snapshot> ParseSnapshot(std::string_view body) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  return ToSnapshot(data, "data");
}

StatusOr<std::string> ParseSnapshotId(std::string_view body) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  AURA_ASSIGN_OR_RETURN(Fields f, Fields::Of(data, "data"));
  std::string id;
  AURA_RETURN_IF_ERROR(f.Str("snapshot_id", &id));
  return id;
}

std::string ToJson(const CreateInstanceRequest& r) {
  json j = {{"name", r.name},
            {"version", r.version},
            {"region", r.region},
            {"memory", r.memory},
            {"type", r.type},
            {"tenant_id", r.tenant_id},
            {"cloud_provider", r.cloud_provider}};
  if (r.storage) j["storage"] = *r.storage;
  if (r.vector_optimized) j["vector_optimized"] = *r.vector_optimized;
  if (r.graph_analytics_plugin) j["graph_analytics_plugin"] = *r.graph_analytics_plugin;
  return j.dump();
}

std::string ToJson(const UpdateInstanceRequest& r) {
  json j = json::object();
  if (r.name) j["name"] = *r.name;
  if (r.memory) j["memory"] = *r.memory;
  if (r.storage) j["storage"] = *r.storage;
  if (r.vector_optimized) j["vector_optimized"] = *r.vector_optimized;
  if (r.graph_analytics_plugin) j["graph_analytics_plugin"] = *r.graph_analytics_plugin;
  if (r.secondaries_count) j["secondaries_count"] = *r.secondaries_count;
  if (r.cdc_enrichment_mode) j["cdc_enrichment_mode"] = *r.cdc_enrichment_mode;
  return j.dump();
}

StatusOr<TokenResponse> ParseTokenResponse(std::string_view body) {
  AURA_ASSIGN_OR_RETURN(json j, ParseJson(body));
  AURA_ASSIGN_OR_RETURN(Fields f, Fields::Of(j, ""));
  TokenResponse t;
  AURA_RETURN_IF_ERROR(f.Str("access_token", &t.access_token));
  if (t.access_token.empty()) return Malformed("access_token: empty");
  AURA_RETURN_IF_ERROR(f.Str("token_type", &t.token_type));
  const json* e = f.Find("expires_in");
  if (e == nullptr) return Malformed("expires_in: required field missing");
  if (!e->is_number()) return Malformed("expires_in: expected a number, got " + TypeName(*e));
  const double secs = e->get<double>();
  if (!(secs > 0) || secs > 366.0 * 24 * 3600) return Malformed("expires_in: out of range");
  t.expires_in = std::chrono::seconds(static_cast<long long>(secs));
  return t;
}

ApiErrorBody ParseErrorBody(std::string_view body) {
  ApiErrorBody out;
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  auto str = [](const json& o, const char* key) -> std::string {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (j.is_object()) {
    auto errors = j.find("errors");
    if (errors != j.end() && errors->is_array() && !errors->empty()) {
      for (const json& e : *errors) {
        if (!e.is_object()) continue;
        std::string m = str(e, "message");
        if (out.reason.empty() && out.message.empty()) {
          out.reason = str(e, "reason");
          out.field = str(e, "field");
        }
        if (!m.empty()) out.message += (out.message.empty() ? "" : "; ") + m;
      }
      if (!out.message.empty() || !out.reason.empty()) return out;
    }
    std::string error = str(j, "error");
    std::string description = str(j, "error_description");
    if (!description.empty()) {
      out.reason = error;
      out.message = description;
      return out;
    }
    if (!error.empty()) {
      out.message = error;
      return out;
    }
  }
  // Not an error body we know (an HTML page from a proxy, say): describe it briefly.
  if (body.empty()) {
    out.message = "empty response body";
    return out;
  }
  std::string snippet;
  for (char c : body.substr(0, 120)) snippet += (c >= 0x20 && c < 0x7f) ? c : ' ';
  out.message = "unrecognized response body: " + base::Redact(snippet);
  return out;
}

}  // namespace aura::api
