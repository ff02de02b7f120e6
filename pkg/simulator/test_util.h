// Test helpers for the simulator engine: an Engine on a FakeClock and one-line requests.
//
// Thread-safety: test-only; use from one thread.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "pkg/base/clock.h"
#include "pkg/simulator/engine.h"

namespace aura::simulator::testing {

inline const std::string kTenant = kDefaultTenantId;

// True when `s` has the shape of `pattern`: '9' a digit, 'x' a lowercase hex digit, 'A' an
// upper-case and 'a' a lower-case letter, '+' one or more digits; anything else itself.
// (std::regex trips GCC 12's -Wmaybe-uninitialized in sanitizer builds.)
inline bool HasShape(std::string_view s, std::string_view pattern) {
  size_t i = 0;
  for (char p : pattern) {
    auto digit = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
    if (p == '+') {
      if (!digit(i)) return false;
      while (digit(i)) ++i;
      continue;
    }
    if (i >= s.size()) return false;
    const char c = s[i++];
    const bool ok = p == '9'   ? (c >= '0' && c <= '9')
                    : p == 'x' ? ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
                    : p == 'A' ? (c >= 'A' && c <= 'Z')
                    : p == 'a' ? (c >= 'a' && c <= 'z')
                               : c == p;
    if (!ok) return false;
  }
  return i == s.size();
}

// A valid professional-db create body.
inline nlohmann::json CreateBody(const std::string& name = "orders") {
  return {{"name", name},
          {"version", "5"},
          {"region", "europe-west1"},
          {"memory", "4GB"},
          {"type", "professional-db"},
          {"tenant_id", kTenant},
          {"cloud_provider", "gcp"}};
}

class EngineFixture : public ::testing::Test {
 protected:
  // Options tests may change before Start().
  SimulatorOptions options_;
  base::FakeClock clock_;
  std::unique_ptr<Engine> engine_;
  std::string token_;

  void SetUp() override {
    options_.durations.create = std::chrono::seconds(10);
    options_.durations.pause = std::chrono::seconds(5);
    options_.durations.resume = std::chrono::seconds(5);
    options_.durations.update = std::chrono::seconds(5);
    options_.durations.destroy = std::chrono::seconds(5);
    options_.durations.restore = std::chrono::seconds(5);
    options_.durations.snapshot = std::chrono::seconds(5);
  }

  void Start() {
    auto e = Engine::Create(options_, &clock_);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(e).value();
    token_ = Token();
  }

  SimResponse Do(const std::string& method, const std::string& path_and_query,
                 const std::string& body = "", HeaderList headers = {}) {
    SimRequest r;
    r.method = method;
    auto q = path_and_query.find('?');
    r.path = path_and_query.substr(0, q);
    if (q != std::string::npos) {
      std::string query = path_and_query.substr(q + 1);
      size_t pos = 0;
      while (pos <= query.size()) {
        size_t amp = query.find('&', pos);
        std::string pair = query.substr(pos, amp == std::string::npos ? amp : amp - pos);
        auto eq = pair.find('=');
        if (!pair.empty())
          r.query[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
        if (amp == std::string::npos) break;
        pos = amp + 1;
      }
    }
    r.headers = std::move(headers);
    r.body = body;
    return engine_->Handle(r);
  }

  // An authenticated /v1 call with a JSON body when `body` is not null.
  SimResponse Api(const std::string& method, const std::string& path,
                  const nlohmann::json& body = nullptr) {
    HeaderList h = {{"Authorization", "Bearer " + token_}};
    if (!body.is_null()) h.emplace_back("Content-Type", "application/json");
    return Do(method, path, body.is_null() ? "" : body.dump(), h);
  }

  std::string Token(const std::string& id = kDefaultClientId,
                    const std::string& secret = kDefaultClientSecret) {
    SimResponse r = Do("POST", "/oauth/token", "grant_type=client_credentials",
                       {{"Authorization", "Basic " + Base64(id + ":" + secret)},
                        {"Content-Type", "application/x-www-form-urlencoded"}});
    if (r.status != 200) return "";
    return nlohmann::json::parse(r.body)["access_token"].get<std::string>();
  }

  // Creates an instance and returns its id ("" on failure).
  std::string Create(const std::string& name = "orders") {
    SimResponse r = Api("POST", "/v1/instances", CreateBody(name));
    if (r.status != 202) return "";
    return Body(r)["data"]["id"].get<std::string>();
  }

  std::string Status(const std::string& id) {
    SimResponse r = Api("GET", "/v1/instances/" + id);
    if (r.status != 200) return "http " + std::to_string(r.status);
    return Body(r)["data"]["status"].get<std::string>();
  }

  nlohmann::json Admin(const std::string& method, const std::string& path,
                       const nlohmann::json& body = nullptr) {
    SimResponse r = Do(method, path, body.is_null() ? "" : body.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return Body(r);
  }

  static nlohmann::json Body(const SimResponse& r) {
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  static std::string Base64(const std::string& in) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
      for (int s = 18; s >= 0; s -= 6) out.push_back(a[(v >> s) & 63]);
    }
    if (i + 1 == in.size()) {
      uint32_t v = uint8_t(in[i]) << 16;
      out += {a[(v >> 18) & 63], a[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
      uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
      out += {a[(v >> 18) & 63], a[(v >> 12) & 63], a[(v >> 6) & 63], '='};
    }
    return out;
  }
};

}  // namespace aura::simulator::testing
