// The customer-managed key calls of Client and their lenient decoding (issue 22).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pkg/aura/client.h"
#include "pkg/aura/model_json.h"
#include "pkg/http/fake_transport.h"

namespace aura::api {
namespace {

using base::StatusCode;
using http::FakeTransport;
using http::HttpRequest;
using std::chrono::seconds;

constexpr char kKey[] = R"({"data":{"id":"8c764aed-8eb3-4a1c-92f6-e4ef0c7a6ed9",
  "name":"Production Key","created":"2024-01-31T14:06:57Z","cloud_provider":"aws",
  "key_id":"arn:aws:kms:us-east-1:123456789:key/11111","region":"us-east-1",
  "type":"enterprise-db","tenant_id":"t1","status":"pending","instance_type":"enterprise-db",
  "future":1}})";

CreateCustomerManagedKeyRequest KeyReq() {
  return {"Production Key",
          "t1",
          "aws",
          "us-east-1",
          "enterprise-db",
          "arn:aws:kms:us-east-1:123456789:key/11111"};
}

TEST(KeyModelJsonTest, ParsesAKeyLenientlyAndAListStrictlyOnNames) {
  DecodeNotes notes;
  auto k = ParseCustomerManagedKey(kKey, &notes);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->id, "8c764aed-8eb3-4a1c-92f6-e4ef0c7a6ed9");
  EXPECT_EQ(k->name, "Production Key");
  EXPECT_EQ(k->status, "pending");
  EXPECT_EQ(k->key_id, "arn:aws:kms:us-east-1:123456789:key/11111");
  EXPECT_EQ(k->instance_type, "enterprise-db");
  EXPECT_EQ(k->tenant_id, "t1");
  // A lean reply: only the id.
  k = ParseCustomerManagedKey(R"({"data":{"id":"k1","status":7}})", &notes);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->status, "7");
  EXPECT_EQ(ParseCustomerManagedKey(R"({"data":{"name":"n"}})").status().code(),
            StatusCode::kDataLoss);

  auto list = ParseCustomerManagedKeyList(
      R"({"data":[{"id":"a","name":"Prod","tenant_id":"t1"},{"id":"b","name":"Dev"}]})");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].name, "Dev");
  EXPECT_EQ((*list)[1].tenant_id, "");
  // Without its name a listed key cannot be correlated with a spec.
  EXPECT_FALSE(ParseCustomerManagedKeyList(R"({"data":[{"id":"a"}]})").ok());

  const nlohmann::json body = nlohmann::json::parse(ToJson(KeyReq()));
  EXPECT_EQ(body, (nlohmann::json{{"name", "Production Key"},
                                  {"tenant_id", "t1"},
                                  {"cloud_provider", "aws"},
                                  {"region", "us-east-1"},
                                  {"instance_type", "enterprise-db"},
                                  {"key_id", "arn:aws:kms:us-east-1:123456789:key/11111"}}));
}

class KeyClientTest : public ::testing::Test {
 protected:
  KeyClientTest()
      : limiter_(LimiterOptions(), &clock_, nullptr),
        logger_(
            base::LogLevel::kError, base::LogFormat::kJson, [](std::string_view) {}, &clock_),
        tokens_(TokenOptions(), &transport_, &limiter_, &clock_, nullptr, logger_,
                [] { return 0.5; }),
        client_(ClientOpts(), &transport_, &tokens_, &limiter_, &clock_, nullptr, logger_,
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
    o.client_secret = "client-secret-0123456789";
    return o;
  }
  static ClientOptions ClientOpts() {
    ClientOptions o;
    o.api_url = "http://127.0.0.1:9/v1";
    o.retry.max_attempts = 1;
    return o;
  }

  base::FakeClock clock_;
  ratelimit::Limiter limiter_;
  FakeTransport transport_;
  base::Logger logger_;
  TokenSource tokens_;
  Client client_;
};

TEST_F(KeyClientTest, TheFourCallsUseTheirRoutes) {
  std::vector<HttpRequest> seen;
  transport_.OnApi([&](const HttpRequest& r) {
    seen.push_back(r);
    if (r.method == "DELETE") return FakeTransport::Response(204, "", {{"X-Request-Id", "d"}});
    if (r.method == "GET" && r.url.find("?tenantId=") != std::string::npos) {
      return FakeTransport::Response(200, R"({"data":[{"id":"a","name":"Prod","tenant_id":"t1"}]})",
                                     {{"X-Request-Id", "l"}});
    }
    return FakeTransport::Response(r.method == "POST" ? 202 : 200, kKey, {{"X-Request-Id", "k"}});
  });
  auto list = client_.ListCustomerManagedKeys("t1");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->data.at(0).id, "a");
  auto created = client_.CreateCustomerManagedKey(KeyReq());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->data.status, "pending");
  auto got = client_.GetCustomerManagedKey("8c764aed-8eb3-4a1c-92f6-e4ef0c7a6ed9");
  ASSERT_TRUE(got.ok()) << got.status();
  auto deleted = client_.DeleteCustomerManagedKey("8c764aed-8eb3-4a1c-92f6-e4ef0c7a6ed9");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_FALSE(deleted->data.already_gone);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].url, "http://127.0.0.1:9/v1/customer-managed-keys?tenantId=t1");
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[1].url, "http://127.0.0.1:9/v1/customer-managed-keys");
  EXPECT_EQ(http::HeaderOf(seen[1], "Content-Type"), "application/json");
  EXPECT_EQ(seen[2].url,
            "http://127.0.0.1:9/v1/customer-managed-keys/8c764aed-8eb3-4a1c-92f6-e4ef0c7a6ed9");
  EXPECT_EQ(seen[3].method, "DELETE");
  EXPECT_EQ(limiter_.InWindow(), 5);  // the token fetch counts too
}

TEST_F(KeyClientTest, CreateIsNeverResentAndAmbiguousOn5xx) {
  int posts = 0;
  transport_.OnApi([&](const HttpRequest&) {
    ++posts;
    return FakeTransport::Response(500, R"({"error":"boom"})", {{"X-Request-Id", "r5"}});
  });
  auto r = client_.CreateCustomerManagedKey(KeyReq());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAmbiguous) << r.status();
  EXPECT_EQ(posts, 1);
  // A definite refusal is not ambiguous; a key in use is refused with its reason.
  transport_.OnApi([](const HttpRequest&) {
    return FakeTransport::Response(
        400, R"({"errors":[{"message":"in use","reason":"encryption-key-is-active"}]})",
        {{"X-Request-Id", "r4"}});
  });
  auto d = client_.DeleteCustomerManagedKey("k1");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << d.status();
  EXPECT_EQ(d.status().reason(), "encryption-key-is-active");
  transport_.OnApi([](const HttpRequest&) {
    return FakeTransport::Response(404, R"({"errors":[{"message":"gone","reason":"x"}]})", {});
  });
  d = client_.DeleteCustomerManagedKey("k1");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->data.already_gone);
  EXPECT_EQ(client_.GetCustomerManagedKey("k1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(client_.GetCustomerManagedKey("").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace aura::api
