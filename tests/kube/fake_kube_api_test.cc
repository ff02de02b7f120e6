// The fake Kubernetes API against two real clients (pkg/kube's over cpprestsdk, and kubectl),
// every body it saw checked by kubernetes-models; and the validator itself refusing bad bodies.
#include "tests/kube/fake_kube_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pkg/http/transport.h"
#include "pkg/kube/secret_client.h"
#include "pkg/kube/token_file.h"
#include "tests/kube/k8s_validator.h"
#include "tests/kube/kubectl.h"

namespace aura::kube_testing {
namespace {

using base::StatusCode;
using nlohmann::json;
using ::testing::HasSubstr;

class Scratch {
 public:
  Scratch() {
    std::string t = (std::filesystem::temp_directory_path() / "aura-kube-XXXXXX").string();
    dir_ = ::mkdtemp(t.data());
  }
  ~Scratch() { std::filesystem::remove_all(dir_); }
  const std::string& dir() const { return dir_; }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ + "/" + name, std::ios::trunc) << text;
    return dir_ + "/" + name;
  }

 private:
  std::string dir_;
};

kube::Secret Connection(const std::string& ns, const std::string& name) {
  kube::Secret s;
  s.namespace_name = ns;
  s.name = name;
  s.data = {{"NEO4J_URI", "neo4j+s://abc123.databases.neo4j.io"},
            {"NEO4J_USERNAME", "neo4j"},
            {"NEO4J_PASSWORD", "p4ss/w+rd=="},
            {"AURA_INSTANCEID", "abc123"},
            {"AURA_INSTANCENAME", "orders"}};
  s.labels = {{"app.kubernetes.io/managed-by", "aura-controller"}};
  s.annotations = {{"aura.neo4j.io/spec-key", "shop/orders"}};
  return s;
}

class FakeKubeApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeKubeApiOptions o;
    o.namespaces = {"shop", "secure"};
    o.cert_dir = scratch_.dir() + "/certs";
    auto api = FakeKubeApi::Start(o);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = std::move(*api);
    token_ = std::make_unique<kube::TokenFile>(scratch_.Write("token", api_->token() + "\n"));
    http::TransportOptions topts;
    topts.ca_file = api_->ca_file();  // the private CA, and nothing else, is trusted
    transport_ = http::NewCpprestTransport(topts);
    client_ = kube::NewHttpSecretClient(transport_.get(), token_.get(), nullptr,
                                        {api_->url(), std::chrono::seconds(5)});
  }

  // Every body the fake saw passes kubernetes-models.
  void TearDown() override {
    if (!api_) return;
    std::string report;
    base::Status v = ValidateExchanges(*api_, scratch_.dir(), &report);
    EXPECT_TRUE(v.ok()) << v;
    std::cout << report;
  }

  Scratch scratch_;
  std::unique_ptr<FakeKubeApi> api_;
  std::unique_ptr<kube::TokenFile> token_;
  std::unique_ptr<http::Transport> transport_;
  std::unique_ptr<kube::SecretClient> client_;
};

kube_testing::KubectlTarget Target(const FakeKubeApi& api) {
  return {api.url(), api.ca_file(), api.token()};
}

