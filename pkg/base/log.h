// JSON-lines logging with secret redaction.
//
// Every line is one JSON object: {"time","level","msg", ...fields}. Fields carry the spec key,
// the action and the Aura X-Request-Id. A human format exists for terminals. Any string passed
// to RegisterSecret() (client secret, one-time passwords, tokens) is replaced by "[REDACTED]"
// in every line this logger writes, whatever field or message it hides in.
//
// Thread-safety: Logger is safe to use from many threads; each line is written atomically.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pkg/base/clock.h"
#include "pkg/base/status.h"

namespace aura::base {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kJson, kHuman };

// Parses "debug|info|warn|error".
StatusOr<LogLevel> ParseLogLevel(std::string_view s);
std::string_view LogLevelName(LogLevel l);

// Secrets registered here never appear in any log line. Strings shorter than 4 characters are
// ignored (they would redact ordinary words). Their JSON-escaped form is registered too, so a
// secret holding `"` or `\` is also found inside a serialized line.
void RegisterSecret(std::string_view secret);
// Replaces every registered secret in `text` with "[REDACTED]", and the value of every JSON
// member whose name says it is a secret ("password", "secret", "token", "client_secret",
// "access_token", "authorization", any letter case) even when nothing registered it: a body
// that echoes a password not seen yet (an error reply) shows no more than its shape.
std::string Redact(std::string_view text);

class Logger {
 public:
  // Receives one complete line without the trailing newline.
  using Sink = std::function<void(std::string_view line)>;

  // Writes to stderr.
  Logger();
  Logger(LogLevel min_level, LogFormat format, Sink sink, const Clock* clock = &RealClock());

  // Returns a logger that adds `fields` to every line (e.g. {"key": "shop/orders"}).
  Logger With(nlohmann::json fields) const;

  void Log(LogLevel level, std::string_view msg, const nlohmann::json& fields = {}) const;
  void Debug(std::string_view msg, const nlohmann::json& f = {}) const { Log(LogLevel::kDebug, msg, f); }
  void Info(std::string_view msg, const nlohmann::json& f = {}) const { Log(LogLevel::kInfo, msg, f); }
  void Warn(std::string_view msg, const nlohmann::json& f = {}) const { Log(LogLevel::kWarn, msg, f); }
  void Error(std::string_view msg, const nlohmann::json& f = {}) const { Log(LogLevel::kError, msg, f); }

  bool Enabled(LogLevel level) const;

 private:
  struct Shared {
    LogLevel min_level;
    LogFormat format;
    Sink sink;
    const Clock* clock;
    std::mutex mu;  // serializes sink calls
  };
  Logger(std::shared_ptr<Shared> shared, nlohmann::json fields);
  std::string Format(LogLevel level, std::string_view msg, const nlohmann::json& fields) const;

  std::shared_ptr<Shared> shared_;
  nlohmann::json fields_;
};

// Fields describing a Status: {"error": "...", "request_id": "..."} (request_id when known).
nlohmann::json StatusFields(const Status& s);

// The process-wide logger (stderr, JSON, info until SetDefaultLogger).
const Logger& DefaultLogger();
void SetDefaultLogger(Logger logger);

}  // namespace aura::base
