// Transport: one HTTP exchange, in this project's own types, below every client (Aura, etcd,
// Kubernetes). CpprestTransport (cpprest_transport.cc) is the only client code that includes
// cpprestsdk; tests use FakeTransport (fake_transport.h) or their own fakes.
//
// Send() errors say whether the request can have reached the server:
//   reason "connect": it was not sent (DNS, connection refused, TLS handshake) -> safe to retry;
//   reason "timeout" (kDeadlineExceeded) or "io" (kUnavailable): it may have been sent and
//   processed -> a POST or PATCH is ambiguous;
//   reason "url" (kInvalidArgument): the URL was refused before anything was sent (url.h);
//   reason "too_large" (kUnavailable): the response was bigger than the limit (it was sent).
// A response that arrived carries its X-Request-Id in every error about it (RequestIdOf).
//
// Thread-safety: Send() may be called concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pkg/base/status.h"

namespace aura::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // GET, POST, PATCH, PUT, DELETE
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

// ASCII case-insensitive equality (header names, token types).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// The request id a server gave a response: X-Request-Id (Aura, most gateways), else Audit-Id
// (the Kubernetes API server); "" when none.
std::string RequestIdOf(const HttpResponse& response);

// CpprestTransport: TLS certificates are always verified; redirects are never followed (a 3xx is
// returned as a response, and clients treat it as an error naming the Location's host: a
// followed redirect would carry credentials to another host and turn a POST into a GET). GET
// and DELETE reuse kept-alive connections (one pooled client per origin and timeout); every
// other request gets a connection of its own, because cpprestsdk silently re-sends a request
// whose reused connection fails while the status line is read, which for a POST could create a
// second instance.
struct TransportOptions {
  // Plain http:// is refused for anything but loopback unless this is set (url.h). Each
  // endpoint family (Aura, etcd, Kubernetes) has a transport of its own and its own permission.
  bool allow_plain_http = false;
  // Not enforced separately: cpprestsdk has a single timer for the whole exchange, so
  // connecting is bounded by HttpRequest::timeout.
  std::chrono::milliseconds connect_timeout{10000};
  // Bodies are streamed and reading stops at this many bytes: a Content-Length above it is
  // refused before the body is read, and a body without one stops growing at the limit. Memory
  // held per response is at most this plus one chunk.
  std::size_t max_response_bytes = 16 * 1024 * 1024;
  // TLS (https:// only), PEM files; empty = not used. `ca_file`, when given, REPLACES the
  // system's CAs (a private etcd or API server CA must not widen trust to every public CA, nor
  // the reverse); `cert_file` + `key_file` present a client certificate (mutual TLS, e.g. to
  // etcd). A file that cannot be read fails each request with reason "connect".
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

std::unique_ptr<Transport> NewCpprestTransport(TransportOptions options = {});

}  // namespace aura::http
