#include "pkg/backoff/retry_after.h"

#include <gtest/gtest.h>

namespace aura::backoff {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace std::chrono_literals;

// 1994-11-06 08:49:30 UTC, seven seconds before the RFC's example date.
base::SystemTime Now() {
  using namespace std::chrono;
  return sys_days(year{1994} / November / 6) + 8h + 49min + 30s;
}

TEST(RetryAfterTest, DeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("5", Now()), seconds(5));
  EXPECT_EQ(ParseRetryAfter(" 120 ", Now()), seconds(120));
  EXPECT_EQ(ParseRetryAfter("0", Now()), seconds(0));
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", Now()), kMaxRetryAfter);
}

TEST(RetryAfterTest, ImfFixdate) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", Now()), seconds(7));
}

TEST(RetryAfterTest, ObsoleteRfc850AndAsctime) {
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", Now()), seconds(7));
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 1994", Now()), seconds(7));
}

TEST(RetryAfterTest, PastDatesAreIgnored) {
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:30 GMT", Now()), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Sat, 05 Nov 1994 08:49:37 GMT", Now()), std::nullopt);
}

TEST(RetryAfterTest, GarbageIsIgnored) {
  for (const char* bad :
       {"", "   ", "-5", "5.5", "soon", "1e3", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 31 Feb 1995 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun 06 Nov 1994",
        "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov  6 08:49 1994", "0x10"}) {
    EXPECT_EQ(ParseRetryAfter(bad, Now()), std::nullopt) << "'" << bad << "'";
  }
}

TEST(RetryAfterTest, FarFutureDatesAreClamped) {
  EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 2099 23:59:59 GMT", Now()), kMaxRetryAfter);
}

TEST(HttpDateTest, TwoDigitYearsStayWithinFiftyYears) {
  using namespace std::chrono;
  base::SystemTime now = sys_days(year{2026} / January / 1);
  auto t = ParseHttpDate("Monday, 01-Jan-74 00:00:00 GMT", now);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(year_month_day(floor<days>(*t)).year(), year{2074});
  t = ParseHttpDate("Tuesday, 01-Jan-80 00:00:00 GMT", now);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(year_month_day(floor<days>(*t)).year(), year{1980});
}

}  // namespace
}  // namespace aura::backoff
