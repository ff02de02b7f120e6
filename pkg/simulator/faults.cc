#include "pkg/simulator/faults.h"

#include <chrono>
#include <set>

namespace aura::simulator {
namespace {

using nlohmann::json;

base::Status Bad(std::string_view where, std::string_view what) {
  return base::InvalidArgumentError("faults: " + std::string(where) + ": " + std::string(what));
}

base::Status CheckKeys(const json& j, std::string_view where,
                       std::initializer_list<std::string_view> allowed) {
  if (!j.is_object()) return Bad(where, "must be an object");
  for (const auto& [k, v] : j.items()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == k;
    if (!ok) return Bad(where, "unknown key '" + k + "'");
  }
  return base::Status();
}

base::Status GetNumber(const json& j, std::string_view key, std::string_view where, double lo,
                       double hi, double* out) {
  auto it = j.find(key);
  if (it == j.end()) return base::Status();
  if (!it->is_number()) return Bad(where, std::string(key) + " must be a number");
  double v = it->get<double>();
  if (v < lo || v > hi) {
    return Bad(where, std::string(key) + " must be within [" + std::to_string(lo) + ", " +
                          std::to_string(hi) + "]");
  }
  *out = v;
  return base::Status();
}

base::Status GetInt(const json& j, std::string_view key, std::string_view where, int64_t lo,
                    int64_t hi, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end()) return base::Status();
  if (!it->is_number_integer()) return Bad(where, std::string(key) + " must be an integer");
  int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) {
    return Bad(where, std::string(key) + " must be within [" + std::to_string(lo) + ", " +
                          std::to_string(hi) + "]");
  }
  *out = v;
  return base::Status();
}

base::StatusOr<FaultRule> ParseRule(const json& j, std::string_view where) {
  FaultRule r;
  if (auto it = j.find("route"); it != j.end()) {
    if (!it->is_string() || it->get<std::string>().empty()) {
      return Bad(where, "route must be a non-empty string");
    }
    r.route = it->get<std::string>();
  }
  AURA_RETURN_IF_ERROR(GetNumber(j, "rate", where, 0, 1, &r.rate));
  AURA_RETURN_IF_ERROR(GetInt(j, "count", where, -1, INT64_MAX, &r.count));
  return r;
}

json RuleJson(const FaultRule& r) {
  json j = {{"route", r.route}, {"rate", r.rate}};
  if (r.count >= 0) j["count"] = r.count;
  return j;
}

template <typename T, typename F>
base::StatusOr<std::vector<T>> ParseList(const json& j, std::string_view key, F parse_one) {
  if (!j.is_array()) return Bad(key, "must be an array of objects");
  std::vector<T> out;
  for (size_t i = 0; i < j.size(); ++i) {
    std::string where = std::string(key) + "[" + std::to_string(i) + "]";
    AURA_ASSIGN_OR_RETURN(T item, parse_one(j[i], where));
    out.push_back(std::move(item));
  }
  return out;
}

base::StatusOr<ErrorFault> ParseError(const json& j, const std::string& where) {
  AURA_RETURN_IF_ERROR(CheckKeys(j, where, {"route", "rate", "count", "status", "retry_after"}));
  ErrorFault f;
  AURA_ASSIGN_OR_RETURN(f.rule, ParseRule(j, where));
  int64_t status = f.status;
  AURA_RETURN_IF_ERROR(GetInt(j, "status", where, 500, 599, &status));
  f.status = static_cast<int>(status);
  if (j.contains("retry_after") && !j["retry_after"].is_null()) {
    int64_t ra = 0;
    AURA_RETURN_IF_ERROR(GetInt(j, "retry_after", where, 0, 86400, &ra));
    f.retry_after_seconds = static_cast<int>(ra);
  }
  return f;
}

base::StatusOr<LatencyFault> ParseLatency(const json& j, const std::string& where) {
  AURA_RETURN_IF_ERROR(CheckKeys(j, where, {"route", "rate", "count", "ms", "jitter_ms"}));
  LatencyFault f;
  AURA_ASSIGN_OR_RETURN(f.rule, ParseRule(j, where));
  AURA_RETURN_IF_ERROR(GetInt(j, "ms", where, 0, 3600000, &f.ms));
  AURA_RETURN_IF_ERROR(GetInt(j, "jitter_ms", where, 0, 3600000, &f.jitter_ms));
  return f;
}

