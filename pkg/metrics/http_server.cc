#include "pkg/metrics/http_server.h"

#include <arpa/inet.h>
#include <cpprest/http_listener.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace aura::metrics {
namespace {

using web::http::http_request;
using web::http::methods;
using web::http::experimental::listener::http_listener;

// Port 0: ask the kernel for a free port on `host`, then release it for the listener.
base::StatusOr<int> PickFreePort(const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return base::UnavailableError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) addr.sin_addr.s_addr = INADDR_ANY;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return base::UnavailableError("could not find a free port on " + host);
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

class CpprestServer final : public HttpServer {
 public:
  CpprestServer(int port, std::map<std::string, Handler> routes)
      : port_(port), routes_(std::move(routes)) {}
  ~CpprestServer() override { Stop(); }

  base::Status Start(const std::string& host) {
    try {
      listener_ = std::make_unique<http_listener>(
          utility::conversions::to_string_t("http://" + host + ":" + std::to_string(port_)));
      listener_->support([this](http_request req) { Handle(std::move(req)); });
      listener_->open().wait();
      open_ = true;
      return base::Status();
    } catch (const std::exception& e) {
      return base::UnavailableError("cannot listen on " + host + ":" + std::to_string(port_) +
                                    ": " + e.what());
    }
  }

  int port() const override { return port_; }

  void Stop() override {
    if (!open_) return;
    open_ = false;
    try {
      listener_->close().wait();
    } catch (const std::exception&) {
      // Closing a listener that failed is not worth more than a shutdown.
    }
  }

 private:
  void Handle(http_request req) {
    try {
      const std::string path = utility::conversions::to_utf8string(req.relative_uri().path());
      auto it = routes_.find(path);
      if (it == routes_.end()) {
        req.reply(web::http::status_codes::NotFound, "not found\n").wait();
        return;
      }
      if (req.method() != methods::GET && req.method() != methods::HEAD) {
        req.reply(web::http::status_codes::MethodNotAllowed, "GET only\n").wait();
        return;
      }
      HttpReply r = it->second();
      web::http::http_response resp(static_cast<web::http::status_code>(r.status));
      resp.set_body(r.body, r.content_type);
      req.reply(resp).wait();
    } catch (const std::exception&) {
      // The client went away; nothing to answer.
    }
  }

  int port_;
  std::map<std::string, Handler> routes_;
  std::unique_ptr<http_listener> listener_;
  bool open_ = false;
};

}  // namespace

base::Status ParseListenAddress(const std::string& address, std::string* host, int* port) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    return base::InvalidArgumentError("listen address '" + address +
                                      "' must be host:port or :port");
  }
  *host = colon == 0 ? "0.0.0.0" : address.substr(0, colon);
  const std::string p = address.substr(colon + 1);
  char* end = nullptr;
  const long v = std::strtol(p.c_str(), &end, 10);
  if (p.empty() || *end != '\0' || v < 0 || v > 65535) {
    return base::InvalidArgumentError("listen address '" + address + "': port '" + p +
                                      "' is not a number from 0 to 65535");
  }
  *port = static_cast<int>(v);
  return base::Status();
}

base::StatusOr<std::unique_ptr<HttpServer>> StartHttpServer(
    const std::string& address, std::map<std::string, HttpServer::Handler> routes) {
  std::string host;
  int port = 0;
  AURA_RETURN_IF_ERROR(ParseListenAddress(address, &host, &port));
  if (port == 0) {
    AURA_ASSIGN_OR_RETURN(port, PickFreePort(host));
  }
  auto server = std::make_unique<CpprestServer>(port, std::move(routes));
  AURA_RETURN_IF_ERROR(server->Start(host));
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace aura::metrics
