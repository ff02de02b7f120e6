#include "pkg/kube/secret_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "pkg/http/fake_transport.h"

namespace aura::kube {
namespace {

using base::StatusCode;
using http::FakeTransport;
using http::HeaderOf;
using http::HttpRequest;
using http::HttpResponse;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "kube-test-XXXXXX").string();
    dir_ = ::mkdtemp(t.data());
  }
  ~TempDir() { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::trunc) << text;
    return p;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

HttpResponse Reply(int status, const json& body, http::Headers headers = {}) {
  headers.emplace_back("Audit-Id", "audit-" + std::to_string(status));
  return FakeTransport::Response(status, body.dump(), std::move(headers));
}

json StoredSecret(const std::string& rv) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata",
           {{"name", "orders-aura"},
            {"namespace", "shop"},
            {"resourceVersion", rv},
            {"uid", "u-1"},
            {"labels", {{"app.kubernetes.io/managed-by", "aura-controller"}}},
            {"annotations", {{"aura.neo4j.io/spec-key", "shop/orders"}}}}},
          {"type", "Opaque"},
          {"data", {{"NEO4J_PASSWORD", "czNjcjN0"}, {"NEO4J_USERNAME", "bmVvNGo="}}}};
}

json ApiStatus(int code, const std::string& reason, const std::string& message,
               const std::string& kind = "secrets") {
  return {{"apiVersion", "v1"},         {"kind", "Status"},
          {"status", "Failure"},        {"code", code},
          {"reason", reason},           {"message", message},
          {"metadata", json::object()}, {"details", {{"name", "orders-aura"}, {"kind", kind}}}};
}

Secret Desired() {
  Secret s;
  s.namespace_name = "shop";
  s.name = "orders-aura";
  s.data = {{"NEO4J_URI", "neo4j+s://abc.databases.neo4j.io"}, {"NEO4J_PASSWORD", "s3cr3t"}};
  s.labels = {{"app.kubernetes.io/managed-by", "aura-controller"}};
  s.annotations = {{"aura.neo4j.io/spec-key", "shop/orders"}};
  return s;
}

class SecretClientTest : public ::testing::Test {
 protected:
  SecretClientTest()
      : token_path_(dir_.Write("token", "tok-1\n")),
        token_(token_path_),
        client_(NewHttpSecretClient(&fake_, &token_, &metrics_,
                                    {"https://10.0.0.1:443/", std::chrono::seconds(5)})) {}

  TempDir dir_;
  std::string token_path_;
  FakeTransport fake_;
  TokenFile token_;
  metrics::Metrics metrics_;
  std::unique_ptr<SecretClient> client_;
};

TEST_F(SecretClientTest, GetSendsTheApiConventionsAndDecodesData) {
  fake_.OnApi([](const HttpRequest&) { return Reply(200, StoredSecret("41")); });
  auto s = client_->Get("shop", "orders-aura");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->resource_version, "41");
  EXPECT_EQ(s->uid, "u-1");
  EXPECT_EQ(s->data.at("NEO4J_PASSWORD"), "s3cr3t");
  EXPECT_EQ(s->annotations.at("aura.neo4j.io/spec-key"), "shop/orders");
  auto reqs = fake_.api_requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].url, "https://10.0.0.1:443/api/v1/namespaces/shop/secrets/orders-aura");
  EXPECT_EQ(HeaderOf(reqs[0], "Authorization"), "Bearer tok-1");
  EXPECT_EQ(HeaderOf(reqs[0], "Accept"), "application/json");
  EXPECT_EQ(reqs[0].body, "");
  EXPECT_THAT(metrics_.Serialize(),
              HasSubstr("aura_kube_requests_total{code=\"200\",verb=\"get\"} 1"));
}

TEST_F(SecretClientTest, CreatePostsAnOpaqueSecretWithBase64Data) {
  fake_.OnApi([](const HttpRequest&) { return Reply(201, StoredSecret("7")); });
  Secret d = Desired();
  d.resource_version = "stale";  // never sent on create
  auto s = client_->Create(d);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->resource_version, "7");
  auto req = fake_.api_requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url,
            "https://10.0.0.1:443/api/v1/namespaces/shop/secrets?fieldManager=aura-controller");
  EXPECT_EQ(HeaderOf(req, "Content-Type"), "application/json");
  json body = json::parse(req.body);
  EXPECT_EQ(body["apiVersion"], "v1");
  EXPECT_EQ(body["kind"], "Secret");
  EXPECT_EQ(body["type"], "Opaque");
  EXPECT_EQ(body["metadata"]["name"], "orders-aura");
  EXPECT_EQ(body["metadata"]["namespace"], "shop");
  EXPECT_FALSE(body["metadata"].contains("resourceVersion"));
  EXPECT_EQ(body["metadata"]["labels"]["app.kubernetes.io/managed-by"], "aura-controller");
  EXPECT_EQ(body["data"]["NEO4J_PASSWORD"], "czNjcjN0");
  EXPECT_THAT(req.body, Not(HasSubstr("s3cr3t")));
}