base::StatusOr<ThrottleFault> ParseThrottle(const json& j, const std::string& where) {
  AURA_RETURN_IF_ERROR(CheckKeys(j, where, {"route", "rate", "count", "retry_after"}));
  ThrottleFault f;
  AURA_ASSIGN_OR_RETURN(f.rule, ParseRule(j, where));
  int64_t ra = f.retry_after_seconds;
  AURA_RETURN_IF_ERROR(GetInt(j, "retry_after", where, 0, 86400, &ra));
  f.retry_after_seconds = static_cast<int>(ra);
  return f;
}

base::StatusOr<MalformedFault> ParseMalformed(const json& j, const std::string& where) {
  AURA_RETURN_IF_ERROR(CheckKeys(j, where, {"route", "rate", "count", "mode", "bytes"}));
  MalformedFault f;
  AURA_ASSIGN_OR_RETURN(f.rule, ParseRule(j, where));
  if (auto it = j.find("mode"); it != j.end()) {
    std::string m = it->is_string() ? it->get<std::string>() : "";
    if (m == "truncate") {
      f.mode = MalformedMode::kTruncate;
    } else if (m == "wrong_types") {
      f.mode = MalformedMode::kWrongTypes;
    } else if (m == "missing_fields") {
      f.mode = MalformedMode::kMissingFields;
    } else if (m == "huge") {
      f.mode = MalformedMode::kHuge;
    } else {
      return Bad(where,
                 "mode must be \"truncate\", \"wrong_types\", \"missing_fields\" or \"huge\"");
    }
  }
  AURA_RETURN_IF_ERROR(GetInt(j, "bytes", where, 0, int64_t{1} << 30, &f.bytes));
  return f;
}

base::StatusOr<TrickleFault> ParseTrickle(const json& j, const std::string& where) {
  AURA_RETURN_IF_ERROR(
      CheckKeys(j, where, {"route", "rate", "count", "chunk_bytes", "interval_ms"}));
  TrickleFault f;
  AURA_ASSIGN_OR_RETURN(f.rule, ParseRule(j, where));
  AURA_RETURN_IF_ERROR(GetInt(j, "chunk_bytes", where, 1, int64_t{1} << 20, &f.chunk_bytes));
  AURA_RETURN_IF_ERROR(GetInt(j, "interval_ms", where, 0, 60000, &f.interval_ms));
  return f;
}

base::StatusOr<CreateFault> ParseCreate(const json& j) {
  const std::string where = "create_failure";
  AURA_RETURN_IF_ERROR(CheckKeys(j, where, {"mode", "rate", "count", "delay_seconds"}));
  CreateFault f;
  std::string m = j.contains("mode") && j["mode"].is_string() ? j["mode"].get<std::string>() : "";
  if (m == "500") {
    f.mode = CreateFailMode::k500;
  } else if (m == "drop") {
    f.mode = CreateFailMode::kDrop;
  } else if (m == "timeout") {
    f.mode = CreateFailMode::kTimeout;
  } else {
    return Bad(where, "mode must be \"500\", \"drop\" or \"timeout\"");
  }
  AURA_RETURN_IF_ERROR(GetNumber(j, "rate", where, 0, 1, &f.rate));
  AURA_RETURN_IF_ERROR(GetInt(j, "count", where, -1, INT64_MAX, &f.count));
  AURA_RETURN_IF_ERROR(GetNumber(j, "delay_seconds", where, 0, 86400, &f.delay_seconds));
  return f;
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

bool RouteMatches(std::string_view pattern, std::string_view route) {
  return pattern == "*" || pattern == route;
}

}  // namespace

std::string_view CreateFailModeName(CreateFailMode m) {
  switch (m) {
    case CreateFailMode::k500:
      return "500";
    case CreateFailMode::kDrop:
      return "drop";
    case CreateFailMode::kTimeout:
      return "timeout";
  }
  return "?";
}

