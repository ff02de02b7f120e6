#include "pkg/aura/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "pkg/base/base64.h"
#include "pkg/http/fake_transport.h"

namespace aura::api {
namespace {

using http::FakeTransport;
using http::HeaderOf;
using http::Headers;
using http::HttpRequest;
using http::HttpResponse;

using base::StatusCode;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kSecret[] = "client-secret-0123456789";
constexpr char kPassword[] = "one-time-password-XYZ";

std::string InstanceBody(const std::string& status = "running") {
  return R"({"data":{"id":"2f49c2b3","name":"orders","status":")" + status +
         R"(","connection_url":"neo4j+s://2f49c2b3.databases.neo4j.io","tenant_id":"t1",
         "cloud_provider":"gcp","memory":"4GB","storage":"8GB","region":"europe-west1",
         "type":"professional-db","created_at":"2023-01-20T13:44:42Z"}})";
}

std::string CreatedBody() {
  return std::string(R"({"data":{"id":"2f49c2b3","connection_url":"neo4j+s://x","username":"neo4j",
    "password":")") +
         kPassword + R"(","tenant_id":"t1","cloud_provider":"gcp",
    "region":"europe-west1","type":"professional-db","name":"orders",
    "created_at":"2023-01-20T13:44:42Z"}})";
}

HttpResponse Reply(int status, std::string body, std::string request_id = "rid-1",
                   Headers extra = {}) {
  extra.emplace_back("X-Request-Id", std::move(request_id));
  return FakeTransport::Response(status, std::move(body), std::move(extra));
}

CreateInstanceRequest CreateReq() {
  CreateInstanceRequest r;
  r.name = "orders";
  r.version = "5";
  r.region = "europe-west1";
  r.memory = "4GB";
  r.type = "professional-db";
  r.tenant_id = "t1";
  r.cloud_provider = "gcp";
  return r;
}

class ClientTest : public ::testing::Test {
 protected:
  ClientTest()
      : limiter_(LimiterOptions(), &clock_, &metrics_),
        logger_(
            base::LogLevel::kDebug, base::LogFormat::kJson,
            [this](std::string_view line) {
              std::lock_guard<std::mutex> g(log_mu_);
              log_ += std::string(line) + "\n";
            },
            &clock_),
        tokens_(TokenOptions(), &transport_, &limiter_, &clock_, &metrics_, logger_,
                [] { return 0.5; }),
        client_(ClientOpts(), &transport_, &tokens_, &limiter_, &clock_, &metrics_, logger_,
                [] { return 0.5; }) {}

  static ratelimit::Options LimiterOptions() {
    ratelimit::Options o;
    o.limit = 100;
    o.window = seconds(60);
    return o;
  }
  static TokenSourceOptions TokenOptions() {
    TokenSourceOptions o;
    o.token_url = "http://127.0.0.1:9/oauth/token";
    o.client_id = "my-client";
    o.client_secret = kSecret;
    o.retry.max_attempts = 3;
    return o;
  }
  static ClientOptions ClientOpts() {
    ClientOptions o;
    o.api_url = "http://127.0.0.1:9/v1/";
    o.retry.initial = milliseconds(200);
    o.retry.max_delay = seconds(2);
    o.retry.max_attempts = 3;
    return o;
  }

  // Runs `f` on another thread and steps the fake clock to each deadline until it returns.
  template <typename F>
  auto Drive(F f) -> decltype(f()) {
    auto fut = std::async(std::launch::async, f);
    while (fut.wait_for(milliseconds(1)) != std::future_status::ready) {
      base::TimePoint next;
      if (clock_.NextDeadline(&next) && next > clock_.Now()) clock_.Advance(next - clock_.Now());
    }
    return fut.get();
  }

  std::string Log() {
    std::lock_guard<std::mutex> g(log_mu_);
    return log_;
  }

  base::FakeClock clock_;
  metrics::Metrics metrics_;
  ratelimit::Limiter limiter_;
  FakeTransport transport_;
  std::mutex log_mu_;
  std::string log_;
  base::Logger logger_;
  TokenSource tokens_;
  Client client_;
};

