#include "cmd/aura-controller/config.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>

#include "pkg/etcd/etcd_client.h"

namespace aura::cmd {
namespace {

using base::InvalidArgumentError;
using base::Status;

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cur = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
      prev = cur;
    }
  }
  return row[b.size()];
}

struct Flag {
  bool boolean;
  std::function<Status(const std::string&)> set;
  const char* env;  // environment fallback, or nullptr
};

Status SetInt(const std::string& flag, const std::string& v, int lo, int hi, int* out) {
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < lo || n > hi) {
    return InvalidArgumentError(flag + ": found \"" + v + "\"; allowed: a whole number from " +
                                std::to_string(lo) + " to " + std::to_string(hi));
  }
  *out = static_cast<int>(n);
  return Status();
}

Status SetDuration(const std::string& flag, const std::string& v, std::chrono::milliseconds* out) {
  auto d = ParseDuration(v);
  if (!d.ok()) return InvalidArgumentError(flag + ": " + d.status().message());
  *out = *d;
  return Status();
}

Status SetChoice(const std::string& flag, const std::string& v,
                 std::initializer_list<const char*> allowed, std::string* out) {
  std::string list;
  for (const char* a : allowed) {
    if (v == a) {
      *out = v;
      return Status();
    }
    list += std::string(list.empty() ? "" : ", ") + a;
  }
  return InvalidArgumentError(flag + ": found \"" + v + "\"; allowed: " + list);
}