std::string_view MalformedModeName(MalformedMode m) {
  switch (m) {
    case MalformedMode::kTruncate:
      return "truncate";
    case MalformedMode::kWrongTypes:
      return "wrong_types";
    case MalformedMode::kMissingFields:
      return "missing_fields";
    case MalformedMode::kHuge:
      return "huge";
  }
  return "?";
}

base::StatusOr<FaultConfig> ParseFaults(const json& j, const FaultConfig& base) {
  AURA_RETURN_IF_ERROR(
      CheckKeys(j, "body",
                {"clear", "seed", "errors", "latency", "throttle", "create_failure", "malformed",
                 "trickle", "token_expiry_seconds", "expire_tokens_now", "list_lag_seconds"}));
  FaultConfig out = base;
  out.expire_tokens_now = false;
  out.seed.reset();
  if (auto it = j.find("clear"); it != j.end()) {
    if (!it->is_boolean()) return Bad("clear", "must be a boolean");
    if (it->get<bool>()) out = FaultConfig();
  }
  if (auto it = j.find("seed"); it != j.end()) {
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
      return Bad("seed", "must be a non-negative integer");
    }
    out.seed = it->get<uint64_t>();
  }
  if (auto it = j.find("errors"); it != j.end()) {
    AURA_ASSIGN_OR_RETURN(out.errors, ParseList<ErrorFault>(*it, "errors", ParseError));
  }
  if (auto it = j.find("latency"); it != j.end()) {
    AURA_ASSIGN_OR_RETURN(out.latency, ParseList<LatencyFault>(*it, "latency", ParseLatency));
  }
  if (auto it = j.find("throttle"); it != j.end()) {
    AURA_ASSIGN_OR_RETURN(out.throttle, ParseList<ThrottleFault>(*it, "throttle", ParseThrottle));
  }
  if (auto it = j.find("malformed"); it != j.end()) {
    AURA_ASSIGN_OR_RETURN(out.malformed,
                          ParseList<MalformedFault>(*it, "malformed", ParseMalformed));
  }
  if (auto it = j.find("trickle"); it != j.end()) {
    AURA_ASSIGN_OR_RETURN(out.trickle, ParseList<TrickleFault>(*it, "trickle", ParseTrickle));
  }
  if (auto it = j.find("create_failure"); it != j.end()) {
    if (it->is_null()) {
      out.create_failure.reset();
    } else {
      AURA_ASSIGN_OR_RETURN(out.create_failure, ParseCreate(*it));
    }
  }
  if (auto it = j.find("token_expiry_seconds"); it != j.end()) {
    if (it->is_null()) {
      out.token_expiry_seconds.reset();
    } else {
      double v = 0;
      AURA_RETURN_IF_ERROR(
          GetNumber(j, "token_expiry_seconds", "token_expiry_seconds", 0, 86400 * 365, &v));
      out.token_expiry_seconds = v;
    }
  }
  if (auto it = j.find("expire_tokens_now"); it != j.end()) {
    if (!it->is_boolean()) return Bad("expire_tokens_now", "must be a boolean");
    out.expire_tokens_now = it->get<bool>();
  }
  AURA_RETURN_IF_ERROR(
      GetNumber(j, "list_lag_seconds", "list_lag_seconds", 0, 86400, &out.list_lag_seconds));
  return out;
}

