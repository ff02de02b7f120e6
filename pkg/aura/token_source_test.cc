#include "pkg/aura/token_source.h"

#include <gtest/gtest.h>

#include <future>

#include "pkg/http/fake_transport.h"

namespace aura::api {
namespace {

using http::FakeTransport;
using http::HttpRequest;
using http::HttpResponse;

using base::StatusCode;
using std::chrono::seconds;

class TokenSourceTest : public ::testing::Test {
 protected:
  TokenSourceTest() : limiter_(ratelimit::Options{}, &clock_) {}
  TokenSourceOptions Options() {
    TokenSourceOptions o;
    o.token_url = "http://127.0.0.1:9/oauth/token";
    o.client_id = "id";
    o.client_secret = "secret-abcdef";
    o.retry.max_attempts = 2;
    return o;
  }
  base::FakeClock clock_;
  ratelimit::Limiter limiter_;
  FakeTransport transport_;
};

TEST_F(TokenSourceTest, CachesAndInvalidatesOnlyTheRefusedToken) {
  TokenSource ts(Options(), &transport_, &limiter_, &clock_, nullptr);
  auto a = ts.Token();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*ts.Token(), *a);
  ts.Invalidate("some-older-token");
  EXPECT_EQ(*ts.Token(), *a);
  EXPECT_EQ(ts.fetches(), 1);
  ts.Invalidate(*a);
  auto b = ts.Token();
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(ts.fetches(), 2);
}

TEST_F(TokenSourceTest, ShortLivedTokensUseHalfTheirLife) {
  transport_.OnToken([](const HttpRequest&) {
    return FakeTransport::Response(200,
                                   R"({"access_token":"t","expires_in":60,"token_type":"bearer"})");
  });
  TokenSource ts(Options(), &transport_, &limiter_, &clock_, nullptr);
  ASSERT_TRUE(ts.Token().ok());
  clock_.Advance(seconds(29));
  ASSERT_TRUE(ts.Token().ok());
  EXPECT_EQ(ts.fetches(), 1);
  clock_.Advance(seconds(1));
  ASSERT_TRUE(ts.Token().ok());
  EXPECT_EQ(ts.fetches(), 2);
}

TEST_F(TokenSourceTest, RefusedCredentialsAreUnauthenticatedAndNotRetried) {
  transport_.OnToken([](const HttpRequest&) {
    HttpResponse r = FakeTransport::Response(401, R"({"error":"invalid_client",
      "error_description":"Client authentication failed"})");
    r.headers.emplace_back("X-Request-Id", "rid-tok");
    return r;
  });
  TokenSource ts(Options(), &transport_, &limiter_, &clock_, nullptr);
  auto t = ts.Token();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(t.status().reason(), "invalid_client");
  EXPECT_EQ(t.status().request_id(), "rid-tok");
  EXPECT_EQ(t.status().message().find("secret-abcdef"), std::string::npos);
  EXPECT_EQ(ts.fetches(), 1);
}

// Wrong credentials must not cost one token request per caller (issue 9: 125 refused token
// requests per minute from `run`, as many as the rate limit allowed).
TEST_F(TokenSourceTest, FailedFetchesCoolDownBeforeTheNextOne) {
  bool refuse = true;
  transport_.OnToken([&](const HttpRequest&) {
    return refuse ? FakeTransport::Response(401, R"({"error":"invalid_client"})")
                  : FakeTransport::Response(
                        200, R"({"access_token":"t","expires_in":3600,"token_type":"bearer"})");
  });
  TokenSourceOptions o = Options();
  o.failure_cooldown = seconds(1);
  o.failure_cooldown_max = seconds(4);
  TokenSource ts(o, &transport_, &limiter_, &clock_, nullptr);
  auto expect = [&](int fetches, StatusCode code) {
    auto t = ts.Token();
    EXPECT_EQ(t.status().code(), code);
    EXPECT_EQ(ts.fetches(), fetches);
  };
  expect(1, StatusCode::kUnauthenticated);
  for (int i = 0; i < 5; ++i) expect(1, StatusCode::kUnauthenticated);  // the same error, no fetch
  clock_.Advance(seconds(1));
  expect(2, StatusCode::kUnauthenticated);  // after 1 s
  clock_.Advance(seconds(1));
  expect(2, StatusCode::kUnauthenticated);  // then 2 s
  clock_.Advance(seconds(1));
  expect(3, StatusCode::kUnauthenticated);
  clock_.Advance(seconds(3));
  expect(3, StatusCode::kUnauthenticated);  // then 4 s, the cap
  clock_.Advance(seconds(1));
  expect(4, StatusCode::kUnauthenticated);
  clock_.Advance(seconds(4));
  expect(5, StatusCode::kUnauthenticated);  // capped at 4 s
  refuse = false;
  clock_.Advance(seconds(4));
  expect(6, StatusCode::kOk);
  // A success resets the cooldown; a refused refresh keeps the cached token while cooling down.
  ts.Invalidate("t");
  refuse = true;
  expect(7, StatusCode::kUnauthenticated);
  clock_.Advance(seconds(1));
  refuse = false;
  expect(8, StatusCode::kOk);
  clock_.Advance(seconds(3600));  // due for a refresh
  refuse = true;
  expect(9, StatusCode::kUnauthenticated);
  auto stale = ts.Token();
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_EQ(*stale, "t");
  EXPECT_EQ(ts.fetches(), 9);
}

