#include "pkg/simulator/flags.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

namespace aura::simulator {
namespace {

using nlohmann::json;

base::Status FlagError(const std::string& flag, const std::string& what) {
  return base::InvalidArgumentError("flag --" + flag + ": " + what);
}

base::StatusOr<double> ParseDouble(const std::string& flag, const std::string& v, double lo,
                                   double hi) {
  double d = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || p != v.data() + v.size() || !std::isfinite(d)) {
    return FlagError(flag, "'" + v + "' is not a number");
  }
  if (d < lo || d > hi) {
    return FlagError(flag,
                     v + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return d;
}

base::StatusOr<int64_t> ParseInt(const std::string& flag, const std::string& v, int64_t lo,
                                 int64_t hi) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) {
    return FlagError(flag, "'" + v + "' is not an integer");
  }
  if (n < lo || n > hi) {
    return FlagError(flag,
                     v + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return n;
}

// A duration: a number with an optional unit, ms, s, m, h or d ("0.5", "2s", "90m", "72h");
// without a unit, seconds, as every other *-seconds flag of the simulator.
base::StatusOr<base::Duration> ParseDurationFlag(const std::string& flag, const std::string& v) {
  size_t num_end = 0;
  while (num_end < v.size() &&
         (std::isdigit(static_cast<unsigned char>(v[num_end])) || v[num_end] == '.')) {
    ++num_end;
  }
  const std::string unit = v.substr(num_end);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  if (unit == "ms") scale = 0.001;
  if (unit == "m") scale = 60;
  if (unit == "h") scale = 3600;
  if (unit == "d") scale = 86400;
  if (scale == 0) {
    return FlagError(flag, "'" + v + "' is not a duration (a number with ms, s, m, h or d)");
  }
  AURA_ASSIGN_OR_RETURN(double n, ParseDouble(flag, v.substr(0, num_end), 0, 1e12));
  const double seconds = n * scale;
  if (seconds > 86400.0 * 365 * 100) return FlagError(flag, v + " is longer than 100 years");
  return std::chrono::duration_cast<base::Duration>(std::chrono::duration<double>(seconds));
}

base::Duration Seconds(double s) {
  return std::chrono::duration_cast<base::Duration>(std::chrono::duration<double>(s));
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

std::string Usage() {
  return R"(aura-simulator: a local Neo4j Aura API v1 with fault injection (see docs/SIMULATOR.md).

Serving:
  --listen HOST:PORT          address to serve on (default 127.0.0.1:8080; port 0 picks one).
                              The first stdout line is "listening on http://HOST:PORT".
  --state FILE                keep instances, snapshots and tokens in FILE across restarts
  --log-level LEVEL           debug|info|warn|error (default info; debug logs every request)
  --log-format FORMAT         json|human (default json), on stderr
  --omit-free-storage         GET of a free-db instance has no "storage" (the schema requires
                              it, its description says free instances lack it; default: 2GB)
Accounts:
  --tenant ID[=NAME]          a project (UUID); repeatable. Default: )" +
         std::string(kDefaultTenantId) + R"(
  --quota N                   live instances per project before POST gets 405 (default 1000)
  --tenant-quota ID=N         the quota of one project
  --missing-billing ID        POST /instances in this project gets 400 missing-billing-details
  --client-id ID              an accepted OAuth client; repeatable, each starts a new client
  --client-secret SECRET      the secret of the last --client-id
  --client-tenants ID,ID      the projects of the last --client-id (default: all)
                              Default client: sim-client / sim-secret, all projects.
  --token-ttl SECONDS         expires_in of issued tokens (default 3600)
Limits and timing:
  --rate-limit N              requests per client per window, token requests included
                              (default 125; profile real 25, a Free or unbilled trial account)
  --rate-window SECONDS       the sliding window (default 60)
  --retry-after-format F      seconds|http-date: how 429 and 5xx write Retry-After (seconds)
  --create-seconds S          creating -> running (default 3); fractions allowed
  --pause-seconds S           pausing -> paused (2)       --resume-seconds S   resuming -> running (2)
  --update-seconds S          updating -> running (2)     --destroy-seconds S  destroying -> gone (2)
  --restore-seconds S         restoring -> running (2)    --snapshot-seconds S InProgress -> Completed (2)
Faults (all reproducible from --seed; change them at run time with POST /_sim/faults):
  --seed N                    seed of every random choice (default 1)
  --faults JSON|@FILE         a fault configuration, the body POST /_sim/faults accepts
  --error-rate R              every Aura route answers 503 with probability R
  --latency-ms N              every response waits N ms more
  --list-lag-seconds S        new instances show in GET /v1/instances only after S seconds
  --create-fault MODE[:RATE]  a committed create then fails: 500|drop|timeout
  --create-timeout-seconds S  how late a "timeout" create answers (default 60)
  --token-expiry-seconds S    tokens stop working S seconds after issue (early expiry)
Profiles (docs/SIMULATOR_PROFILES.md; every setting below may still be changed by its flag):
  --profile P                 strict|real (default strict: the OpenAPI to the letter).
                              real plays the live service: lean, loose /v1 bodies (no
                              created_at, numbers for graph_nodes, nulls, an unknown field,
                              connection_url null when paused, business-critical CDC read back
                              as null), `resizing` for a memory/storage PATCH, and the defaults
                              --rate-limit 25 --token-limit 15 --token-window 1h
                              --free-idle-pause 72h --free-paused-delete 720h
                              --paid-paused-resume 720h --api-expires ")" +
         std::string(kRealApiExpires) + R"("
  --token-limit N             POST /oauth/token requests per client per token window, then 429
                              with Retry-After and {"error":"rate_limited",...} (0 = off;
                              default 0, real 15)
  --token-window D            the token limit's sliding window (default 1h)
  --free-idle-pause D         Aura pauses a free-db instance after D running without a PATCH,
                              pause or resume request (pausing -> paused; 0 = never; real 72h)
  --free-paused-delete D      Aura deletes a free-db instance paused for D (0 = never; real 720h)
  --paid-paused-resume D      Aura resumes any other instance paused for D (resuming -> running;
                              0 = never; real 720h)
  --api-expires TEXT          X-Tyk-Api-Expires on every /v1 response ("" = none; default none)
  Durations D: a number with a unit ms, s, m, h or d ("2s", "90m", "72h"); no unit = seconds.
Admin routes (never rate limited): GET /_sim/instances, /_sim/stats, /_sim/faults,
  /_sim/profile; POST /_sim/faults, /_sim/reset, /_sim/instances/ID/status {"status":"S"}
  (S is kept as is until the next call: "suspended" and "loading failed" refuse writes with
  400, other statuses with 409; "running" or "paused" return it to the normal lifecycle).
Other:
  --help (-h), --version
)";
}

base::StatusOr<ParsedFlags> ParseFlags(const std::vector<std::string>& args) {
  ParsedFlags out;
  SimulatorOptions& o = out.options;
  std::optional<int64_t> default_quota;
  std::map<std::string, int64_t> quotas;
  std::vector<std::string> missing_billing;
  json faults_json;
  std::optional<double> error_rate, list_lag, token_expiry;
  std::optional<int64_t> latency_ms;
  std::string create_fault;
  double create_timeout = 60;

  // The profile's defaults apply to what was not given explicitly, whatever the order.
  std::optional<Profile> profile;
  std::set<std::string> given;

  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "-h") {
      out.help = true;
      continue;
    }
    if (!arg.starts_with("--")) return base::InvalidArgumentError("unexpected argument: " + arg);
    std::string flag = arg.substr(2), value;
    bool has_value = false;
    if (auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    if (flag == "help") {
      out.help = true;
      continue;
    }
    if (flag == "version") {
      out.version = true;
      continue;
    }
    if (flag == "omit-free-storage") {
      o.omit_free_storage = true;
      continue;
    }
    static const std::set<std::string> kValued = {"listen",
                                                  "state",
                                                  "log-level",
                                                  "log-format",
                                                  "tenant",
                                                  "quota",
                                                  "tenant-quota",
                                                  "missing-billing",
                                                  "client-id",
                                                  "client-secret",
                                                  "client-tenants",
                                                  "token-ttl",
                                                  "rate-limit",
                                                  "rate-window",
                                                  "retry-after-format",
                                                  "create-seconds",
                                                  "pause-seconds",
                                                  "resume-seconds",
                                                  "update-seconds",
                                                  "destroy-seconds",
                                                  "restore-seconds",
                                                  "snapshot-seconds",
                                                  "seed",
                                                  "faults",
                                                  "error-rate",
                                                  "latency-ms",
                                                  "list-lag-seconds",
                                                  "token-expiry-seconds",
                                                  "create-fault",
                                                  "create-timeout-seconds",
                                                  "profile",
                                                  "token-limit",
                                                  "token-window",
                                                  "free-idle-pause",
                                                  "free-paused-delete",
                                                  "paid-paused-resume",
                                                  "api-expires"};
    if (!kValued.count(flag)) {
      return base::InvalidArgumentError("unknown flag --" + flag + " (see --help)");
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return FlagError(flag, "needs a value");
      value = args[++i];
    }
    given.insert(flag);
    if (flag == "listen") {
      auto colon = value.rfind(':');
      if (colon == std::string::npos || colon == 0) return FlagError(flag, "want HOST:PORT");
      AURA_RETURN_IF_ERROR(ParseInt(flag, value.substr(colon + 1), 0, 65535).status());
      o.listen = value;
    } else if (flag == "state") {
      o.state_file = value;
    } else if (flag == "log-level") {
      o.log_level = value;
    } else if (flag == "log-format") {
      if (value != "json" && value != "human") return FlagError(flag, "json or human");
      o.log_format = value;
    } else if (flag == "tenant") {
      TenantOptions t;
      auto eq = value.find('=');
      t.id = value.substr(0, eq);
      t.name = eq == std::string::npos ? "Project " + t.id.substr(0, 8) : value.substr(eq + 1);
      if (!IsUuid(t.id)) return FlagError(flag, "'" + t.id + "' is not a UUID");
      o.tenants.push_back(t);
    } else if (flag == "quota") {
      AURA_ASSIGN_OR_RETURN(default_quota, ParseInt(flag, value, 0, 1000000000));
    } else if (flag == "tenant-quota") {
      auto eq = value.find('=');
      if (eq == std::string::npos) return FlagError(flag, "want ID=N");
      AURA_ASSIGN_OR_RETURN(quotas[value.substr(0, eq)],
                            ParseInt(flag, value.substr(eq + 1), 0, 1000000000));
    } else if (flag == "missing-billing") {
      missing_billing.push_back(value);
    } else if (flag == "client-id") {
      if (value.empty()) return FlagError(flag, "must not be empty");
      o.clients.push_back({value, "", {}});
    } else if (flag == "client-secret" || flag == "client-tenants") {
      if (o.clients.empty()) return FlagError(flag, "must follow a --client-id");
      if (flag == "client-secret") {
        o.clients.back().secret = value;
      } else {
        o.clients.back().tenants = SplitComma(value);
      }
    } else if (flag == "token-ttl") {
      AURA_ASSIGN_OR_RETURN(double s, ParseDouble(flag, value, 1, 86400 * 365));
      o.token_ttl = Seconds(s);
    } else if (flag == "rate-limit") {
      AURA_ASSIGN_OR_RETURN(int64_t n, ParseInt(flag, value, 1, 1000000000));
      o.rate_limit = static_cast<int>(n);
    } else if (flag == "rate-window") {
      AURA_ASSIGN_OR_RETURN(double s, ParseDouble(flag, value, 0.001, 86400));
      o.rate_window = Seconds(s);
    } else if (flag == "retry-after-format") {
      if (value == "seconds") {
        o.retry_after_format = RetryAfterFormat::kDeltaSeconds;
      } else if (value == "http-date") {
        o.retry_after_format = RetryAfterFormat::kHttpDate;
      } else {
        return FlagError(flag, "seconds or http-date");
      }
    } else if (flag.ends_with("-seconds") &&
               (flag == "create-seconds" || flag == "pause-seconds" || flag == "resume-seconds" ||
                flag == "update-seconds" || flag == "destroy-seconds" ||
                flag == "restore-seconds" || flag == "snapshot-seconds")) {
      AURA_ASSIGN_OR_RETURN(double s, ParseDouble(flag, value, 0, 86400));
      base::Duration d = Seconds(s);
      if (flag == "create-seconds") o.durations.create = d;
      if (flag == "pause-seconds") o.durations.pause = d;
      if (flag == "resume-seconds") o.durations.resume = d;
      if (flag == "update-seconds") o.durations.update = d;
      if (flag == "destroy-seconds") o.durations.destroy = d;
      if (flag == "restore-seconds") o.durations.restore = d;
      if (flag == "snapshot-seconds") o.durations.snapshot = d;
    } else if (flag == "seed") {
      AURA_ASSIGN_OR_RETURN(int64_t n, ParseInt(flag, value, 0, INT64_MAX));
      o.seed = static_cast<uint64_t>(n);
    } else if (flag == "faults") {
      std::string text = value;
      if (value.starts_with("@")) {
        std::ifstream in(value.substr(1));
        if (!in) return FlagError(flag, "cannot read " + value.substr(1));
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
      }
      faults_json = json::parse(text, nullptr, false);
      if (faults_json.is_discarded() || !faults_json.is_object()) {
        return FlagError(flag, "not a JSON object");
      }
    } else if (flag == "error-rate") {
      AURA_ASSIGN_OR_RETURN(error_rate, ParseDouble(flag, value, 0, 1));
    } else if (flag == "latency-ms") {
      AURA_ASSIGN_OR_RETURN(latency_ms, ParseInt(flag, value, 0, 3600000));
    } else if (flag == "list-lag-seconds") {
      AURA_ASSIGN_OR_RETURN(list_lag, ParseDouble(flag, value, 0, 86400));
    } else if (flag == "token-expiry-seconds") {
      AURA_ASSIGN_OR_RETURN(token_expiry, ParseDouble(flag, value, 0, 86400 * 365));
    } else if (flag == "create-fault") {
      create_fault = value;
    } else if (flag == "create-timeout-seconds") {
      AURA_ASSIGN_OR_RETURN(create_timeout, ParseDouble(flag, value, 0, 86400));
    } else if (flag == "profile") {
      if (value == "strict") {
        profile = Profile::kStrict;
      } else if (value == "real") {
        profile = Profile::kReal;
      } else {
        return FlagError(flag, "strict or real");
      }
    } else if (flag == "token-limit") {
      AURA_ASSIGN_OR_RETURN(int64_t n, ParseInt(flag, value, 0, 1000000000));
      o.token_limit = static_cast<int>(n);
    } else if (flag == "token-window") {
      AURA_ASSIGN_OR_RETURN(o.token_window, ParseDurationFlag(flag, value));
      if (o.token_window <= base::Duration(0)) return FlagError(flag, "must be more than 0");
    } else if (flag == "free-idle-pause") {
      AURA_ASSIGN_OR_RETURN(o.free_idle_pause, ParseDurationFlag(flag, value));
    } else if (flag == "free-paused-delete") {
      AURA_ASSIGN_OR_RETURN(o.free_paused_delete, ParseDurationFlag(flag, value));
    } else if (flag == "paid-paused-resume") {
      AURA_ASSIGN_OR_RETURN(o.paid_paused_resume, ParseDurationFlag(flag, value));
    } else if (flag == "api-expires") {
      for (char c : value) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          return FlagError(flag, "control characters are not allowed in a header value");
        }
      }
      o.api_expires = value;
    } else {
      return base::InvalidArgumentError("unknown flag --" + flag + " (see --help)");
    }
  }
  if (profile) {
    const SimulatorOptions explicit_values = o;
    o.UseProfile(*profile);
    if (given.count("rate-limit")) o.rate_limit = explicit_values.rate_limit;
    if (given.count("token-limit")) o.token_limit = explicit_values.token_limit;
    if (given.count("token-window")) o.token_window = explicit_values.token_window;
    if (given.count("free-idle-pause")) o.free_idle_pause = explicit_values.free_idle_pause;
    if (given.count("free-paused-delete")) {
      o.free_paused_delete = explicit_values.free_paused_delete;
    }
    if (given.count("paid-paused-resume")) {
      o.paid_paused_resume = explicit_values.paid_paused_resume;
    }
    if (given.count("api-expires")) o.api_expires = explicit_values.api_expires;
  }

  for (const auto& c : o.clients) {
    if (c.secret.empty()) return FlagError("client-secret", "missing for client " + c.id);
  }
  o.ApplyDefaults();
  for (auto& t : o.tenants) {
    if (default_quota) t.instance_quota = static_cast<int>(*default_quota);
    if (auto it = quotas.find(t.id); it != quotas.end()) {
      t.instance_quota = static_cast<int>(it->second);
      quotas.erase(it);
    }
    for (const auto& id : missing_billing) t.missing_billing = t.missing_billing || id == t.id;
  }
  if (!quotas.empty()) return FlagError("tenant-quota", "unknown project " + quotas.begin()->first);
  for (const auto& c : o.clients) {
    for (const auto& t : c.tenants) {
      bool known = false;
      for (const auto& k : o.tenants) known = known || k.id == t;
      if (!known) return FlagError("client-tenants", "unknown project " + t);
    }
  }

  // Shorthand fault flags first, then --faults on top.
  json shorthand = json::object();
  if (error_rate) {
    shorthand["errors"] = json::array({{{"route", "*"}, {"rate", *error_rate}, {"status", 503}}});
  }
  if (latency_ms) shorthand["latency"] = json::array({{{"route", "*"}, {"ms", *latency_ms}}});
  if (list_lag) shorthand["list_lag_seconds"] = *list_lag;
  if (token_expiry) shorthand["token_expiry_seconds"] = *token_expiry;
  if (!create_fault.empty()) {
    auto colon = create_fault.find(':');
    json cf = {{"mode", create_fault.substr(0, colon)}, {"delay_seconds", create_timeout}};
    if (colon != std::string::npos) {
      AURA_ASSIGN_OR_RETURN(double rate,
                            ParseDouble("create-fault", create_fault.substr(colon + 1), 0, 1));
      cf["rate"] = rate;
    }
    shorthand["create_failure"] = cf;
  }
  auto base = ParseFaults(shorthand);
  if (!base.ok()) return base.status();
  if (!faults_json.is_null()) {
    base = ParseFaults(faults_json, *base);
    if (!base.ok()) return base.status().WithContext("flag --faults");
  }
  o.faults = std::move(base).value();
  o.faults.seed.reset();
  o.faults.expire_tokens_now = false;
  return out;
}

}  // namespace aura::simulator
