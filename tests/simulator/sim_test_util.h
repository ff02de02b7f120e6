// Shared helpers of the simulator's HTTP tests: a running simulator and one-line API calls.
//
// Thread-safety: test-only, one thread.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/harness/http.h"
#include "tests/harness/simulator_process.h"

namespace aura::test_harness {

// Fast lifecycles so a whole session takes a second or two.
inline std::vector<std::string> FastFlags() {
  return {"--create-seconds",   "0.2", "--pause-seconds",   "0.2", "--resume-seconds",  "0.2",
          "--update-seconds",   "0.2", "--destroy-seconds", "0.2", "--restore-seconds", "0.2",
          "--snapshot-seconds", "0.2"};
}

inline nlohmann::json CreateBody(const std::string& name = "orders",
                                 const std::string& tenant = kSimTenantId) {
  return {{"name", name},
          {"version", "5"},
          {"region", "europe-west1"},
          {"memory", "4GB"},
          {"type", "professional-db"},
          {"tenant_id", tenant},
          {"cloud_provider", "gcp"}};
}

class SimulatorHttpTest : public ::testing::Test {
 protected:
  std::unique_ptr<SimulatorProcess> sim_;
  std::string token_;
  std::set<std::string> request_ids_;

  // Starts the simulator with FastFlags() + `extra`, and takes a token of the default client
  // unless `default_token` is false (when flags replace the default client).
  void StartSim(std::vector<std::string> extra = {}, bool default_token = true) {
    std::vector<std::string> flags = FastFlags();
    flags.insert(flags.end(), extra.begin(), extra.end());
    auto sim = SimulatorProcess::Start(flags);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(sim).value();
    if (!default_token) return;
    auto token = sim_->Token();
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = *token;
  }

  void TearDown() override {
    if (HasFailure() && sim_) std::cerr << "simulator log:\n" << sim_->Logs();
  }

  // An authenticated /v1 call (JSON content type when `body` is not null). Every response
  // must carry a new X-Request-Id.
  HttpResult Api(const std::string& method, const std::string& path,
                 const nlohmann::json& body = nullptr,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    Headers h = {{"Authorization", "Bearer " + token_}};
    if (!body.is_null()) h.emplace_back("Content-Type", "application/json");
    auto r = Http(method, sim_->api_url() + path, body.is_null() ? "" : body.dump(), h, timeout);
    EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status();
    if (!r.ok()) return HttpResult{};
    const std::string id = r->Header("X-Request-Id");
    EXPECT_FALSE(id.empty()) << method << " " << path;
    EXPECT_TRUE(request_ids_.insert(id).second) << "duplicate X-Request-Id " << id;
    return *r;
  }

  std::string Status(const std::string& id) {
    HttpResult r = Api("GET", "/instances/" + id);
    return r.status == 200 ? r.json["data"]["status"].get<std::string>()
                           : "http " + std::to_string(r.status);
  }

  // Polls (bounded) until the instance reports `status`.
  bool AwaitStatus(const std::string& id, const std::string& status) {
    return WaitFor([&] { return Status(id) == status; }, std::chrono::seconds(10),
                   std::chrono::milliseconds(50));
  }
};

}  // namespace aura::test_harness
