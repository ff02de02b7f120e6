#include "pkg/kube/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace aura::kube {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class KubeConfigTest : public ::testing::Test {
 protected:
  KubeConfigTest() {
    std::string t = (fs::temp_directory_path() / "kube-sa-XXXXXX").string();
    sa_ = ::mkdtemp(t.data());
  }
  ~KubeConfigTest() override { fs::remove_all(sa_); }
  std::function<std::string(const char*)> Env() const {
    return [this](const char* name) {
      auto it = env_.find(name);
      return it == env_.end() ? std::string() : it->second;
    };
  }
  void Touch(const std::string& name) { std::ofstream(sa_ + "/" + name) << "x"; }

  std::string sa_;
  std::map<std::string, std::string> env_;
};

TEST_F(KubeConfigTest, InClusterFromTheServiceAccountFolderAndEnvironment) {
  env_ = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
  Touch("token");
  Touch("ca.crt");
  auto c = ResolveConfig({}, Env(), sa_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->api_url, "https://10.96.0.1:443");
  EXPECT_EQ(c->token_file, sa_ + "/token");
  EXPECT_EQ(c->ca_file, sa_ + "/ca.crt");
  EXPECT_TRUE(c->in_cluster);

  env_["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  EXPECT_EQ(ResolveConfig({}, Env(), sa_)->api_url, "https://[fd00::1]:443");
}

TEST_F(KubeConfigTest, FlagsOverrideEachPart) {
  env_ = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
  Touch("token");
  Touch("ca.crt");
  Touch("other-ca.pem");
  auto c = ResolveConfig({"http://127.0.0.1:8001", "/tmp/test-token", sa_ + "/other-ca.pem"}, Env(),
                         sa_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->api_url, "http://127.0.0.1:8001");
  EXPECT_EQ(c->token_file, "/tmp/test-token");
  EXPECT_EQ(c->ca_file, sa_ + "/other-ca.pem");
  EXPECT_FALSE(c->in_cluster);
  // Plain http carries no CA from the service account folder.
  auto plain = ResolveConfig({"http://127.0.0.1:8001", "", ""}, Env(), sa_);
  EXPECT_EQ(plain->ca_file, "");
  EXPECT_EQ(plain->token_file, sa_ + "/token");
}

TEST_F(KubeConfigTest, ClearErrorsOutsideAClusterOrWithoutAToken) {
  auto none = ResolveConfig({}, Env(), sa_);
  EXPECT_EQ(none.status().code(), base::StatusCode::kFailedPrecondition);
  EXPECT_THAT(none.status().message(), HasSubstr("--kube-api-url"));

  env_ = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}};
  auto no_token = ResolveConfig({}, Env(), sa_);
  EXPECT_EQ(no_token.status().code(), base::StatusCode::kFailedPrecondition);
  EXPECT_THAT(no_token.status().message(), HasSubstr(sa_ + "/token"));

  // An explicit URL without a token is allowed (kubectl proxy); a plain-http remote is not.
  EXPECT_TRUE(ResolveConfig({"http://localhost:8001", "", ""}, Env(), sa_).ok());
  auto remote = ResolveConfig({"http://10.0.0.5:8080", "", ""}, Env(), sa_);
  EXPECT_EQ(remote.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_THAT(remote.status().message(), HasSubstr("--kube-api-url"));
  EXPECT_FALSE(
      ResolveConfig({"https://k8s.example:6443", "", "/nonexistent.pem"}, Env(), sa_).ok());
}

}  // namespace
}  // namespace aura::kube