TEST_F(SecretClientTest, UpdatePutsWithTheResourceVersionAndA409IsAConflict) {
  fake_.OnApi([](const HttpRequest&) {
    return Reply(409, ApiStatus(409, "Conflict",
                                "Operation cannot be fulfilled on secrets \"orders-aura\": the "
                                "object has been modified"));
  });
  Secret d = Desired();
  d.resource_version = "41";
  auto s = client_->Update(d);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kConflict);
  EXPECT_EQ(s.status().http_status(), 409);
  EXPECT_EQ(s.status().request_id(), "audit-409");
  auto req = fake_.api_requests().at(0);
  EXPECT_EQ(req.method, "PUT");
  EXPECT_EQ(req.url,
            "https://10.0.0.1:443/api/v1/namespaces/shop/secrets/"
            "orders-aura?fieldManager=aura-controller");
  EXPECT_EQ(json::parse(req.body)["metadata"]["resourceVersion"], "41");

  d.resource_version.clear();
  EXPECT_EQ(client_->Update(d).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fake_.api_requests().size(), 1u);
}

TEST_F(SecretClientTest, ErrorsSayWhatToDoNext) {
  int status = 0;
  json body;
  fake_.OnApi([&](const HttpRequest&) { return Reply(status, body); });

  status = 409;
  body = ApiStatus(409, "AlreadyExists", "secrets \"orders-aura\" already exists");
  EXPECT_EQ(client_->Create(Desired()).status().code(), StatusCode::kAlreadyExists);

  status = 403;
  body = ApiStatus(403, "Forbidden",
                   "secrets is forbidden: User \"system:serviceaccount:aura-system:aura-"
                   "controller\" cannot create resource \"secrets\" in the namespace \"shop\"");
  base::Status forbidden = client_->Create(Desired()).status();
  EXPECT_EQ(forbidden.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(forbidden.message(), HasSubstr("RBAC refused create on secrets in namespace shop"));
  EXPECT_EQ(forbidden.request_id(), "audit-403");

  status = 404;
  body = ApiStatus(404, "NotFound", "secrets \"orders-aura\" not found");
  EXPECT_EQ(client_->Get("shop", "orders-aura").status().code(), StatusCode::kNotFound);
  body = ApiStatus(404, "NotFound", "namespaces \"shop\" not found", "namespaces");
  base::Status no_ns = client_->Create(Desired()).status();
  EXPECT_EQ(no_ns.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(no_ns.message(), HasSubstr("namespace shop does not exist"));

  status = 422;
  body = ApiStatus(422, "Invalid", "Secret \"x\" is invalid");
  EXPECT_EQ(client_->Create(Desired()).status().code(), StatusCode::kInvalidArgument);

  status = 503;
  body = ApiStatus(503, "ServiceUnavailable", "etcd is down");
  EXPECT_EQ(client_->Get("shop", "orders-aura").status().code(), StatusCode::kUnavailable);

  fake_.OnApi([](const HttpRequest&) {
    return Reply(429, ApiStatus(429, "TooManyRequests", "slow down"), {{"Retry-After", "3"}});
  });
  base::Status throttled = client_->Get("shop", "orders-aura").status();
  EXPECT_EQ(throttled.code(), StatusCode::kThrottled);
  EXPECT_EQ(throttled.retry_after(), std::chrono::milliseconds(3000));

  fake_.OnApi([](const HttpRequest&) {
    return FakeTransport::Response(302, "", {{"Location", "https://evil.example/x"}});
  });
  base::Status redirect = client_->Get("shop", "orders-aura").status();
  EXPECT_EQ(redirect.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(redirect.message(), HasSubstr("evil.example"));

  fake_.OnApi([](const HttpRequest&) { return FakeTransport::Response(200, "<html>"); });
  EXPECT_EQ(client_->Get("shop", "orders-aura").status().code(), StatusCode::kDataLoss);

  fake_.OnApi([](const HttpRequest&) -> base::StatusOr<HttpResponse> {
    return base::UnavailableError("connection refused").SetReason("connect");
  });
  base::Status down = client_->Get("shop", "orders-aura").status();
  EXPECT_EQ(down.code(), StatusCode::kUnavailable);
  EXPECT_EQ(down.reason(), "connect");
  EXPECT_THAT(down.message(), HasSubstr("kubernetes get secret shop/orders-aura"));
  EXPECT_THAT(metrics_.Serialize(),
              HasSubstr("aura_kube_requests_total{code=\"error\",verb=\"get\"} 1"));
}

TEST_F(SecretClientTest, DeleteSendsPreconditionsAndTreatsGoneAsDone) {
  int status = 200;
  fake_.OnApi([&](const HttpRequest&) {
    if (status == 200) {
      return Reply(200, {{"apiVersion", "v1"}, {"kind", "Status"}, {"status", "Success"}});
    }
    if (status == 404) return Reply(404, ApiStatus(404, "NotFound", "not found"));
    return Reply(409, ApiStatus(409, "Conflict", "Precondition failed: UID in precondition"));
  });
  ASSERT_TRUE(client_->Delete("shop", "orders-aura", "41").ok());
  auto req = fake_.api_requests().at(0);
  EXPECT_EQ(req.method, "DELETE");
  EXPECT_EQ(req.url, "https://10.0.0.1:443/api/v1/namespaces/shop/secrets/orders-aura");
  json body = json::parse(req.body);
  EXPECT_EQ(body["kind"], "DeleteOptions");
  EXPECT_EQ(body["preconditions"]["resourceVersion"], "41");
  status = 404;
  EXPECT_TRUE(client_->Delete("shop", "orders-aura", "").ok());
  EXPECT_FALSE(json::parse(fake_.api_requests().at(1).body).contains("preconditions"));
  status = 409;
  EXPECT_EQ(client_->Delete("shop", "orders-aura", "41").code(), StatusCode::kConflict);
}

TEST_F(SecretClientTest, BadNamesAreRefusedBeforeAnythingIsSent) {
  EXPECT_EQ(client_->Get("Shop", "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Get("shop", "../x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Delete("shop", "a/b", "").code(), StatusCode::kInvalidArgument);
  Secret d = Desired();
  d.name = std::string(254, 'a');
  EXPECT_EQ(client_->Create(d).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(fake_.api_requests().empty());
  EXPECT_TRUE(IsSecretName("orders.neo4j-1"));
  EXPECT_FALSE(IsSecretName("orders..neo4j"));
  EXPECT_FALSE(IsNamespaceName("a.b"));
}

TEST_F(SecretClientTest, RotatedTokenIsPickedUpAndA401ReReadsTheFileOnce) {
  std::vector<std::string> seen;
  fake_.OnApi([&](const HttpRequest& r) {
    seen.push_back(HeaderOf(r, "Authorization"));
    if (HeaderOf(r, "Authorization") == "Bearer tok-3") return Reply(200, StoredSecret("1"));
    return Reply(401, ApiStatus(401, "Unauthorized", "Unauthorized"));
  });
  // The kubelet rotated the token between two requests: the new file is read.
  dir_.Write("token.next", "tok-3\n");
  std::filesystem::rename(dir_.dir() + "/token.next", token_path_);
  ASSERT_TRUE(client_->Get("shop", "orders-aura").ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"Bearer tok-3"}));

  // A 401 with a token that is still the file's: one request, no retry with the same token.
  dir_.Write("token.next", "tok-4\n");
  std::filesystem::rename(dir_.dir() + "/token.next", token_path_);
  seen.clear();
  fake_.OnApi([&](const HttpRequest& r) {
    seen.push_back(HeaderOf(r, "Authorization"));
    return Reply(401, ApiStatus(401, "Unauthorized", "Unauthorized"));
  });
  base::Status s = client_->Get("shop", "orders-aura").status();
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(seen, (std::vector<std::string>{"Bearer tok-4"}));
}

TEST_F(SecretClientTest, A401RetriesOnceWithATokenRotatedInPlace) {
  // The file changes without its stat() identity changing as seen at the first read (same
  // inode, size and a coarse mtime): only the forced re-read after the 401 finds it.
  std::vector<std::string> seen;
  fake_.OnApi([&](const HttpRequest& r) {
    seen.push_back(HeaderOf(r, "Authorization"));
    if (seen.size() == 1) {
      std::ofstream(token_path_, std::ios::trunc) << "tok-2\n";
      return Reply(401, ApiStatus(401, "Unauthorized", "Unauthorized"));
    }
    return Reply(200, StoredSecret("1"));
  });
  ASSERT_TRUE(client_->Get("shop", "orders-aura").ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"Bearer tok-1", "Bearer tok-2"}));
}

TEST(SecretJsonTest, RoundTripAndRefusals) {
  Secret s = Desired();
  s.resource_version = "9";
  auto back = SecretFromJson(SecretToJson(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->data, s.data);
  EXPECT_EQ(back->labels, s.labels);
  EXPECT_EQ(back->annotations, s.annotations);
  EXPECT_EQ(back->resource_version, "9");
  EXPECT_EQ(back->type, "Opaque");
  EXPECT_FALSE(SecretFromJson(R"({"kind":"ConfigMap","metadata":{}})").ok());
  EXPECT_FALSE(SecretFromJson(R"({"kind":"Secret","metadata":{},"data":{"A":"!!"}})").ok());
  EXPECT_FALSE(SecretFromJson(R"({"kind":"Secret","metadata":{"labels":{"a":1}}})").ok());
  base::Status bad =
      SecretFromJson(R"({"kind":"Secret","metadata":{},"data":{"PW":"%%"}})").status();
  EXPECT_THAT(bad.message(), HasSubstr("data.PW"));
}

}  // namespace
}  // namespace aura::kube
