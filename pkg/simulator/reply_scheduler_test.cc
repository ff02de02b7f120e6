#include "pkg/simulator/reply_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace aura::simulator {
namespace {

using std::chrono::seconds;

TEST(ReplySchedulerTest, RunsCallbacksWhenTheirTimeComes) {
  base::FakeClock clock;
  ReplyScheduler s(&clock);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> ran;
  auto record = [&](int v) {
    return [&, v] {
      std::lock_guard<std::mutex> g(mu);
      ran.push_back(v);
      cv.notify_all();
    };
  };
  s.At(clock.Now() + seconds(5), record(2));
  s.At(clock.Now() + seconds(1), record(1));
  ASSERT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(seconds(1));
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, seconds(20), [&] { return ran.size() == 1; }));
    EXPECT_EQ(ran[0], 1);
  }
  EXPECT_EQ(s.pending(), 1u);
  ASSERT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(seconds(4));
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, seconds(20), [&] { return ran.size() == 2; }));
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

TEST(ReplySchedulerTest, ShutdownRunsEverythingPendingAtOnce) {
  base::FakeClock clock;
  ReplyScheduler s(&clock);
  std::atomic<int> ran{0};
  s.At(clock.Now() + seconds(3600), [&] { ++ran; });
  s.At(clock.Now() + seconds(60), [&] { ++ran; });
  s.Shutdown();
  EXPECT_EQ(ran.load(), 2);
  s.At(clock.Now() + seconds(60), [&] { ++ran; });  // after shutdown: inline
  EXPECT_EQ(ran.load(), 3);
  s.Shutdown();
}

}  // namespace
}  // namespace aura::simulator
