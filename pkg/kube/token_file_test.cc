#include "pkg/kube/token_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pkg/base/log.h"

namespace aura::kube {
namespace {

namespace fs = std::filesystem;

class TokenFileTest : public ::testing::Test {
 protected:
  TokenFileTest() {
    std::string t = (fs::temp_directory_path() / "kube-token-XXXXXX").string();
    dir_ = ::mkdtemp(t.data());
  }
  ~TokenFileTest() override { fs::remove_all(dir_); }
  // Publishes `token` the way the kubelet does: a new file, swapped in by rename.
  void Publish(const std::string& token) {
    std::ofstream(dir_ + "/token.new", std::ios::trunc) << token;
    fs::rename(dir_ + "/token.new", dir_ + "/token");
  }
  std::string dir_;
};

TEST_F(TokenFileTest, ReadsOnceUntilTheFileChanges) {
  Publish("  first-token-value\n");
  TokenFile t(dir_ + "/token");
  EXPECT_EQ(*t.Get(), "first-token-value");
  EXPECT_EQ(*t.Get(), "first-token-value");
  EXPECT_EQ(t.reads(), 1);
  Publish("second-token-value");
  EXPECT_EQ(*t.Get(), "second-token-value");
  EXPECT_EQ(t.reads(), 2);
  EXPECT_EQ(*t.Get(/*force_reload=*/true), "second-token-value");
  EXPECT_EQ(t.reads(), 3);
  // Tokens never reach a log line.
  EXPECT_EQ(base::Redact("Bearer second-token-value"), "Bearer [REDACTED]");
}

TEST_F(TokenFileTest, MissingOrEmptyIsUnauthenticatedNamingTheFile) {
  TokenFile missing(dir_ + "/nope");
  EXPECT_EQ(missing.Get().status().code(), base::StatusCode::kUnauthenticated);
  EXPECT_THAT(missing.Get().status().message(), ::testing::HasSubstr(dir_ + "/nope"));
  Publish("\n \n");
  TokenFile empty(dir_ + "/token");
  EXPECT_THAT(empty.Get().status().message(), ::testing::HasSubstr("is empty"));
}

}  // namespace
}  // namespace aura::kube
