#include "pkg/spec/text.h"

#include <algorithm>
#include <cstdint>

namespace aura::spec::detail {
namespace {

unsigned char Byte(std::string_view text, std::size_t i) {
  return static_cast<unsigned char>(text[i]);
}

bool IsContinuation(std::string_view text, std::size_t i) {
  return i < text.size() && (Byte(text, i) & 0xC0) == 0x80;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Lowercase without ' ', '-' and '_': "Tenant_ID" and "tenantid" normalize alike.
std::string Normalize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' || c == '-' || c == '_') continue;
    out.push_back(AsciiLower(c));
  }
  return out;
}

}  // namespace

std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  const unsigned char b0 = Byte(text, i);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return IsContinuation(text, i + 1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!IsContinuation(text, i + 1) || !IsContinuation(text, i + 2)) return 0;
    const unsigned char b1 = Byte(text, i + 1);
    if (b0 == 0xE0 && b1 < 0xA0) return 0;   // overlong
    if (b0 == 0xED && b1 >= 0xA0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!IsContinuation(text, i + 1) || !IsContinuation(text, i + 2) ||
        !IsContinuation(text, i + 3)) {
      return 0;
    }
    const unsigned char b1 = Byte(text, i + 1);
    if (b0 == 0xF0 && b1 < 0x90) return 0;   // overlong
    if (b0 == 0xF4 && b1 >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

char32_t DecodeUtf8(std::string_view text, std::size_t i) {
  const std::size_t n = Utf8SequenceLength(text, i);
  const unsigned char b0 = Byte(text, i);
  if (n <= 1) return b0;
  char32_t c = b0 & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (std::size_t k = 1; k < n; ++k) c = (c << 6) | (Byte(text, i + k) & 0x3F);
  return c;
}

bool IsValidUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = Utf8SequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::size_t Utf8Length(std::string_view text) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); ++count) {
    const std::size_t n = Utf8SequenceLength(text, i);
    i += n == 0 ? 1 : n;
  }
  return count;
}

bool IsForbiddenCodePoint(char32_t c) {
  if (c < 0x20) return c != '\t' && c != '\n' && c != '\r';
  if (c == 0x7F) return true;
  if (c >= 0x80 && c <= 0x9F) return c != 0x85;
  return c == 0xFFFE || c == 0xFFFF;
}

bool IsPrintableText(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = Utf8SequenceLength(text, i);
    if (n == 0) return false;
    const char32_t c = DecodeUtf8(text, i);
    if (c < 0x20 || IsForbiddenCodePoint(c)) return false;
    i += n;
  }
  return true;
}

std::string Quote(std::string_view text, std::size_t max_chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++chars) {
    if (chars == max_chars) {
      out += "...";
      break;
    }
    const std::size_t n = Utf8SequenceLength(text, i);
    const char32_t c = n == 0 ? 0xFFFD : DecodeUtf8(text, i);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (n == 0 || c < 0x20 || IsForbiddenCodePoint(c)) {
      const unsigned char b = Byte(text, i);
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
      i += 1;
      continue;
    } else {
      out.append(text.substr(i, n));
    }
    i += n == 0 ? 1 : n;
  }
  out.push_back('"');
  return out;
}

int EditDistance(std::string_view a, std::string_view b) {
  if (a.size() > 256 || b.size() > 256) return 1000;
  const std::size_t n = a.size(), m = b.size();
  // Three rows: i-2, i-1, i.
  std::vector<int> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = static_cast<int>(j);
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = static_cast<int>(i);
    for (std::size_t j = 1; j <= m; ++j) {
      const int cost = AsciiLower(a[i - 1]) == AsciiLower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && AsciiLower(a[i - 1]) == AsciiLower(b[j - 2]) &&
          AsciiLower(a[i - 2]) == AsciiLower(b[j - 1])) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::optional<std::string> Suggest(std::string_view found, const std::vector<std::string>& allowed,
                                   int max_distance) {
  if (found.size() > 64) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), found) != allowed.end()) return std::nullopt;
  const std::string normalized = Normalize(found);
  for (const std::string& a : allowed) {
    if (Normalize(a) == normalized) return a;
  }
  // A value without its suffix: "professional" -> "professional-db" (the first that fits).
  if (!found.empty()) {
    for (const std::string& a : allowed) {
      if (a.size() > found.size() + 1 && a.compare(0, found.size(), found) == 0 &&
          a[found.size()] == '-') {
        return a;
      }
    }
  }
  int best = max_distance + 1;
  const std::string* choice = nullptr;
  for (const std::string& a : allowed) {
    const int d = EditDistance(found, a);
    // A distance as long as the word itself is a replacement, not a typo.
    if (d < best && d < static_cast<int>(std::min(a.size(), found.size()))) {
      best = d;
      choice = &a;
    }
  }
  if (choice == nullptr) return std::nullopt;
  return *choice;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

bool IsDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    const std::string_view label =
        s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (!IsDns1123Label(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool IsLabelValue(std::string_view s) {
  if (s.empty()) return true;
  if (s.size() > 63) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return IsAlnum(s.front()) && IsAlnum(s.back());
}

bool IsQualifiedName(std::string_view s) {
  const std::size_t slash = s.find('/');
  std::string_view name = s;
  if (slash != std::string_view::npos) {
    if (!IsDns1123Subdomain(s.substr(0, slash))) return false;
    name = s.substr(slash + 1);
  }
  return !name.empty() && IsLabelValue(name);
}

}  // namespace aura::spec::detail
