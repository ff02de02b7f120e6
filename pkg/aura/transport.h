// Transport: one HTTP exchange, in this project's own types. CpprestTransport is the only code
// that includes cpprestsdk's client; tests use fakes.
//
// Send() errors say whether the request can have reached the server:
//   reason "connect": it was not sent (DNS, connection refused, TLS handshake) -> safe to retry;
//   reason "timeout" (kDeadlineExceeded) or "io" (kUnavailable): it may have been sent and
//   processed -> a POST or PATCH is ambiguous.
//
// Thread-safety: Send() may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pkg/base/status.h"

namespace aura::api {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // GET, POST, PATCH, DELETE
  std::string url;     // absolute: scheme://host[:port]/path[?query]
  Headers headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
  // Case-insensitive lookup; "" when absent.
  std::string Header(std::string_view name) const;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual base::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

// CpprestTransport: TLS certificates are always verified. GET and DELETE reuse kept-alive
// connections (one pooled client per base URL and timeout); every other request gets a
// connection of its own, because cpprestsdk silently re-sends a request whose reused connection
// fails while the status line is read, which for a POST could create a second instance.
struct CpprestTransportOptions {
  // Plain http:// is refused for anything but loopback unless this is set.
  bool allow_insecure_http = false;
  // Not enforced separately yet: cpprestsdk has a single timer for the whole exchange, so
  // connecting is bounded by HttpRequest::timeout.
  std::chrono::milliseconds connect_timeout{10000};
  std::size_t max_response_bytes = 16 * 1024 * 1024;
  // TLS (https:// only), PEM files; empty = not used. `ca_file` is trusted in addition to the
  // system's CAs; `cert_file` + `key_file` present a client certificate (mutual TLS, e.g. to
  // etcd). A file that cannot be read fails each request with reason "connect".
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

std::unique_ptr<Transport> NewCpprestTransport(CpprestTransportOptions options = {});

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(std::string_view host);

// Checks a base URL: https, or http on loopback (or anywhere with allow_insecure).
base::Status CheckUrlAllowed(std::string_view url, bool allow_insecure_http);

}  // namespace aura::api
