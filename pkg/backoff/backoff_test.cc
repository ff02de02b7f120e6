#include "pkg/backoff/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace aura::backoff {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Policy TestPolicy() {
  Policy p;
  p.initial = milliseconds(100);
  p.max_delay = seconds(1);
  p.multiplier = 2.0;
  p.max_attempts = 4;
  return p;
}

TEST(BackoffTest, CeilingGrowsExponentiallyUpToTheCap) {
  Policy p = TestPolicy();
  EXPECT_EQ(Ceiling(p, 1), milliseconds(100));
  EXPECT_EQ(Ceiling(p, 2), milliseconds(200));
  EXPECT_EQ(Ceiling(p, 3), milliseconds(400));
  EXPECT_EQ(Ceiling(p, 4), milliseconds(800));
  EXPECT_EQ(Ceiling(p, 5), seconds(1));
  EXPECT_EQ(Ceiling(p, 1000), seconds(1));  // no overflow
  EXPECT_EQ(Ceiling(p, 0), milliseconds(100));
}

TEST(BackoffTest, FullJitterScalesTheCeiling) {
  Policy p = TestPolicy();
  EXPECT_EQ(Delay(p, 3, 0.0), Duration::zero());
  EXPECT_EQ(Delay(p, 3, 0.5), milliseconds(200));
  EXPECT_EQ(Delay(p, 10, 0.25), milliseconds(250));
  EXPECT_EQ(Delay(p, 1, 7.0), milliseconds(100));  // out-of-range randoms are clamped
}

TEST(BackoffTest, RetryAfterIsAFloorNotACap) {
  Policy p = TestPolicy();
  EXPECT_EQ(Delay(p, 1, 0.1, seconds(5)), seconds(5));  // above the cap: still honoured
  EXPECT_EQ(Delay(p, 4, 0.5, milliseconds(10)), milliseconds(400));
}

TEST(BackoffTest, InjectedRandomSourceDrivesTheDelay) {
  double next = 0.75;
  Backoff b(TestPolicy(), [&] { return next; });
  EXPECT_EQ(b.Next(2), milliseconds(150));
  next = 0.0;
  EXPECT_EQ(b.Next(2, milliseconds(42)), milliseconds(42));
}

TEST(BackoffTest, AttemptsAreBounded) {
  Backoff b(TestPolicy(), NewRandom(1));
  EXPECT_TRUE(b.CanRetry(1));
  EXPECT_TRUE(b.CanRetry(3));
  EXPECT_FALSE(b.CanRetry(4));
  Policy never = TestPolicy();
  never.max_attempts = 0;
  EXPECT_FALSE(Backoff(never, NewRandom(1)).CanRetry(1));
}

TEST(BackoffTest, SeededRandomIsDeterministicAndInRange) {
  Random a = NewRandom(42), b = NewRandom(42);
  std::set<double> seen;
  for (int i = 0; i < 1000; ++i) {
    double x = a();
    EXPECT_EQ(x, b());
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
    seen.insert(x);
  }
  EXPECT_GT(seen.size(), 990u);
}

TEST(BackoffTest, SequenceGrowsAndResets) {
  Backoff b(TestPolicy(), [] { return 0.999999; });
  Sequence s(&b);
  EXPECT_TRUE(s.CanRetry());
  Duration d1 = s.Failure();
  Duration d2 = s.Failure();
  EXPECT_LT(d1, d2);
  EXPECT_EQ(s.failures(), 2);
  s.Failure();
  EXPECT_FALSE(s.CanRetry());
  s.Reset();
  EXPECT_EQ(s.failures(), 0);
  EXPECT_TRUE(s.CanRetry());
  EXPECT_LE(s.Failure(), milliseconds(100));
}

}  // namespace
}  // namespace aura::backoff
