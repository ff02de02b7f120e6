#include "pkg/base/log.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <set>
#include <shared_mutex>
#include <vector>

namespace aura::base {
namespace {

std::shared_mutex& SecretsMu() {
  static auto* mu = new std::shared_mutex();
  return *mu;
}
std::set<std::string>& Secrets() {
  static auto* s = new std::set<std::string>();
  return *s;
}

std::string Rfc3339Millis(SystemTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::mutex& DefaultMu() {
  static auto* mu = new std::mutex();
  return *mu;
}
Logger*& DefaultPtr() {
  static Logger* logger = new Logger();
  return logger;
}
// Replaced default loggers stay reachable: other threads may still hold references to them.
std::vector<Logger*>& Retired() {
  static auto* v = new std::vector<Logger*>();
  return *v;
}

}  // namespace

StatusOr<LogLevel> ParseLogLevel(std::string_view s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "info") return LogLevel::kInfo;
  if (s == "warn" || s == "warning") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  return InvalidArgumentError("log level '" + std::string(s) +
                              "' is not one of debug, info, warn, error");
}

std::string_view LogLevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void RegisterSecret(std::string_view secret) {
  if (secret.size() < 4) return;
  // As it appears inside a JSON string (quotes, backslashes, control characters escaped).
  std::string escaped = nlohmann::json(std::string(secret))
                            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  escaped = escaped.size() >= 2 ? escaped.substr(1, escaped.size() - 2) : escaped;
  std::unique_lock<std::shared_mutex> g(SecretsMu());
  Secrets().emplace(secret);
  if (escaped != secret && escaped.size() >= 4) Secrets().emplace(std::move(escaped));
}

namespace {

bool SecretName(std::string_view name) {
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Where a secret is or what it is called, not the secret: token_file, token_url,
  // connection_secret_name.
  for (const char* where : {"file", "path", "dir", "url", "name", "names"}) {
    if (lower.ends_with(where)) return false;
  }
  for (const char* word : {"password", "secret", "token", "authorization"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

// Masks the string value of JSON members named like secrets: `"password" : "..."`.
void MaskSecretMembers(std::string* text) {
  std::string& t = *text;
  for (size_t open = t.find('"'); open != std::string::npos; open = t.find('"', open + 1)) {
    size_t close = open + 1;
    while (close < t.size() && t[close] != '"') close += t[close] == '\\' ? 2 : 1;
    if (close >= t.size()) return;
    const std::string_view name(t.data() + open + 1, close - open - 1);
    size_t p = close + 1;
    while (p < t.size() && (t[p] == ' ' || t[p] == '\t' || t[p] == '\n' || t[p] == '\r')) ++p;
    if (p >= t.size() || t[p] != ':' || !SecretName(name)) {
      open = close;
      continue;
    }
    ++p;
    while (p < t.size() && (t[p] == ' ' || t[p] == '\t' || t[p] == '\n' || t[p] == '\r')) ++p;
    if (p >= t.size() || t[p] != '"') {
      open = close;
      continue;
    }
    size_t end = p + 1;
    while (end < t.size() && t[end] != '"') end += t[end] == '\\' ? 2 : 1;
    // A value cut short (a truncated body) is masked to the end.
    const size_t stop = std::min(end, t.size());
    if (t.compare(p + 1, stop - p - 1, "[REDACTED]") != 0) {
      t.replace(p + 1, stop - p - 1, "[REDACTED]");
    }
    open = p + 1 + 10;
  }
}

}  // namespace

std::string Redact(std::string_view text) {
  std::string out(text);
  {
    std::shared_lock<std::shared_mutex> g(SecretsMu());
    for (const std::string& s : Secrets()) {
      for (size_t pos = out.find(s); pos != std::string::npos; pos = out.find(s, pos)) {
        out.replace(pos, s.size(), "[REDACTED]");
        pos += 10;
      }
    }
  }
  MaskSecretMembers(&out);
  return out;
}

Logger::Logger()
    : Logger(LogLevel::kInfo, LogFormat::kJson, [](std::string_view line) {
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fputc('\n', stderr);
        std::fflush(stderr);
      }) {}

Logger::Logger(LogLevel min_level, LogFormat format, Sink sink, const Clock* clock)
    : shared_(std::make_shared<Shared>()), fields_(nlohmann::json::object()) {
  shared_->min_level = min_level;
  shared_->format = format;
  shared_->sink = std::move(sink);
  shared_->clock = clock;
}

Logger::Logger(std::shared_ptr<Shared> shared, nlohmann::json fields)
    : shared_(std::move(shared)), fields_(std::move(fields)) {}

Logger Logger::With(nlohmann::json fields) const {
  nlohmann::json merged = fields_;
  if (fields.is_object()) merged.update(fields);
  return Logger(shared_, std::move(merged));
}

bool Logger::Enabled(LogLevel level) const { return level >= shared_->min_level; }

namespace {

// Redacts every string in `j` (keys named like secrets lose their values), before it is
// serialized: a secret is found as it is, not as JSON escaping changed it.
void RedactJson(nlohmann::json& j) {
  if (j.is_string()) {
    j = Redact(j.get_ref<const std::string&>());
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.value().is_string() && SecretName(it.key())) {
        it.value() = "[REDACTED]";
      } else {
        RedactJson(it.value());
      }
    }
  } else if (j.is_array()) {
    for (auto& v : j) RedactJson(v);
  }
}

}  // namespace

std::string Logger::Format(LogLevel level, std::string_view msg,
                           const nlohmann::json& fields) const {
  nlohmann::json all = fields_;
  if (fields.is_object()) all.update(fields);
  RedactJson(all);
  const std::string time = Rfc3339Millis(shared_->clock->SystemNow());
  if (shared_->format == LogFormat::kJson) {
    nlohmann::json line = nlohmann::json::object();
    line["time"] = time;
    line["level"] = LogLevelName(level);
    line["msg"] = Redact(msg);
    for (auto it = all.begin(); it != all.end(); ++it) line[it.key()] = it.value();
    // Replace invalid UTF-8 rather than throw: a log line must never take the process down.
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out = time.substr(11, 12);  // HH:MM:SS.mmm
  std::string lvl(LogLevelName(level));
  for (auto& c : lvl) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out += " " + lvl + " " + Redact(msg);
  for (auto it = all.begin(); it != all.end(); ++it) {
    out += " " + it.key() + "=";
    out += it.value().is_string()
               ? it.value().get<std::string>()
               : it.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return out;
}

void Logger::Log(LogLevel level, std::string_view msg, const nlohmann::json& fields) const {
  if (!Enabled(level)) return;
  std::string line = Redact(Format(level, msg, fields));
  std::lock_guard<std::mutex> g(shared_->mu);
  shared_->sink(line);
}

nlohmann::json StatusFields(const Status& s) {
  nlohmann::json f = nlohmann::json::object();
  if (s.ok()) return f;
  f["error"] = s.ToString();
  if (!s.request_id().empty()) f["request_id"] = s.request_id();
  return f;
}

const Logger& DefaultLogger() {
  std::lock_guard<std::mutex> g(DefaultMu());
  return *DefaultPtr();
}

void SetDefaultLogger(Logger logger) {
  std::lock_guard<std::mutex> g(DefaultMu());
  Retired().push_back(DefaultPtr());
  DefaultPtr() = new Logger(std::move(logger));
}

}  // namespace aura::base
