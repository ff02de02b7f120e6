// URL parsing and the rule every client follows before it sends a byte: https, or plain http to
// a loopback address (or anywhere when the endpoint's plain-http permission is given).
//
// ParseUrl accepts absolute http(s) URLs only (RFC 3986 shape): scheme "http" or "https"
// (case-insensitive), an authority WITHOUT userinfo (`user:pass@host` is refused: credentials
// never travel in URLs, and `http://127.0.0.1@evil.example` must not pass for loopback), a host
// that is a registered name, an IPv4 literal or a bracketed IPv6 literal, an optional decimal
// port 1..65535, and an optional path and query (a fragment is refused). Hosts are lower-cased.
//
// Loopback is decided from the parsed host alone: a literal 127.0.0.0/8 address (four decimal
// parts, each 0..255), `::1` (any spelling inet_pton accepts), or exactly `localhost`. Names that
// merely start with "127." (`127.evil.example`) are not loopback.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "pkg/base/status.h"

namespace aura::http {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower case; IPv6 without brackets
  int port = 0;        // 0 when absent (the scheme's default)
  std::string target;  // path and query, "/" when empty: what goes on the request line

  bool https() const { return scheme == "https"; }
  int EffectivePort() const { return port != 0 ? port : https() ? 443 : 80; }
  // "scheme://host[:port]" (IPv6 in brackets): where connections go.
  std::string Origin() const;
};

// kInvalidArgument (reason "url") naming what is wrong; never echoes userinfo.
[[nodiscard]] base::StatusOr<Url> ParseUrl(std::string_view url);

// True for a literal 127.0.0.0/8 address, ::1, or exactly "localhost" (case-insensitive).
// Brackets around an IPv6 literal are accepted.
bool IsLoopbackHost(std::string_view host);

// Parses `url` and checks the rule: https, or http to loopback, or http anywhere with
// `allow_plain_http`. kInvalidArgument (reason "url") otherwise; `flag` names the switch that
// would allow it in the message ("--insecure-http-aura").
[[nodiscard]] base::Status CheckUrlAllowed(std::string_view url, bool allow_plain_http,
                                           std::string_view flag = "");

// Percent-encodes everything but RFC 3986 unreserved characters (a path segment or a query
// value).
std::string PercentEncode(std::string_view s);

// The host of `url` for messages ("" when it does not parse).
std::string HostOf(std::string_view url);

}  // namespace aura::http
