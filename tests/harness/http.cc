#include "tests/harness/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace aura::test_harness {

std::string HttpResult::Header(std::string_view name) const {
  api::HttpResponse r;
  r.headers = headers;
  return r.Header(name);
}

base::StatusOr<HttpResult> Http(const std::string& method, const std::string& url,
                                const std::string& body, api::Headers headers,
                                std::chrono::milliseconds timeout) {
  static api::Transport* transport = [] {
    api::CpprestTransportOptions o;
    o.allow_insecure_http = true;
    o.connect_timeout = std::chrono::seconds(5);
    return api::NewCpprestTransport(o).release();
  }();
  api::HttpRequest req;
  req.method = method;
  req.url = url;
  req.headers = std::move(headers);
  req.body = body;
  req.timeout = timeout;
  AURA_ASSIGN_OR_RETURN(api::HttpResponse resp, transport->Send(req));
  HttpResult out;
  out.status = resp.status;
  out.headers = std::move(resp.headers);
  out.body = std::move(resp.body);
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
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

base::StatusOr<int> PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return base::UnavailableError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return base::UnavailableError("bind failed");
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

}  // namespace aura::test_harness
