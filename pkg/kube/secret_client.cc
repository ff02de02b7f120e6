#include "pkg/kube/secret_client.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "pkg/base/base64.h"
#include "pkg/http/url.h"

namespace aura::kube {
namespace {

using base::Status;
using base::StatusOr;
using nlohmann::json;

constexpr char kFieldManager[] = "aura-controller";

bool IsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

// The parts of a v1 Status (an error reply) worth reporting.
struct ApiStatus {
  std::string reason;   // "Forbidden", "AlreadyExists", "Conflict", "NotFound", ...
  std::string message;  // the API server's sentence; names no Secret values
  std::string details_kind;
};

ApiStatus ParseStatus(const std::string& body) {
  ApiStatus s;
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return s;
  if (auto r = j.find("reason"); r != j.end() && r->is_string()) s.reason = *r;
  if (auto m = j.find("message"); m != j.end() && m->is_string()) s.message = *m;
  if (auto d = j.find("details"); d != j.end() && d->is_object()) {
    if (auto k = d->find("kind"); k != d->end() && k->is_string()) s.details_kind = *k;
  }
  return s;
}

StatusOr<std::map<std::string, std::string>> StringMap(const json& obj, const char* name,
                                                       const char* where) {
  std::map<std::string, std::string> out;
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return out;
  const std::string path = (*where == '\0' ? "" : std::string(where) + ".") + name;
  if (!it->is_object()) return base::DataLossError(path + " is not an object");
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return base::DataLossError(path + "." + k + " is not a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

std::string Verb(const std::string& method) {
  if (method == "GET") return "get";
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  return "delete";
}

class HttpSecretClient final : public SecretClient {
 public:
  HttpSecretClient(http::Transport* transport, TokenFile* token, metrics::Metrics* metrics,
                   SecretClientOptions options)
      : transport_(transport), token_(token), metrics_(metrics), options_(std::move(options)) {
    while (!options_.api_url.empty() && options_.api_url.back() == '/') {
      options_.api_url.pop_back();
    }
  }

  StatusOr<Secret> Get(const std::string& ns, const std::string& name) override {
    AURA_RETURN_IF_ERROR(CheckNames(ns, name, "get"));
    AURA_ASSIGN_OR_RETURN(http::HttpResponse r, Call("GET", ns, name, ""));
    return Decode(r, "get", ns, name);
  }

  StatusOr<Secret> Create(const Secret& s) override {
    AURA_RETURN_IF_ERROR(CheckNames(s.namespace_name, s.name, "create"));
    Secret body = s;
    body.resource_version.clear();
    body.uid.clear();
    AURA_ASSIGN_OR_RETURN(http::HttpResponse r,
                          Call("POST", s.namespace_name, "", SecretToJson(body)));
    return Decode(r, "create", s.namespace_name, s.name);
  }

  StatusOr<Secret> Update(const Secret& s) override {
    AURA_RETURN_IF_ERROR(CheckNames(s.namespace_name, s.name, "update"));
    if (s.resource_version.empty()) {
      return base::InvalidArgumentError("kubernetes update secret " + s.namespace_name + "/" +
                                        s.name + ": no resourceVersion to update from");
    }
    AURA_ASSIGN_OR_RETURN(http::HttpResponse r,
                          Call("PUT", s.namespace_name, s.name, SecretToJson(s)));
    return Decode(r, "update", s.namespace_name, s.name);
  }

  Status Delete(const std::string& ns, const std::string& name,
                const std::string& resource_version) override {
    AURA_RETURN_IF_ERROR(CheckNames(ns, name, "delete"));
    json opts = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
    if (!resource_version.empty()) {
      opts["preconditions"] = {{"resourceVersion", resource_version}};
    }
    StatusOr<http::HttpResponse> r = Call("DELETE", ns, name, opts.dump());
    if (!r.ok()) return r.status();
    if (r->status == 404) return Status();  // already gone
    if (r->status >= 200 && r->status < 300) return Status();
    return ErrorFor(*r, "delete", ns, name);
  }

 private:
  static Status CheckNames(const std::string& ns, const std::string& name, const char* verb) {
    if (!IsNamespaceName(ns)) {
      return base::InvalidArgumentError(std::string("kubernetes ") + verb +
                                        " secret: bad namespace \"" + ns + "\"");
    }
    if (!IsSecretName(name)) {
      return base::InvalidArgumentError(std::string("kubernetes ") + verb + " secret: bad name \"" +
                                        name + "\"");
    }
    return Status();
  }

  std::string Url(const std::string& method, const std::string& ns, const std::string& name) const {
    std::string url =
        options_.api_url + "/api/v1/namespaces/" + http::PercentEncode(ns) + "/secrets";
    if (!name.empty()) url += "/" + http::PercentEncode(name);
    if (method == "POST" || method == "PUT") url += std::string("?fieldManager=") + kFieldManager;
    return url;
  }

  // One exchange, plus one more after a 401 when the token file holds another token (rotated
  // since it was read).
  StatusOr<http::HttpResponse> Call(const std::string& method, const std::string& ns,
                                    const std::string& name, const std::string& body) {
    const std::string verb = Verb(method);
    const std::string what =
        "kubernetes " + verb + " secret " + ns + "/" + (name.empty() ? std::string("(new)") : name);
    std::optional<http::HttpResponse> refused;  // the first 401
    std::string used_token;
    for (int attempt = 0; attempt < 2; ++attempt) {
      http::HttpRequest req;
      req.method = method;
      req.url = Url(method, ns, name);
      req.timeout = options_.request_timeout;
      req.headers = {{"Accept", "application/json"}, {"User-Agent", options_.user_agent}};
      if (!body.empty()) {
        req.headers.emplace_back("Content-Type", "application/json");
        req.body = body;
      }
      if (token_ != nullptr) {
        StatusOr<std::string> t = token_->Get(/*force_reload=*/refused.has_value());
        if (!t.ok()) return t.status().WithContext(what);
        if (refused && *t == used_token) return std::move(*refused);  // no newer token
        used_token = *t;
        req.headers.emplace_back("Authorization", "Bearer " + *t);
      }
      StatusOr<http::HttpResponse> r = transport_->Send(req);
      if (!r.ok()) {
        Count(verb, "error");
        const Status& e = r.status();
        return Status(e.code(), what + ": " + e.message())
            .SetReason(e.reason())
            .SetRequestId(e.request_id());
      }
      Count(verb, std::to_string(r->status));
      if (r->status != 401 || token_ == nullptr || refused) return r;
      refused = std::move(*r);
    }
    return std::move(*refused);
  }

  void Count(const std::string& verb, const std::string& code) {
    if (metrics_ != nullptr) metrics_->KubeRequests(verb, code).Increment();
  }

  StatusOr<Secret> Decode(const http::HttpResponse& r, const char* verb, const std::string& ns,
                          const std::string& name) {
    if (r.status < 200 || r.status >= 300) return ErrorFor(r, verb, ns, name);
    StatusOr<Secret> s = SecretFromJson(r.body);
    if (!s.ok()) {
      return base::DataLossError(std::string("kubernetes ") + verb + " secret " + ns + "/" + name +
                                 ": the reply is not a Secret: " + s.status().message())
          .SetHttpStatus(r.status)
          .SetRequestId(http::RequestIdOf(r));
    }
    return s;
  }

  static Status ErrorFor(const http::HttpResponse& r, const std::string& verb,
                         const std::string& ns, const std::string& name) {
    const ApiStatus st = ParseStatus(r.body);
    const std::string what = "kubernetes " + verb + " secret " + ns + "/" + name;
    std::string detail = "HTTP " + std::to_string(r.status);
    if (!st.reason.empty()) detail += " " + st.reason;
    if (!st.message.empty()) detail += ": " + st.message;
    base::StatusCode code = base::StatusCode::kUnavailable;
    std::string message = what + ": " + detail;
    if (r.status >= 300 && r.status < 400) {
      code = base::StatusCode::kFailedPrecondition;
      message = what + ": redirected to " + http::HostOf(r.Header("Location")) + " (HTTP " +
                std::to_string(r.status) + "); redirects are never followed";
    } else if (r.status == 401) {
      code = base::StatusCode::kUnauthenticated;
      message = what + ": the API server refused the token (HTTP 401" +
                (st.message.empty() ? std::string(")") : "): " + st.message);
    } else if (r.status == 403) {
      code = base::StatusCode::kPermissionDenied;
      message = "RBAC refused " + verb + " on secrets in namespace " + ns + " (" + what + ": " +
                detail + "); grant it with a Role(Binding) in that namespace";
    } else if (r.status == 404) {
      const bool namespace_missing = st.details_kind == "namespaces" || verb == "create";
      code =
          namespace_missing ? base::StatusCode::kFailedPrecondition : base::StatusCode::kNotFound;
      if (namespace_missing)
        message = what + ": namespace " + ns + " does not exist (" + detail + ")";
    } else if (r.status == 409) {
      code = st.reason == "AlreadyExists" || verb == "create" ? base::StatusCode::kAlreadyExists
                                                              : base::StatusCode::kConflict;
    } else if (r.status == 400 || r.status == 422) {
      code = base::StatusCode::kInvalidArgument;
    } else if (r.status == 429) {
      code = base::StatusCode::kThrottled;
    }
    Status s(code, message);
    s.SetHttpStatus(r.status).SetRequestId(http::RequestIdOf(r));
    if (!st.reason.empty()) s.SetReason(st.reason);
    if (r.status == 429) {
      const std::string ra = r.Header("Retry-After");
      int secs = 0;
      for (char c : ra) {
        if (!std::isdigit(static_cast<unsigned char>(c)) || secs > 86400) {
          secs = -1;
          break;
        }
        secs = secs * 10 + (c - '0');
      }
      if (!ra.empty() && secs >= 0) s.SetRetryAfter(std::chrono::seconds(secs));
    }
    return s;
  }

  http::Transport* const transport_;
  TokenFile* const token_;
  metrics::Metrics* const metrics_;
  SecretClientOptions options_;
};

}  // namespace

bool IsNamespaceName(std::string_view s) { return IsLabel(s); }

bool IsSecretName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    if (!IsLabel(s.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string SecretToJson(const Secret& s) {
  json meta = {{"name", s.name}, {"namespace", s.namespace_name}};
  if (!s.labels.empty()) meta["labels"] = s.labels;
  if (!s.annotations.empty()) meta["annotations"] = s.annotations;
  if (!s.resource_version.empty()) meta["resourceVersion"] = s.resource_version;
  if (!s.uid.empty()) meta["uid"] = s.uid;
  json data = json::object();
  for (const auto& [k, v] : s.data) data[k] = base::Base64Encode(v);
  json j = {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", std::move(meta)},
            {"type", s.type.empty() ? std::string("Opaque") : s.type}};
  if (!s.data.empty()) j["data"] = std::move(data);
  return j.dump();
}

StatusOr<Secret> SecretFromJson(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return base::DataLossError("not a JSON object");
  if (j.value("kind", "") != "Secret") return base::DataLossError("kind is not Secret");
  auto meta = j.find("metadata");
  if (meta == j.end() || !meta->is_object()) return base::DataLossError("no metadata");
  Secret s;
  s.name = meta->value("name", "");
  s.namespace_name = meta->value("namespace", "");
  s.resource_version = meta->value("resourceVersion", "");
  s.uid = meta->value("uid", "");
  AURA_ASSIGN_OR_RETURN(s.labels, StringMap(*meta, "labels", "metadata"));
  AURA_ASSIGN_OR_RETURN(s.annotations, StringMap(*meta, "annotations", "metadata"));
  if (auto t = j.find("type"); t != j.end() && t->is_string()) s.type = *t;
  using StringMapT = std::map<std::string, std::string>;
  AURA_ASSIGN_OR_RETURN(StringMapT encoded, StringMap(j, "data", ""));
  for (const auto& [k, v] : encoded) {
    std::optional<std::string> decoded = base::Base64Decode(v);
    if (!decoded) return base::DataLossError("data." + k + " is not base64");
    s.data[k] = std::move(*decoded);
  }
  return s;
}

std::unique_ptr<SecretClient> NewHttpSecretClient(http::Transport* transport, TokenFile* token,
                                                  metrics::Metrics* metrics,
                                                  SecretClientOptions options) {
  return std::make_unique<HttpSecretClient>(transport, token, metrics, std::move(options));
}

}  // namespace aura::kube