TEST_F(ClientTest, GetSendsBearerTokenAndParsesTheReply) {
  transport_.OnApi([](const HttpRequest&) { return Reply(200, InstanceBody(), "rid-get"); });
  auto r = client_.GetInstance("2f49c2b3");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->data.memory, "4GB");
  EXPECT_EQ(r->request_id, "rid-get");
  auto reqs = transport_.api_requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].url, "http://127.0.0.1:9/v1/instances/2f49c2b3");
  EXPECT_EQ(HeaderOf(reqs[0], "Authorization"), "Bearer tok-1");
  EXPECT_EQ(HeaderOf(reqs[0], "Content-Type"), "");
  EXPECT_EQ(metrics_.ApiRequests("GET", metrics::kRouteInstance, "200").Value(), 1);
  EXPECT_EQ(limiter_.InWindow(), 2);  // the token fetch counts too
}

TEST_F(ClientTest, TokenRequestUsesBasicAuthAndAForm) {
  transport_.OnApi([](const HttpRequest&) { return Reply(200, R"({"data":[]})"); });
  ASSERT_TRUE(client_.ListTenants().ok());
  auto reqs = transport_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].url, "http://127.0.0.1:9/oauth/token");
  EXPECT_EQ(HeaderOf(reqs[0], "Authorization"),
            "Basic " + base::Base64Encode(std::string("my-client:") + kSecret));
  EXPECT_EQ(HeaderOf(reqs[0], "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(reqs[0].body, "grant_type=client_credentials");
  EXPECT_EQ(metrics_.token_refreshes.Value(), 1);
}

TEST_F(ClientTest, ManyCallsShareOneToken) {
  transport_.OnApi([](const HttpRequest&) { return Reply(200, R"({"data":[]})"); });
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client_.ListInstances("").ok());
  EXPECT_EQ(transport_.token_requests(), 1);
}

TEST_F(ClientTest, ConcurrentCallersWaitForOneTokenFetch) {
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  transport_.OnToken([gate](const HttpRequest&) {
    gate.wait();
    return Reply(200, R"({"access_token":"tok-shared","expires_in":3600,"token_type":"Bearer"})");
  });
  transport_.OnApi([](const HttpRequest&) { return Reply(200, R"({"data":[]})"); });
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { ok += client_.ListTenants().ok() ? 1 : 0; });
  }
  // Give the callers real time to pile up behind the fetch; correctness does not depend on it.
  std::this_thread::sleep_for(milliseconds(50));
  release.set_value();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(transport_.token_requests(), 1);
  for (const auto& r : transport_.api_requests()) {
    EXPECT_EQ(HeaderOf(r, "Authorization"), "Bearer tok-shared");
  }
}

TEST_F(ClientTest, TokenIsRefreshedAMarginBeforeItExpires) {
  int n = 0;
  transport_.OnToken([&n](const HttpRequest&) {
    return Reply(200, R"({"access_token":"tok-)" + std::to_string(++n) +
                          R"(","expires_in":600,"token_type":"bearer"})");
  });
  transport_.OnApi([](const HttpRequest&) { return Reply(200, R"({"data":[]})"); });
  ASSERT_TRUE(client_.ListTenants().ok());
  clock_.Advance(seconds(539));
  ASSERT_TRUE(client_.ListTenants().ok());
  EXPECT_EQ(transport_.token_requests(), 1);
  clock_.Advance(seconds(1));  // 600 s - 60 s margin
  ASSERT_TRUE(client_.ListTenants().ok());
  EXPECT_EQ(transport_.token_requests(), 2);
  EXPECT_EQ(HeaderOf(transport_.api_requests().back(), "Authorization"), "Bearer tok-2");
}

TEST_F(ClientTest, ForbiddenDropsTheTokenAndRetriesOnceEvenForPost) {
  int posts = 0;
  transport_.OnApi([&](const HttpRequest& r) {
    ++posts;
    if (HeaderOf(r, "Authorization") == "Bearer tok-1") {
      return Reply(403, R"({"error":"Token expired"})", "rid-403");
    }
    return Reply(202, CreatedBody(), "rid-202");
  });
  auto r = client_.CreateInstance(CreateReq());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->data.id, "2f49c2b3");
  EXPECT_EQ(r->request_id, "rid-202");
  EXPECT_EQ(posts, 2);
  EXPECT_EQ(transport_.token_requests(), 2);
  EXPECT_EQ(metrics_.ApiRetries("token").Value(), 1);
}

