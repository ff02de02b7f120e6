#include "pkg/etcd/etcd_client.h"

#include <atomic>
#include <cctype>
#include <nlohmann/json.hpp>
#include <utility>

#include "pkg/base/base64.h"

namespace aura::etcd {
namespace {

using base::Status;
using base::StatusOr;
using nlohmann::json;

// The end of the range of every key starting with `prefix` (etcd's "range_end").
std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

// A 64-bit member: the gateway writes them as strings, absent when zero.
StatusOr<std::int64_t> Int(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::int64_t{0};
  try {
    if (it->is_number_integer()) return it->get<std::int64_t>();
    if (it->is_string()) {
      const std::string& s = it->get_ref<const std::string&>();
      size_t used = 0;
      const long long v = std::stoll(s, &used);
      if (used == s.size()) return static_cast<std::int64_t>(v);
    }
  } catch (const std::exception&) {
  }
  return base::DataLossError(std::string("etcd answer: member \"") + name + "\" is not an integer");
}

StatusOr<std::string> Bytes(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return base::DataLossError(std::string("etcd answer: member \"") + name + "\" is not base64");
  }
  std::optional<std::string> d = base::Base64Decode(it->get_ref<const std::string&>());
  if (!d) {
    return base::DataLossError(std::string("etcd answer: member \"") + name + "\" is not base64");
  }
  return *d;
}

StatusOr<EtcdKeyValue> ParseKv(const json& j) {
  if (!j.is_object()) return base::DataLossError("etcd answer: a key-value is not an object");
  EtcdKeyValue kv;
  AURA_ASSIGN_OR_RETURN(kv.key, Bytes(j, "key"));
  AURA_ASSIGN_OR_RETURN(kv.value, Bytes(j, "value"));
  AURA_ASSIGN_OR_RETURN(kv.create_revision, Int(j, "create_revision"));
  AURA_ASSIGN_OR_RETURN(kv.mod_revision, Int(j, "mod_revision"));
  AURA_ASSIGN_OR_RETURN(kv.version, Int(j, "version"));
  AURA_ASSIGN_OR_RETURN(kv.lease, Int(j, "lease"));
  return kv;
}

StatusOr<std::int64_t> HeaderRevision(const json& j) {
  auto h = j.find("header");
  if (h == j.end() || !h->is_object()) return std::int64_t{0};
  return Int(*h, "revision");
}

StatusOr<EtcdRangeResult> ParseRange(const json& j) {
  EtcdRangeResult r;
  AURA_ASSIGN_OR_RETURN(r.revision, HeaderRevision(j));
  if (auto kvs = j.find("kvs"); kvs != j.end() && !kvs->is_null()) {
    if (!kvs->is_array()) return base::DataLossError("etcd answer: kvs is not an array");
    for (const json& kv : *kvs) {
      AURA_ASSIGN_OR_RETURN(EtcdKeyValue parsed, ParseKv(kv));
      r.kvs.push_back(std::move(parsed));
    }
  }
  if (auto more = j.find("more"); more != j.end() && more->is_boolean()) r.more = more->get<bool>();
  return r;
}

json RangeRequest(const std::string& key, bool prefix, std::int64_t limit) {
  json j{{"key", base::Base64Encode(key)}};
  if (prefix) j["range_end"] = base::Base64Encode(PrefixEnd(key));
  if (limit > 0) j["limit"] = std::to_string(limit);
  return j;
}

json OpJson(const EtcdOp& op) {
  switch (op.type) {
    case EtcdOp::Type::kRange:
      return {{"request_range", RangeRequest(op.key, op.prefix, 0)}};
    case EtcdOp::Type::kPut: {
      json p{{"key", base::Base64Encode(op.key)}, {"value", base::Base64Encode(op.value)}};
      if (op.lease != 0) p["lease"] = std::to_string(op.lease);
      return {{"request_put", std::move(p)}};
    }
    case EtcdOp::Type::kDelete: {
      json d{{"key", base::Base64Encode(op.key)}};
      if (op.prefix) d["range_end"] = base::Base64Encode(PrefixEnd(op.key));
      return {{"request_delete_range", std::move(d)}};
    }
  }
  return json::object();
}

json CompareJson(const EtcdCompare& c) {
  static constexpr const char* kTargets[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
  static constexpr const char* kResults[] = {"EQUAL", "NOT_EQUAL", "GREATER", "LESS"};
  json j{{"key", base::Base64Encode(c.key)},
         {"target", kTargets[static_cast<int>(c.target)]},
         {"result", kResults[static_cast<int>(c.result)]}};
  switch (c.target) {
    case EtcdCompare::Target::kVersion:
      j["version"] = std::to_string(c.number);
      break;
    case EtcdCompare::Target::kCreate:
      j["create_revision"] = std::to_string(c.number);
      break;
    case EtcdCompare::Target::kMod:
      j["mod_revision"] = std::to_string(c.number);
      break;
    case EtcdCompare::Target::kValue:
      j["value"] = base::Base64Encode(c.value);
      break;
    case EtcdCompare::Target::kLease:
      j["lease"] = std::to_string(c.number);
      break;
  }
  return j;
}

// gRPC status codes (the gateway's "code").
constexpr int kGrpcInvalidArgument = 3;
constexpr int kGrpcDeadlineExceeded = 4;
constexpr int kGrpcNotFound = 5;
constexpr int kGrpcPermissionDenied = 7;
constexpr int kGrpcFailedPrecondition = 9;
constexpr int kGrpcUnavailable = 14;
constexpr int kGrpcUnauthenticated = 16;

Status FromGrpc(int code, const std::string& message) {
  switch (code) {
    case kGrpcInvalidArgument:
      return base::InvalidArgumentError(message);
    case kGrpcDeadlineExceeded:
      return base::DeadlineExceededError(message).SetReason("timeout");
    case kGrpcNotFound:
      return base::NotFoundError(message);
    case kGrpcPermissionDenied:
      return base::PermissionDeniedError(message);
    case kGrpcFailedPrecondition:
      return base::FailedPreconditionError(message);
    case kGrpcUnauthenticated:
      return base::UnauthenticatedError(message);
    default:
      return base::UnavailableError(message);
  }
}

class GatewayEtcdClient final : public EtcdClient {
 public:
  GatewayEtcdClient(http::Transport* transport, GatewayEtcdClientOptions options)
      : transport_(transport), options_(std::move(options)) {
    for (std::string& e : options_.endpoints) {
      while (!e.empty() && e.back() == '/') e.pop_back();
    }
  }

  StatusOr<EtcdRangeResult> Range(const std::string& key, bool prefix,
                                  std::int64_t limit) override {
    AURA_ASSIGN_OR_RETURN(json j, Call("range", "/v3/kv/range", RangeRequest(key, prefix, limit),
                                       /*read=*/true));
    return ParseRange(j);
  }

  StatusOr<std::int64_t> Put(const std::string& key, const std::string& value,
                             std::int64_t lease) override {
    json req{{"key", base::Base64Encode(key)}, {"value", base::Base64Encode(value)}};
    if (lease != 0) req["lease"] = std::to_string(lease);
    AURA_ASSIGN_OR_RETURN(json j, Call("put", "/v3/kv/put", req, /*read=*/false));
    return HeaderRevision(j);
  }

  StatusOr<std::int64_t> Delete(const std::string& key, bool prefix) override {
    json req{{"key", base::Base64Encode(key)}};
    if (prefix) req["range_end"] = base::Base64Encode(PrefixEnd(key));
    AURA_ASSIGN_OR_RETURN(json j, Call("delete", "/v3/kv/deleterange", req, /*read=*/false));
    return Int(j, "deleted");
  }

  StatusOr<EtcdTxnResult> Txn(const std::vector<EtcdCompare>& compares,
                              const std::vector<EtcdOp>& success,
                              const std::vector<EtcdOp>& failure) override {
    json req{{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
    bool writes = false;
    for (const auto& c : compares) req["compare"].push_back(CompareJson(c));
    for (const auto& o : success) {
      req["success"].push_back(OpJson(o));
      writes |= o.type != EtcdOp::Type::kRange;
    }
    for (const auto& o : failure) {
      req["failure"].push_back(OpJson(o));
      writes |= o.type != EtcdOp::Type::kRange;
    }
    AURA_ASSIGN_OR_RETURN(json j, Call("txn", "/v3/kv/txn", req, /*read=*/!writes));
    EtcdTxnResult r;
    AURA_ASSIGN_OR_RETURN(r.revision, HeaderRevision(j));
    if (auto s = j.find("succeeded"); s != j.end() && s->is_boolean()) r.succeeded = s->get<bool>();
    if (auto rs = j.find("responses"); rs != j.end() && rs->is_array()) {
      for (const json& op : *rs) {
        if (!op.is_object()) continue;
        if (auto range = op.find("response_range"); range != op.end()) {
          AURA_ASSIGN_OR_RETURN(EtcdRangeResult parsed, ParseRange(*range));
          r.ranges.push_back(std::move(parsed));
        }
      }
    }
    return r;
  }

  StatusOr<EtcdLease> LeaseGrant(std::chrono::seconds ttl) override {
    AURA_ASSIGN_OR_RETURN(
        json j, Call("lease grant", "/v3/lease/grant", json{{"TTL", std::to_string(ttl.count())}},
                     /*read=*/false));
    if (auto e = j.find("error");
        e != j.end() && e->is_string() && !e->get<std::string>().empty()) {
      return base::UnavailableError("etcd lease grant: " + e->get<std::string>());
    }
    EtcdLease lease;
    AURA_ASSIGN_OR_RETURN(lease.id, Int(j, "ID"));
    AURA_ASSIGN_OR_RETURN(std::int64_t granted, Int(j, "TTL"));
    lease.ttl = std::chrono::seconds(granted);
    if (lease.id == 0) return base::DataLossError("etcd lease grant: the answer has no lease ID");
    return lease;
  }

  StatusOr<std::chrono::seconds> LeaseKeepAlive(std::int64_t id) override {
    // A streaming call: the gateway answers one {"result": ...} per request object sent.
    AURA_ASSIGN_OR_RETURN(json j, Call("lease keepalive", "/v3/lease/keepalive",
                                       json{{"ID", std::to_string(id)}}, /*read=*/false));
    if (auto e = j.find("error"); e != j.end() && e->is_object()) {
      int code = 0;
      if (auto c = e->find("grpc_code"); c != e->end() && c->is_number_integer()) {
        code = c->get<int>();
      }
      std::string msg;
      if (auto m = e->find("message"); m != e->end() && m->is_string()) msg = m->get<std::string>();
      return FromGrpc(code, "etcd lease keepalive: " + msg);
    }
    auto result = j.find("result");
    if (result == j.end() || !result->is_object()) {
      return base::DataLossError("etcd lease keepalive: the answer has no result");
    }
    AURA_ASSIGN_OR_RETURN(std::int64_t ttl, Int(*result, "TTL"));
    if (ttl <= 0) return base::NotFoundError("etcd lease keepalive: the lease has expired");
    return std::chrono::seconds(ttl);
  }

  Status LeaseRevoke(std::int64_t id) override {
    StatusOr<json> j =
        Call("lease revoke", "/v3/lease/revoke", json{{"ID", std::to_string(id)}}, /*read=*/false);
    if (!j.ok() && j.status().code() == base::StatusCode::kNotFound) return Status();
    return j.status();
  }

 private:
  // POSTs `body` to `path` on the members in turn (see the header). `read`: safe to send to
  // another member after a timeout too.
  StatusOr<json> Call(const char* op, const std::string& path, const json& body, bool read) {
    if (options_.endpoints.empty()) {
      return base::InvalidArgumentError("etcd: no endpoints configured");
    }
    const size_t n = options_.endpoints.size();
    const size_t start = current_.load() % n;
    Status last;
    for (size_t k = 0; k < n; ++k) {
      const size_t idx = (start + k) % n;
      const std::string& member = options_.endpoints[idx];
      const std::string what = std::string("etcd ") + op + " at " + member;
      http::HttpRequest req;
      req.method = "POST";
      req.url = member + path;
      req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
      req.body = body.dump();
      req.timeout = options_.request_timeout;
      StatusOr<http::HttpResponse> resp = transport_->Send(req);
      if (!resp.ok()) {
        const Status& e = resp.status();
        Status s = Status(e.code(), what + ": " + e.message()).SetReason(e.reason());
        if (e.reason() == "connect" || read) {
          last = s;
          Rotate(idx);
          continue;
        }
        return s;
      }
      const std::string& text = resp->body;
      // keepalive streams newline-separated objects: the first is the answer.
      const std::string first = text.substr(0, text.find('\n'));
      json j = json::parse(first, nullptr, false);
      if (resp->status == 200) {
        if (!j.is_object()) return base::DataLossError(what + ": the answer is not JSON");
        current_.store(idx);
        return j;
      }
      int code = 0;
      std::string message = "HTTP " + std::to_string(resp->status);
      if (j.is_object()) {
        if (auto c = j.find("code"); c != j.end() && c->is_number_integer()) code = c->get<int>();
        if (auto m = j.find("message"); m != j.end() && m->is_string()) {
          message += ": " + m->get<std::string>();
        }
      }
      Status s = FromGrpc(code, what + ": " + message).SetHttpStatus(resp->status);
      // "no leader": the member refused before proposing anything; any member is as good.
      const bool not_applied = message.find("no leader") != std::string::npos;
      const bool transient =
          code == kGrpcUnavailable || code == kGrpcDeadlineExceeded || resp->status >= 500;
      if (transient && (not_applied || read)) {
        last = s;
        Rotate(idx);
        continue;
      }
      return s;
    }
    return base::UnavailableError("no etcd member answered (" + std::to_string(n) +
                                  " tried); last: " + last.message())
        .SetReason(last.reason());
  }

  void Rotate(size_t failed) {
    size_t expected = failed;
    current_.compare_exchange_strong(expected, (failed + 1) % options_.endpoints.size());
  }

  http::Transport* const transport_;
  GatewayEtcdClientOptions options_;
  std::atomic<size_t> current_{0};
};

bool ValidHostPort(std::string_view hp) {
  if (hp.empty()) return false;
  size_t colon = hp.rfind(':');
  if (hp.front() == '[') {
    const size_t close = hp.find(']');
    if (close == std::string_view::npos || close + 1 >= hp.size() || hp[close + 1] != ':') {
      return false;
    }
    colon = close + 1;
  }
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= hp.size()) return false;
  const std::string_view port = hp.substr(colon + 1);
  if (port.size() > 5) return false;
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  for (char c : hp.substr(0, colon)) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '@') return false;
  }
  const int p = std::stoi(std::string(port));
  return p > 0 && p < 65536;
}

}  // namespace