void SplitInto(const std::string& v, std::vector<std::string>* out) {
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    std::string part = Trim(v.substr(start, comma - start));
    if (!part.empty()) out->push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

std::map<std::string, Flag> Flags(Config* c) {
  auto str = [](std::string* out) {
    return [out](const std::string& v) {
      *out = v;
      return Status();
    };
  };
  auto dur = [](const char* name, std::chrono::milliseconds* out) {
    return [name, out](const std::string& v) { return SetDuration(name, v, out); };
  };
  auto num = [](const char* name, int lo, int hi, int* out) {
    return [=](const std::string& v) { return SetInt(name, v, lo, hi, out); };
  };
  auto on = [](bool* out) {
    return [out](const std::string& v) {
      if (v == "" || v == "true" || v == "1") {
        *out = true;
      } else if (v == "false" || v == "0") {
        *out = false;
      } else {
        return InvalidArgumentError("found \"" + v + "\"; allowed: true, false");
      }
      return Status();
    };
  };
  return {
      {"api-url", {false, str(&c->api_url), "AURA_API_URL"}},
      {"token-url", {false, str(&c->token_url), "AURA_TOKEN_URL"}},
      {"client-id", {false, str(&c->client_id), "AURA_CLIENT_ID"}},
      {"credentials-file", {false, str(&c->credentials_file), "AURA_CREDENTIALS_FILE"}},
      {"insecure-http-aura", {true, on(&c->insecure_http_aura), nullptr}},
      {"insecure-http-etcd", {true, on(&c->insecure_http_etcd), nullptr}},
      {"insecure-http",
       {true,
        [](const std::string&) {
          return InvalidArgumentError(
              "was split per endpoint: use --insecure-http-aura (the Aura API and token URLs) "
              "and/or --insecure-http-etcd (the etcd endpoints of --state)");
        },
        nullptr}},
      {"request-timeout", {false, dur("--request-timeout", &c->request_timeout), nullptr}},
      {"specs",
       {false,
        [c](const std::string& v) {
          SplitInto(v, &c->specs);
          return Status();
        },
        "AURA_SPECS"}},
      {"state", {false, str(&c->state), "AURA_STATE"}},
      {"credentials-dir", {false, str(&c->credentials_dir), "AURA_CREDENTIALS_DIR"}},
      {"metrics-addr", {false, str(&c->metrics_addr), "AURA_METRICS_ADDR"}},
      {"lease-ttl", {false, dur("--lease-ttl", &c->lease_ttl), "AURA_LEASE_TTL"}},
      {"etcd-ca", {false, str(&c->etcd_ca), "AURA_ETCD_CA"}},
      {"etcd-cert", {false, str(&c->etcd_cert), "AURA_ETCD_CERT"}},
      {"etcd-key", {false, str(&c->etcd_key), "AURA_ETCD_KEY"}},
      {"credentials-key-file",
       {false,
        [c](const std::string& v) {
          SplitInto(v, &c->credentials_key_files);
          return Status();
        },
        "AURA_CREDENTIALS_KEY_FILE"}},
      {"identity", {false, str(&c->identity), "AURA_IDENTITY"}},
      {"rate-limit",
       {false,
        [c](const std::string& v) {
          c->rate_limit_explicit = true;
          return SetInt("--rate-limit", v, 1, 100000, &c->rate_limit);
        },
        "AURA_RATE_LIMIT"}},
      {"token-cache", {false, str(&c->token_cache), "AURA_TOKEN_CACHE"}},
      {"token-cooldown", {false, dur("--token-cooldown", &c->token_cooldown), nullptr}},
      {"rate-window", {false, dur("--rate-window", &c->rate_window), "AURA_RATE_WINDOW"}},
      {"rate-margin", {false, num("--rate-margin", 0, 100000, &c->rate_margin), nullptr}},
      {"resync", {false, dur("--resync", &c->resync), "AURA_RESYNC"}},
      {"settle-window", {false, dur("--settle-window", &c->settle_window), nullptr}},
      {"poll-interval", {false, dur("--poll-interval", &c->poll_interval), nullptr}},
      {"poll-max", {false, dur("--poll-max", &c->poll_max), nullptr}},
      {"spec-poll", {false, dur("--spec-poll", &c->spec_poll), nullptr}},
      {"drift-share",
       {false,
        [c](const std::string& v) {
          char* end = nullptr;
          double d = std::strtod(v.c_str(), &end);
          if (v.empty() || *end != '\0' || !(d >= 0 && d <= 1)) {
            return InvalidArgumentError("--drift-share: found \"" + v +
                                        "\"; allowed: a number from 0 to 1");
          }
          c->drift_share = d;
          return Status();
        },
        nullptr}},
      {"workers", {false, num("--workers", 1, 64, &c->workers), nullptr}},
      {"connection-secrets", {true, on(&c->connection_secrets), "AURA_CONNECTION_SECRETS"}},
      {"kube-api-url", {false, str(&c->kube_api_url), "AURA_KUBE_API_URL"}},
      {"kube-token-file", {false, str(&c->kube_token_file), "AURA_KUBE_TOKEN_FILE"}},
      {"kube-ca-file", {false, str(&c->kube_ca_file), "AURA_KUBE_CA_FILE"}},
      {"allow-delete", {true, on(&c->allow_delete), nullptr}},
      {"max-deletes", {false, num("--max-deletes", 0, 100000, &c->max_deletes), nullptr}},
      {"wait", {true, on(&c->wait), nullptr}},
      {"snapshot", {false, str(&c->snapshot_id), nullptr}},
      {"instance-id", {false, str(&c->instance_id), nullptr}},
      {"yes", {true, on(&c->yes), nullptr}},
      {"from", {false, str(&c->from), nullptr}},
      {"all", {true, on(&c->all), nullptr}},
      {"to", {false, str(&c->migrate_to), nullptr}},
      {"etcd", {false, str(&c->etcd_url), nullptr}},
      {"rebind-state", {true, on(&c->rebind_state), nullptr}},
      {"allow-core-dumps", {true, on(&c->allow_core_dumps), nullptr}},
      {"timeout", {false, dur("--timeout", &c->timeout), nullptr}},
      {"unreachable-after", {false, dur("--unreachable-after", &c->unreachable_after), nullptr}},
      {"tenant", {false, str(&c->import_tenant), nullptr}},
      {"namespace", {false, str(&c->import_namespace), nullptr}},
      {"output-dir", {false, str(&c->import_output_dir), nullptr}},
      {"output",
       {false,
        [c](const std::string& v) {
          return SetChoice("--output", v, {"table", "json"}, &c->output);
        },
        nullptr}},
      {"log-level",
       {false,
        [c](const std::string& v) {
          c->log_level_set = true;
          return SetChoice("--log-level", v, {"debug", "info", "warn", "error"}, &c->log_level);
        },
        "AURA_LOG_LEVEL"}},
      {"log-format",
       {false,
        [c](const std::string& v) {
          return SetChoice("--log-format", v, {"auto", "json", "human"}, &c->log_format);
        },
        "AURA_LOG_FORMAT"}},
  };
}

const std::map<std::string, Command>& Commands() {
  static const auto* m = new std::map<std::string, Command>{{"run", Command::kRun},
                                                            {"plan", Command::kPlan},
                                                            {"apply", Command::kApply},
                                                            {"validate", Command::kValidate},
                                                            {"status", Command::kStatus},
                                                            {"version", Command::kVersion},
                                                            {"credentials", Command::kCredentials},
                                                            {"import", Command::kImport},
                                                            {"state", Command::kState},
                                                            {"tenants", Command::kTenants},
                                                            {"snapshot", Command::kSnapshot},
                                                            {"restore", Command::kRestore},
                                                            {"overwrite", Command::kOverwrite},
                                                            {"help", Command::kHelp}};
  return *m;
}

// The etcd backend's flags, checked together; fills the identity default.
Status CheckHa(Config* c) {
  if (!IsEtcdState(*c)) return Status();
  auto target = etcd::ParseEtcdUrl(c->state);
  if (!target.ok()) return target.status();
  const bool tls = c->state.rfind("etcds://", 0) == 0;
  if (!tls && (!c->etcd_ca.empty() || !c->etcd_cert.empty() || !c->etcd_key.empty())) {
    return InvalidArgumentError(
        "--etcd-ca, --etcd-cert and --etcd-key need TLS: write the --state as etcds://...");
  }
  if (c->etcd_cert.empty() != c->etcd_key.empty()) {
    return InvalidArgumentError(
        "--etcd-cert and --etcd-key go together (a client certificate "
        "and its private key)");
  }
  if (c->lease_ttl < std::chrono::seconds(1) || c->lease_ttl > std::chrono::hours(1)) {
    return InvalidArgumentError("--lease-ttl: allowed: 1s to 1h (etcd leases are whole seconds)");
  }
  if (c->lease_ttl % std::chrono::seconds(1) != std::chrono::milliseconds(0)) {
    return InvalidArgumentError("--lease-ttl: etcd leases are whole seconds (e.g. 15s)");
  }
  if (c->identity.empty()) {
    char host[256] = {0};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
      std::snprintf(host, sizeof host, "unknown-host");
    }
    c->identity = std::string(host) + " pid " + std::to_string(::getpid());
  }
  return Status();
}

}  // namespace

