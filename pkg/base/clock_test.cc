#include "pkg/base/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace aura::base {
namespace {

using std::chrono::seconds;

TEST(FakeClockTest, StandsStillUntilAdvanced) {
  FakeClock clock;
  TimePoint t0 = clock.Now();
  SystemTime s0 = clock.SystemNow();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(seconds(5));
  EXPECT_EQ(clock.Now() - t0, seconds(5));
  EXPECT_EQ(clock.SystemNow() - s0, seconds(5));
}

TEST(FakeClockTest, AdvanceWakesSleeperOnlyWhenDue) {
  FakeClock clock;
  std::atomic<bool> woke{false};
  TimePoint deadline = clock.Now() + seconds(10);
  std::thread t([&] {
    EXPECT_TRUE(clock.SleepUntil(deadline));
    woke = true;
  });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(seconds(9));
  // Still waiting: the sleeper re-registers after any wake-up before its deadline.
  ASSERT_TRUE(clock.AwaitWaiters(1));
  EXPECT_FALSE(woke.load());
  clock.Advance(seconds(1));
  t.join();
  EXPECT_TRUE(woke.load());
  EXPECT_GE(clock.Now(), deadline);
}

TEST(FakeClockTest, StopTokenEndsSleepEarly) {
  FakeClock clock;
  std::stop_source stop;
  std::atomic<int> result{-1};
  std::thread t([&] { result = clock.SleepFor(seconds(100), stop.get_token()) ? 1 : 0; });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  stop.request_stop();
  t.join();
  EXPECT_EQ(result.load(), 0);
}

TEST(FakeClockTest, NextDeadlineReportsEarliestWaiter) {
  FakeClock clock;
  TimePoint d;
  EXPECT_FALSE(clock.NextDeadline(&d));
  std::thread a([&] { (void)clock.SleepFor(seconds(30)); });
  std::thread b([&] { (void)clock.SleepFor(seconds(7)); });
  ASSERT_TRUE(clock.AwaitWaiters(2));
  ASSERT_TRUE(clock.NextDeadline(&d));
  EXPECT_EQ(d - clock.Now(), seconds(7));
  clock.Advance(seconds(30));
  a.join();
  b.join();
  EXPECT_EQ(clock.waiters(), 0u);
}

TEST(FakeClockTest, ManySleepersAllWake) {
  FakeClock clock;
  std::vector<std::thread> threads;
  std::atomic<int> done{0};
  for (int i = 1; i <= 8; ++i) {
    threads.emplace_back([&, i] {
      (void)clock.SleepFor(seconds(i));
      ++done;
    });
  }
  ASSERT_TRUE(clock.AwaitWaiters(8));
  for (int i = 0; i < 8; ++i) clock.Advance(seconds(1));
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), 8);
}

TEST(RealClockTest, SleepPastDeadlineReturnsAtOnce) {
  Clock& clock = RealClock();
  EXPECT_TRUE(clock.SleepUntil(clock.Now() - seconds(1)));
}

TEST(RealClockTest, StoppedTokenReturnsFalseWithoutWaiting) {
  std::stop_source stop;
  stop.request_stop();
  EXPECT_FALSE(RealClock().SleepFor(std::chrono::hours(1), stop.get_token()));
}

}  // namespace
}  // namespace aura::base
