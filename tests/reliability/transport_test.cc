// The controller's HTTP transport (CpprestTransport) against hostile bodies from the real
// simulator: a body trickled at one byte per second ends at the request timeout, not when the
// body does, and the error carries the response's X-Request-Id; a body over the 16 MiB limit is
// an error naming the limit and the request id.
#include "pkg/http/transport.h"

#include <gtest/gtest.h>

#include "tests/harness/http.h"
#include "tests/reliability/reliability_util.h"

namespace aura::reliability {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = StartSim();
    ASSERT_NE(sim_, nullptr);
    auto token = sim_->Token();
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = *token;
  }
  http::HttpRequest Get(const std::string& path, milliseconds timeout) const {
    http::HttpRequest r;
    r.method = "GET";
    r.url = sim_->api_url() + path;
    r.headers = {{"Authorization", "Bearer " + token_}};
    r.timeout = timeout;
    return r;
  }
  std::unique_ptr<test_harness::SimulatorProcess> sim_;
  std::string token_;
};

TEST_F(TransportTest, TrickledBodyEndsAtTheTimeoutWithTheRequestId) {
  ASSERT_TRUE(sim_->SetFaults({{"trickle",
                                {{{"route", "GET /v1/tenants/{tenantId}"},
                                  {"chunk_bytes", 1},
                                  {"interval_ms", 250},
                                  {"count", 1}}}}})
                  .ok());
  auto transport = http::NewCpprestTransport();
  const auto start = std::chrono::steady_clock::now();
  // The tenant's body is a few KB: at 4 bytes per second it would take more than ten minutes.
  auto r = transport->Send(Get(std::string("/tenants/") + test_harness::kSimTenantId, seconds(2)));
  const double took = Seconds(start);
  ASSERT_FALSE(r.ok()) << "a trickled body was read whole in " << took << " s";
  EXPECT_EQ(r.status().code(), base::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_EQ(r.status().reason(), "timeout");
  EXPECT_GE(took, 1.5);
  EXPECT_LE(took, kSanitizerBuild ? 10.0 : 4.0) << "the timeout did not bound the exchange";
  EXPECT_TRUE(test_harness::HasShape(r.status().request_id(), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/+"))
      << "no X-Request-Id on the error: " << r.status();
  // The next request is served normally.
  auto ok = transport->Send(Get("/tenants", seconds(5)));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
}

TEST_F(TransportTest, BodyOverTheLimitIsAnErrorWithTheRequestId) {
  ASSERT_TRUE(sim_->SetFaults({{"malformed",
                                {{{"route", "GET /v1/tenants"},
                                  {"mode", "huge"},
                                  {"bytes", 17 << 20},
                                  {"count", 1}}}}})
                  .ok());
  auto transport = http::NewCpprestTransport();
  auto r = transport->Send(Get("/tenants", seconds(30)));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exceeds the limit"), std::string::npos) << r.status();
  EXPECT_FALSE(r.status().request_id().empty()) << r.status();
}

}  // namespace
}  // namespace aura::reliability
