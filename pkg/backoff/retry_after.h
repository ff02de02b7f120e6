// Retry-After (RFC 9110 section 10.2.3) and HTTP-date (section 5.6.7) parsing.
//
// Retry-After is delta-seconds ("120") or an HTTP-date: the preferred IMF-fixdate
// ("Sun, 06 Nov 1994 08:49:37 GMT") or either obsolete form, RFC 850
// ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994"). Garbage, and dates
// at or before `now`, give std::nullopt: the caller then falls back to its own backoff.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "pkg/base/clock.h"

namespace aura::backoff {

// Delays longer than this are clamped: a server asking for more is treated as asking for this.
inline constexpr std::chrono::hours kMaxRetryAfter{24};

// The wait a Retry-After header value asks for, relative to `now` (wall-clock time, because an
// HTTP-date is one). Never negative; at most kMaxRetryAfter.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         base::SystemTime now);

// Parses any of the three HTTP-date formats. Two-digit RFC 850 years are read as the year, in
// the century that puts it at most 50 years in the future of `now` (RFC 9110).
std::optional<base::SystemTime> ParseHttpDate(std::string_view value, base::SystemTime now);

}  // namespace aura::backoff
