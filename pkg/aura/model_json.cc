#include "pkg/aura/model_json.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
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

// Reads the fields of one JSON object leniently (see model_json.h), naming them by path.
class Reader {
 public:
  Reader(const json& obj, std::string path, DecodeNotes* notes)
      : obj_(obj), path_(std::move(path)), notes_(notes) {}

  static StatusOr<Reader> Of(const json& j, const std::string& path, DecodeNotes* notes) {
    if (!j.is_object()) return Malformed(path + ": expected an object, got " + TypeName(j));
    return Reader(j, path, notes);
  }

  const json* Find(const char* key) const {
    auto it = obj_.find(key);
    return it == obj_.end() ? nullptr : &*it;
  }
  std::string Path(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  void Note(const char* key, const std::string& what) const {
    if (notes_ != nullptr) notes_->push_back(Path(key) + ": " + what);
  }

  // A required string. Identifiers and secrets are never converted: a number where an id
  // belongs is garbage, not an id.
  Status Required(const char* key, std::string* out) const {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) return Malformed(Path(key) + ": required field missing");
    if (!v->is_string()) {
      return Malformed(Path(key) + ": expected a string, got " + TypeName(*v));
    }
    *out = v->get<std::string>();
    return Status();
  }
  // An identifier or secret that may be missing: only a string is taken.
  void Exact(const char* key, std::string* out) const {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) {
      Note(key, v == nullptr ? "missing" : "null");
    } else if (!v->is_string()) {
      Note(key, "expected a string, got " + TypeName(*v) + " (ignored)");
    } else {
      *out = v->get<std::string>();
    }
  }
  // Optional strings: absent, null or unreadable leave the value empty. `expected`: note its
  // absence (the OpenAPI marks it required).
  void Str(const char* key, std::string* out, bool expected = false) const {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) {
      if (expected) Note(key, v == nullptr ? "missing" : "null");
      return;
    }
    if (!AsText(*v, out)) {
      Note(key, "expected a string, got " + TypeName(*v) + " (ignored)");
    } else if (!v->is_string()) {
      Note(key, "a " + TypeName(*v) + " where a string was expected (kept as text)");
    }
  }
  void Str(const char* key, base::Atom* out, bool expected = false) const {
    std::string v;
    Str(key, &v, expected);
    *out = v;
  }
  void Str(const char* key, std::optional<std::string>* out, bool expected = false) const {
    std::string v;
    const json* j = Find(key);
    Str(key, &v, expected);
    if (j != nullptr && !j->is_null() && (j->is_string() || j->is_number())) *out = v;
  }
  void Bool(const char* key, std::optional<bool>* out) const {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) return;
    if (v->is_boolean()) {
      *out = v->get<bool>();
    } else if (v->is_string() && (*v == "true" || *v == "false")) {
      *out = *v == "true";
      Note(key, "a string where a boolean was expected (read)");
    } else {
      Note(key, "expected a boolean, got " + TypeName(*v) + " (ignored)");
    }
  }
  // A whole number 0..1,000,000 (integral floats and numeric strings are read).
  void Int(const char* key, std::optional<int>* out) const {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) return;
    double d = -1;
    if (v->is_number()) {
      d = v->get<double>();
    } else if (v->is_string()) {
      const std::string& t = v->get_ref<const std::string&>();
      char* end = nullptr;
      d = t.empty() ? -1 : std::strtod(t.c_str(), &end);
      if (end == nullptr || *end != '\0') d = -1;
    }
    if (d >= 0 && d <= 1e6 && std::floor(d) == d) {
      *out = static_cast<int>(d);
      if (!v->is_number_integer() && !v->is_number_unsigned()) {
        Note(key, "a " + TypeName(*v) + " where a whole number was expected (read)");
      }
    } else {
      Note(key, "expected a whole number, got " + TypeName(*v) + " (ignored)");
    }
  }
  // Notes the members that are not in `known`: new fields appear without notice.
  void Unknown(std::initializer_list<std::string_view> known) const {
    if (notes_ == nullptr) return;
    for (const auto& [k, _] : obj_.items()) {
      if (std::find(known.begin(), known.end(), k) == known.end()) {
        notes_->push_back(Path(k.c_str()) + ": not in the model (ignored)");
      }
    }
  }

 private:
  static bool AsText(const json& v, std::string* out) {
    if (v.is_string()) {
      *out = v.get<std::string>();
      return true;
    }
    if (v.is_number_integer() || v.is_number_unsigned()) {
      *out = std::to_string(v.get<long long>());
      return true;
    }
    if (v.is_number_float()) {
      *out = v.dump();
      return true;
    }
    return false;
  }

  const json& obj_;
  std::string path_;
  DecodeNotes* notes_;
};

