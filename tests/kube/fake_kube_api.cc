#include "tests/kube/fake_kube_api.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <utility>

#include "pkg/base/base64.h"
#include "tests/harness/subprocess.h"

namespace aura::kube_testing {
namespace {

using nlohmann::json;

constexpr char kJson[] = "application/json";

bool IsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

bool IsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    if (!IsLabel(s.substr(start, dot == std::string::npos ? dot : dot - start))) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

bool IsConfigKey(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

json StatusBody(int code, const std::string& reason, const std::string& message,
                json details = nullptr) {
  json j = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
            {"status", "Failure"}, {"message", message}, {"reason", reason},
            {"code", code}};
  if (!details.is_null()) j["details"] = std::move(details);
  return j;
}

http::Reply JsonReply(int status, const json& body) {
  return http::Reply{status, kJson, body.dump(), {}};
}

http::Reply Fail(int code, const std::string& reason, const std::string& message,
                 std::string* reply_kind, json details = nullptr) {
  *reply_kind = "Status";
  return JsonReply(code, StatusBody(code, reason, message, std::move(details)));
}

std::string Timestamp() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Checks the parts of a Secret body the API server would refuse; "" when acceptable.
// `code` gets 400 (undecodable) or 422 (invalid).
std::string CheckSecretBody(const json& s, int* code) {
  *code = 400;
  if (!s.is_object()) return "the body is not a JSON object";
  if (s.contains("kind") && s["kind"] != "Secret") return "kind is not Secret";
  if (s.contains("apiVersion") && s["apiVersion"] != "v1") return "apiVersion is not v1";
  if (!s.contains("metadata") || !s["metadata"].is_object()) {
    *code = 422;
    return "metadata: Required value";
  }
  for (const char* m : {"labels", "annotations"}) {
    if (!s["metadata"].contains(m)) continue;
    const json& v = s["metadata"][m];
    if (!v.is_object()) return std::string("metadata.") + m + " is not an object";
    for (const auto& [k, x] : v.items()) {
      if (!x.is_string()) return std::string("metadata.") + m + "." + k + " is not a string";
    }
  }
  for (const char* d : {"data", "stringData"}) {
    if (!s.contains(d) || s[d].is_null()) continue;
    if (!s[d].is_object()) return std::string(d) + " is not an object";
    for (const auto& [k, x] : s[d].items()) {
      if (!x.is_string()) return std::string(d) + "." + k + " is not a string";
      if (std::string(d) == "data" && !base::Base64Decode(x.get<std::string>())) {
        return "data." + k + ": illegal base64 data";
      }
      if (!IsConfigKey(k)) {
        *code = 422;
        return std::string(d) + "[" + k +
               "]: Invalid value: a valid config key must consist of "
               "alphanumeric characters, '-', '_' or '.'";
      }
    }
  }
  if (s.contains("type") && !s["type"].is_string()) return "type is not a string";
  const std::string name = s["metadata"].value("name", "");
  if (name.empty()) {
    *code = 422;
    return "metadata.name: Required value: name or generateName is required";
  }
  if (!IsSubdomain(name)) {
    *code = 422;
    return "metadata.name: Invalid value: \"" + name + "\": a lowercase RFC 1123 subdomain";
  }
  return "";
}

// A CA (ca.pem) and a server certificate for 127.0.0.1 and localhost it signed
// (server.pem, server.key), made with the openssl command.
base::Status MakeCertificates(const std::string& dir) {
  const std::string script =
      "set -e; cd '" + dir +
      "'\n"
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "  -subj /CN=fake-kube-ca -keyout ca.key -out ca.pem 2>/dev/null\n"
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' "
      "  > server.ext\n"
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 "
      "  -keyout server.key -out server.csr 2>/dev/null\n"
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
      "  -extfile server.ext -out server.pem 2>/dev/null\n";
  test_harness::SubprocessOptions o;
  o.path = "/bin/sh";
  o.args = {"-c", script};
  o.stdout_mode = test_harness::OutputMode::kDiscard;
  o.stderr_mode = test_harness::OutputMode::kPipe;
  auto p = test_harness::Subprocess::Start(o);
  if (!p.ok()) return p.status();
  auto st = (*p)->Wait(std::chrono::seconds(60));
  if (!st.ok() || !st->ok()) {
    return base::FailedPreconditionError("openssl could not make test certificates: " +
                                         (*p)->ErrorOutput());
  }
  return base::Status();
}

}  // namespace

base::StatusOr<std::unique_ptr<FakeKubeApi>> FakeKubeApi::Start(FakeKubeApiOptions options) {
  std::unique_ptr<FakeKubeApi> f(new FakeKubeApi(std::move(options)));
  f->namespaces_ = f->options_.namespaces;
  if (f->options_.tls) {
    if (f->options_.cert_dir.empty()) {
      return base::InvalidArgumentError("FakeKubeApi: TLS needs a cert_dir");
    }
    std::filesystem::create_directories(f->options_.cert_dir);
    AURA_RETURN_IF_ERROR(MakeCertificates(f->options_.cert_dir));
    f->tls_ = {f->options_.cert_dir + "/server.pem", f->options_.cert_dir + "/server.key"};
  }
  FakeKubeApi* self = f.get();
  AURA_ASSIGN_OR_RETURN(f->server_, http::StartServer(
                                        "127.0.0.1:0",
                                        [self](http::ServerRequest r, http::Respond respond) {
                                          self->Serve(std::move(r), std::move(respond));
                                        },
                                        f->tls_));
  f->port_ = f->server_->port();
  return f;
}

FakeKubeApi::~FakeKubeApi() {
  if (server_) server_->Stop();
}

std::string FakeKubeApi::ca_file() const {
  return options_.tls ? options_.cert_dir + "/ca.pem" : "";
}

std::string FakeKubeApi::url() const {
  return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

void FakeKubeApi::AddNamespace(const std::string& ns) {
  std::lock_guard<std::mutex> g(mu_);
  namespaces_.insert(ns);
}

void FakeKubeApi::Forbid(const std::string& ns, bool forbidden) {
  std::lock_guard<std::mutex> g(mu_);
  if (forbidden) {
    forbidden_.insert(ns);
  } else {
    forbidden_.erase(ns);
  }
}

void FakeKubeApi::Unavailable(bool unavailable) {
  std::lock_guard<std::mutex> g(mu_);
  unavailable_ = unavailable;
}

void FakeKubeApi::GoDown() {
  if (server_) server_->Stop();
  server_.reset();
}

base::Status FakeKubeApi::ComeBack() {
  if (server_) return base::Status();
  base::Status last;
  for (int attempt = 0; attempt < 50; ++attempt) {  // the port may linger briefly
    auto s = http::StartServer(
        "127.0.0.1:" + std::to_string(port_),
        [this](http::ServerRequest r, http::Respond respond) {
          Serve(std::move(r), std::move(respond));
        },
        tls_);
    if (s.ok()) {
      server_ = std::move(*s);
      return base::Status();
    }
    last = s.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return last;
}

json FakeKubeApi::Stored(json secret, const std::string& ns) {
  json& meta = secret["metadata"];
  meta["namespace"] = ns;
  if (!meta.contains("uid")) {
    std::string digits = std::to_string(++version_);
    digits.insert(0, 12 - std::min<size_t>(12, digits.size()), '0');
    meta["uid"] = "0a1b2c3d-0000-4000-8000-" + digits;
    meta["creationTimestamp"] = Timestamp();
  }
  meta["resourceVersion"] = std::to_string(++version_);
  if (!secret.contains("type") || secret["type"].get<std::string>().empty()) {
    secret["type"] = "Opaque";
  }
  secret["apiVersion"] = "v1";
  secret["kind"] = "Secret";
  if (secret.contains("stringData")) {
    if (secret["stringData"].is_object()) {
      for (const auto& [k, v] : secret["stringData"].items()) {
        secret["data"][k] = base::Base64Encode(v.get<std::string>());
      }
    }
    secret.erase("stringData");
  }
  return secret;
}

void FakeKubeApi::Seed(json secret) {
  std::lock_guard<std::mutex> g(mu_);
  const std::string ns = secret["metadata"].value("namespace", "default");
  const std::string name = secret["metadata"].value("name", "");
  secrets_[{ns, name}] = Stored(std::move(secret), ns);
}

void FakeKubeApi::Remove(const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> g(mu_);
  secrets_.erase({ns, name});
}

std::optional<json> FakeKubeApi::Secret(const std::string& ns, const std::string& name) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = secrets_.find({ns, name});
  if (it == secrets_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, std::string> FakeKubeApi::Data(const std::string& ns,
                                                     const std::string& name) const {
  std::map<std::string, std::string> out;
  auto s = Secret(ns, name);
  if (!s || !s->contains("data")) return out;
  for (const auto& [k, v] : (*s)["data"].items()) {
    out[k] = base::Base64Decode(v.get<std::string>()).value_or("<not base64>");
  }
  return out;
}

std::vector<json> FakeKubeApi::Secrets() const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<json> out;
  for (const auto& [_, s] : secrets_) out.push_back(s);
  return out;
}

std::vector<Exchange> FakeKubeApi::Exchanges() const {
  std::lock_guard<std::mutex> g(mu_);
  return exchanges_;
}

int FakeKubeApi::Count(const std::string& method, int status) const {
  std::lock_guard<std::mutex> g(mu_);
  int n = 0;
  for (const auto& e : exchanges_) {
    if (e.method == method && e.path.find("/secrets") != std::string::npos &&
        (status == 0 || e.status == status)) {
      ++n;
    }
  }
  return n;
}

void FakeKubeApi::Serve(http::ServerRequest req, http::Respond respond) {
  Exchange e;
  e.method = req.method;
  e.path = req.path;
  e.query = req.raw_query;
  e.request_body = req.body;
  http::Reply reply;
  {
    std::lock_guard<std::mutex> g(mu_);
    reply = Handle(req, &e.request_kind, &e.reply_kind);
    reply.headers.emplace_back("Audit-Id", "fake-audit-" + std::to_string(++audit_));
    reply.headers.emplace_back("Cache-Control", "no-cache, private");
    e.status = reply.status;
    e.reply_body = reply.body;
    exchanges_.push_back(std::move(e));
  }
  respond(std::move(reply));
}

http::Reply FakeKubeApi::Handle(const http::ServerRequest& req, std::string* request_kind,
                                std::string* reply_kind) {
  if (!options_.token.empty() && req.Header("Authorization") != "Bearer " + options_.token) {
    return Fail(401, "Unauthorized", "Unauthorized", reply_kind);
  }
  if (unavailable_) {
    return Fail(503, "ServiceUnavailable", "the server is currently unable to handle the request",
                reply_kind);
  }
  const std::string& p = req.path;
  if (req.method == "GET" && p == "/api") {
    *reply_kind = "APIVersions";
    return JsonReply(200, {{"kind", "APIVersions"},
                           {"versions", {"v1"}},
                           {"serverAddressByClientCIDRs",
                            {{{"clientCIDR", "0.0.0.0/0"},
                              {"serverAddress", "127.0.0.1:" + std::to_string(port_)}}}}});
  }
  if (req.method == "GET" && p == "/api/v1") {
    *reply_kind = "APIResourceList";
    return JsonReply(200, {{"kind", "APIResourceList"},
                           {"groupVersion", "v1"},
                           {"resources",
                            {{{"name", "secrets"},
                              {"singularName", "secret"},
                              {"namespaced", true},
                              {"kind", "Secret"},
                              {"verbs", {"create", "delete", "get", "list", "patch", "update"}},
                              {"storageVersionHash", "S6u1pOWzb84="}},
                             {{"name", "namespaces"},
                              {"singularName", "namespace"},
                              {"namespaced", false},
                              {"kind", "Namespace"},
                              {"verbs", {"get", "list"}},
                              {"shortNames", {"ns"}}}}}});
  }
  if (req.method == "GET" && p == "/apis") {
    *reply_kind = "APIGroupList";
    return JsonReply(200,
                     {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", json::array()}});
  }
  if (req.method == "GET" && p == "/version") {
    return JsonReply(200, {{"major", "1"},
                           {"minor", "32"},
                           {"gitVersion", "v1.32.0-fake"},
                           {"platform", "linux/amd64"}});
  }
  // /api/v1/namespaces/NS/secrets[/NAME]
  const std::string prefix = "/api/v1/namespaces/";
  if (p.rfind(prefix, 0) == 0) {
    const std::string rest = p.substr(prefix.size());
    const size_t slash = rest.find('/');
    const std::string ns = rest.substr(0, slash);
    std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
    if (tail == "/secrets") return HandleSecrets(req, ns, "", request_kind, reply_kind);
    if (tail.rfind("/secrets/", 0) == 0 && tail.size() > 9 &&
        tail.find('/', 9) == std::string::npos) {
      return HandleSecrets(req, ns, tail.substr(9), request_kind, reply_kind);
    }
  }
  return Fail(404, "NotFound", "the server could not find the requested resource", reply_kind,
              json::object());
}

http::Reply FakeKubeApi::HandleSecrets(const http::ServerRequest& req, const std::string& ns,
                                       const std::string& name, std::string* request_kind,
                                       std::string* reply_kind) {
  const std::string& m = req.method;
  std::string verb;
  if (m == "GET") verb = name.empty() ? "list" : "get";
  if (m == "POST" && name.empty()) verb = "create";
  if (m == "PUT" && !name.empty()) verb = "update";
  if (m == "PATCH" && !name.empty()) verb = "patch";
  if (m == "DELETE" && !name.empty()) verb = "delete";
  if (verb.empty()) {
    return Fail(405, "MethodNotAllowed",
                "the server does not allow this method on the "
                "requested resource",
                reply_kind, json::object());
  }
  if (m == "POST" || m == "PUT") *request_kind = "Secret";
  if (m == "DELETE" && !req.body.empty()) *request_kind = "DeleteOptions";
  const json details =
      name.empty() ? json{{"kind", "secrets"}} : json{{"name", name}, {"kind", "secrets"}};
  if (forbidden_.contains(ns)) {
    return Fail(403, "Forbidden",
                std::string("secrets") + (name.empty() ? "" : " \"" + name + "\"") +
                    " is forbidden: User \"" + options_.user + "\" cannot " + verb +
                    " resource \"secrets\" in API group \"\" in the namespace \"" + ns + "\"",
                reply_kind, details);
  }
  if (verb == "patch") {
    return Fail(415, "UnsupportedMediaType", "patch is not implemented by this fake", reply_kind);
  }
  auto key = std::make_pair(ns, name);
  auto it = secrets_.find(key);
  if (verb == "get") {
    if (it == secrets_.end()) {
      return Fail(404, "NotFound", "secrets \"" + name + "\" not found", reply_kind, details);
    }
    *reply_kind = "Secret";
    return JsonReply(200, it->second);
  }
  if (verb == "list") {
    json items = json::array();
    for (const auto& [k, s] : secrets_) {
      if (k.first == ns) items.push_back(s);
    }
    *reply_kind = "SecretList";
    return JsonReply(200, {{"kind", "SecretList"},
                           {"apiVersion", "v1"},
                           {"metadata", {{"resourceVersion", std::to_string(version_)}}},
                           {"items", items}});
  }
  if (verb == "delete") {
    if (!req.body.empty()) {
      json opts = json::parse(req.body, nullptr, false);
      if (!opts.is_object() || (opts.contains("kind") && opts["kind"] != "DeleteOptions")) {
        return Fail(400, "BadRequest", "the body is not DeleteOptions", reply_kind);
      }
      if (it != secrets_.end() && opts.contains("preconditions")) {
        const json& pre = opts["preconditions"];
        const json& meta = it->second["metadata"];
        if ((pre.contains("resourceVersion") &&
             pre["resourceVersion"] != meta["resourceVersion"]) ||
            (pre.contains("uid") && pre["uid"] != meta["uid"])) {
          return Fail(409, "Conflict",
                      "Operation cannot be fulfilled on secrets \"" + name +
                          "\": Precondition failed: ResourceVersion in precondition: " +
                          pre.value("resourceVersion", "") +
                          ", ResourceVersion in object meta: " + meta.value("resourceVersion", ""),
                      reply_kind, details);
        }
      }
    }
    if (it == secrets_.end()) {
      return Fail(404, "NotFound", "secrets \"" + name + "\" not found", reply_kind, details);
    }
    const std::string uid = it->second["metadata"].value("uid", "");
    secrets_.erase(it);
    *reply_kind = "Status";
    return JsonReply(200, {{"kind", "Status"},
                           {"apiVersion", "v1"},
                           {"metadata", json::object()},
                           {"status", "Success"},
                           {"details", {{"name", name}, {"kind", "secrets"}, {"uid", uid}}}});
  }
  // create / update
  json body = json::parse(req.body, nullptr, false);
  int code = 400;
  if (std::string why = CheckSecretBody(body, &code); !why.empty()) {
    return Fail(code, code == 422 ? "Invalid" : "BadRequest",
                "Secret \"" +
                    (body.is_object() && body.contains("metadata") && body["metadata"].is_object()
                         ? body["metadata"].value("name", "")
                         : std::string()) +
                    "\" is invalid: " + why,
                reply_kind, details);
  }
  const std::string body_ns = body["metadata"].value("namespace", ns);
  if (body_ns != ns) {
    return Fail(400, "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the "
                "request",
                reply_kind);
  }
  const std::string body_name = body["metadata"]["name"];
  if (verb == "create") {
    if (!namespaces_.contains(ns)) {
      return Fail(404, "NotFound", "namespaces \"" + ns + "\" not found", reply_kind,
                  {{"name", ns}, {"kind", "namespaces"}});
    }
    if (secrets_.contains({ns, body_name})) {
      return Fail(409, "AlreadyExists", "secrets \"" + body_name + "\" already exists", reply_kind,
                  {{"name", body_name}, {"kind", "secrets"}});
    }
    body["metadata"].erase("resourceVersion");
    body["metadata"].erase("uid");
    json stored = Stored(std::move(body), ns);
    secrets_[{ns, body_name}] = stored;
    *reply_kind = "Secret";
    return JsonReply(201, stored);
  }
  // update
  if (body_name != name) {
    return Fail(400, "BadRequest",
                "the name of the object (" + body_name + ") does not match the name on the URL (" +
                    name + ")",
                reply_kind);
  }
  if (it == secrets_.end()) {
    return Fail(404, "NotFound", "secrets \"" + name + "\" not found", reply_kind, details);
  }
  const std::string rv = body["metadata"].value("resourceVersion", "");
  if (!rv.empty() && rv != it->second["metadata"]["resourceVersion"]) {
    return Fail(409, "Conflict",
                "Operation cannot be fulfilled on secrets \"" + name +
                    "\": the object has been modified; please apply your changes to the latest "
                    "version and try again",
                reply_kind, details);
  }
  const std::string type = body.value("type", "Opaque");
  if (type != it->second.value("type", "Opaque")) {
    return Fail(422, "Invalid",
                "Secret \"" + name + "\" is invalid: type: Invalid value: \"" + type +
                    "\": field is immutable",
                reply_kind, details);
  }
  body["metadata"]["uid"] = it->second["metadata"]["uid"];
  body["metadata"]["creationTimestamp"] = it->second["metadata"]["creationTimestamp"];
  json stored = Stored(std::move(body), ns);
  it->second = stored;
  *reply_kind = "Secret";
  return JsonReply(200, stored);
}

}  // namespace aura::kube_testing
