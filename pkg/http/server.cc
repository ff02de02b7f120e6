// The only file that includes cpprestsdk's listener (STYLE.md).
#include "pkg/http/server.h"

#include <arpa/inet.h>
#include <cpprest/http_listener.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>

namespace aura::http {
namespace {

using web::http::http_request;
using web::http::experimental::listener::http_listener;

// Port 0: ask the kernel for a free port on `host`, then release it for the listener
// (cpprestsdk registers listeners by URI, so two listeners on ":0" would collide, and it cannot
// say which port it bound). Racy against other processes: Open() retries.
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

class CpprestServer final : public Server {
 public:
  explicit CpprestServer(Handler handler) : handler_(std::move(handler)) {}
  ~CpprestServer() override { Stop(); }

  base::Status Open(const std::string& host, int port, const ServerTls& tls) {
    const bool pick = port == 0;
    const bool https = !tls.cert_file.empty();
    web::http::experimental::listener::http_listener_config config;
    if (https) {
      const std::string cert = tls.cert_file;
      const std::string key = tls.key_file;
      config.set_ssl_context_callback([cert, key](boost::asio::ssl::context& ctx) {
        ctx.set_options(boost::asio::ssl::context::default_workarounds |
                        boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                        boost::asio::ssl::context::no_tlsv1 |
                        boost::asio::ssl::context::no_tlsv1_1);
        ctx.use_certificate_chain_file(cert);
        ctx.use_private_key_file(key, boost::asio::ssl::context::pem);
      });
    }
    base::Status last;
    for (int attempt = 0; attempt < (pick ? 5 : 1); ++attempt) {
      if (pick) {
        AURA_ASSIGN_OR_RETURN(port, PickFreePort(host));
      }
      try {
        listener_ = std::make_unique<http_listener>(
            utility::conversions::to_string_t(std::string(https ? "https" : "http") + "://" + host +
                                              ":" + std::to_string(port) + "/"),
            config);
        listener_->support([this](http_request req) { Serve(std::move(req)); });
        listener_->open().wait();
        port_ = port;
        return base::Status();
      } catch (const std::exception& e) {
        listener_.reset();
        last = base::UnavailableError("cannot listen on " + host + ":" + std::to_string(port) +
                                      ": " + e.what());
      }
    }
    return last;
  }

  int port() const override { return port_; }

  bool AwaitReplies(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mu_);
    return replies_done_.wait_for(lock, timeout, [&] { return outstanding_ == 0; });
  }

  // Waits (up to 10 s) for handler calls and replies in progress: they use this object.
  void Stop() override {
    if (!listener_) return;
    try {
      listener_->close().wait();
    } catch (const std::exception&) {
      // Closing a listener that failed is not worth more than a shutdown.
    }
    listener_.reset();
    AwaitReplies(std::chrono::seconds(10));
  }

 private:
  void Serve(http_request req) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++outstanding_;  // this request's handler call, until its Respond has run
    }
    req.extract_vector().then([this, req](pplx::task<std::vector<unsigned char>> body) {
      ServerRequest r;
      try {
        std::vector<unsigned char> bytes = body.get();
        r.body.assign(bytes.begin(), bytes.end());
        r.method = req.method();
        r.path = web::uri::decode(req.relative_uri().path());
        r.raw_query = req.relative_uri().query();
        for (const auto& [k, v] : web::uri::split_query(r.raw_query)) {
          r.query[web::uri::decode(k)] = web::uri::decode(v);
        }
        for (const auto& [k, v] : req.headers()) r.headers.emplace_back(k, v);
      } catch (const std::exception& e) {
        Send(req, Reply{400, "text/plain", std::string("unreadable request: ") + e.what(), {}});
        ReplyDone();
        return;
      }
      handler_(std::move(r), [this, req](Reply reply) {
        Send(req, std::move(reply));
        ReplyDone();
      });
    });
  }

  void Send(http_request req, Reply reply) {
    try {
      web::http::http_response out(static_cast<web::http::status_code>(reply.status));
      for (const auto& [k, v] : reply.headers) {
        if (!EqualsIgnoreCase(k, "Content-Type")) out.headers().add(k, v);
      }
      if (!reply.body.empty()) {
        out.set_body(reply.body, reply.content_type);
      } else {
        out.headers().set_content_type(reply.content_type);
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++outstanding_;
      }
      req.reply(out).then([this](pplx::task<void> t) {
        try {
          t.get();
        } catch (const std::exception&) {
          // The client went away (or timed out) before the response: nothing to do.
        }
        ReplyDone();
      });
    } catch (const std::exception&) {
      // The connection is gone; nothing to answer.
    }
  }

  void ReplyDone() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--outstanding_ == 0) replies_done_.notify_all();
  }

  Handler handler_;
  std::unique_ptr<http_listener> listener_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable replies_done_;
  int outstanding_ = 0;  // GUARDED_BY(mu_): handler answers and replies not yet written
};

}  // namespace

std::string ServerRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return "";
}

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

base::StatusOr<std::unique_ptr<Server>> StartServer(const std::string& address, Handler handler) {
  return StartServer(address, std::move(handler), ServerTls{});
}

base::StatusOr<std::unique_ptr<Server>> StartServer(const std::string& address, Handler handler,
                                                    const ServerTls& tls) {
  std::string host;
  int port = 0;
  AURA_RETURN_IF_ERROR(ParseListenAddress(address, &host, &port));
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return base::InvalidArgumentError("TLS needs both a certificate and its key");
  }
  for (const std::string& f : {tls.cert_file, tls.key_file}) {
    if (!f.empty() && ::access(f.c_str(), R_OK) != 0) {
      return base::InvalidArgumentError("cannot read TLS file " + f);
    }
  }
  auto server = std::make_unique<CpprestServer>(std::move(handler));
  AURA_RETURN_IF_ERROR(server->Open(host, port, tls));
  return std::unique_ptr<Server>(std::move(server));
}

base::StatusOr<std::unique_ptr<Server>> StartServer(const std::string& address,
                                                    std::map<std::string, RouteHandler> routes) {
  auto table = std::make_shared<const std::map<std::string, RouteHandler>>(std::move(routes));
  return StartServer(address, [table](ServerRequest req, Respond respond) {
    auto it = table->find(req.path);
    if (it == table->end()) return respond(Reply{404, "text/plain", "not found\n", {}});
    if (req.method != "GET" && req.method != "HEAD") {
      return respond(Reply{405, "text/plain", "GET only\n", {}});
    }
    respond(it->second());
  });
}

}  // namespace aura::http
