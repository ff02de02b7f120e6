#include "pkg/reconcile/workqueue.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace aura::reconcile {
namespace {

using std::chrono::seconds;

TEST(WorkQueueTest, DeduplicatesAndKeepsTheEarliestTime) {
  base::FakeClock clock;
  WorkQueue q(clock);
  q.AddAfter("a", seconds(10));
  q.AddAfter("a", seconds(5));
  q.AddAfter("a", seconds(20));
  EXPECT_EQ(q.Depth(), 1u);
  EXPECT_FALSE(q.TryGet().has_value());
  clock.Advance(seconds(5));
  EXPECT_EQ(q.TryGet(), "a");
  EXPECT_FALSE(q.TryGet().has_value());
}

TEST(WorkQueueTest, KeyAddedWhileProcessingComesBackAfterDone) {
  base::FakeClock clock;
  WorkQueue q(clock);
  q.Add("a");
  ASSERT_EQ(q.TryGet(), "a");
  q.Add("a");
  EXPECT_FALSE(q.TryGet().has_value());  // never two workers on one key
  q.Done("a");
  EXPECT_EQ(q.TryGet(), "a");
}

TEST(WorkQueueTest, FailuresBackOffExponentiallyWithJitterAndCap) {
  base::FakeClock clock;
  WorkQueue q(clock, {seconds(1), seconds(30), 7});
  base::Duration prev{};
  for (int i = 1; i <= 8; ++i) {
    base::Duration d = q.AddRateLimited("a");
    const double cap = std::min(30.0, std::pow(2.0, i - 1));
    EXPECT_GE(base::ToSeconds(d), cap * 0.5 - 1e-9) << i;
    EXPECT_LE(base::ToSeconds(d), cap + 1e-9) << i;
    if (i <= 4) {
      EXPECT_GT(d, prev / 2);
    }
    prev = d;
  }
  EXPECT_EQ(q.Failures("a"), 8);
  q.Forget("a");
  EXPECT_EQ(q.Failures("a"), 0);
}

TEST(WorkQueueTest, PassDoesNotCutABackoffShort) {
  base::FakeClock clock;
  WorkQueue q(clock, {seconds(10), seconds(60), 1});
  q.AddRateLimited("a");
  q.AddUnlessBackingOff("a");
  EXPECT_FALSE(q.TryGet().has_value());
  q.Add("a");  // an explicit change (spec edited) does
  EXPECT_EQ(q.TryGet(), "a");
}

TEST(WorkQueueTest, GetWaitsOnTheClockAndStops) {
  base::FakeClock clock;
  WorkQueue q(clock);
  q.AddAfter("a", seconds(30));
  std::optional<std::string> got;
  std::thread t([&] { got = q.Get(); });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(seconds(30));
  t.join();
  EXPECT_EQ(got, "a");

  std::stop_source stop;
  std::thread t2([&] { got = q.Get(stop.get_token()); });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  stop.request_stop();
  t2.join();
  EXPECT_FALSE(got.has_value());
}

TEST(WorkQueueTest, ShutDownReleasesWaiters) {
  base::FakeClock clock;
  WorkQueue q(clock);
  std::optional<std::string> got = "x";
  std::thread t([&] { got = q.Get(); });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  q.ShutDown();
  t.join();
  EXPECT_FALSE(got.has_value());
}

}  // namespace
}  // namespace aura::reconcile