TEST_F(ClientTest, SecondRefusalIsReturned) {
  transport_.OnApi(
      [](const HttpRequest&) { return Reply(401, R"({"error":"Unauthorized"})", "rid-401"); });
  auto r = client_.GetInstance("2f49c2b3");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().http_status(), 401);
  EXPECT_EQ(r.status().request_id(), "rid-401");
  EXPECT_EQ(transport_.api_requests().size(), 2u);
  transport_.OnApi([](const HttpRequest&) {
    return Reply(403, R"({"errors":[{"message":"no","reason":"forbidden"}]})", "rid-403");
  });
  r = client_.GetInstance("2f49c2b3");
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().reason(), "forbidden");
}

TEST_F(ClientTest, GetRetries5xxWithBackoffThenSucceeds) {
  std::vector<base::TimePoint> sent;
  transport_.OnApi([&](const HttpRequest&) {
    sent.push_back(clock_.Now());
    return sent.size() < 3 ? Reply(503, R"({"error":"Service Unavailable"})", "rid-503")
                           : Reply(200, InstanceBody(), "rid-ok");
  });
  auto r = Drive([&] { return client_.GetInstance("2f49c2b3"); });
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(sent.size(), 3u);
  // Full jitter with u = 0.5: 100 ms then 200 ms.
  EXPECT_EQ(sent[1] - sent[0], milliseconds(100));
  EXPECT_EQ(sent[2] - sent[1], milliseconds(200));
  EXPECT_EQ(metrics_.ApiRetries("5xx").Value(), 2);
}