json FaultsToJson(const FaultConfig& f) {
  json j = json::object();
  j["errors"] = json::array();
  for (const auto& e : f.errors) {
    json x = RuleJson(e.rule);
    x["status"] = e.status;
    if (e.retry_after_seconds) x["retry_after"] = *e.retry_after_seconds;
    j["errors"].push_back(x);
  }
  j["latency"] = json::array();
  for (const auto& l : f.latency) {
    json x = RuleJson(l.rule);
    x["ms"] = l.ms;
    x["jitter_ms"] = l.jitter_ms;
    j["latency"].push_back(x);
  }
  j["throttle"] = json::array();
  for (const auto& t : f.throttle) {
    json x = RuleJson(t.rule);
    x["retry_after"] = t.retry_after_seconds;
    j["throttle"].push_back(x);
  }
  j["malformed"] = json::array();
  for (const auto& m : f.malformed) {
    json x = RuleJson(m.rule);
    x["mode"] = MalformedModeName(m.mode);
    if (m.mode == MalformedMode::kHuge) x["bytes"] = m.bytes;
    j["malformed"].push_back(x);
  }
  j["trickle"] = json::array();
  for (const auto& t : f.trickle) {
    json x = RuleJson(t.rule);
    x["chunk_bytes"] = t.chunk_bytes;
    x["interval_ms"] = t.interval_ms;
    j["trickle"].push_back(x);
  }
  if (f.create_failure) {
    const auto& c = *f.create_failure;
    j["create_failure"] = {
        {"mode", CreateFailModeName(c.mode)}, {"rate", c.rate}, {"delay_seconds", c.delay_seconds}};
    if (c.count >= 0) j["create_failure"]["count"] = c.count;
  } else {
    j["create_failure"] = nullptr;
  }
  j["token_expiry_seconds"] =
      f.token_expiry_seconds ? json(*f.token_expiry_seconds) : json(nullptr);
  j["list_lag_seconds"] = f.list_lag_seconds;
  return j;
}

FaultInjector::FaultInjector(uint64_t seed, FaultConfig config) : seed_(seed) {
  Configure(std::move(config));
}

void FaultInjector::Configure(FaultConfig config) {
  if (config.seed) {
    seed_ = *config.seed;
    streams_.clear();
  }
  config_ = std::move(config);
}

std::mt19937_64& FaultInjector::Stream(std::string_view kind, std::string_view route) {
  std::string key = std::string(kind) + "|" + std::string(route);
  auto it = streams_.find(key);
  if (it == streams_.end()) {
    it = streams_.emplace(key, std::mt19937_64(seed_ ^ Fnv1a(key))).first;
  }
  return it->second;
}

bool FaultInjector::Draw(std::string_view kind, std::string_view route, double rate) {
  if (rate >= 1.0) return true;
  if (rate <= 0.0) return false;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  return u(Stream(kind, route)) < rate;
}

bool FaultInjector::Fire(FaultRule& rule, std::string_view kind, std::string_view route) {
  if (rule.count == 0 || !RouteMatches(rule.route, route)) return false;
  if (!Draw(kind, route, rule.rate)) return false;
  if (rule.count > 0) --rule.count;
  return true;
}

const ThrottleFault* FaultInjector::Throttle(std::string_view route) {
  for (auto& t : config_.throttle) {
    if (Fire(t.rule, "throttle", route)) return &t;
  }
  return nullptr;
}

const ErrorFault* FaultInjector::Error(std::string_view route) {
  for (auto& e : config_.errors) {
    if (Fire(e.rule, "error", route)) return &e;
  }
  return nullptr;
}

const MalformedFault* FaultInjector::Malformed(std::string_view route) {
  for (auto& m : config_.malformed) {
    if (Fire(m.rule, "malformed", route)) return &m;
  }
  return nullptr;
}

const CreateFault* FaultInjector::CreateFailure() {
  if (!config_.create_failure) return nullptr;
  CreateFault& c = *config_.create_failure;
  if (c.count == 0 || !Draw("create", "POST /v1/instances", c.rate)) return nullptr;
  if (c.count > 0) --c.count;
  return &c;
}

const TrickleFault* FaultInjector::Trickle(std::string_view route) {
  for (auto& t : config_.trickle) {
    if (Fire(t.rule, "trickle", route)) return &t;
  }
  return nullptr;
}

std::chrono::milliseconds FaultInjector::Latency(std::string_view route) {
  std::chrono::milliseconds total{0};
  for (auto& l : config_.latency) {
    if (!Fire(l.rule, "latency", route)) continue;
    int64_t ms = l.ms;
    if (l.jitter_ms > 0) {
      std::uniform_int_distribution<int64_t> u(0, l.jitter_ms);
      ms += u(Stream("jitter", route));
    }
    total += std::chrono::milliseconds(ms);
  }
  return total;
}

}  // namespace aura::simulator
