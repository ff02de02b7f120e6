#include "tests/harness/http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <thread>

namespace aura::test_harness {
namespace {

using Clock = std::chrono::steady_clock;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

base::Status Io(const std::string& what) { return base::UnavailableError(what).SetReason("io"); }

base::Status Timeout(const std::string& what) {
  return base::DeadlineExceededError(what).SetReason("timeout");
}

// Waits until `fd` is ready for `events` or the deadline passes.
base::Status AwaitFd(int fd, short events, Clock::time_point deadline, const char* what) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Timeout(std::string("timed out ") + what);
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return base::Status();
    if (n < 0 && errno != EINTR) return Io(std::string("poll: ") + std::strerror(errno));
  }
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Decodes a chunked body; false while incomplete.
bool Dechunk(const std::string& in, std::string* out) {
  out->clear();
  size_t pos = 0;
  for (;;) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string::npos) return false;
    size_t len = std::strtoul(in.substr(pos, eol - pos).c_str(), nullptr, 16);
    pos = eol + 2;
    if (len == 0) return true;
    if (in.size() < pos + len + 2) return false;
    out->append(in, pos, len);
    pos += len + 2;
  }
}

}  // namespace

std::string HttpResult::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return "";
}

base::StatusOr<HttpResult> Http(const std::string& method, const std::string& url,
                                const std::string& body, Headers headers,
                                std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (!url.starts_with("http://")) {
    return base::InvalidArgumentError("only http:// URLs: " + url);
  }
  const std::string rest = url.substr(7);
  const std::string authority = rest.substr(0, rest.find('/'));
  const std::string target = authority.size() < rest.size() ? rest.substr(authority.size()) : "/";
  const size_t colon = authority.rfind(':');
  std::string host = colon == std::string::npos ? authority : authority.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return base::UnavailableError("resolve " + host + ": " + gai_strerror(rc)).SetReason("connect");
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  Socket sock(fd);
  int rc = fd < 0 ? -1 : ::connect(fd, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  if (rc != 0 && errno == EINPROGRESS) {
    base::Status ready = AwaitFd(fd, POLLOUT, deadline, "connecting");
    if (!ready.ok()) return ready.SetReason("connect");
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    rc = err == 0 ? 0 : -1;
    errno = err;
  }
  if (rc != 0) {
    return base::UnavailableError("connect " + authority + ": " + std::strerror(errno))
        .SetReason("connect");
  }

  std::string request =
      method + " " + target + " HTTP/1.1\r\nHost: " + authority + "\r\nConnection: close\r\n";
  bool has_length = false;
  for (const auto& [k, v] : headers) {
    request += k + ": " + v + "\r\n";
    has_length = has_length || IEquals(k, "Content-Length");
  }
  if (!has_length && (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT")) {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  for (size_t off = 0; off < request.size();) {
    AURA_RETURN_IF_ERROR(AwaitFd(fd, POLLOUT, deadline, "sending"));
    ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return Io(std::string("send: ") + std::strerror(errno));
    }
    if (n > 0) off += static_cast<size_t>(n);
  }

  std::string in;
  HttpResult out;
  size_t head_end = std::string::npos;
  long content_length = -1;
  bool chunked = false;
  for (;;) {
    if (head_end == std::string::npos) {
      head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::string head = in.substr(0, head_end);
        size_t eol = head.find("\r\n");
        std::string status_line = head.substr(0, eol);
        if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) {
          return Io("not an HTTP response: " + status_line);
        }
        out.status = std::atoi(status_line.c_str() + 9);
        size_t pos = eol == std::string::npos ? head.size() : eol + 2;
        while (pos < head.size()) {
          size_t next = head.find("\r\n", pos);
          if (next == std::string::npos) next = head.size();
          std::string line = head.substr(pos, next - pos);
          size_t c = line.find(':');
          if (c != std::string::npos) {
            std::string v = line.substr(c + 1);
            v.erase(0, v.find_first_not_of(' '));
            out.headers.emplace_back(line.substr(0, c), v);
          }
          pos = next + 2;
        }
        if (!out.Header("Content-Length").empty()) {
          content_length = std::atol(out.Header("Content-Length").c_str());
        }
        chunked = out.Header("Transfer-Encoding").find("chunked") != std::string::npos;
        if (method == "HEAD" || out.status == 204 || out.status == 304) content_length = 0;
      }
    }
    if (head_end != std::string::npos) {
      const std::string payload = in.substr(head_end + 4);
      if (chunked && Dechunk(payload, &out.body)) break;
      if (!chunked && content_length >= 0 &&
          payload.size() >= static_cast<size_t>(content_length)) {
        out.body = payload.substr(0, static_cast<size_t>(content_length));
        break;
      }
    }
    AURA_RETURN_IF_ERROR(AwaitFd(fd, POLLIN, deadline, "waiting for the response"));
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Io(std::string("connection failed before a whole response: ") + std::strerror(errno));
    }
    if (n == 0) {
      // EOF: a complete response only if it had no declared length.
      if (head_end != std::string::npos && !chunked && content_length < 0) {
        out.body = in.substr(head_end + 4);
        break;
      }
      return Io("connection closed before a whole response");
    }
    in.append(buf, static_cast<size_t>(n));
  }
  out.json = nlohmann::json::parse(out.body, nullptr, false);
  return out;
}

base::StatusOr<nlohmann::json> GetJson(const std::string& url) {
  AURA_ASSIGN_OR_RETURN(HttpResult r, Http("GET", url));
  if (r.status != 200 || r.json.is_discarded()) {
    return base::UnavailableError("GET " + url + ": http " + std::to_string(r.status) + ": " +
                                  r.body);
  }
  return r.json;
}

base::StatusOr<nlohmann::json> PostJson(const std::string& url, const nlohmann::json& body) {
  AURA_ASSIGN_OR_RETURN(HttpResult r,
                        Http("POST", url, body.dump(), {{"Content-Type", "application/json"}}));
  if (r.status != 200 || r.json.is_discarded()) {
    return base::UnavailableError("POST " + url + ": http " + std::to_string(r.status) + ": " +
                                  r.body);
  }
  return r.json;
}

std::string BasicAuth(const std::string& user, const std::string& password) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(a[(buf >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(a[(buf << (6 - bits)) & 63]);
  while (out.size() % 4 != 0) out.push_back('=');
  return "Basic " + out;
}

base::StatusOr<std::string> FetchToken(const std::string& token_url, const std::string& id,
                                       const std::string& secret) {
  AURA_ASSIGN_OR_RETURN(HttpResult r,
                        Http("POST", token_url, "grant_type=client_credentials",
                             {{"Authorization", BasicAuth(id, secret)},
                              {"Content-Type", "application/x-www-form-urlencoded"}}));
  if (r.status != 200 || !r.json.is_object() || !r.json.contains("access_token")) {
    return base::UnauthenticatedError("token: http " + std::to_string(r.status) + ": " + r.body);
  }
  return r.json["access_token"].get<std::string>();
}

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout,
             std::chrono::milliseconds every) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

base::StatusOr<int> PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return base::UnavailableError("socket failed");
  Socket sock(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return base::UnavailableError("bind failed");
  }
  return static_cast<int>(ntohs(addr.sin_port));
}

}  // namespace aura::test_harness
