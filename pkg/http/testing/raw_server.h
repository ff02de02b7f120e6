// RawServer: a hostile HTTP peer for tests, on a raw loopback socket. It accepts connections one
// at a time, reads the request head, writes `head` (status line and headers, as given) and then
// `body_bytes` bytes of `fill` in 64 KiB writes, stopping early when the client goes away, then
// closes. It counts connections and bytes written, so tests can tell how much a client read.
//
// Header-only; tests only. Thread-safety: the accessors may be called from any thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aura::http::testing {

class RawServer {
 public:
  RawServer(std::string head, std::uint64_t body_bytes, char fill = 'x')
      : head_(std::move(head)), body_bytes_(body_bytes), fill_(fill) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
  }
  ~RawServer() {
    thread_.request_stop();
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int connections() const { return connections_.load(); }
  std::uint64_t bytes_written() const { return written_.load(); }
  // The request heads received, in order.
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> g(mu_);
    return requests_;
  }

 private:
  void Loop(std::stop_token stop) {
    while (!stop.stop_requested()) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++connections_;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard<std::mutex> g(mu_);
        requests_.push_back(req.substr(0, req.find("\r\n\r\n")));
      }
      if (Write(c, head_.data(), head_.size())) {
        std::string chunk(64 * 1024, fill_);
        std::uint64_t left = body_bytes_;
        while (left > 0 && !stop.stop_requested()) {
          const size_t n = static_cast<size_t>(std::min<std::uint64_t>(left, chunk.size()));
          if (!Write(c, chunk.data(), n)) break;
          left -= n;
        }
      }
      ::shutdown(c, SHUT_RDWR);
      ::close(c);
    }
  }
  bool Write(int c, const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::send(c, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      written_ += static_cast<std::uint64_t>(w);
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  const std::string head_;
  const std::uint64_t body_bytes_;
  const char fill_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<std::uint64_t> written_{0};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;  // GUARDED_BY(mu_)
  std::jthread thread_;
};

}  // namespace aura::http::testing
