#include "cmd/aura-simulator/front_door.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace aura::simulator {
namespace {

constexpr size_t kChunk = 16 * 1024;
constexpr size_t kMaxHeaderBytes = 1024 * 1024;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool SendAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Appends what one read() returns to `buf`; false on EOF or error.
bool ReadSome(int fd, std::string* buf) {
  char tmp[kChunk];
  for (;;) {
    ssize_t n = ::read(fd, tmp, sizeof(tmp));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf->append(tmp, static_cast<size_t>(n));
    return true;
  }
}

// The value of `name` (lower case) in a header block, or "" when absent.
std::string HeaderValue(const std::string& lower_head, std::string_view name) {
  std::string key = "\r\n" + std::string(name) + ":";
  size_t pos = lower_head.find(key);
  if (pos == std::string::npos) return "";
  size_t start = pos + key.size();
  size_t end = lower_head.find("\r\n", start);
  std::string v = lower_head.substr(start, end - start);
  v.erase(0, v.find_first_not_of(' '));
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

void SetNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

base::StatusOr<std::unique_ptr<FrontDoor>> FrontDoor::Start(const std::string& host, int port,
                                                            int upstream_port, base::Logger log) {
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  std::string port_str = std::to_string(port);
  if (int rc = ::getaddrinfo(bare.c_str(), port_str.c_str(), &hints, &res); rc != 0) {
    return base::InvalidArgumentError("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  int fd = -1;
  std::string error = "no address";
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 512) == 0) break;
    error = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  if (fd < 0) {
    return base::UnavailableError("cannot listen on " + host + ":" + port_str + ": " + error);
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int bound = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return std::unique_ptr<FrontDoor>(new FrontDoor(fd, bound, upstream_port, std::move(log)));
}

FrontDoor::FrontDoor(int listen_fd, int port, int upstream_port, base::Logger log)
    : listen_fd_(listen_fd), port_(port), upstream_port_(upstream_port), log_(std::move(log)) {
  if (::pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
  acceptor_ = std::jthread([this](std::stop_token stop) { AcceptLoop(stop); });
}

FrontDoor::~FrontDoor() {
  Stop();
  if (wake_[0] >= 0) ::close(wake_[0]);
  if (wake_[1] >= 0) ::close(wake_[1]);
}

void FrontDoor::AcceptLoop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int n = ::poll(fds, wake_[0] >= 0 ? 2 : 1, 500);
    Reap(false);
    if (n <= 0 || !(fds[0].revents & POLLIN)) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    Serve(client);
  }
}

void FrontDoor::Serve(int client_fd) {
  int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (up < 0 || ::connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    log_.Error("front door cannot reach the listener", {{"error", std::strerror(errno)}});
    if (up >= 0) ::close(up);
    ::close(client_fd);
    return;
  }
  SetNoDelay(client_fd);
  SetNoDelay(up);
  auto conn = std::make_unique<Conn>();
  conn->client = client_fd;
  conn->upstream = up;
  Conn* c = conn.get();
  std::lock_guard<std::mutex> lock(mu_);
  conns_.push_back(std::move(conn));
  c->to_upstream = std::thread([this, c] { ClientToUpstream(c); });
  c->to_client = std::thread([this, c] { UpstreamToClient(c); });
}

void FrontDoor::ClientToUpstream(Conn* c) {
  std::string buf;
  while (!c->drop.load()) {
    buf.clear();
    if (!ReadSome(c->client, &buf)) break;
    if (c->drop.load() || !SendAll(c->upstream, buf.data(), buf.size())) break;
  }
  ::shutdown(c->upstream, SHUT_WR);
  Finish(c);
}

void FrontDoor::UpstreamToClient(Conn* c) {
  std::string buf;
  enum { kHead, kBody, kRaw } state = kHead;
  size_t body_left = 0;
  bool open = true;
  while (open) {
    if (state == kHead) {
      size_t end = buf.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (buf.size() > kMaxHeaderBytes) {
          state = kRaw;
        } else {
          open = ReadSome(c->upstream, &buf);
        }
        continue;
      }
      const std::string head = buf.substr(0, end + 4);
      const std::string lower = Lower(head);
      if (!HeaderValue(lower, Lower(kDropHeader)).empty()) {
        c->drop.store(true);
        log_.Debug("dropping a connection without a response");
        break;
      }
      if (HeaderValue(lower, "transfer-encoding").find("chunked") != std::string::npos) {
        state = kRaw;
        continue;
      }
      body_left = static_cast<size_t>(std::atoll(HeaderValue(lower, "content-length").c_str()));
      const std::string trickle = HeaderValue(lower, Lower(kTrickleHeader));
      if (!trickle.empty()) {
        // Forward the head without the trickle header, then read the whole body and send it
        // slowly.
        std::string out = head;
        const std::string key = "\r\n" + Lower(kTrickleHeader) + ":";
        const size_t at = lower.find(key);
        out.erase(at, lower.find("\r\n", at + key.size()) - at);
        if (!SendAll(c->client, out.data(), out.size())) break;
        buf.erase(0, head.size());
        while (buf.size() < body_left && (open = ReadSome(c->upstream, &buf))) {
        }
        const size_t n = std::min(body_left, buf.size());
        const size_t chunk = std::max<size_t>(1, std::strtoull(trickle.c_str(), nullptr, 10));
        const size_t slash = trickle.find('/');
        const std::chrono::milliseconds interval(
            slash == std::string::npos ? 0 : std::atoll(trickle.c_str() + slash + 1));
        if (!Trickle(c, buf.data(), n, chunk, interval)) break;
        buf.erase(0, n);
        body_left = 0;
        state = kHead;
        continue;
      }
      if (!SendAll(c->client, head.data(), head.size())) break;
      buf.erase(0, head.size());
      state = kBody;
    } else if (state == kBody) {
      size_t n = std::min(body_left, buf.size());
      if (n > 0 && !SendAll(c->client, buf.data(), n)) break;
      buf.erase(0, n);
      body_left -= n;
      if (body_left == 0) {
        state = kHead;
      } else {
        open = ReadSome(c->upstream, &buf);
      }
    } else {
      if (!buf.empty() && !SendAll(c->client, buf.data(), buf.size())) break;
      buf.clear();
      open = ReadSome(c->upstream, &buf);
    }
  }
  if (c->drop.load()) {
    // Wake the other direction; the connection is reset when both are done (Finish).
    ::shutdown(c->client, SHUT_RD);
    ::shutdown(c->upstream, SHUT_RDWR);
  } else {
    ::shutdown(c->client, SHUT_WR);
  }
  {
    std::lock_guard<std::mutex> g(mu_);
    c->forwarded.store(true);
    conn_finished_.notify_all();
  }
  Finish(c);
}

bool FrontDoor::Trickle(Conn* c, const char* data, size_t n, size_t chunk,
                        std::chrono::milliseconds interval) {
  for (size_t sent = 0; sent < n;) {
    if (sent > 0) {
      // Sleep in short slices so that Stop() is not held up by a slow trickle.
      const auto until = std::chrono::steady_clock::now() + interval;
      while (std::chrono::steady_clock::now() < until) {
        if (stopping_.load()) return false;
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
      }
    }
    const size_t k = std::min(chunk, n - sent);
    if (!SendAll(c->client, data + sent, k)) return false;
    sent += k;
  }
  return true;
}

void FrontDoor::Finish(Conn* c) {
  if (c->finished.fetch_add(1) + 1 < 2) return;
  {
    std::lock_guard<std::mutex> lock(c->mu);
    if (c->drop.load()) {
      linger l{1, 0};  // close() sends RST instead of FIN
      ::setsockopt(c->client, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    ::close(c->client);
    ::close(c->upstream);
    c->closed = true;
  }
  // Lock order: mu_ before Conn::mu (Stop); never both here.
  std::lock_guard<std::mutex> g(mu_);
  conn_finished_.notify_all();
}

void FrontDoor::Reap(bool all) {
  std::list<std::unique_ptr<Conn>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (all || (*it)->finished.load() == 2) {
        done.push_back(std::move(*it));
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : done) {
    if (c->to_upstream.joinable()) c->to_upstream.join();
    if (c->to_client.joinable()) c->to_client.join();
  }
}

void FrontDoor::StopAccepting() {
  if (!acceptor_.joinable()) return;
  acceptor_.request_stop();
  if (wake_[1] >= 0) {
    char b = 1;
    (void)!::write(wake_[1], &b, 1);
  }
  acceptor_.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
}

void FrontDoor::Stop(std::chrono::milliseconds grace) {
  StopAccepting();
  {
    std::unique_lock<std::mutex> lock(mu_);
    conn_finished_.wait_for(lock, grace, [&] {
      return std::all_of(conns_.begin(), conns_.end(),
                         [](const auto& c) { return c->forwarded.load(); });
    });
    stopping_.store(true);  // trickles still going end now
    for (auto& c : conns_) {
      std::lock_guard<std::mutex> g(c->mu);
      if (c->closed) continue;
      ::shutdown(c->client, SHUT_RDWR);
      ::shutdown(c->upstream, SHUT_RDWR);
    }
  }
  Reap(true);
}

}  // namespace aura::simulator
