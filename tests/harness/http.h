// Tiny HTTP helpers for integration tests: one request, a JSON body, bounded polling, a free
// port. They use pkg/aura's cpprestsdk Transport as a plain HTTP client (allowed in tests).
//
// Thread-safety: all functions may be called concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "pkg/aura/transport.h"
#include "pkg/base/status.h"

namespace aura::test_harness {

struct HttpResult {
  int status = 0;
  api::Headers headers;
  std::string body;
  nlohmann::json json;  // discarded() when the body is not JSON

  std::string Header(std::string_view name) const;
};

// One request. Transport failures (refused, reset, timeout) are the returned Status.
[[nodiscard]] base::StatusOr<HttpResult> Http(
    const std::string& method, const std::string& url, const std::string& body = "",
    api::Headers headers = {}, std::chrono::milliseconds timeout = std::chrono::seconds(10));

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

// "Basic base64(user:password)".
std::string BasicAuth(const std::string& user, const std::string& password);

}  // namespace aura::test_harness
