// The only file of the simulator that includes cpprestsdk (STYLE.md).
#include "cmd/aura-simulator/http_server.h"

#include <cpprest/http_listener.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <set>

#include "cmd/aura-simulator/front_door.h"

namespace aura::simulator {
namespace {

using web::http::http_request;
using web::http::http_response;
using web::http::experimental::listener::http_listener;

// The TCP ports of this process's listening IPv4 sockets, by file descriptor.
std::set<std::pair<int, int>> ListeningSockets() {
  std::set<std::pair<int, int>> out;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return out;
  while (dirent* e = ::readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (fd <= 2) continue;
    int accepting = 0;
    socklen_t len = sizeof(accepting);
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting) {
      continue;
    }
    sockaddr_in addr{};
    socklen_t alen = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) == 0 &&
        addr.sin_family == AF_INET) {
      out.insert({fd, ntohs(addr.sin_port)});
    }
  }
  ::closedir(dir);
  return out;
}

class CpprestServer final : public HttpServer {
 public:
  CpprestServer(Engine* engine, ReplyScheduler* scheduler, base::Logger log)
      : engine_(engine), scheduler_(scheduler), log_(std::move(log)) {}

  base::Status Open() {
    // cpprestsdk binds port 0 happily but cannot say which port it got: find the one
    // listening socket that appeared.
    const auto before = ListeningSockets();
    try {
      listener_ = std::make_unique<http_listener>(U("http://127.0.0.1:0/"));
      listener_->support([this](http_request req) { Serve(std::move(req)); });
      listener_->open().wait();
    } catch (const std::exception& e) {
      return base::UnavailableError(std::string("cannot start the HTTP listener: ") + e.what());
    }
    for (const auto& s : ListeningSockets()) {
      if (!before.count(s)) port_ = s.second;
    }
    if (port_ == 0) return base::InternalError("cannot find the HTTP listener's port");
    return base::Status();
  }

  int port() const override { return port_; }

  bool AwaitReplies(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mu_);
    return replies_done_.wait_for(lock, timeout, [&] { return outstanding_ == 0; });
  }

  void Stop() override {
    if (!listener_) return;
    try {
      listener_->close().wait();
    } catch (const std::exception& e) {
      log_.Warn("closing the HTTP listener", {{"error", e.what()}});
    }
    listener_.reset();
  }

 private:
  void Serve(http_request req) {
    req.extract_vector().then([this, req](pplx::task<std::vector<unsigned char>> body) {
      SimRequest sim;
      try {
        std::vector<unsigned char> bytes = body.get();
        sim.body.assign(bytes.begin(), bytes.end());
        sim.method = req.method();
        sim.path = web::uri::decode(req.relative_uri().path());
        for (const auto& [k, v] : web::uri::split_query(req.relative_uri().query())) {
          sim.query[web::uri::decode(k)] = web::uri::decode(v);
        }
        for (const auto& [k, v] : req.headers()) sim.headers.emplace_back(k, v);
      } catch (const std::exception& e) {
        Send(req, 400, GatewayErrorBody(std::string("unreadable request: ") + e.what()),
             {{"Content-Type", "application/json"}, {"X-Request-Id", engine_->NewRequestId()}});
        return;
      }
      const base::TimePoint received = base::RealClock().Now();
      SimResponse resp = engine_->Handle(sim);
      if (log_.Enabled(base::LogLevel::kDebug)) {
        log_.Debug("request",
                   {{"method", sim.method},
                    {"path", sim.path},
                    {"route", resp.route},
                    {"status", resp.status},
                    {"request_id", resp.request_id},
                    {"delay_ms",
                     std::chrono::duration_cast<std::chrono::milliseconds>(resp.delay).count()},
                    {"dropped", resp.disposition == Disposition::kDropConnection},
                    {"faults", resp.faults}});
      }
      if (resp.delay.count() > 0) {
        scheduler_->At(received + resp.delay, [this, req, resp] { Reply(req, resp); });
      } else {
        Reply(req, resp);
      }
    });
  }

  void Reply(http_request req, const SimResponse& resp) {
    HeaderList headers = resp.headers;
    if (resp.disposition == Disposition::kDropConnection) headers.emplace_back(kDropHeader, "1");
    if (resp.trickle_chunk > 0) {
      headers.emplace_back(kTrickleHeader,
                           std::to_string(resp.trickle_chunk) + "/" +
                               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  resp.trickle_interval)
                                                  .count()));
    }
    Send(std::move(req), resp.status, resp.body, headers);
  }

  void Send(http_request req, int status, const std::string& body,
            const HeaderList& headers = {{"Content-Type", "application/json"}}) {
    try {
      http_response out(static_cast<web::http::status_code>(status));
      std::string content_type = "application/json";
      for (const auto& [k, v] : headers) {
        if (k == "Content-Type") {
          content_type = v;
        } else {
          out.headers().add(k, v);
        }
      }
      if (!body.empty()) {
        out.set_body(body, content_type);
      } else {
        out.headers().set_content_type(content_type);
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
    } catch (const std::exception& e) {
      log_.Warn("sending a response", {{"error", e.what()}});
    }
  }

  void ReplyDone() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--outstanding_ == 0) replies_done_.notify_all();
  }

  Engine* const engine_;
  ReplyScheduler* const scheduler_;
  base::Logger log_;
  std::unique_ptr<http_listener> listener_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable replies_done_;
  int outstanding_ = 0;  // GUARDED_BY(mu_): replies handed over but not yet written
};

}  // namespace

base::StatusOr<std::unique_ptr<HttpServer>> StartHttpServer(Engine* engine,
                                                            ReplyScheduler* scheduler,
                                                            base::Logger log) {
  auto server = std::make_unique<CpprestServer>(engine, scheduler, std::move(log));
  AURA_RETURN_IF_ERROR(server->Open());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace aura::simulator
