#include "pkg/simulator/rate_limiter.h"

#include <gtest/gtest.h>

namespace aura::simulator {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(SlidingWindowLimiterTest, AllowsLimitPerWindowThenGivesRetryAfter) {
  base::FakeClock clock;
  SlidingWindowLimiter l(3, seconds(10));
  const base::TimePoint t0 = clock.Now();
  EXPECT_TRUE(l.Admit("a", t0).allowed);
  EXPECT_TRUE(l.Admit("a", t0 + seconds(1)).allowed);
  EXPECT_TRUE(l.Admit("a", t0 + seconds(2)).allowed);
  auto d = l.Admit("a", t0 + seconds(4));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, seconds(6));
  // The window slides: at t0+10 the first request has left it, not the second.
  EXPECT_TRUE(l.Admit("a", t0 + seconds(10)).allowed);
  EXPECT_FALSE(l.Admit("a", t0 + seconds(10) + milliseconds(500)).allowed);
  EXPECT_TRUE(l.Admit("a", t0 + seconds(11)).allowed);
}

TEST(SlidingWindowLimiterTest, ClientsHaveSeparateWindows) {
  base::FakeClock clock;
  SlidingWindowLimiter l(1, seconds(60));
  EXPECT_TRUE(l.Admit("a", clock.Now()).allowed);
  EXPECT_TRUE(l.Admit("b", clock.Now()).allowed);
  EXPECT_FALSE(l.Admit("a", clock.Now()).allowed);
}

TEST(SlidingWindowLimiterTest, RefusedRequestsUseNoBudgetButCountAsReceived) {
  base::FakeClock clock;
  SlidingWindowLimiter l(2, seconds(10));
  const base::TimePoint t0 = clock.Now();
  for (int i = 0; i < 5; ++i) l.Admit("a", t0 + milliseconds(i));
  l.RecordRefused("a", t0 + milliseconds(6));
  EXPECT_EQ(l.max_received_in_window(), 6u);
  // Only the two accepted requests hold the window: both leave at t0+10s.
  EXPECT_TRUE(l.Admit("a", t0 + seconds(10) + milliseconds(1)).allowed);
  EXPECT_EQ(l.MaxReceivedByClient().at("a"), 6u);
}

TEST(SlidingWindowLimiterTest, MaxReceivedIsOverAnySlidingWindow) {
  base::FakeClock clock;
  SlidingWindowLimiter l(1000, seconds(10));
  const base::TimePoint t0 = clock.Now();
  // 4 requests at 0..3 s and 4 at 8..11 s: the densest 10 s window holds 6 (2..11 s).
  for (int s : {0, 1, 2, 3, 8, 9, 10, 11}) l.Admit("a", t0 + seconds(s));
  EXPECT_EQ(l.max_received_in_window(), 6u);
  l.Reset();
  EXPECT_EQ(l.max_received_in_window(), 0u);
  EXPECT_TRUE(l.MaxReceivedByClient().empty());
}

}  // namespace
}  // namespace aura::simulator