bool IsEtcdState(const Config& c) { return etcd::IsEtcdUrl(c.state); }

base::StatusOr<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  std::string t = Trim(text);
  size_t num_end = 0;
  while (num_end < t.size() &&
         (std::isdigit(static_cast<unsigned char>(t[num_end])) || t[num_end] == '.')) {
    ++num_end;
  }
  const std::string num = t.substr(0, num_end);
  const std::string unit = t.substr(num_end);
  char* end = nullptr;
  const double v = std::strtod(num.c_str(), &end);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  if (unit == "ms") scale = 1;
  if (unit == "m") scale = 60000;
  if (unit == "h") scale = 3600000;
  if (num.empty() || *end != '\0' || scale == 0 || !std::isfinite(v) || v * scale > 1e12) {
    return InvalidArgumentError("found \"" + text +
                                "\"; allowed: a duration such as 90, 90s, 1.5s, 250ms, 5m, 1h");
  }
  return std::chrono::milliseconds(static_cast<long long>(std::llround(v * scale)));
}

base::Status ReadCredentialsFile(const std::string& path, std::string* id, std::string* secret) {
  std::ifstream in(path);
  if (!in) return InvalidArgumentError("cannot read credentials file " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    line = Trim(line);
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  for (const auto& line : lines) {
    size_t sep = line.find_first_of("=:");
    if (sep == std::string::npos) continue;
    std::string key;
    for (char ch : line.substr(0, sep)) {
      if (std::isalnum(static_cast<unsigned char>(ch))) {
        key += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
    }
    const std::string value = Trim(line.substr(sep + 1));
    if (key == "clientid" || key == "auraclientid") *id = value;
    if (key == "clientsecret" || key == "auraclientsecret") *secret = value;
  }
  if (secret->empty() && lines.size() == 1 && lines[0].find_first_of("=:") == std::string::npos) {
    *secret = lines[0];
  }
  if (secret->empty()) {
    return InvalidArgumentError("credentials file " + path +
                                " holds no client secret: expected client_secret=... or "
                                "\"Client Secret: ...\" lines, or the secret alone");
  }
  return Status();
}

base::StatusOr<Config> ParseConfig(const std::vector<std::string>& argv) {
  Config c;
  if (argv.empty()) {
    c.command = Command::kHelp;
    return c;
  }
  size_t i = 0;
  const std::string first = argv[0];
  if (first == "--help" || first == "-h") {
    c.command = Command::kHelp;
    return c;
  }
  if (first == "--version") {
    c.command = Command::kVersion;
    return c;
  }
  auto cmd = Commands().find(first);
  if (cmd == Commands().end()) {
    std::string best;
    size_t dist = 99;
    for (const auto& [name, _] : Commands()) {
      if (size_t d = EditDistance(first, name); d < dist) {
        dist = d;
        best = name;
      }
    }
    return InvalidArgumentError(
        "unknown command \"" + first + "\"" +
        (dist <= 2 ? "; did you mean \"" + best + "\"?" : "") +
        " (commands: run, plan, apply, validate, status, credentials, import, state, tenants, "
        "snapshot, restore, overwrite, version)");
  }
  c.command = cmd->second;
  ++i;
  auto flags = Flags(&c);
  std::map<std::string, bool> seen;
  for (; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--help" || a == "-h") {
      c.help = true;
      continue;
    }
    if (a == "--") {
      for (++i; i < argv.size(); ++i) c.args.push_back(argv[i]);
      break;
    }
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      c.args.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "client-secret") {
      return InvalidArgumentError(
          "--client-secret is not accepted: a flag shows in `ps` and shell history. Set "
          "AURA_CLIENT_SECRET or use --credentials-file");
    }
    auto f = flags.find(name);
    if (f == flags.end()) {
      std::string best;
      size_t dist = 99;
      for (const auto& [n, _] : flags) {
        if (size_t d = EditDistance(name, n); d < dist) {
          dist = d;
          best = n;
        }
      }
      return InvalidArgumentError("unknown flag --" + name +
                                  (dist <= 3 ? "; did you mean --" + best + "?" : "") +
                                  " (see --help)");
    }
    if (!has_value && !f->second.boolean) {
      if (i + 1 >= argv.size()) return InvalidArgumentError("--" + name + " needs a value");
      value = argv[++i];
    }
    Status s = f->second.set(value);
    if (!s.ok()) {
      return InvalidArgumentError(
          s.message().rfind("--", 0) == 0 ? s.message() : "--" + name + ": " + s.message());
    }
    seen[name] = true;
  }
  // Environment for what flags did not set.
  for (auto& [name, f] : flags) {
    if (seen[name] || f.env == nullptr) continue;
    const std::string v = Env(f.env);
    if (v.empty()) continue;
    if (Status s = f.set(v); !s.ok()) {
      return InvalidArgumentError(std::string(f.env) + " (environment): " + s.message());
    }
  }
  // Positional arguments are spec paths, except for the commands that take names or ids.
  const bool args_are_specs = c.command != Command::kCredentials && c.command != Command::kState &&
                              c.command != Command::kTenants && c.command != Command::kSnapshot &&
                              c.command != Command::kRestore && c.command != Command::kOverwrite;
  for (const auto& a : c.args) {
    if (args_are_specs) c.specs.push_back(a);
  }
  c.client_secret = Env("AURA_CLIENT_SECRET");
  if (!c.credentials_file.empty() && !c.help) {  // --help reads no file
    std::string id;
    std::string secret;
    AURA_RETURN_IF_ERROR(ReadCredentialsFile(c.credentials_file, &id, &secret));
    if (c.client_id.empty()) c.client_id = id;
    if (c.client_secret.empty()) c.client_secret = secret;
  }
  if (c.rate_margin >= c.rate_limit) {
    return InvalidArgumentError("--rate-margin (" + std::to_string(c.rate_margin) +
                                ") must be below --rate-limit (" + std::to_string(c.rate_limit) +
                                ")");
  }
  if (c.rate_window.count() <= 0) return InvalidArgumentError("--rate-window must be positive");
  AURA_RETURN_IF_ERROR(CheckHa(&c));
  return c;
}

std::string SidecarPath(const std::string& state, const std::string& what) {
  const std::string ext = ".json";
  if (state.size() > ext.size() && state.compare(state.size() - ext.size(), ext.size(), ext) == 0) {
    return state.substr(0, state.size() - ext.size()) + "." + what + ".json";
  }
  return state + "." + what + ".json";
}

std::string StatusFilePath(const std::string& state) { return SidecarPath(state, "status"); }

std::string TokenCachePath(const Config& c) {
  if (c.token_cache == "none") return "";
  if (!c.token_cache.empty()) return c.token_cache;
  return IsEtcdState(c) ? "" : SidecarPath(c.state, "token");
}

}  // namespace aura::cmd
