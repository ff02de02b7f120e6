// Tiny HTTP helpers for integration tests: one request, a JSON body, bounded polling, a free
// port. The client is a small blocking HTTP/1.1 client on POSIX sockets (one connection per
// request, "Connection: close"): it shares no code with the controller's Transport, so a test
// observes the simulator with something other than the code under test.
//
// Thread-safety: all functions may be called concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pkg/base/status.h"

namespace aura::test_harness {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  int status = 0;
  Headers headers;
  std::string body;
  nlohmann::json json;  // discarded() when the body is not JSON

  std::string Header(std::string_view name) const;
};

// One request to an http:// URL. Transport failures are the returned Status, with the reason
// the controller's Transport uses: "connect" (nothing sent: kUnavailable), "io" (sent, then
// the connection failed or closed before a whole response: kUnavailable), "timeout" (no whole
// response within `timeout`: kDeadlineExceeded).
[[nodiscard]] base::StatusOr<HttpResult> Http(
    const std::string& method, const std::string& url, const std::string& body = "",
    Headers headers = {}, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// GET/POST with a JSON body; any status other than 200 is an error carrying the body.
[[nodiscard]] base::StatusOr<nlohmann::json> GetJson(const std::string& url);
[[nodiscard]] base::StatusOr<nlohmann::json> PostJson(const std::string& url,
                                                      const nlohmann::json& body);

// An OAuth client-credentials token from `token_url`.
[[nodiscard]] base::StatusOr<std::string> FetchToken(const std::string& token_url,
                                                     const std::string& client_id,
                                                     const std::string& client_secret);

// Polls `done` every `every` until it returns true or `timeout` passes. For real-process tests
// only: engine tests use a FakeClock.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout,
             std::chrono::milliseconds every = std::chrono::milliseconds(20));

// A TCP port that was free on 127.0.0.1 a moment ago (for programs that cannot take port 0).
[[nodiscard]] base::StatusOr<int> PickFreePort();

// True when `s` has the shape of `pattern`: '9' a digit, 'x' a lowercase hex digit, 'A' an
// upper-case and 'a' a lower-case letter, '+' one or more digits; anything else itself.
// (std::regex trips GCC 12's -Wmaybe-uninitialized in sanitizer builds.)
inline bool HasShape(std::string_view s, std::string_view pattern) {
  size_t i = 0;
  for (char p : pattern) {
    auto digit = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
    if (p == '+') {
      if (!digit(i)) return false;
      while (digit(i)) ++i;
      continue;
    }
    if (i >= s.size()) return false;
    const char c = s[i++];
    const bool ok = p == '9'   ? (c >= '0' && c <= '9')
                    : p == 'x' ? ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
                    : p == 'A' ? (c >= 'A' && c <= 'Z')
                    : p == 'a' ? (c >= 'a' && c <= 'z')
                               : c == p;
    if (!ok) return false;
  }
  return i == s.size();
}

// "Basic base64(user:password)".
std::string BasicAuth(const std::string& user, const std::string& password);

}  // namespace aura::test_harness
