// HttpServer: the controller's own endpoint (/metrics, /healthz, /readyz), on cpprestsdk's
// listener. This file pair is the only place in pkg/ that includes the listener.
//
// Handlers run on the listener's threads and must be thread-safe and quick.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "pkg/base/status.h"

namespace aura::metrics {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpReply()>;
  virtual ~HttpServer() = default;
  virtual int port() const = 0;
  virtual void Stop() = 0;
};

// Serves GET on `routes` (exact paths) at `address`: ":9090" (every interface),
// "127.0.0.1:9090", or port 0 to pick a free one. Other paths get 404, other methods 405.
base::StatusOr<std::unique_ptr<HttpServer>> StartHttpServer(
    const std::string& address, std::map<std::string, HttpServer::Handler> routes);

// Splits "host:port" / ":port"; host defaults to 0.0.0.0.
base::Status ParseListenAddress(const std::string& address, std::string* host, int* port);

}  // namespace aura::metrics