TEST_F(ClientTest, GetGivesUpAfterBoundedAttempts) {
  transport_.OnApi([](const HttpRequest&) {
    return Reply(500, R"({"error":"Internal Server Error"})", "rid-500");
  });
  auto r = Drive([&] { return client_.ListInstances("t1"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().http_status(), 500);
  EXPECT_EQ(r.status().request_id(), "rid-500");
  EXPECT_EQ(transport_.api_requests().size(), 3u);
  EXPECT_EQ(transport_.api_requests()[0].url, "http://127.0.0.1:9/v1/instances?tenantId=t1");
}

TEST_F(ClientTest, GetRetriesConnectionErrors) {
  int n = 0;
  transport_.OnApi([&](const HttpRequest&) -> base::StatusOr<HttpResponse> {
    if (++n == 1) return base::UnavailableError("refused").SetReason("connect");
    if (n == 2) return base::DeadlineExceededError("slow").SetReason("timeout");
    return Reply(200, InstanceBody());
  });
  auto r = Drive([&] { return client_.GetInstance("2f49c2b3"); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(n, 3);
  EXPECT_EQ(metrics_.ApiRetries("transport").Value(), 2);
  EXPECT_EQ(metrics_.ApiRequests("GET", metrics::kRouteInstance, "error").Value(), 2);
}

TEST_F(ClientTest, PostIsNeverResent) {
  struct Case {
    base::StatusOr<HttpResponse> response;
    StatusCode want;
  };
  std::vector<Case> cases;
  cases.push_back({Reply(500, R"({"error":"boom"})", "rid-500"), StatusCode::kAmbiguous});
  cases.push_back(
      {Reply(504, R"({"error":"gateway timeout"})", "rid-504"), StatusCode::kAmbiguous});
  cases.push_back({base::UnavailableError("reset").SetReason("io"), StatusCode::kAmbiguous});
  cases.push_back(
      {base::DeadlineExceededError("slow").SetReason("timeout"), StatusCode::kAmbiguous});
  cases.push_back(
      {base::UnavailableError("refused").SetReason("connect"), StatusCode::kUnavailable});
  cases.push_back({Reply(429, R"({"error":"Too many"})", "rid-429", {{"Retry-After", "3"}}),
                   StatusCode::kThrottled});
  for (const Case& c : cases) {
    int posts = 0;
    transport_.OnApi([&](const HttpRequest& r) {
      EXPECT_EQ(r.method, "POST");
      ++posts;
      return c.response;
    });
    clock_.Advance(seconds(10));  // past any pause of the previous case
    auto r = client_.CreateInstance(CreateReq());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.want) << r.status();
    EXPECT_EQ(posts, 1) << r.status();
    if (c.response.ok()) {
      EXPECT_EQ(r.status().request_id(), c.response->Header("X-Request-Id"));
      EXPECT_EQ(r.status().http_status(), c.response->status);
    } else {
      EXPECT_EQ(r.status().reason(), c.response.status().reason());
    }
  }
}

TEST_F(ClientTest, PatchPauseResumeAreNeverResentEither) {
  int sent = 0;
  transport_.OnApi([&](const HttpRequest&) {
    ++sent;
    return Reply(502, R"({"error":"Bad Gateway"})", "rid-502");
  });
  UpdateInstanceRequest u;
  u.memory = "8GB";
  EXPECT_EQ(client_.UpdateInstance("a", u).status().code(), StatusCode::kAmbiguous);
  EXPECT_EQ(client_.PauseInstance("a").status().code(), StatusCode::kAmbiguous);
  EXPECT_EQ(client_.ResumeInstance("a").status().code(), StatusCode::kAmbiguous);
  EXPECT_EQ(sent, 3);
}

TEST_F(ClientTest, ThrottledGetPausesEveryoneAndRetriesAfterRetryAfter) {
  std::vector<base::TimePoint> sent;
  transport_.OnApi([&](const HttpRequest&) {
    sent.push_back(clock_.Now());
    return sent.size() == 1
               ? Reply(429, R"({"error":"Too many requests"})", "rid-429", {{"Retry-After", "5"}})
               : Reply(200, InstanceBody());
  });
  auto r = Drive([&] { return client_.GetInstance("2f49c2b3"); });
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_GE(sent[1] - sent[0], seconds(5));
  EXPECT_EQ(metrics_.api_throttled.Value(), 1);
  EXPECT_EQ(metrics_.ApiRetries("429").Value(), 1);
  EXPECT_TRUE(limiter_.Stats().throttled);
}

TEST_F(ClientTest, ThrottledPostReportsRetryAfterAndPausesTheLimiter) {
  transport_.OnApi([&](const HttpRequest&) {
    return Reply(429, R"({"error":"Too many requests"})", "rid-429", {{"Retry-After", "7"}});
  });
  auto r = client_.CreateInstance(CreateReq());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kThrottled);
  EXPECT_EQ(r.status().retry_after(), seconds(7));
  EXPECT_TRUE(limiter_.Stats().paused);
  EXPECT_EQ(limiter_.Stats().paused_until - clock_.Now(), seconds(7));
}

TEST_F(ClientTest, LongRetryAfterIsNotWaitedOutInsideACall) {
  transport_.OnApi([&](const HttpRequest&) {
    return Reply(503, R"({"error":"maintenance"})", "rid-503", {{"Retry-After", "3600"}});
  });
  auto r = client_.GetInstance("2f49c2b3");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().retry_after(), seconds(3600));
  EXPECT_EQ(transport_.api_requests().size(), 1u);
}

TEST_F(ClientTest, ErrorsAreClassifiedAndCarryTheDetails) {
  struct Case {
    int status;
    std::string body;
    StatusCode want;
    std::string reason;
    std::string field;
  };
  std::vector<Case> cases = {
      {400, R"({"errors":[{"message":"bad memory","reason":"invalid-input","field":"memory"}]})",
       StatusCode::kInvalidArgument, "invalid-input", "memory"},
      {400, R"({"errors":[{"message":"billing","reason":"missing-billing-details"}]})",
       StatusCode::kFailedPrecondition, "missing-billing-details", ""},
      {405, R"({"errors":[{"message":"quota","reason":"instance-limit"}]})",
       StatusCode::kFailedPrecondition, "instance-limit", ""},
      {415, R"({"error":"Unsupported Media Type"})", StatusCode::kInvalidArgument, "", ""},
      {404, R"({"errors":[{"message":"DB not found: a","reason":"db-not-found"}]})",
       StatusCode::kNotFound, "db-not-found", ""},
      {409, R"({"errors":[{"message":"busy","reason":"ongoing-database-operation"}]})",
       StatusCode::kConflict, "ongoing-database-operation", ""},
  };
  for (const Case& c : cases) {
    transport_.OnApi([&](const HttpRequest&) { return Reply(c.status, c.body, "rid-x"); });
    auto r = client_.PauseInstance("a");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.want) << r.status();
    EXPECT_EQ(r.status().http_status(), c.status);
    EXPECT_EQ(r.status().reason(), c.reason);
    EXPECT_EQ(r.status().field(), c.field);
    EXPECT_EQ(r.status().request_id(), "rid-x");
  }
}

TEST_F(ClientTest, DeleteTreats202And404AsDone) {
  transport_.OnApi([](const HttpRequest&) { return Reply(202, InstanceBody("destroying"), "r1"); });
  auto r = client_.DeleteInstance("a");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->data.already_gone);
  transport_.OnApi([](const HttpRequest&) {
    return Reply(404, R"({"errors":[{"message":"DB not found","reason":"db-not-found"}]})", "r2");
  });
  r = client_.DeleteInstance("a");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->data.already_gone);
  EXPECT_EQ(r->request_id, "r2");
}