TEST_F(TokenSourceTest, ServerErrorsAreRetriedWithBackoff) {
  int n = 0;
  transport_.OnToken([&](const HttpRequest&) {
    return ++n == 1 ? FakeTransport::Response(503, R"({"error":"down"})")
                    : FakeTransport::Response(
                          200, R"({"access_token":"t","expires_in":3600,"token_type":"bearer"})");
  });
  TokenSource ts(Options(), &transport_, &limiter_, &clock_, nullptr, base::DefaultLogger(),
                 [] { return 0.5; });
  auto fut = std::async(std::launch::async, [&] { return ts.Token(); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  base::TimePoint next;
  ASSERT_TRUE(clock_.NextDeadline(&next));
  clock_.Advance(next - clock_.Now());
  auto t = fut.get();
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(ts.fetches(), 2);
}

TEST_F(TokenSourceTest, StopCancelsAFetchWaitingForTheLimiter) {
  while (limiter_.TryAcquire(ratelimit::Priority::kWrite)) {
  }
  TokenSource ts(Options(), &transport_, &limiter_, &clock_, nullptr);
  auto fut = std::async(std::launch::async, [&] { return ts.Token(); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  ts.Stop();
  EXPECT_EQ(fut.get().status().code(), StatusCode::kCancelled);
  EXPECT_EQ(ts.fetches(), 0);
}

}  // namespace
}  // namespace aura::api

namespace aura::api {
namespace {

// A TokenCache in memory, counting what it is asked.
class MemTokenCache : public TokenCache {
 public:
  std::optional<Entry> Load() override {
    ++loads;
    return entry;
  }
  void Save(const Entry& e) override {
    ++saves;
    entry = e;
  }
  void Clear() override {
    ++clears;
    entry.reset();
  }
  std::optional<Entry> entry;
  int loads = 0, saves = 0, clears = 0;
};

TEST_F(TokenSourceTest, ACachedTokenIsReusedByTheNextProcess) {
  MemTokenCache cache;
  TokenSourceOptions o = Options();
  o.cache = &cache;
  {
    TokenSource first(o, &transport_, &limiter_, &clock_, nullptr);
    ASSERT_TRUE(first.Token().ok());
  }
  ASSERT_TRUE(cache.entry.has_value());
  EXPECT_EQ(cache.entry->expires_at, clock_.SystemNow() + seconds(3600));
  // Ten more "processes" within the hour: no token request.
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(seconds(300));
    TokenSource next(o, &transport_, &limiter_, &clock_, nullptr);
    auto t = next.Token();
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t, cache.entry->access_token);
  }
  EXPECT_EQ(transport_.token_requests(), 1);
  // Within the refresh margin of its expiry: a new one, saved for the next.
  clock_.Advance(seconds(600 - 30));
  TokenSource late(o, &transport_, &limiter_, &clock_, nullptr);
  ASSERT_TRUE(late.Token().ok());
  EXPECT_EQ(transport_.token_requests(), 2);
  EXPECT_EQ(cache.saves, 2);
  // A refused token leaves the cache too.
  late.Invalidate(*late.Token());
  EXPECT_FALSE(cache.entry.has_value());
}

TEST_F(TokenSourceTest, FailingTokenRequestsSettleAtFourAnHour) {
  transport_.OnToken([](const HttpRequest&) {
    return FakeTransport::Response(503, R"({"error":"unavailable"})");
  });
  TokenSource ts(Options(), &transport_, &limiter_, &clock_, nullptr);
  std::vector<int> per_hour(4, 0);
  int before = 0;
  for (int minute = 0; minute < 4 * 60; ++minute) {
    // The first fetch backs off between its tries on the fake clock: step it to each deadline.
    auto fut = std::async(std::launch::async, [&] { return ts.Token(); });
    while (fut.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) {
      base::TimePoint next;
      if (clock_.NextDeadline(&next) && next > clock_.Now()) clock_.Advance(next - clock_.Now());
    }
    (void)fut.get();
    const int now = transport_.token_requests();
    per_hour[minute / 60] += now - before;
    before = now;
    clock_.Advance(seconds(60));
  }
  // The first fetch may retry once; later ones are single requests, 15 s doubling to 15 min.
  EXPECT_LE(per_hour[0], 10);  // 2 + the ramp 15 s, 30 s, ... 8 min, polled each minute
  for (int h = 1; h < 4; ++h) EXPECT_LE(per_hour[h], 4) << "hour " << h;
}

TEST_F(TokenSourceTest, AThrottledTokenEndpointIsLeftAloneForItsRetryAfter) {
  transport_.OnToken([](const HttpRequest&) {
    return FakeTransport::Response(429, R"({"error":"rate_limited"})", {{"Retry-After", "1200"}});
  });
  metrics::Metrics m;
  TokenSource ts(Options(), &transport_, &limiter_, &clock_, &m);
  EXPECT_EQ(ts.Token().status().code(), StatusCode::kThrottled);
  EXPECT_EQ(transport_.token_requests(), 1) << "a 429 is not retried inside the fetch";
  clock_.Advance(seconds(1199));
  EXPECT_EQ(ts.Token().status().code(), StatusCode::kThrottled);
  EXPECT_EQ(transport_.token_requests(), 1);
  clock_.Advance(seconds(1));
  // (A short Retry-After is honoured as it is, not stretched to the cooldown.)
  (void)ts.Token();
  EXPECT_EQ(transport_.token_requests(), 2);
  EXPECT_EQ(m.TokenRequests("throttled").Value(), 2);
  EXPECT_EQ(limiter_.Limit(), 125) << "the token endpoint's limit is not the API's";
}

}  // namespace
}  // namespace aura::api