bool IsEtcdUrl(std::string_view state) {
  return state.starts_with("etcd://") || state.starts_with("etcds://");
}

StatusOr<EtcdTarget> ParseEtcdUrl(std::string_view url) {
  const std::string shape =
      " (expected etcd://HOST:PORT[,HOST:PORT...]/PREFIX or etcds://..., e.g. "
      "etcd://127.0.0.1:2379/aura)";
  bool tls = false;
  std::string_view rest;
  if (url.starts_with("etcd://")) {
    rest = url.substr(7);
  } else if (url.starts_with("etcds://")) {
    rest = url.substr(8);
    tls = true;
  } else {
    return base::InvalidArgumentError("--state \"" + std::string(url) + "\" is not an etcd URL" +
                                      shape);
  }
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 >= rest.size()) {
    return base::InvalidArgumentError("--state \"" + std::string(url) +
                                      "\": no key prefix after the endpoints" + shape);
  }
  EtcdTarget t;
  std::string prefix(rest.substr(slash));
  if (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (prefix.find("//") != std::string::npos || prefix == "/") {
    return base::InvalidArgumentError("--state \"" + std::string(url) + "\": bad key prefix \"" +
                                      prefix + "\"" + shape);
  }
  t.prefix = prefix;
  std::string_view hosts = rest.substr(0, slash);
  while (true) {
    const size_t comma = hosts.find(',');
    std::string_view hp = hosts.substr(0, comma);
    if (!ValidHostPort(hp)) {
      return base::InvalidArgumentError("--state \"" + std::string(url) + "\": \"" +
                                        std::string(hp) + "\" is not HOST:PORT" + shape);
    }
    t.endpoints.push_back(std::string(tls ? "https://" : "http://") + std::string(hp));
    if (comma == std::string_view::npos) break;
    hosts = hosts.substr(comma + 1);
  }
  return t;
}

std::unique_ptr<EtcdClient> NewGatewayEtcdClient(http::Transport* transport,
                                                 GatewayEtcdClientOptions options) {
  return std::make_unique<GatewayEtcdClient>(transport, std::move(options));
}

}  // namespace aura::etcd
