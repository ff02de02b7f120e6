#include "pkg/backoff/retry_after.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

namespace aura::backoff {
namespace {

using std::chrono::milliseconds;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Parses a run of digits; false when empty, not all digits, or larger than `max`.
bool ParseUint(std::string_view s, std::int64_t max, std::int64_t* out) {
  if (!AllDigits(s)) return false;
  std::int64_t v = 0;
  for (char c : s) {
    v = v * 10 + (c - '0');
    if (v > max) return false;
  }
  *out = v;
  return true;
}

int Month(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (s == kMonths[i]) return static_cast<int>(i) + 1;
  }
  return 0;
}

bool IsDayName(std::string_view s, bool long_form) {
  static constexpr std::array<std::string_view, 7> kShort = {"Mon", "Tue", "Wed", "Thu",
                                                             "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 7> kLong = {
      "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  for (std::string_view d : long_form ? kLong : kShort) {
    if (s == d) return true;
  }
  return false;
}

std::vector<std::string_view> SplitSpaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// "08:49:37"
bool ParseTimeOfDay(std::string_view s, std::int64_t* h, std::int64_t* m, std::int64_t* sec) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
  return ParseUint(s.substr(0, 2), 23, h) && ParseUint(s.substr(3, 2), 59, m) &&
         ParseUint(s.substr(6, 2), 60, sec);  // 60: a leap second
}

std::optional<base::SystemTime> Build(std::int64_t year, int month, std::int64_t day,
                                      std::int64_t h, std::int64_t m, std::int64_t s) {
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year(static_cast<int>(year)),
                     std::chrono::month(static_cast<unsigned>(month)),
                     std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  auto t = sys_days(ymd) + hours(h) + minutes(m) + seconds(s);
  return time_point_cast<base::SystemTime::duration>(t);
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<base::SystemTime> ParseImfFixdate(const std::vector<std::string_view>& t) {
  if (t.size() != 6 || t[0].size() != 4 || t[0].back() != ',' ||
      !IsDayName(t[0].substr(0, 3), false) || t[5] != "GMT") {
    return std::nullopt;
  }
  std::int64_t day = 0, year = 0, h = 0, m = 0, s = 0;
  int month = Month(t[2]);
  if (t[1].size() != 2 || !ParseUint(t[1], 31, &day) || month == 0 || t[3].size() != 4 ||
      !ParseUint(t[3], 9999, &year) || !ParseTimeOfDay(t[4], &h, &m, &s)) {
    return std::nullopt;
  }
  return Build(year, month, day, h, m, s);
}

// RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
std::optional<base::SystemTime> ParseRfc850(const std::vector<std::string_view>& t,
                                            base::SystemTime now) {
  if (t.size() != 4 || t[0].size() < 2 || t[0].back() != ',' ||
      !IsDayName(t[0].substr(0, t[0].size() - 1), true) || t[3] != "GMT") {
    return std::nullopt;
  }
  std::string_view date = t[1];  // 06-Nov-94
  if (date.size() != 9 || date[2] != '-' || date[6] != '-') return std::nullopt;
  std::int64_t day = 0, yy = 0, h = 0, m = 0, s = 0;
  int month = Month(date.substr(3, 3));
  if (!ParseUint(date.substr(0, 2), 31, &day) || month == 0 ||
      !ParseUint(date.substr(7, 2), 99, &yy) || !ParseTimeOfDay(t[2], &h, &m, &s)) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const int now_year = static_cast<int>(year_month_day(floor<days>(now)).year());
  std::int64_t year = (now_year / 100) * 100 + yy;
  if (year > now_year + 50) year -= 100;
  return Build(year, month, day, h, m, s);
}

// asctime: "Sun Nov  6 08:49:37 1994"
std::optional<base::SystemTime> ParseAsctime(const std::vector<std::string_view>& t) {
  if (t.size() != 5 || !IsDayName(t[0], false)) return std::nullopt;
  std::int64_t day = 0, year = 0, h = 0, m = 0, s = 0;
  int month = Month(t[1]);
  if (month == 0 || t[2].size() > 2 || !ParseUint(t[2], 31, &day) ||
      !ParseTimeOfDay(t[3], &h, &m, &s) || t[4].size() != 4 || !ParseUint(t[4], 9999, &year)) {
    return std::nullopt;
  }
  return Build(year, month, day, h, m, s);
}

}  // namespace

std::optional<base::SystemTime> ParseHttpDate(std::string_view value, base::SystemTime now) {
  std::vector<std::string_view> tokens = SplitSpaces(Trim(value));
  if (tokens.empty()) return std::nullopt;
  if (auto t = ParseImfFixdate(tokens)) return t;
  if (auto t = ParseRfc850(tokens, now)) return t;
  return ParseAsctime(tokens);
}

std::optional<milliseconds> ParseRetryAfter(std::string_view value, base::SystemTime now) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (AllDigits(value)) {
    std::int64_t secs = 0;
    const std::int64_t max_secs = std::chrono::seconds(kMaxRetryAfter).count();
    // Overlong digit strings are a (very) long delay, not garbage: clamp them.
    if (!ParseUint(value, max_secs, &secs)) secs = max_secs;
    return milliseconds(secs * 1000);
  }
  std::optional<base::SystemTime> when = ParseHttpDate(value, now);
  if (!when || *when <= now) return std::nullopt;
  auto d = std::chrono::ceil<milliseconds>(*when - now);
  if (d > kMaxRetryAfter) d = kMaxRetryAfter;
  return d;
}

}  // namespace aura::backoff
