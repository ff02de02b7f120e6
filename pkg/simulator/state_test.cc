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
  r.status_since = clock.SystemNow() + std::chrono::seconds(1);
  r.last_write = clock.SystemNow() + std::chrono::seconds(2);
  r.status_pinned = true;
  r.auto_paused = 2;
  r.auto_resumed = 1;
  r.auto_deleted = true;
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
  EXPECT_EQ(back->instances[0].status_since, r.status_since);
  EXPECT_EQ(back->instances[0].last_write, r.last_write);
  EXPECT_TRUE(back->instances[0].status_pinned);
  EXPECT_EQ(back->instances[0].auto_paused, 2);
  EXPECT_EQ(back->instances[0].auto_resumed, 1);
  EXPECT_TRUE(back->instances[0].auto_deleted);

  std::ofstream(path) << "{\"version\": 1, \"instances\": 5}";
  EXPECT_EQ(ReadStateFile(path).status().code(), base::StatusCode::kDataLoss);
  std::ofstream(path) << "garbage";
  EXPECT_EQ(ReadStateFile(path).status().code(), base::StatusCode::kDataLoss);
  std::remove(path.c_str());
  rmdir(dir);
}

TEST(StateTest, FilesWithoutTheLifecycleFieldsStillLoad) {
  // A state file written before statuses on demand and Aura's own lifecycle.
  const nlohmann::json old = {{"version", 1},
                              {"instances",
                               {{{"id", "0a1b2c3d"},
                                 {"name", "n"},
                                 {"tenant_id", "t"},
                                 {"cloud_provider", "gcp"},
                                 {"region", "europe-west1"},
                                 {"type", "free-db"},
                                 {"memory", "1GB"},
                                 {"status", "running"},
                                 {"created_ms", 1000},
                                 {"status_until_ms", 4000}}}},
                              {"snapshots", nlohmann::json::array()},
                              {"tokens", nlohmann::json::object()}};
  auto s = StateFromJson(old);
  ASSERT_TRUE(s.ok()) << s.status();
  const InstanceRecord& r = s->instances[0];
  EXPECT_EQ(r.status_since, r.status_until);  // running since its creation ended
  EXPECT_FALSE(r.status_pinned);
  EXPECT_EQ(r.auto_paused, 0);
  EXPECT_FALSE(r.auto_deleted);
}

}  // namespace
}  // namespace aura::simulator