TEST_F(ClientTest, WritesSendJsonContentTypeAndOnlyChangedFields) {
  std::vector<HttpRequest> seen;
  transport_.OnApi([&](const HttpRequest& r) {
    seen.push_back(r);
    if (r.method == "PATCH") return Reply(202, "{}");
    return Reply(202, InstanceBody("pausing"));
  });
  UpdateInstanceRequest u;
  u.memory = "8GB";
  u.storage = "16GB";
  auto up = client_.UpdateInstance("2f49c2b3", u);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->data.id, "2f49c2b3");
  EXPECT_EQ(up->data.status, "updating");
  ASSERT_TRUE(client_.PauseInstance("2f49c2b3").ok());
  ASSERT_TRUE(client_.ResumeInstance("2f49c2b3").ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "PATCH");
  EXPECT_EQ(nlohmann::json::parse(seen[0].body),
            nlohmann::json::parse(R"({"memory":"8GB","storage":"16GB"})"));
  EXPECT_EQ(seen[1].url, "http://127.0.0.1:9/v1/instances/2f49c2b3/pause");
  EXPECT_EQ(seen[2].url, "http://127.0.0.1:9/v1/instances/2f49c2b3/resume");
  for (const auto& r : seen) {
    EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json") << r.url;
  }
  EXPECT_EQ(seen[1].body, "{}");
  EXPECT_EQ(client_.UpdateInstance("a", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client_.GetInstance("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(transport_.api_requests().size(), 3u);
}

TEST_F(ClientTest, UnreadableBodiesAreErrorsWithTheRequestId) {
  transport_.OnApi([](const HttpRequest&) { return Reply(200, R"({"data":{"id":"a")", "rid-t"); });
  auto g = client_.GetInstance("a");
  EXPECT_EQ(g.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(g.status().request_id(), "rid-t");
  // A create reply with neither an id nor a password: accepted, outcome unknown.
  transport_.OnApi(
      [](const HttpRequest&) { return Reply(202, R"(<html>502 Bad Gateway</html>)", "rid-c"); });
  auto c = client_.CreateInstance(CreateReq());
  EXPECT_EQ(c.status().code(), StatusCode::kAmbiguous) << c.status();
  EXPECT_EQ(c.status().request_id(), "rid-c");
  // Numbers where the id and password belong are garbage: the outcome is unknown too.
  transport_.OnApi(
      [](const HttpRequest&) { return Reply(202, R"({"data":{"id":1,"password":2}})", "rid-d"); });
  auto d = client_.CreateInstance(CreateReq());
  EXPECT_EQ(d.status().code(), StatusCode::kAmbiguous) << d.status();
  // A lean reply with both is accepted whatever else is missing.
  transport_.OnApi([](const HttpRequest&) {
    return Reply(202, R"({"data":{"id":"a1b2c3d4","password":"pw","surprise":null}})", "rid-e");
  });
  auto e = client_.CreateInstance(CreateReq());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->data.id, "a1b2c3d4");
  EXPECT_EQ(e->data.password, "pw");
  EXPECT_EQ(transport_.api_requests().size(), 4u);
}

TEST_F(ClientTest, A403ThatRefusesATenantKeepsTheToken) {
  transport_.OnApi([](const HttpRequest&) {
    return Reply(403, R"({"error":"You do not have access to project t9"})", "rid-403");
  });
  auto l = client_.ListInstances("t9");
  EXPECT_EQ(l.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(l.status().request_id(), "rid-403");
  EXPECT_EQ(transport_.token_requests(), 1);
  EXPECT_EQ(transport_.api_requests().size(), 1u) << "refused tenants are not retried";
  // An expired token is another matter: a new one, and the call once more.
  int calls = 0;
  transport_.OnApi([&](const HttpRequest&) {
    return ++calls == 1 ? Reply(403, R"({"error":"Access token expired"})", "rid-exp")
                        : Reply(200, R"({"data":[]})", "rid-ok");
  });
  ASSERT_TRUE(client_.ListInstances("t1").ok());
  EXPECT_EQ(transport_.token_requests(), 2);
}

TEST_F(ClientTest, DeprecationHeaderIsAWarningOnceAndAGauge) {
  transport_.OnApi([](const HttpRequest&) {
    return Reply(200, R"({"data":[]})", "rid-d",
                 {{"X-Tyk-Api-Expires", "Wed, 03 Mar 2027 00:00:00 UTC"}});
  });
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client_.ListInstances("t").ok());
  const std::string log = Log();
  size_t n = 0;
  for (size_t at = log.find("deprecated"); at != std::string::npos;
       at = log.find("deprecated", at + 1))
    ++n;
  EXPECT_EQ(n, 1u) << log;
  EXPECT_EQ(metrics_.api_deprecation_expiry.Value(), 1804032000.0);  // 2027-03-03T00:00:00Z
}

TEST_F(ClientTest, OverlookedFieldsAreLoggedOncePerFieldAtDebug) {
  transport_.OnApi([](const HttpRequest&) {
    return Reply(200,
                 R"({"data":[{"id":"a","name":"n","extra":1},{"id":"b","name":"m","extra":2}]})",
                 "rid-l");
  });
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client_.ListInstances("t").ok());
  auto count = [](const std::string& log, const std::string& what) {
    int n = 0;
    for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
    return n;
  };
  const std::string log = Log();
  EXPECT_EQ(count(log, "data[].created_at: missing"), 1) << log;
  EXPECT_EQ(count(log, "data[].extra: not in the model"), 1) << log;
}

TEST_F(ClientTest, SecretsNeverAppearInLogsOrErrors) {
  transport_.OnApi([](const HttpRequest&) { return Reply(202, CreatedBody(), "rid-c"); });
  auto c = client_.CreateInstance(CreateReq());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->data.password, kPassword);
  transport_.OnToken([](const HttpRequest&) {
    return Reply(401, R"({"error":"invalid_client","error_description":"bad credentials"})");
  });
  tokens_.Invalidate("tok-1");
  auto e = client_.GetInstance("a");
  EXPECT_EQ(e.status().code(), StatusCode::kUnauthenticated) << e.status();
  const std::string all = Log() + e.status().ToString();
  for (const std::string& secret :
       {std::string(kSecret), std::string(kPassword), std::string("tok-1"),
        base::Base64Encode(std::string("my-client:") + kSecret)}) {
    EXPECT_EQ(all.find(secret), std::string::npos) << secret;
  }
  EXPECT_NE(Log().find("rid-c"), std::string::npos);
}

