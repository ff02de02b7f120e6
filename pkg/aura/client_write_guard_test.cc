// ClientOptions::write_guard (HA fencing): every non-GET request is checked right before it is
// sent, after the limiter's wait, and a refusal sends nothing and fails with kCancelled.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "pkg/aura/client.h"
#include "pkg/http/fake_transport.h"

namespace aura::api {
namespace {

using http::FakeTransport;
using http::HttpRequest;

using base::StatusCode;
using std::chrono::seconds;

std::string CreatedBody() {
  return R"({"data":{"id":"2f49c2b3","connection_url":"neo4j+s://x","username":"neo4j",
    "password":"one-time-password-XYZ","tenant_id":"t1","cloud_provider":"gcp",
    "region":"europe-west1","type":"professional-db","name":"orders",
    "created_at":"2023-01-20T13:44:42Z"}})";
}

std::string InstanceBody() {
  return R"({"data":{"id":"2f49c2b3","name":"orders","status":"running",
    "connection_url":"neo4j+s://2f49c2b3.databases.neo4j.io","tenant_id":"t1",
    "cloud_provider":"gcp","memory":"4GB","storage":"8GB","region":"europe-west1",
    "type":"professional-db","created_at":"2023-01-20T13:44:42Z"}})";
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

class WriteGuardTest : public ::testing::Test {
 protected:
  WriteGuardTest()
      : limiter_(LimiterOptions(), &clock_, nullptr),
        logger_(
            base::LogLevel::kError, base::LogFormat::kJson, [](std::string_view) {}, &clock_),
        tokens_(TokenOptions(), &transport_, &limiter_, &clock_, nullptr, logger_,
                [] { return 0.5; }) {
    transport_.OnApi([](const HttpRequest& r) {
      return FakeTransport::Response(
          r.method == "POST" && r.url.ends_with("/instances") ? 202 : 200,
          r.method == "POST" && r.url.ends_with("/instances") ? CreatedBody() : InstanceBody(),
          {{"X-Request-Id", "rid"}});
    });
  }

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
    o.client_secret = "client-secret-0123456789";
    return o;
  }
  std::unique_ptr<Client> MakeClient(std::function<base::Status()> guard) {
    ClientOptions o;
    o.api_url = "http://127.0.0.1:9/v1";
    o.write_guard = std::move(guard);
    return std::make_unique<Client>(o, &transport_, &tokens_, &limiter_, &clock_, nullptr, logger_,
                                    [] { return 0.5; });
  }

  base::FakeClock clock_;
  ratelimit::Limiter limiter_;
  FakeTransport transport_;
  base::Logger logger_;
  TokenSource tokens_;
};

TEST_F(WriteGuardTest, RefusalSendsNothingAndIsCancelled) {
  std::atomic<bool> leader{false};
  std::atomic<int> checks{0};
  auto client = MakeClient([&]() -> base::Status {
    ++checks;
    return leader ? base::Status() : base::FailedPreconditionError("not the leader");
  });
  // Reads are never guarded.
  ASSERT_TRUE(client->GetInstance("2f49c2b3").ok());
  EXPECT_EQ(checks.load(), 0);

  auto created = client->CreateInstance(CreateReq());
  EXPECT_EQ(created.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(created.status().reason(), "write_guard");
  EXPECT_NE(created.status().message().find("not the leader"), std::string::npos);
  UpdateInstanceRequest patch;
  patch.memory = "8GB";
  EXPECT_EQ(client->UpdateInstance("2f49c2b3", patch).status().code(), StatusCode::kCancelled);
  EXPECT_EQ(client->DeleteInstance("2f49c2b3").status().code(), StatusCode::kCancelled);
  EXPECT_EQ(client->PauseInstance("2f49c2b3").status().code(), StatusCode::kCancelled);
  EXPECT_EQ(checks.load(), 4);
  for (const auto& r : transport_.api_requests()) EXPECT_EQ(r.method, "GET");

  leader = true;
  ASSERT_TRUE(client->CreateInstance(CreateReq()).ok());
  EXPECT_EQ(checks.load(), 5);
  EXPECT_EQ(transport_.api_requests().back().method, "POST");
}

TEST_F(WriteGuardTest, CheckedAfterTheLimiterWait) {
  // Leadership lost while the write waited for its slot: it must not go out afterwards.
  std::atomic<bool> leader{true};
  auto client = MakeClient([&]() -> base::Status {
    return leader ? base::Status() : base::FailedPreconditionError("not the leader");
  });
  ASSERT_TRUE(tokens_.Token().ok());  // fetched before the wait below
  while (limiter_.TryAcquire(ratelimit::Priority::kWrite)) {
  }
  auto fut = std::async(std::launch::async, [&] { return client->CreateInstance(CreateReq()); });
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  leader = false;
  clock_.Advance(seconds(60));
  EXPECT_EQ(fut.get().status().code(), StatusCode::kCancelled);
  EXPECT_TRUE(transport_.api_requests().empty());
}

TEST_F(WriteGuardTest, NoGuardMeansNoCheck) {
  auto client = MakeClient(nullptr);
  EXPECT_TRUE(client->CreateInstance(CreateReq()).ok());
}

}  // namespace
}  // namespace aura::api