// The value of "data" in {"data": ...}.
StatusOr<json> Data(std::string_view body) {
  AURA_ASSIGN_OR_RETURN(json j, ParseJson(body));
  if (!j.is_object()) return Malformed("expected an object, got " + TypeName(j));
  auto it = j.find("data");
  if (it == j.end()) return Malformed("data: required field missing");
  return std::move(*it);  // not a copy: a LIST of 10,000 is ~5 MiB of DOM
}

StatusOr<InstanceSummary> ToSummary(const json& j, const std::string& path, DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(Reader r, Reader::Of(j, path, notes));
  InstanceSummary s;
  AURA_RETURN_IF_ERROR(r.Required("id", &s.id));
  AURA_RETURN_IF_ERROR(r.Required("name", &s.name));
  r.Str("tenant_id", &s.tenant_id, true);
  r.Str("cloud_provider", &s.cloud_provider, true);
  r.Str("created_at", &s.created_at, true);
  r.Unknown({"id", "name", "tenant_id", "cloud_provider", "created_at"});
  return s;
}

StatusOr<Instance> ToInstance(const json& j, const std::string& path, DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(Reader r, Reader::Of(j, path, notes));
  Instance i;
  r.Str("id", &i.id, true);
  r.Str("name", &i.name, true);
  r.Str("status", &i.status, true);
  r.Str("connection_url", &i.connection_url, true);  // "" or null while paused
  r.Str("tenant_id", &i.tenant_id, true);
  r.Str("cloud_provider", &i.cloud_provider, true);
  r.Str("region", &i.region, true);
  r.Str("type", &i.type, true);
  r.Str("memory", &i.memory, true);
  r.Str("storage", &i.storage);  // absent for free-db
  r.Str("created_at", &i.created_at, true);
  r.Bool("vector_optimized", &i.vector_optimized);
  r.Bool("graph_analytics_plugin", &i.graph_analytics_plugin);
  r.Int("secondaries_count", &i.secondaries_count);
  r.Str("cdc_enrichment_mode", &i.cdc_enrichment_mode);
  r.Str("customer_managed_key_id", &i.customer_managed_key_id);
  // In the OpenAPI but not needed here: read for their notes only (graph_nodes comes as a
  // number from the live service).
  std::string unused;
  for (const char* k : {"graph_nodes", "graph_relationships", "metrics_integration_url"}) {
    r.Str(k, &unused);
  }
  r.Unknown({"id", "name", "status", "connection_url", "tenant_id", "cloud_provider", "region",
             "type", "memory", "storage", "created_at", "vector_optimized",
             "graph_analytics_plugin", "secondaries_count", "cdc_enrichment_mode", "graph_nodes",
             "graph_relationships", "metrics_integration_url", "customer_managed_key_id"});
  return i;
}

StatusOr<Snapshot> ToSnapshot(const json& j, const std::string& path, DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(Reader r, Reader::Of(j, path, notes));
  Snapshot s;
  AURA_RETURN_IF_ERROR(r.Required("snapshot_id", &s.snapshot_id));
  r.Str("status", &s.status, true);
  r.Str("instance_id", &s.instance_id);
  r.Str("profile", &s.profile);
  r.Str("timestamp", &s.timestamp);
  r.Bool("exportable", &s.exportable);
  r.Unknown({"snapshot_id", "status", "instance_id", "profile", "timestamp", "exportable"});
  return s;
}

// A key: the id is required; a LIST item also needs its name (the correlation handle).
StatusOr<CustomerManagedKey> ToKey(const json& j, const std::string& path, DecodeNotes* notes,
                                   bool listed) {
  AURA_ASSIGN_OR_RETURN(Reader r, Reader::Of(j, path, notes));
  CustomerManagedKey k;
  AURA_RETURN_IF_ERROR(r.Required("id", &k.id));
  if (listed) {
    AURA_RETURN_IF_ERROR(r.Required("name", &k.name));
  } else {
    r.Str("name", &k.name, true);
  }
  r.Str("tenant_id", &k.tenant_id, true);
  r.Str("cloud_provider", &k.cloud_provider, !listed);
  r.Str("region", &k.region, !listed);
  r.Str("instance_type", &k.instance_type, !listed);
  r.Str("key_id", &k.key_id, !listed);
  r.Str("created", &k.created, !listed);
  r.Str("status", &k.status, !listed);
  r.Unknown({"id", "name", "tenant_id", "cloud_provider", "region", "instance_type", "key_id",
             "created", "status", "type"});
  return k;
}

