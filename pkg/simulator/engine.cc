#include "pkg/simulator/engine.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "pkg/base/log.h"

namespace aura::simulator {
namespace {

using nlohmann::json;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return "";
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string Hex64(uint64_t v) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 15];
  return s;
}

std::string Base64UrlEncode(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buf >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buf << (6 - bits)) & 63]);
  return out;
}

// Standard base64 (padding optional); false on a character outside the alphabet.
bool Base64Decode(std::string_view in, std::string* out) {
  uint32_t buf = 0;
  int bits = 0;
  out->clear();
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      v = 62;
    } else if (c == '/' || c == '_') {
      v = 63;
    } else if (c == '=') {
      break;
    } else {
      return false;
    }
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return true;
}

// Parses "Basic base64(id:secret)".
bool ParseBasic(std::string_view header, std::string* id, std::string* secret) {
  if (header.size() < 6 || !IEquals(header.substr(0, 6), "basic ")) return false;
  std::string decoded;
  std::string_view b64 = header.substr(6);
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  if (!Base64Decode(b64, &decoded)) return false;
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  *id = decoded.substr(0, colon);
  *secret = decoded.substr(colon + 1);
  return true;
}

std::string BearerToken(std::string_view header) {
  if (header.size() < 7 || !IEquals(header.substr(0, 7), "bearer ")) return "";
  std::string_view t = header.substr(7);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  return std::string(t);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded -> map (values percent-decoded, '+' as space). A bad
// %-escape is kept literally, as a lenient gateway would.
std::map<std::string, std::string> ParseForm(std::string_view body) {
  auto decode = [](std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out.push_back(' ');
      } else if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 &&
                 HexDigit(s[i + 2]) >= 0) {
        out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    std::string_view pair =
        body.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      out[decode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

// Makes every scalar the wrong JSON type: strings become numbers, numbers and bools strings.
void Scramble(json& v) {
  if (v.is_object() || v.is_array()) {
    for (auto& child : v) Scramble(child);
  } else if (v.is_string()) {
    v = static_cast<int64_t>(v.get<std::string>().size());
  } else if (v.is_boolean()) {
    v = v.get<bool>() ? "true" : "false";
  } else if (v.is_number()) {
    v = v.dump();
  }
}

// Removes what a client cannot do without: "id" from every object under "data" (at any depth),
// and a token response's "access_token".
void DropRequiredFields(json& body) {
  if (!body.is_object()) return;
  body.erase("access_token");
  auto it = body.find("data");
  if (it == body.end()) return;
  std::vector<json*> todo = {&*it};
  while (!todo.empty()) {
    json* v = todo.back();
    todo.pop_back();
    if (v->is_object()) v->erase("id");
    if (v->is_object() || v->is_array()) {
      for (auto& child : *v) todo.push_back(&child);
    }
  }
}

SimResponse JsonResponse(int status, std::string body) {
  SimResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

struct RoutePattern {
  std::string_view method;
  std::string_view pattern;
  bool admin;
};

constexpr RoutePattern kRoutes[] = {
    {"POST", "/oauth/token", false},
    {"GET", "/v1/instances", false},
    {"POST", "/v1/instances", false},
    {"GET", "/v1/instances/{instanceId}", false},
    {"PATCH", "/v1/instances/{instanceId}", false},
    {"DELETE", "/v1/instances/{instanceId}", false},
    {"POST", "/v1/instances/{instanceId}/pause", false},
    {"POST", "/v1/instances/{instanceId}/resume", false},
    {"GET", "/v1/instances/{instanceId}/snapshots", false},
    {"POST", "/v1/instances/{instanceId}/snapshots", false},
    {"GET", "/v1/instances/{instanceId}/snapshots/{snapshotId}", false},
    {"POST", "/v1/instances/{instanceId}/snapshots/{snapshotId}/restore", false},
    {"GET", "/v1/tenants", false},
    {"GET", "/v1/tenants/{tenantId}", false},
    {"GET", "/_sim/instances", true},
    {"GET", "/_sim/stats", true},
    {"GET", "/_sim/faults", true},
    {"POST", "/_sim/faults", true},
    {"POST", "/_sim/reset", true},
};

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

bool MatchPattern(std::string_view pattern, const std::vector<std::string_view>& segs,
                  std::vector<std::string>* params) {
  std::vector<std::string_view> pat = Split(pattern);
  if (pat.size() != segs.size()) return false;
  std::vector<std::string> p;
  for (size_t i = 0; i < pat.size(); ++i) {
    if (pat[i].starts_with("{")) {
      p.emplace_back(segs[i]);
    } else if (pat[i] != segs[i]) {
      return false;
    }
  }
  *params = std::move(p);
  return true;
}

bool IsJsonContentType(std::string_view ct) {
  std::string_view media = ct.substr(0, ct.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return IEquals(media, "application/json");
}

}  // namespace

std::string SimRequest::Header(std::string_view name) const { return FindHeader(headers, name); }
std::string SimResponse::Header(std::string_view name) const { return FindHeader(headers, name); }

std::string AuraErrorBody(std::string_view reason, std::string_view message,
                          std::string_view field) {
  json e = {{"message", message}, {"reason", reason}};
  if (!field.empty()) e["field"] = field;
  return json{{"errors", json::array({e})}}.dump();
}

std::string GatewayErrorBody(std::string_view message) { return json{{"error", message}}.dump(); }

std::string FormatRfc3339(base::SystemTime t) {
  std::time_t secs =
      std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatHttpDate(base::SystemTime t) {
  std::time_t secs =
      std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

Engine::Engine(SimulatorOptions options, base::Clock* clock)
    : options_(std::move(options)),
      clock_(clock),
      limiter_(options_.rate_limit, options_.rate_window),
      faults_(options_.seed, options_.faults),
      rng_(options_.seed) {
  for (const auto& c : options_.clients) {
    Client client{c.id, c.secret, c.tenants};
    if (client.tenants.empty()) {
      for (const auto& t : options_.tenants) client.tenants.push_back(t.id);
    }
    clients_.push_back(std::move(client));
  }
  // Request ids differ between runs even with one seed: the salt mixes in the start time.
  request_salt_ = SplitMix(options_.seed ^
                           static_cast<uint64_t>(clock_->SystemNow().time_since_epoch().count()));
}

base::StatusOr<std::unique_ptr<Engine>> Engine::Create(SimulatorOptions options,
                                                       base::Clock* clock) {
  options.ApplyDefaults();
  std::unique_ptr<Engine> engine(new Engine(std::move(options), clock));
  if (!engine->options_.state_file.empty()) {
    auto state = ReadStateFile(engine->options_.state_file);
    if (state.ok()) {
      engine->state_ = std::move(state).value();
    } else if (state.status().code() != base::StatusCode::kNotFound) {
      return state.status();
    }
  }
  return engine;
}

base::Status Engine::SaveState() {
  std::lock_guard<std::mutex> lock(mu_);
  if (options_.state_file.empty()) return base::Status();
  dirty_ = false;
  return WriteStateFile(options_.state_file, state_);
}

void Engine::SaveIfDirty() {
  if (!dirty_ || options_.state_file.empty()) return;
  dirty_ = false;
  base::Status s = WriteStateFile(options_.state_file, state_);
  if (!s.ok()) base::DefaultLogger().Error("saving simulator state", base::StatusFields(s));
}

std::string Engine::NewRequestId() {
  std::lock_guard<std::mutex> lock(mu_);
  return NextRequestId();
}

std::string Engine::NextRequestId() {
  uint64_t n = ++request_counter_;
  uint64_t a = SplitMix(request_salt_ ^ n);  // a bijection of n: unique per request
  uint64_t b = SplitMix(a ^ 0x5bd1e995ULL);
  uint64_t c = SplitMix(n + request_salt_);
  return Hex64(a) + Hex64(b) + "/" + std::to_string(c);
}

Engine::Route Engine::Match(const SimRequest& req) const {
  Route r;
  r.name = "other";
  std::vector<std::string_view> segs = Split(req.path);
  for (const RoutePattern& p : kRoutes) {
    std::vector<std::string> params;
    if (!MatchPattern(p.pattern, segs, &params)) continue;
    r.known_path = true;
    r.admin = p.admin;
    if (p.method == req.method) {
      r.name = std::string(p.method) + " " + std::string(p.pattern);
      r.params = std::move(params);
      return r;
    }
  }
  if (!segs.empty() && segs[0] == "_sim") r.admin = true;
  return r;
}

std::string Engine::IdentifyClient(const SimRequest& req, const Route& route) const {
  const std::string auth = req.Header("Authorization");
  if (route.name == "POST /oauth/token") {
    std::string id, secret;
    if (ParseBasic(auth, &id, &secret)) {
      for (const auto& c : clients_) {
        if (c.id == id) return id;
      }
    }
    return "anonymous";
  }
  std::string token = BearerToken(auth);
  if (auto it = state_.tokens.find(token); !token.empty() && it != state_.tokens.end()) {
    return it->second.client_id;
  }
  return "anonymous";
}

std::string Engine::RetryAfterValue(base::Duration d) const {
  auto secs = std::chrono::ceil<std::chrono::seconds>(d);
  if (secs.count() < 0) secs = std::chrono::seconds(0);
  if (options_.retry_after_format == RetryAfterFormat::kDeltaSeconds) {
    return std::to_string(secs.count());
  }
  // An HTTP-date has whole seconds: round up so that it never precedes the real deadline.
  auto at = std::chrono::ceil<std::chrono::seconds>(clock_->SystemNow() + d);
  return FormatHttpDate(at);
}

SimResponse Engine::Handle(const SimRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  const base::TimePoint now = clock_->Now();
  AdvanceLifecycles(clock_->SystemNow());
  Route route = Match(req);
  SimResponse resp;
  int64_t committed = -1;  // creates committed before this request reached a handler
  if (route.admin) {
    resp = HandleAdmin(req, route);
  } else {
    const std::string client = IdentifyClient(req, route);
    ++stats_.requests_total;
    if (route.name == "POST /v1/instances") ++stats_.post_instances;
    if (const ThrottleFault* t = faults_.Throttle(route.name)) {
      limiter_.RecordRefused(client, now);
      ++stats_.faults["throttle"];
      resp = JsonResponse(429, GatewayErrorBody("API Rate Limit Exceeded"));
      resp.faults = "throttle";
      resp.headers.emplace_back("Retry-After",
                                RetryAfterValue(std::chrono::seconds(t->retry_after_seconds)));
    } else if (auto d = limiter_.Admit(client, now); !d.allowed) {
      resp = JsonResponse(429, GatewayErrorBody("API Rate Limit Exceeded"));
      resp.headers.emplace_back("Retry-After", RetryAfterValue(std::max<base::Duration>(
                                                   d.retry_after, std::chrono::seconds(1))));
    } else if (const ErrorFault* e = faults_.Error(route.name)) {
      ++stats_.faults["error"];
      resp = JsonResponse(e->status,
                          GatewayErrorBody(e->status == 500 ? "Internal Server Error"
                                                            : "Service temporarily unavailable"));
      resp.faults = "error";
      if (e->retry_after_seconds) {
        resp.headers.emplace_back("Retry-After",
                                  RetryAfterValue(std::chrono::seconds(*e->retry_after_seconds)));
      }
    } else {
      committed = stats_.creates_committed;
      resp = Dispatch(req, route, client);
      ApplyPostFaults(route, &resp);
    }
    if (resp.status == 429) ++stats_.throttled_total;
    if (auto extra = faults_.Latency(route.name); extra.count() > 0) {
      ++stats_.faults["latency"];
      resp.delay += extra;
      resp.faults += resp.faults.empty() ? "latency" : ",latency";
    }
    if (const TrickleFault* t = faults_.Trickle(route.name);
        t != nullptr && resp.disposition == Disposition::kReply) {
      ++stats_.faults["trickle"];
      resp.faults += resp.faults.empty() ? "trickle" : ",trickle";
      resp.trickle_chunk = t->chunk_bytes;
      resp.trickle_interval = std::chrono::milliseconds(t->interval_ms);
    }
    const std::string code =
        resp.disposition == Disposition::kDropConnection ? "dropped" : std::to_string(resp.status);
    ++stats_.by_route[route.name][code];
    ++stats_.by_client[client][route.name][code];
    if (committed >= 0 && stats_.creates_committed > committed) {
      // This request committed a create: remember how its response went (/_sim/instances).
      InstanceRecord& created = state_.instances.back();
      created.create_response_code = code;
      created.create_response_delay = resp.delay;
      if (resp.trickle_chunk > 0) {
        const int64_t chunks =
            (static_cast<int64_t>(resp.body.size()) + resp.trickle_chunk - 1) / resp.trickle_chunk;
        created.create_response_delay += resp.trickle_interval * chunks;
      }
      created.create_response_faults = resp.faults;
      created.create_response_bytes = static_cast<int64_t>(resp.body.size());
    }
  }
  resp.route = route.name;
  resp.request_id = NextRequestId();
  resp.headers.emplace_back("X-Request-Id", resp.request_id);
  if (resp.Header("Content-Type").empty()) {
    resp.headers.emplace_back("Content-Type", "application/json");
  }
  SaveIfDirty();
  return resp;
}

void Engine::ApplyPostFaults(const Route& route, SimResponse* resp) {
  if (route.name == "POST /v1/instances" && resp->status == 202) {
    if (const CreateFault* c = faults_.CreateFailure()) {
      const std::string kind = "create_" + std::string(CreateFailModeName(c->mode));
      ++stats_.faults[kind];
      switch (c->mode) {
        case CreateFailMode::k500:
          *resp = JsonResponse(500, GatewayErrorBody("Internal Server Error"));
          resp->faults = kind;
          return;
        case CreateFailMode::kDrop:
          resp->disposition = Disposition::kDropConnection;
          resp->faults = kind;
          return;
        case CreateFailMode::kTimeout:
          resp->delay += std::chrono::duration_cast<base::Duration>(
              std::chrono::duration<double>(c->delay_seconds));
          resp->faults = kind;
          break;
      }
    }
  }
  if (resp->status < 200 || resp->status >= 300 || resp->body.empty()) return;
  if (const MalformedFault* m = faults_.Malformed(route.name)) {
    const std::string kind = "malformed_" + std::string(MalformedModeName(m->mode));
    ++stats_.faults[kind];
    resp->faults += resp->faults.empty() ? kind : "," + kind;
    switch (m->mode) {
      case MalformedMode::kTruncate:
        resp->body.resize(resp->body.size() / 2);
        break;
      case MalformedMode::kWrongTypes: {
        json j = json::parse(resp->body, nullptr, false);
        Scramble(j);
        resp->body = j.dump();
        break;
      }
      case MalformedMode::kMissingFields: {
        json j = json::parse(resp->body, nullptr, false);
        DropRequiredFields(j);
        resp->body = j.dump();
        break;
      }
      case MalformedMode::kHuge: {
        // Whitespace before the closing brace keeps the JSON valid whatever its size.
        const size_t want = static_cast<size_t>(m->bytes);
        if (resp->body.size() < want && resp->body.back() == '}') {
          resp->body.insert(resp->body.size() - 1, want - resp->body.size(), ' ');
        }
        break;
      }
    }
  }
}

SimResponse Engine::Dispatch(const SimRequest& req, const Route& route,
                             const std::string& /*client*/) {
  if (route.name == "POST /oauth/token") return HandleToken(req);
  if (!route.known_path) return JsonResponse(404, GatewayErrorBody("Not Found"));
  if (route.name == "other") return JsonResponse(405, GatewayErrorBody("Method Not Allowed"));
  const Client* c = nullptr;
  SimResponse denied;
  if (!Authenticate(req, &c, &denied)) return denied;
  if ((req.method == "POST" || req.method == "PATCH") &&
      !IsJsonContentType(req.Header("Content-Type"))) {
    return JsonResponse(415, GatewayErrorBody("Unsupported Media Type: use application/json"));
  }
  const auto& p = route.params;
  const std::string& n = route.name;
  if (n == "GET /v1/instances") return ListInstances(req, *c);
  if (n == "POST /v1/instances") return CreateInstance(req, *c);
  if (n == "GET /v1/instances/{instanceId}") return GetInstance(p[0], *c);
  if (n == "PATCH /v1/instances/{instanceId}") return UpdateInstance(req, p[0], *c);
  if (n == "DELETE /v1/instances/{instanceId}") return DeleteInstance(p[0], *c);
  if (n == "POST /v1/instances/{instanceId}/pause") return PauseInstance(p[0], *c);
  if (n == "POST /v1/instances/{instanceId}/resume") return ResumeInstance(p[0], *c);
  if (n == "GET /v1/instances/{instanceId}/snapshots") return ListSnapshots(req, p[0], *c);
  if (n == "POST /v1/instances/{instanceId}/snapshots") return CreateSnapshot(p[0], *c);
  if (n == "GET /v1/instances/{instanceId}/snapshots/{snapshotId}") {
    return GetSnapshot(p[0], p[1], *c);
  }
  if (n == "POST /v1/instances/{instanceId}/snapshots/{snapshotId}/restore") {
    return RestoreSnapshot(p[0], p[1], *c);
  }
  if (n == "GET /v1/tenants") return ListTenants(*c);
  if (n == "GET /v1/tenants/{tenantId}") return GetTenant(p[0], *c);
  return JsonResponse(404, GatewayErrorBody("Not Found"));
}

bool Engine::Authenticate(const SimRequest& req, const Client** client, SimResponse* error) {
  const std::string token = BearerToken(req.Header("Authorization"));
  if (token.empty()) {
    *error = JsonResponse(401, GatewayErrorBody("Authorization field missing"));
    return false;
  }
  auto it = state_.tokens.find(token);
  if (it == state_.tokens.end()) {
    *error = JsonResponse(401, GatewayErrorBody("Key not authorised"));
    return false;
  }
  if (clock_->SystemNow() >= it->second.expires_at) {
    *error = JsonResponse(403, GatewayErrorBody("Access token expired"));
    return false;
  }
  for (const auto& c : clients_) {
    if (c.id == it->second.client_id) {
      *client = &c;
      return true;
    }
  }
  *error = JsonResponse(401, GatewayErrorBody("Key not authorised"));
  return false;
}

SimResponse Engine::HandleToken(const SimRequest& req) {
  auto oauth_error = [](int status, std::string_view error, std::string_view description) {
    return JsonResponse(status, json{{"error", error}, {"error_description", description}}.dump());
  };
  std::string id, secret;
  if (!ParseBasic(req.Header("Authorization"), &id, &secret)) {
    return oauth_error(401, "invalid_client", "HTTP Basic authentication is required");
  }
  const Client* client = nullptr;
  for (const auto& c : clients_) {
    if (c.id == id && c.secret == secret) client = &c;
  }
  if (client == nullptr) return oauth_error(401, "invalid_client", "Bad client credentials");
  if (req.body.empty()) return oauth_error(404, "invalid_request", "Missing request body");
  const std::string content_type = req.Header("Content-Type");
  if (!IEquals(std::string_view(content_type).substr(0, content_type.find(';')),
               "application/x-www-form-urlencoded")) {
    return oauth_error(400, "invalid_request",
                       "Content-Type must be application/x-www-form-urlencoded");
  }
  auto form = ParseForm(req.body);
  if (form["grant_type"] != "client_credentials") {
    return oauth_error(403, "unsupported_grant_type", "grant_type must be client_credentials");
  }
  const base::SystemTime now = clock_->SystemNow();
  const int64_t ttl = std::chrono::duration_cast<std::chrono::seconds>(options_.token_ttl).count();
  json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  json payload = {
      {"sub", client->id},
      {"iat", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()},
      {"jti", NewUuid()}};
  payload["exp"] = payload["iat"].get<int64_t>() + ttl;
  std::string token =
      Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump()) + "." +
      RandomString(43, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
  base::SystemTime expires =
      now + std::chrono::duration_cast<base::SystemTime::duration>(options_.token_ttl);
  if (const auto& early = faults_.config().token_expiry_seconds) {
    ++stats_.faults["token_early_expiry"];
    expires = std::min(expires, now + std::chrono::duration_cast<base::SystemTime::duration>(
                                          std::chrono::duration<double>(*early)));
  }
  // Forget tokens that expired more than a day ago, so the map stays bounded.
  std::erase_if(state_.tokens, [&](const auto& kv) {
    return kv.second.expires_at + std::chrono::hours(24) < now;
  });
  state_.tokens[token] = {client->id, expires};
  ++stats_.tokens_issued;
  dirty_ = true;
  return JsonResponse(
      200, json{{"access_token", token}, {"expires_in", ttl}, {"token_type", "bearer"}}.dump());
}

SimResponse Engine::HandleAdmin(const SimRequest& req, const Route& route) {
  if (!route.known_path) return JsonResponse(404, GatewayErrorBody("no such admin endpoint"));
  if (route.name == "other") return JsonResponse(405, GatewayErrorBody("Method Not Allowed"));
  if (route.name == "GET /_sim/instances") return JsonResponse(200, AdminInstancesJson().dump());
  if (route.name == "GET /_sim/stats") return JsonResponse(200, StatsJson().dump());
  if (route.name == "GET /_sim/faults") {
    return JsonResponse(200, FaultsToJson(faults_.config()).dump());
  }
  if (route.name == "POST /_sim/reset") {
    Reset();
    return JsonResponse(200, json{{"reset", true}}.dump());
  }
  // POST /_sim/faults
  json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return JsonResponse(400, GatewayErrorBody("body is not JSON"));
  auto parsed = ParseFaults(body, faults_.config());
  if (!parsed.ok()) return JsonResponse(400, GatewayErrorBody(parsed.status().message()));
  FaultConfig config = std::move(parsed).value();
  if (config.expire_tokens_now) {
    const base::SystemTime now = clock_->SystemNow();
    for (auto& [token, t] : state_.tokens) t.expires_at = std::min(t.expires_at, now);
    ++stats_.faults["tokens_expired_now"];
    config.expire_tokens_now = false;
    dirty_ = true;
  }
  faults_.Configure(std::move(config));
  return JsonResponse(200, FaultsToJson(faults_.config()).dump());
}

void Engine::Reset() {
  state_.instances.clear();
  state_.snapshots.clear();
  stats_ = Stats();
  limiter_.Reset();
  faults_ = FaultInjector(options_.seed, options_.faults);
  dirty_ = true;
}

json Engine::StatsJson() const {
  json by_route = json::object();
  for (const auto& [route, codes] : stats_.by_route) {
    for (const auto& [code, n] : codes) by_route[route][code] = n;
  }
  json by_client = json::object();
  for (const auto& [client, n] : limiter_.MaxReceivedByClient()) by_client[client] = n;
  json requests_by_client = json::object();
  for (const auto& [client, routes] : stats_.by_client) {
    for (const auto& [route, codes] : routes) {
      for (const auto& [code, n] : codes) requests_by_client[client][route][code] = n;
    }
  }
  json faults = json::object();
  for (const auto& [kind, n] : stats_.faults) faults[kind] = n;
  return {{"requests_total", stats_.requests_total},
          {"requests", by_route},
          {"requests_by_client", requests_by_client},
          {"throttled_total", stats_.throttled_total},
          {"post_instances", stats_.post_instances},
          {"creates_committed", stats_.creates_committed},
          {"tokens_issued", stats_.tokens_issued},
          {"max_requests_in_window", limiter_.max_received_in_window()},
          {"max_requests_in_window_by_client", by_client},
          {"rate_limit", options_.rate_limit},
          {"rate_window_seconds", base::ToSeconds(options_.rate_window)},
          {"faults_injected", faults}};
}

json Engine::AdminInstancesJson() const {
  json instances = json::array();
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  for (const auto& r : state_.instances) {
    json j = InstanceJson(r);
    j["version"] = r.version;
    j["deleted"] = r.deleted;
    if (r.deleted) j["deleted_at"] = FormatRfc3339(r.deleted_at);
    j["created_by"] = r.created_by;
    j["created_name"] = r.created_name;
    // For exactly-once tests: the commit time (ms since the epoch; created_at has whole
    // seconds), the password the create generated and how its response went ("202", "500" or
    // "dropped", sent create_response_delay_ms late). A client received the password only
    // from a "202" that arrived before it gave up.
    j["created_ms"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(r.created.time_since_epoch()).count();
    j["password"] = r.password;
    j["create_response_code"] = r.create_response_code;
    j["create_response_delay_ms"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(r.create_response_delay).count();
    // The faults that shaped that response (a "malformed_truncate" 202 carried an unreadable
    // password) and its body's size.
    j["create_response_faults"] = r.create_response_faults;
    j["create_response_bytes"] = r.create_response_bytes;
    if (!r.source_instance_id.empty()) j["source_instance_id"] = r.source_instance_id;
    instances.push_back(std::move(j));
    ++counts[{r.tenant_id, r.created_name}];
  }
  json creations = json::array();
  int64_t max_count = 0;
  for (const auto& [key, n] : counts) {
    creations.push_back({{"tenant_id", key.first}, {"name", key.second}, {"count", n}});
    max_count = std::max(max_count, n);
  }
  return {
      {"instances", instances}, {"creations", creations}, {"max_creations_per_name", max_count}};
}

}  // namespace aura::simulator
