#include "pkg/http/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace aura::http {
namespace {

base::Status Bad(std::string_view url, const std::string& why) {
  // The URL is quoted only up to any '@': what precedes it may be a password.
  std::string shown(url);
  if (auto at = shown.find('@'); at != std::string::npos) shown = "(URL with userinfo)";
  return base::InvalidArgumentError("URL '" + shown + "': " + why).SetReason("url");
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsRegName(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  return std::all_of(h.begin(), h.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_';
  });
}

// Four decimal parts 0..255, no leading '+' or spaces: what inet_pton(AF_INET) accepts.
bool ParseIpv4(std::string_view h, unsigned char out[4]) {
  in_addr a{};
  const std::string s(h);
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  std::memcpy(out, &a.s_addr, 4);
  return true;
}

}  // namespace

std::string Url::Origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + (port != 0 ? ":" + std::to_string(port) : "");
}

base::StatusOr<Url> ParseUrl(std::string_view url) {
  Url u;
  const auto colon = url.find("://");
  if (colon == std::string_view::npos) {
    return Bad(url, "not an absolute URL (expected https://host/...)");
  }
  u.scheme = Lower(url.substr(0, colon));
  if (u.scheme != "http" && u.scheme != "https") {
    return Bad(url, "scheme '" + u.scheme + "' is not http or https");
  }
  std::string_view rest = url.substr(colon + 3);
  const auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    return Bad(url, "credentials in the URL (user@host) are not accepted");
  }
  if (tail.find('#') != std::string_view::npos) return Bad(url, "a fragment (#) is not allowed");
  if (std::any_of(url.begin(), url.end(),
                  [](unsigned char c) { return c <= 0x20 || c == 0x7f || c == '\\'; })) {
    return Bad(url, "spaces, control characters and backslashes are not allowed");
  }
  std::string_view host = authority;
  std::string_view port;
  if (host.starts_with("[")) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return Bad(url, "unterminated IPv6 literal");
    std::string_view after = host.substr(close + 1);
    if (!after.empty() && !after.starts_with(":")) return Bad(url, "junk after the IPv6 literal");
    if (!after.empty()) port = after.substr(1);
    host = host.substr(1, close - 1);
    in6_addr a6{};
    if (::inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
      return Bad(url, "invalid IPv6 literal");
    }
  } else {
    const auto c = host.rfind(':');
    if (c != std::string_view::npos) {
      port = host.substr(c + 1);
      host = host.substr(0, c);
      if (port.empty()) return Bad(url, "empty port");
    }
    if (!IsRegName(host)) return Bad(url, "invalid host '" + std::string(host) + "'");
  }
  if (host.empty()) return Bad(url, "no host");
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](unsigned char ch) { return std::isdigit(ch); })) {
      return Bad(url, "port '" + std::string(port) + "' is not a number");
    }
    const int p = std::stoi(std::string(port));
    if (p < 1 || p > 65535) return Bad(url, "port " + std::to_string(p) + " is out of range");
    u.port = p;
  }
  u.host = Lower(host);
  u.target = tail.empty() ? "/" : std::string(tail);
  if (u.target.front() == '?') u.target = "/" + u.target;
  return u;
}

bool IsLoopbackHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (Lower(host) == "localhost") return true;
  unsigned char v4[4];
  if (ParseIpv4(host, v4)) return v4[0] == 127;
  in6_addr a6{};
  if (::inet_pton(AF_INET6, std::string(host).c_str(), &a6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&a6);
  }
  return false;
}

base::Status CheckUrlAllowed(std::string_view url, bool allow_plain_http, std::string_view flag) {
  AURA_ASSIGN_OR_RETURN(Url u, ParseUrl(url));
  if (u.https() || IsLoopbackHost(u.host) || allow_plain_http) return base::Status();
  return base::InvalidArgumentError(
             "refusing plain http:// to non-loopback host '" + u.host + "': use https://" +
             (flag.empty() ? std::string()
                           : ", or pass " + std::string(flag) + " if you really mean it"))
      .SetReason("url");
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string HostOf(std::string_view url) {
  auto u = ParseUrl(url);
  return u.ok() ? u->host : "";
}

}  // namespace aura::http
