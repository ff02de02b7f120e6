#include "pkg/simulator/state.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace aura::simulator {
namespace {

TEST(StateTest, RoundTripsThroughJsonAndFile) {
  base::FakeClock clock;
  State s;
  InstanceRecord r;
  r.id = "0a1b2c3d";
  r.name = "renamed";
  r.created_name = "orders";
  r.tenant_id = "t";
  r.cloud_provider = "gcp";
  r.region = "europe-west1";
  r.type = "enterprise-db";
  r.memory = "8GB";
  r.storage = "16GB";
  r.version = "5";
  r.status = "updating";
  r.created = clock.SystemNow();
  r.status_until = clock.SystemNow() + std::chrono::seconds(3);
  r.secondaries_count = 2;
  r.cdc_enrichment_mode = "DIFF";
  r.pending_update = {{"memory", "16GB"}};
  r.password = "pw";
  r.create_response_code = "dropped";
  r.create_response_delay = std::chrono::milliseconds(1500);
  s.instances.push_back(r);
  s.snapshots.push_back(
      {"sid", "0a1b2c3d", "AdHoc", "Completed", clock.SystemNow(), clock.SystemNow(), true});
  s.tokens["tok"] = {"client", clock.SystemNow() + std::chrono::hours(1)};

  char dir[] = "/tmp/aura-sim-state-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/s.json";
  EXPECT_EQ(ReadStateFile(path).status().code(), base::StatusCode::kNotFound);
  ASSERT_TRUE(WriteStateFile(path, s).ok());
  auto back = ReadStateFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(StateToJson(*back), StateToJson(s));
  EXPECT_EQ(back->instances[0].status_until, r.status_until);
  EXPECT_EQ(back->instances[0].secondaries_count, 2);
  EXPECT_EQ(back->instances[0].password, "pw");
  EXPECT_EQ(back->instances[0].create_response_code, "dropped");
  EXPECT_EQ(back->instances[0].create_response_delay, std::chrono::milliseconds(1500));

  std::ofstream(path) << "{\"version\": 1, \"instances\": 5}";
  EXPECT_EQ(ReadStateFile(path).status().code(), base::StatusCode::kDataLoss);
  std::ofstream(path) << "garbage";
  EXPECT_EQ(ReadStateFile(path).status().code(), base::StatusCode::kDataLoss);
  std::remove(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace aura::simulator
