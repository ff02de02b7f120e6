// Server: an HTTP/1.1 listener on cpprestsdk's http_listener, for the controller's own endpoint
// (/metrics, /healthz, /readyz), the simulator and the test peers (a fake Kubernetes API).
// server.cc is the only file that includes the listener.
//
// A Handler gets each request with its body read whole, and answers it through a Respond
// callback that may be called later and from any thread (the simulator delays replies); it
// must be called exactly once. Headers given in Reply::headers are sent as they are, apart from
// Content-Type, which comes from Reply::content_type.
//
// Thread-safety: handlers run on the listener's threads, concurrently; they must be
// thread-safe. Start/Stop from one thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "pkg/base/status.h"
#include "pkg/http/transport.h"

namespace aura::http {

struct Reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  Headers headers;  // extra response headers
};

struct ServerRequest {
  std::string method;                        // "GET", "POST", ...
  std::string path;                          // percent-decoded, without the query
  std::string raw_query;                     // as sent, without '?'
  std::map<std::string, std::string> query;  // decoded
  Headers headers;
  std::string body;

  // Case-insensitive; "" when absent.
  std::string Header(std::string_view name) const;
};

using Respond = std::function<void(Reply)>;
using Handler = std::function<void(ServerRequest, Respond)>;

class Server {
 public:
  virtual ~Server() = default;
  virtual int port() const = 0;
  // Waits up to `timeout` until every reply handed to the listener has been written out.
  // Returns false on timeout.
  virtual bool AwaitReplies(std::chrono::milliseconds timeout) = 0;
  // Stops accepting and closes every connection. Idempotent.
  virtual void Stop() = 0;
};

// Serves `handler` at `address`: ":9090" (every interface), "127.0.0.1:9090", or port 0 to
// pick a free one (port() says which).
[[nodiscard]] base::StatusOr<std::unique_ptr<Server>> StartServer(const std::string& address,
                                                                  Handler handler);

// HTTPS: a PEM certificate chain and its private key (TLS 1.2 or later). Test peers use it (the
// fake Kubernetes API: clients such as kubectl send bearer tokens only over TLS).
struct ServerTls {
  std::string cert_file;
  std::string key_file;
};
[[nodiscard]] base::StatusOr<std::unique_ptr<Server>> StartServer(const std::string& address,
                                                                  Handler handler,
                                                                  const ServerTls& tls);

// GET (and HEAD) on `routes` (exact paths); other paths get 404, other methods 405.
using RouteHandler = std::function<Reply()>;
[[nodiscard]] base::StatusOr<std::unique_ptr<Server>> StartServer(
    const std::string& address, std::map<std::string, RouteHandler> routes);

// Splits "host:port" / ":port"; host defaults to 0.0.0.0.
[[nodiscard]] base::Status ParseListenAddress(const std::string& address, std::string* host,
                                              int* port);

}  // namespace aura::http
