#include "pkg/ratelimit/limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aura::ratelimit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Records the order in which threads got through the limiter.
class Recorder {
 public:
  void Add(std::string name) {
    std::lock_guard<std::mutex> g(mu_);
    order_.push_back(std::move(name));
    cv_.notify_all();
  }
  bool Wait(size_t n) {
    std::unique_lock<std::mutex> g(mu_);
    return cv_.wait_for(g, seconds(20), [&] { return order_.size() >= n; });
  }
  std::vector<std::string> order() {
    std::lock_guard<std::mutex> g(mu_);
    return order_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> order_;
};

Options Small(int limit, Duration window) {
  Options o;
  o.limit = limit;
  o.window = window;
  return o;
}

class LimiterTest : public ::testing::Test {
 protected:
  std::thread Spawn(Limiter& l, Priority p, std::string name, std::stop_token stop = {}) {
    return std::thread([this, &l, p, name, stop] {
      base::Status s = l.Acquire(p, stop);
      recorder_.Add(s.ok() ? name : name + ":" + std::string(base::StatusCodeName(s.code())));
    });
  }
  base::FakeClock clock_;
  Recorder recorder_;
};

TEST_F(LimiterTest, GrantsUpToTheLimitThenBlocksUntilTheWindowSlides) {
  Limiter l(Small(3, seconds(10)), &clock_);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(l.Acquire(Priority::kPoll).ok());
  EXPECT_EQ(l.InWindow(), 3);
  std::thread t = Spawn(l, Priority::kPoll, "late");
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_EQ(l.Stats().waiting[1], 1);
  clock_.Advance(seconds(10) - milliseconds(1));
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_TRUE(recorder_.order().empty());
  clock_.Advance(milliseconds(1));
  t.join();
  EXPECT_EQ(recorder_.order(), std::vector<std::string>{"late"});
  EXPECT_EQ(l.InWindow(), 1);
}

TEST_F(LimiterTest, WindowSlidesRatherThanResetting) {
  Limiter l(Small(3, seconds(10)), &clock_);
  EXPECT_TRUE(l.TryAcquire(Priority::kPoll));
  EXPECT_TRUE(l.TryAcquire(Priority::kPoll));
  clock_.Advance(seconds(5));
  EXPECT_TRUE(l.TryAcquire(Priority::kPoll));
  clock_.Advance(seconds(1));
  EXPECT_FALSE(l.TryAcquire(Priority::kPoll));
  clock_.Advance(seconds(4));  // t=10: the two from t=0 leave the window, t=5 stays
  EXPECT_TRUE(l.TryAcquire(Priority::kPoll));
  EXPECT_TRUE(l.TryAcquire(Priority::kPoll));
  EXPECT_FALSE(l.TryAcquire(Priority::kWrite));
  clock_.Advance(seconds(5));
  EXPECT_TRUE(l.TryAcquire(Priority::kWrite));
}

TEST_F(LimiterTest, HigherPriorityGoesFirst) {
  Limiter l(Small(1, seconds(10)), &clock_);
  ASSERT_TRUE(l.Acquire(Priority::kWrite).ok());
  std::vector<std::thread> ts;
  ts.push_back(Spawn(l, Priority::kDrift, "drift"));
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  ts.push_back(Spawn(l, Priority::kPoll, "poll"));
  ASSERT_TRUE(clock_.AwaitWaiters(2));
  ts.push_back(Spawn(l, Priority::kWrite, "write"));
  ASSERT_TRUE(clock_.AwaitWaiters(3));
  EXPECT_FALSE(l.TryAcquire(Priority::kDrift));
  for (size_t n = 1; n <= 3; ++n) {
    clock_.Advance(seconds(10));
    ASSERT_TRUE(recorder_.Wait(n));
    if (n < 3) {
      ASSERT_TRUE(clock_.AwaitWaiters(3 - n));
    }
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(recorder_.order(), (std::vector<std::string>{"write", "poll", "drift"}));
}

TEST_F(LimiterTest, FifoWithinAClass) {
  Limiter l(Small(1, seconds(10)), &clock_);
  ASSERT_TRUE(l.Acquire(Priority::kPoll).ok());
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.push_back(Spawn(l, Priority::kPoll, "p" + std::to_string(i)));
    ASSERT_TRUE(clock_.AwaitWaiters(static_cast<size_t>(i) + 1));
  }
  for (size_t n = 1; n <= 4; ++n) {
    clock_.Advance(seconds(10));
    ASSERT_TRUE(recorder_.Wait(n));
    if (n < 4) {
      ASSERT_TRUE(clock_.AwaitWaiters(4 - n));
    }
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(recorder_.order(), (std::vector<std::string>{"p0", "p1", "p2", "p3"}));
}

TEST_F(LimiterTest, TryAcquireDoesNotJumpTheQueue) {
  Limiter l(Small(1, seconds(10)), &clock_);
  ASSERT_TRUE(l.Acquire(Priority::kPoll).ok());
  std::thread t = Spawn(l, Priority::kPoll, "waiter");
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(seconds(10));
  // The waiter is granted by the dispatch this call triggers, not the caller.
  EXPECT_FALSE(l.TryAcquire(Priority::kPoll));
  t.join();
  EXPECT_EQ(recorder_.order(), std::vector<std::string>{"waiter"});
}

TEST_F(LimiterTest, StopTokenCancelsAWaiter) {
  Limiter l(Small(1, seconds(10)), &clock_);
  ASSERT_TRUE(l.Acquire(Priority::kPoll).ok());
  std::stop_source stop;
  std::thread t = Spawn(l, Priority::kPoll, "w", stop.get_token());
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  stop.request_stop();
  t.join();
  EXPECT_EQ(recorder_.order(), std::vector<std::string>{"w:CANCELLED"});
  EXPECT_EQ(l.Stats().waiting[1], 0);
  // Already stopped: returns at once, takes nothing.
  clock_.Advance(seconds(10));
  EXPECT_EQ(l.Acquire(Priority::kPoll, stop.get_token()).code(), base::StatusCode::kCancelled);
  EXPECT_EQ(l.InWindow(), 0);
}

TEST_F(LimiterTest, StopCancelsEveryWaiterAndLaterCalls) {
  Limiter l(Small(1, seconds(10)), &clock_);
  ASSERT_TRUE(l.Acquire(Priority::kPoll).ok());
  std::thread a = Spawn(l, Priority::kWrite, "a");
  std::thread b = Spawn(l, Priority::kDrift, "b");
  ASSERT_TRUE(clock_.AwaitWaiters(2));
  l.Stop();
  a.join();
  b.join();
  EXPECT_EQ(recorder_.order().size(), 2u);
  for (const auto& s : recorder_.order()) EXPECT_NE(s.find("CANCELLED"), std::string::npos);
  EXPECT_EQ(l.Acquire(Priority::kWrite).code(), base::StatusCode::kCancelled);
  EXPECT_FALSE(l.TryAcquire(Priority::kWrite));
}

TEST_F(LimiterTest, ThrottlePausesEveryoneUntilRetryAfter) {
  metrics::Metrics m;
  std::vector<TimePoint> grants;
  Options o = Small(10, seconds(10));
  o.observer.granted = [&](std::uint64_t, Priority, TimePoint t) { grants.push_back(t); };
  Limiter l(o, &clock_, &m);
  const TimePoint t0 = clock_.Now();
  l.OnThrottled(seconds(5));
  EXPECT_TRUE(l.Stats().paused);
  EXPECT_EQ(m.ratelimit_paused.Value(), 1);
  EXPECT_FALSE(l.TryAcquire(Priority::kWrite));
  std::thread a = Spawn(l, Priority::kWrite, "a");
  std::thread b = Spawn(l, Priority::kDrift, "b");
  ASSERT_TRUE(clock_.AwaitWaiters(2));
  clock_.Advance(seconds(5) - milliseconds(1));
  ASSERT_TRUE(clock_.AwaitWaiters(2));
  EXPECT_TRUE(recorder_.order().empty());
  clock_.Advance(milliseconds(1));
  a.join();
  b.join();
  ASSERT_EQ(grants.size(), 2u);
  for (TimePoint g : grants) EXPECT_EQ(g - t0, seconds(5));
  EXPECT_FALSE(l.Stats().paused);
  EXPECT_EQ(m.ratelimit_paused.Value(), 0);
}

TEST_F(LimiterTest, ThrottleHalvesTheRateThenRecoversGradually) {
  Options o = Small(8, seconds(10));
  o.throttle_factor = 0.5;
  o.throttle_windows = 2;
  o.recovery_step = 0.25;
  Limiter l(o, &clock_);
  EXPECT_EQ(l.EffectiveLimit(), 8);
  l.OnThrottled(seconds(0));
  EXPECT_EQ(l.EffectiveLimit(), 4);
  EXPECT_TRUE(l.Stats().throttled);
  clock_.Advance(seconds(19));
  EXPECT_EQ(l.EffectiveLimit(), 4);
  clock_.Advance(seconds(1));  // two windows after the pause: +25% of 8
  EXPECT_EQ(l.EffectiveLimit(), 6);
  clock_.Advance(seconds(10));
  EXPECT_EQ(l.EffectiveLimit(), 8);
  EXPECT_FALSE(l.Stats().throttled);
}

TEST_F(LimiterTest, LoweredLimitIsEnforced) {
  Options o = Small(4, seconds(10));
  o.throttle_windows = 1;
  Limiter l(o, &clock_);
  l.OnThrottled(seconds(1));
  clock_.Advance(seconds(1));
  EXPECT_TRUE(l.TryAcquire(Priority::kWrite));
  EXPECT_TRUE(l.TryAcquire(Priority::kWrite));
  EXPECT_FALSE(l.TryAcquire(Priority::kWrite));  // 2 = half of 4
}

TEST_F(LimiterTest, ThrottlesOfOneBurstLowerTheRateOnce) {
  Limiter l(Small(16, seconds(10)), &clock_);
  const TimePoint sent = clock_.Now();
  clock_.Advance(milliseconds(100));
  l.OnThrottled(seconds(1), sent);
  EXPECT_EQ(l.EffectiveLimit(), 8);
  l.OnThrottled(seconds(2), sent);  // sent before the first 429 arrived: same burst
  EXPECT_EQ(l.EffectiveLimit(), 8);
  EXPECT_EQ(l.Stats().paused_until - clock_.Now(), seconds(2));  // but the pause extends
  clock_.Advance(seconds(2));
  l.OnThrottled(seconds(1), clock_.Now());  // sent after: a new signal
  EXPECT_EQ(l.EffectiveLimit(), 4);
}

TEST_F(LimiterTest, PauseWithoutRetryAfterUsesJitteredBackoff) {
  Options o = Small(10, seconds(60));
  o.pause_backoff.initial = seconds(2);
  o.pause_backoff.max_delay = seconds(30);
  Limiter l(o, &clock_, nullptr, [] { return 0.5; });
  l.OnThrottled(std::nullopt);
  EXPECT_EQ(l.Stats().paused_until - clock_.Now(), seconds(1));
  clock_.Advance(seconds(1));
  l.OnThrottled(std::nullopt);  // second burst within a window: the ceiling doubles
  EXPECT_EQ(l.Stats().paused_until - clock_.Now(), seconds(2));
}

TEST_F(LimiterTest, WindowMarginStretchesTheWindow) {
  Options o = Small(1, seconds(10));
  o.window_margin = seconds(1);
  Limiter l(o, &clock_);
  EXPECT_TRUE(l.TryAcquire(Priority::kPoll));
  clock_.Advance(seconds(10));
  EXPECT_FALSE(l.TryAcquire(Priority::kPoll));
  clock_.Advance(seconds(1));
  EXPECT_TRUE(l.TryAcquire(Priority::kPoll));
}

TEST_F(LimiterTest, APermitCountsUntilAWindowAfterItsAnswer) {
  Limiter l(Small(2, seconds(10)), &clock_);
  auto slow = l.AcquirePermit(Priority::kPoll);  // its answer takes 25 s
  ASSERT_TRUE(slow.ok());
  auto quick = l.AcquirePermit(Priority::kPoll);
  ASSERT_TRUE(quick.ok());
  EXPECT_EQ(l.Stats().in_window, 2);
  clock_.Advance(seconds(1));
  *quick = Permit();  // answered after 1 s: counted until 11 s
  clock_.Advance(seconds(10));
  EXPECT_EQ(l.Stats().in_window, 1) << "the slow request is still in flight";
  EXPECT_TRUE(l.TryAcquire(Priority::kPoll));
  EXPECT_FALSE(l.TryAcquire(Priority::kPoll));
  // The slow request may reach the server just before its answer, at 25 s: the window after it
  // holds nothing more than the limit allows.
  clock_.Advance(seconds(14));
  *slow = Permit();
  clock_.Advance(seconds(9));
  EXPECT_EQ(l.Stats().in_window, 1);
  EXPECT_TRUE(l.TryAcquire(Priority::kPoll)) << "the one granted at 11 s has left the window";
  EXPECT_FALSE(l.TryAcquire(Priority::kPoll));
  clock_.Advance(seconds(1));
  EXPECT_TRUE(l.TryAcquire(Priority::kPoll)) << "the slow one has left the window";
  EXPECT_EQ(l.RecentGrants().size(), 2u);
}

TEST_F(LimiterTest, AWaiterIsGrantedWhenAPermitIsReleased) {
  Limiter l(Small(1, seconds(10)), &clock_);
  auto held = l.AcquirePermit(Priority::kPoll);
  ASSERT_TRUE(held.ok());
  std::thread waiter = Spawn(l, Priority::kPoll, "next");
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(seconds(30));  // long past the grant: still in flight
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_TRUE(recorder_.order().empty());
  *held = Permit();
  clock_.Advance(seconds(10));
  ASSERT_TRUE(recorder_.Wait(1));
  waiter.join();
  EXPECT_EQ(recorder_.order(), std::vector<std::string>{"next"});
}

TEST_F(LimiterTest, SafetyMarginHoldsRequestsBack) {
  Options o = Small(5, seconds(10));
  o.safety_margin = 2;
  Limiter l(o, &clock_);
  EXPECT_EQ(l.EffectiveLimit(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.TryAcquire(Priority::kWrite));
  EXPECT_FALSE(l.TryAcquire(Priority::kWrite));
}

TEST_F(LimiterTest, BudgetAccountsForWaitersAheadAndPauses) {
  Limiter l(Small(10, seconds(10)), &clock_);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(l.TryAcquire(Priority::kPoll));
  EXPECT_EQ(l.Budget(Priority::kDrift, seconds(5)), 6);
  EXPECT_EQ(l.Budget(Priority::kDrift, seconds(10)), 10);
  EXPECT_EQ(l.Budget(Priority::kDrift, seconds(20)), 20);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(l.TryAcquire(Priority::kPoll));
  std::thread a = Spawn(l, Priority::kPoll, "a");
  std::thread b = Spawn(l, Priority::kPoll, "b");
  ASSERT_TRUE(clock_.AwaitWaiters(2));
  EXPECT_EQ(l.Budget(Priority::kDrift, seconds(10)), 8);
  EXPECT_EQ(l.Budget(Priority::kPoll, seconds(10)), 8);
  EXPECT_EQ(l.Budget(Priority::kWrite, seconds(10)), 10);
  EXPECT_EQ(l.Budget(Priority::kWrite, seconds(5)), 0);
  l.OnThrottled(seconds(20));
  EXPECT_EQ(l.Budget(Priority::kWrite, seconds(10)), 0);
  l.Stop();
  a.join();
  b.join();
}

TEST_F(LimiterTest, UpdatesMetrics) {
  metrics::Metrics m;
  Limiter l(Small(2, seconds(10)), &clock_, &m);
  ASSERT_TRUE(l.Acquire(Priority::kPoll).ok());
  ASSERT_TRUE(l.Acquire(Priority::kPoll).ok());
  EXPECT_EQ(m.ratelimit_in_window.Value(), 2);
  std::thread t = Spawn(l, Priority::kPoll, "t");
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(seconds(10));
  t.join();
  EXPECT_EQ(m.ratelimit_in_window.Value(), 1);
  auto h = m.ratelimit_wait.Collect().histogram;
  EXPECT_EQ(h.sample_count, 3u);
  EXPECT_DOUBLE_EQ(h.sample_sum, 10.0);
}

TEST(LimiterOptionsTest, Validate) {
  EXPECT_TRUE(Validate(Options{}).ok());
  Options o;
  o.limit = 0;
  EXPECT_FALSE(Validate(o).ok());
  o = Options{};
  o.window = Duration::zero();
  EXPECT_FALSE(Validate(o).ok());
  o = Options{};
  o.safety_margin = 125;
  EXPECT_FALSE(Validate(o).ok());
  o = Options{};
  o.throttle_factor = 0;
  EXPECT_FALSE(Validate(o).ok());
}

}  // namespace
}  // namespace aura::ratelimit

namespace aura::ratelimit {
namespace {

// ---- learning the account's limit ----

struct Learned {
  std::mutex mu;
  std::vector<std::pair<int, bool>> calls;
};

Options Learning(Learned* learned, int probe_above = 25) {
  Options o;
  o.limit = 125;
  o.window = std::chrono::seconds(60);
  o.learn_limit = true;
  o.probe_above = probe_above;
  o.on_learned = [learned](int limit, bool confirmed) {
    std::lock_guard<std::mutex> g(learned->mu);
    learned->calls.emplace_back(limit, confirmed);
  };
  return o;
}

TEST(LimiterLearningTest, AFirst429BelowTheLimitTeachesTheAccountsLimit) {
  base::FakeClock clock;
  Learned learned;
  Limiter l(Learning(&learned, /*probe_above=*/0), &clock);
  for (int i = 0; i < 25; ++i) {
    auto p = l.AcquirePermit(Priority::kPoll);
    ASSERT_TRUE(p.ok());
    p->set_outcome(Permit::Outcome::kAnswered);
  }
  auto refused = l.AcquirePermit(Priority::kPoll);
  ASSERT_TRUE(refused.ok());
  l.OnThrottled(std::chrono::seconds(2), clock.Now());
  refused->set_outcome(Permit::Outcome::kThrottled);
  EXPECT_EQ(l.Limit(), 25);
  EXPECT_FALSE(l.Stats().throttled) << "a learned limit is not also halved";
  ASSERT_EQ(learned.calls.size(), 1u);
  EXPECT_EQ(learned.calls[0], std::make_pair(25, false));
  // The window holds 26 grants: nothing more until it slides, whatever the pause says.
  clock.Advance(std::chrono::seconds(2));
  EXPECT_FALSE(l.TryAcquire(Priority::kPoll));
  clock.Advance(std::chrono::seconds(58));
  EXPECT_TRUE(l.TryAcquire(Priority::kPoll));
  // A later 429 with a full window is an ordinary throttle: no new limit.
  l.OnThrottled(std::nullopt, clock.Now());
  EXPECT_EQ(l.Limit(), 25);
  EXPECT_EQ(learned.calls.size(), 1u);
}

TEST(LimiterLearningTest, TokenEndpoint429sTeachNothing) {
  base::FakeClock clock;
  Learned learned;
  Limiter l(Learning(&learned, 0), &clock);
  ASSERT_TRUE(l.Acquire(Priority::kWrite).ok());
  l.OnThrottled(std::chrono::seconds(1), clock.Now(), /*may_learn=*/false);
  EXPECT_EQ(l.Limit(), 125);
  EXPECT_TRUE(learned.calls.empty());
}

TEST(LimiterLearningTest, WithoutLearningTheLimitNeverMoves) {
  base::FakeClock clock;
  Options o = Small(125, std::chrono::seconds(60));
  Limiter l(o, &clock);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(l.Acquire(Priority::kPoll).ok());
  l.OnThrottled(std::chrono::seconds(1), clock.Now());
  EXPECT_EQ(l.Limit(), 125);
  EXPECT_TRUE(l.Stats().throttled);
}

TEST(LimiterLearningTest, BeyondTheLowestTierRequestsGoOneAtATime) {
  base::FakeClock clock;
  Learned learned;
  Limiter l(Learning(&learned, /*probe_above=*/3), &clock);
  std::vector<Permit> held;
  for (int i = 0; i < 3; ++i) {
    auto p = l.AcquirePermit(Priority::kPoll);
    ASSERT_TRUE(p.ok());
    held.push_back(std::move(*p));  // in flight
  }
  // The 4th is granted (within-tier requests in flight do not count); the 5th waits for it.
  auto fourth = l.AcquirePermit(Priority::kPoll);
  ASSERT_TRUE(fourth.ok());
  EXPECT_FALSE(l.TryAcquire(Priority::kPoll));
  std::atomic<bool> got{false};
  std::thread fifth([&] {
    auto p = l.AcquirePermit(Priority::kPoll);
    got = p.ok();
  });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  EXPECT_FALSE(got.load());
  // The 4th's answer arrives (not a 429): the larger tier is proven and probing stops.
  fourth->set_outcome(Permit::Outcome::kAnswered);
  *fourth = Permit();
  fifth.join();
  EXPECT_TRUE(got.load());
  EXPECT_FALSE(l.probing());
  ASSERT_EQ(learned.calls.size(), 1u);
  EXPECT_EQ(learned.calls[0], std::make_pair(125, true));
  EXPECT_TRUE(l.TryAcquire(Priority::kPoll));  // concurrency is back
}

TEST(LimiterLearningTest, ProbingFindsA25TierWithOne429) {
  base::FakeClock clock;
  Learned learned;
  Limiter l(Learning(&learned, 25), &clock);
  for (int i = 0; i < 25; ++i) {
    auto p = l.AcquirePermit(Priority::kPoll);
    ASSERT_TRUE(p.ok());
    p->set_outcome(Permit::Outcome::kAnswered);
  }
  auto probe = l.AcquirePermit(Priority::kPoll);
  ASSERT_TRUE(probe.ok());
  EXPECT_FALSE(l.TryAcquire(Priority::kPoll)) << "a second request beyond the tier went out";
  l.OnThrottled(std::chrono::seconds(5), probe->granted_at());
  probe->set_outcome(Permit::Outcome::kThrottled);
  *probe = Permit();
  EXPECT_EQ(l.Limit(), 25);
  EXPECT_FALSE(l.probing());
  ASSERT_EQ(learned.calls.size(), 1u);
  EXPECT_EQ(learned.calls[0], std::make_pair(25, false));
}

}  // namespace
}  // namespace aura::ratelimit

namespace aura::ratelimit {
namespace {

TEST(LimiterPreloadTest, AnotherProcesssRecentRequestsCount) {
  base::FakeClock clock;
  Options o;
  o.limit = 25;
  o.window = std::chrono::seconds(3);
  Limiter l(o, &clock);
  std::vector<TimePoint> earlier;
  for (int i = 0; i < 16; ++i) earlier.push_back(clock.Now() - std::chrono::milliseconds(100));
  // Some a little ahead of now: the other process's estimate of when Aura counted them.
  earlier.push_back(clock.Now() + std::chrono::milliseconds(200));
  earlier.push_back(clock.Now() - std::chrono::seconds(4));  // long gone
  l.Preload(earlier);
  int granted = 0;
  while (l.TryAcquire(Priority::kPoll)) ++granted;
  EXPECT_EQ(granted, 25 - 17);
  EXPECT_EQ(l.RecentGrants().size(), 25u);
}

}  // namespace
}  // namespace aura::ratelimit