TEST_F(ClientTest, StopCancelsACallWaitingForTheLimiter) {
  while (limiter_.TryAcquire(ratelimit::Priority::kWrite)) {
  }
  auto fut = std::async(std::launch::async, [&] { return client_.ListTenants(); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  client_.Stop();
  tokens_.Stop();
  auto r = fut.get();
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(client_.ListTenants().status().code(), StatusCode::kCancelled);
}

TEST_F(ClientTest, EveryRequestTakesALimiterSlot) {
  ratelimit::Options o;
  o.limit = 3;
  o.window = seconds(60);
  ratelimit::Limiter small(o, &clock_);
  TokenSource tokens(TokenOptions(), &transport_, &small, &clock_, nullptr, logger_);
  Client client(ClientOpts(), &transport_, &tokens, &small, &clock_, nullptr, logger_);
  transport_.OnApi([](const HttpRequest&) { return Reply(200, R"({"data":[]})"); });
  ASSERT_TRUE(client.ListTenants().ok());  // token + 1
  ASSERT_TRUE(client.ListTenants().ok());  // 3
  auto fut = std::async(std::launch::async, [&] { return client.ListTenants(); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_EQ(transport_.requests().size(), 3u);
  clock_.Advance(seconds(60));
  EXPECT_TRUE(fut.get().ok());
  EXPECT_EQ(transport_.requests().size(), 4u);
}

TEST_F(ClientTest, TokenTypeIsComparedCaseInsensitively) {
  transport_.OnToken([](const HttpRequest&) {
    return Reply(200, R"({"access_token":"tok-A","expires_in":3600,"token_type":"BeArEr"})");
  });
  transport_.OnApi([](const HttpRequest&) { return Reply(200, R"({"data":[]})"); });
  EXPECT_TRUE(client_.ListTenants().ok());
  tokens_.Invalidate("tok-A");
  transport_.OnToken([](const HttpRequest&) {
    return Reply(200, R"({"access_token":"tok-B","expires_in":3600,"token_type":"mac"})");
  });
  EXPECT_EQ(client_.ListTenants().status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace aura::api
