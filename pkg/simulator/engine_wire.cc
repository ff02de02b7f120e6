// The wire side of the simulator: headers, encodings, error bodies and dates.
#include <algorithm>
#include <cctype>
#include <ctime>

#include "pkg/simulator/engine_internal.h"

namespace aura::simulator {
namespace detail {

using nlohmann::json;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return "";
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string Hex64(uint64_t v) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 15];
  return s;
}

std::string Base64UrlEncode(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buf >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buf << (6 - bits)) & 63]);
  return out;
}

// Standard base64 (padding optional); false on a character outside the alphabet.
bool Base64Decode(std::string_view in, std::string* out) {
  uint32_t buf = 0;
  int bits = 0;
  out->clear();
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      v = 62;
    } else if (c == '/' || c == '_') {
      v = 63;
    } else if (c == '=') {
      break;
    } else {
      return false;
    }
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return true;
}

// Parses "Basic base64(id:secret)".
bool ParseBasic(std::string_view header, std::string* id, std::string* secret) {
  if (header.size() < 6 || !IEquals(header.substr(0, 6), "basic ")) return false;
  std::string decoded;
  std::string_view b64 = header.substr(6);
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  if (!Base64Decode(b64, &decoded)) return false;
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  *id = decoded.substr(0, colon);
  *secret = decoded.substr(colon + 1);
  return true;
}

std::string BearerToken(std::string_view header) {
  if (header.size() < 7 || !IEquals(header.substr(0, 7), "bearer ")) return "";
  std::string_view t = header.substr(7);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  return std::string(t);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded -> map (values percent-decoded, '+' as space). A bad
// %-escape is kept literally, as a lenient gateway would.
std::map<std::string, std::string> ParseForm(std::string_view body) {
  auto decode = [](std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out.push_back(' ');
      } else if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 &&
                 HexDigit(s[i + 2]) >= 0) {
        out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
        i += 2;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    std::string_view pair =
        body.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      out[decode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

// Makes every scalar the wrong JSON type: strings become numbers, numbers and bools strings.
void Scramble(json& v) {
  if (v.is_object() || v.is_array()) {
    for (auto& child : v) Scramble(child);
  } else if (v.is_string()) {
    v = static_cast<int64_t>(v.get<std::string>().size());
  } else if (v.is_boolean()) {
    v = v.get<bool>() ? "true" : "false";
  } else if (v.is_number()) {
    v = v.dump();
  }
}

// Removes what a client cannot do without: "id" from every object under "data" (at any depth),
// and a token response's "access_token".
void DropRequiredFields(json& body) {
  if (!body.is_object()) return;
  body.erase("access_token");
  auto it = body.find("data");
  if (it == body.end()) return;
  std::vector<json*> todo = {&*it};
  while (!todo.empty()) {
    json* v = todo.back();
    todo.pop_back();
    if (v->is_object()) v->erase("id");
    if (v->is_object() || v->is_array()) {
      for (auto& child : *v) todo.push_back(&child);
    }
  }
}

SimResponse JsonResponse(int status, std::string body) {
  SimResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace detail

using namespace detail;  // NOLINT: this file defines them
using nlohmann::json;

std::string SimRequest::Header(std::string_view name) const { return FindHeader(headers, name); }
std::string SimResponse::Header(std::string_view name) const { return FindHeader(headers, name); }

std::string AuraErrorBody(std::string_view reason, std::string_view message,
                          std::string_view field) {
  json e = {{"message", message}, {"reason", reason}};
  if (!field.empty()) e["field"] = field;
  return json{{"errors", json::array({e})}}.dump();
}

std::string GatewayErrorBody(std::string_view message) { return json{{"error", message}}.dump(); }

std::string FormatRfc3339(base::SystemTime t) {
  std::time_t secs =
      std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatHttpDate(base::SystemTime t) {
  std::time_t secs =
      std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

}  // namespace aura::simulator