template <typename T, typename F>
StatusOr<std::vector<T>> ToList(const json& data, F item, DecodeNotes* notes) {
  if (!data.is_array()) return Malformed("data: expected an array, got " + TypeName(data));
  std::vector<T> out;
  out.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    StatusOr<T> v = item(data[i], "data[]", notes);
    if (!v.ok()) {
      // Name the item in the error (notes stay index-free, so each field is logged once).
      std::string m = v.status().message();
      if (auto at = m.find("data[]"); at != std::string::npos) {
        m.replace(at, 6, "data[" + std::to_string(i) + "]");
      }
      return base::DataLossError(m);
    }
    out.push_back(std::move(v).value());
  }
  return out;
}

// Reads the JSON string literal that starts at body[quote] ('"'); nullopt when it is cut short.
std::optional<std::string> StringLiteralAt(std::string_view body, size_t quote) {
  for (size_t i = quote + 1; i < body.size(); ++i) {
    if (body[i] == '\\') {
      ++i;
      continue;
    }
    if (body[i] == '"') {
      json v = json::parse(body.substr(quote, i - quote + 1), nullptr, false);
      if (v.is_string()) return v.get<std::string>();
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// The string value of member `key` found in text that is not whole JSON: the first `"key"`
// that stands where a member name can (after '{' or ',') and is followed by ':' and a whole
// string literal.
std::optional<std::string> SalvageMember(std::string_view body, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\"";
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  for (size_t pos = body.find(needle); pos != std::string_view::npos;
       pos = body.find(needle, pos + 1)) {
    size_t b = pos;
    while (b > 0 && space(body[b - 1])) --b;
    if (b == 0 || (body[b - 1] != '{' && body[b - 1] != ',')) continue;
    size_t a = pos + needle.size();
    while (a < body.size() && space(body[a])) ++a;
    if (a >= body.size() || body[a] != ':') continue;
    ++a;
    while (a < body.size() && space(body[a])) ++a;
    if (a >= body.size() || body[a] != '"') continue;
    if (auto v = StringLiteralAt(body, a)) return v;
  }
  return std::nullopt;
}

}  // namespace

StatusOr<std::vector<InstanceSummary>> ParseInstanceList(std::string_view body,
                                                         DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  return ToList<InstanceSummary>(data, ToSummary, notes);
}

StatusOr<Instance> ParseInstance(std::string_view body, DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  return ToInstance(data, "data", notes);
}

StatusOr<CreatedInstance> ParseCreatedInstance(std::string_view body, DecodeNotes* notes) {
  CreatedInstance c;
  StatusOr<json> data = Data(body);
  if (!data.ok() || !data->is_object()) {
    // Not whole JSON: the password may still be readable in what arrived.
    c.complete = false;
    c.id = SalvageMember(body, "id").value_or("");
    c.password = SalvageMember(body, "password").value_or("");
    if (c.id.empty() && c.password.empty()) {
      return data.ok() ? Malformed("data: expected an object, got " + TypeName(*data))
                       : data.status();
    }
    if (notes != nullptr) notes->push_back("create reply: not whole JSON; id/password salvaged");
    return c;
  }
  const Reader r(*data, "data", notes);
  // Id and password first: nothing else in the body is needed to keep them.
  r.Exact("id", &c.id);
  r.Exact("password", &c.password);
  if (c.id.empty() && c.password.empty()) {
    return Malformed("data: neither id nor password in the create reply");
  }
  r.Str("name", &c.name);
  r.Str("connection_url", &c.connection_url);
  r.Str("username", &c.username);
  r.Str("tenant_id", &c.tenant_id);
  r.Str("cloud_provider", &c.cloud_provider);
  r.Str("region", &c.region);
  r.Str("type", &c.type);
  r.Str("created_at", &c.created_at);
  r.Unknown({"id", "name", "connection_url", "username", "password", "tenant_id", "cloud_provider",
             "region", "type", "created_at"});
  return c;
}

StatusOr<std::vector<Tenant>> ParseTenantList(std::string_view body, DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  return ToList<Tenant>(
      data,
      [](const json& j, const std::string& path, DecodeNotes* n) -> StatusOr<Tenant> {
        AURA_ASSIGN_OR_RETURN(Reader r, Reader::Of(j, path, n));
        Tenant t;
        AURA_RETURN_IF_ERROR(r.Required("id", &t.id));
        r.Str("name", &t.name, true);
        return t;
      },
      notes);
}

StatusOr<TenantDetail> ParseTenantDetail(std::string_view body, DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  AURA_ASSIGN_OR_RETURN(Reader r, Reader::Of(data, "data", notes));
  TenantDetail t;
  r.Str("id", &t.id, true);
  r.Str("name", &t.name, true);
  const json* configs = r.Find("instance_configurations");
  if (configs == nullptr || !configs->is_array()) {
    r.Note("instance_configurations", configs == nullptr ? "missing" : "not an array (ignored)");
    return t;
  }
  for (const json& entry : *configs) {
    auto c = Reader::Of(entry, "data.instance_configurations[]", notes);
    if (!c.ok()) {
      if (notes != nullptr) notes->push_back(c.status().message() + " (entry skipped)");
      continue;
    }
    InstanceConfiguration ic;
    c->Str("cloud_provider", &ic.cloud_provider, true);
    c->Str("region", &ic.region, true);
    c->Str("region_name", &ic.region_name);
    c->Str("type", &ic.type, true);
    c->Str("memory", &ic.memory, true);
    c->Str("storage", &ic.storage);  // absent for free-db, and at times altogether
    c->Str("version", &ic.version, true);
    if (ic.cloud_provider.empty() || ic.region.empty() || ic.type.empty() || ic.memory.empty() ||
        ic.version.empty()) {
      continue;  // the missing field was noted; an incomplete entry cannot be checked against
    }
    t.instance_configurations.push_back(std::move(ic));
  }
  return t;
}

StatusOr<std::vector<Snapshot>> ParseSnapshotList(std::string_view body, DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  return ToList<Snapshot>(data, ToSnapshot, notes);
}

StatusOr<Snapshot> ParseSnapshot(std::string_view body, DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  return ToSnapshot(data, "data", notes);
}

StatusOr<std::string> ParseSnapshotId(std::string_view body, DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  AURA_ASSIGN_OR_RETURN(Reader r, Reader::Of(data, "data", notes));
  std::string id;
  AURA_RETURN_IF_ERROR(r.Required("snapshot_id", &id));
  return id;
}

StatusOr<std::vector<CustomerManagedKey>> ParseCustomerManagedKeyList(std::string_view body,
                                                                      DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  return ToList<CustomerManagedKey>(
      data,
      [](const json& j, const std::string& path, DecodeNotes* n) {
        return ToKey(j, path, n, /*listed=*/true);
      },
      notes);
}

StatusOr<CustomerManagedKey> ParseCustomerManagedKey(std::string_view body, DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(json data, Data(body));
  return ToKey(data, "data", notes, /*listed=*/false);
}

std::string ToJson(const CreateCustomerManagedKeyRequest& r) {
  return json{{"name", r.name},
              {"tenant_id", r.tenant_id},
              {"cloud_provider", r.cloud_provider},
              {"region", r.region},
              {"instance_type", r.instance_type},
              {"key_id", r.key_id}}
      .dump();
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
  if (r.source_instance_id) j["source_instance_id"] = *r.source_instance_id;
  if (r.source_snapshot_id) j["source_snapshot_id"] = *r.source_snapshot_id;
  if (r.customer_managed_key_id) j["customer_managed_key_id"] = *r.customer_managed_key_id;
  return j.dump();
}

std::string ToJson(const UpgradeInstanceRequest& r) {
  json j = json::object();
  if (r.memory) j["memory"] = *r.memory;
  if (r.storage) j["storage"] = *r.storage;
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

StatusOr<TokenResponse> ParseTokenResponse(std::string_view body, DecodeNotes* notes) {
  AURA_ASSIGN_OR_RETURN(json j, ParseJson(body));
  AURA_ASSIGN_OR_RETURN(Reader r, Reader::Of(j, "", notes));
  TokenResponse t;
  AURA_RETURN_IF_ERROR(r.Required("access_token", &t.access_token));
  if (t.access_token.empty()) return Malformed("access_token: empty");
  r.Str("token_type", &t.token_type, true);
  if (t.token_type.empty()) t.token_type = "bearer";
  if (const json* e = r.Find("expires_in"); e != nullptr && e->is_number()) {
    const double secs = e->get<double>();
    if (!(secs > 0) || secs > 366.0 * 24 * 3600) return Malformed("expires_in: out of range");
  }
  std::optional<int> expires;
  r.Int("expires_in", &expires);
  if (!expires || *expires <= 0) {
    r.Note("expires_in", "missing or unreadable; taken as 3600 s");
    expires = 3600;
  }
  t.expires_in = std::chrono::seconds(*expires);
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