TEST_F(FakeKubeApiTest, TheClientSpeaksTheApiConventions) {
  auto created = client_->Create(Connection("shop", "orders-aura"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(created->resource_version.empty());
  EXPECT_EQ(api_->Data("shop", "orders-aura").at("NEO4J_PASSWORD"), "p4ss/w+rd==");
  // A second create of the name: AlreadyExists, not a silent overwrite.
  EXPECT_EQ(client_->Create(Connection("shop", "orders-aura")).status().code(),
            StatusCode::kAlreadyExists);

  kube::Secret update = *created;
  update.data["NEO4J_URI"] = "neo4j+s://moved.databases.neo4j.io";
  auto updated = client_->Update(update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_NE(updated->resource_version, created->resource_version);
  // The same update again carries a stale resourceVersion: 409 Conflict.
  base::Status stale = client_->Update(update).status();
  EXPECT_EQ(stale.code(), StatusCode::kConflict);
  EXPECT_THAT(stale.message(), HasSubstr("the object has been modified"));
  EXPECT_THAT(stale.request_id(), HasSubstr("fake-audit-"));
  EXPECT_EQ(client_->Delete("shop", "orders-aura", created->resource_version).code(),
            StatusCode::kConflict);

  auto got = client_->Get("shop", "orders-aura");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->data.at("NEO4J_URI"), "neo4j+s://moved.databases.neo4j.io");
  EXPECT_EQ(got->annotations.at("aura.neo4j.io/spec-key"), "shop/orders");
  ASSERT_TRUE(client_->Delete("shop", "orders-aura", got->resource_version).ok());
  EXPECT_EQ(client_->Get("shop", "orders-aura").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(client_->Delete("shop", "orders-aura", "").ok());  // already gone

  api_->Forbid("secure");
  base::Status forbidden = client_->Create(Connection("secure", "db-aura")).status();
  EXPECT_EQ(forbidden.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(forbidden.message(), HasSubstr("RBAC refused create on secrets in namespace secure"));
  EXPECT_THAT(forbidden.message(), HasSubstr("cannot create resource \"secrets\""));
  base::Status no_ns = client_->Create(Connection("nowhere", "db-aura")).status();
  EXPECT_EQ(no_ns.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(no_ns.message(), HasSubstr("namespace nowhere does not exist"));

  kube::TokenFile wrong(scratch_.Write("wrong-token", "not-the-token"));
  auto unauthenticated = kube::NewHttpSecretClient(transport_.get(), &wrong, nullptr,
                                                   {api_->url(), std::chrono::seconds(5)});
  EXPECT_EQ(unauthenticated->Get("shop", "x").status().code(), StatusCode::kUnauthenticated);
}

TEST_F(FakeKubeApiTest, TlsIsVerifiedAgainstTheGivenCaOnly) {
  ASSERT_TRUE(client_->Create(Connection("shop", "orders-aura")).ok());
  // The system CAs do not know the fake's CA: the handshake fails before anything is sent.
  auto system_cas = http::NewCpprestTransport();
  auto untrusting = kube::NewHttpSecretClient(system_cas.get(), token_.get(), nullptr,
                                              {api_->url(), std::chrono::seconds(5)});
  base::Status refused = untrusting->Get("shop", "orders-aura").status();
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.reason(), "connect") << refused;
  EXPECT_EQ(api_->Count("GET"), 0);
}

TEST_F(FakeKubeApiTest, DownForAWhileIsAConnectErrorThenServedAgain) {
  ASSERT_TRUE(client_->Create(Connection("shop", "orders-aura")).ok());
  api_->GoDown();
  base::Status down = client_->Get("shop", "orders-aura").status();
  EXPECT_EQ(down.code(), StatusCode::kUnavailable);
  EXPECT_EQ(down.reason(), "connect");
  ASSERT_TRUE(api_->ComeBack().ok());
  EXPECT_TRUE(client_->Get("shop", "orders-aura").ok());  // state kept
  api_->Unavailable(true);
  EXPECT_EQ(client_->Get("shop", "orders-aura").status().code(), StatusCode::kUnavailable);
  api_->Unavailable(false);
}

TEST_F(FakeKubeApiTest, KubectlReadsWhatTheClientWrote) {
  ASSERT_TRUE(client_->Create(Connection("shop", "orders-aura")).ok());
  auto s = KubectlGetSecret(Target(*api_), scratch_.dir(), "shop", "orders-aura");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)["type"], "Opaque");
  EXPECT_EQ((*s)["metadata"]["labels"]["app.kubernetes.io/managed-by"], "aura-controller");
  EXPECT_EQ(DecodedData(*s), Connection("shop", "orders-aura").data);
  EXPECT_EQ(KubectlGetSecret(Target(*api_), scratch_.dir(), "shop", "none").status().code(),
            StatusCode::kNotFound);
  // Listing, and a jsonpath read as an app's operator would do it.
  KubectlResult list =
      Kubectl(Target(*api_), scratch_.dir(), {"get", "secrets", "-n", "shop", "-o", "name"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out, "secret/orders-aura\n");
  KubectlResult user = Kubectl(
      Target(*api_), scratch_.dir(),
      {"get", "secret", "orders-aura", "-n", "shop", "-o", "jsonpath={.data.NEO4J_USERNAME}"});
  EXPECT_EQ(user.out, "bmVvNGo=");
  // kubectl fetched the discovery documents too: they are validated with the rest.
  bool discovery = false;
  for (const auto& e : api_->Exchanges()) discovery |= e.path == "/api/v1";
  EXPECT_TRUE(discovery);
}

TEST(K8sValidatorTest, RefusesBodiesAnApiServerWouldNotTake) {
  Scratch scratch;
  const std::string good = kube::SecretToJson(Connection("shop", "orders-aura"));
  std::string report;
  ASSERT_TRUE(ValidateBodies({{"Secret", "good", good, 0}}, scratch.dir(), &report).ok()) << report;
  json not_base64 = json::parse(good);
  not_base64["data"]["NEO4J_PASSWORD"] = "p4ss w0rd!";
  json unknown = json::parse(good);
  unknown["datta"] = json::object();
  json wrong_kind = json::parse(good);
  wrong_kind["kind"] = "ConfigMap";
  json label_number = json::parse(good);
  label_number["metadata"]["labels"]["tier"] = 1;
  const json status = {{"apiVersion", "v1"},
                       {"kind", "Status"},
                       {"status", "Failure"},
                       {"code", 404},
                       {"reason", "NotFound"}};
  for (const auto& [name, body, kind, code] :
       std::vector<std::tuple<std::string, std::string, std::string, int>>{
           {"not base64", not_base64.dump(), "Secret", 0},
           {"unknown field", unknown.dump(), "Secret", 0},
           {"wrong kind", wrong_kind.dump(), "Secret", 0},
           {"label not a string", label_number.dump(), "Secret", 0},
           {"status code", status.dump(), "Status", 409},
           {"not json", "{", "Secret", 0}}) {
    base::Status v = ValidateBodies({{kind, name, body, code}}, scratch.dir(), &report);
    EXPECT_EQ(v.code(), StatusCode::kInvalidArgument) << name << ": " << report;
    EXPECT_THAT(report, HasSubstr("INVALID " + name)) << report;
  }
}

}  // namespace
}  // namespace aura::kube_testing
