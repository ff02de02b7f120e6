// The asynchronous instance lifecycle, stepped with a FakeClock.
#include <gtest/gtest.h>

#include "pkg/simulator/test_util.h"

namespace aura::simulator {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class LifecycleTest : public testing::EngineFixture {
 protected:
  std::string Running(const std::string& name = "orders") {
    std::string id = Create(name);
    clock_.Advance(seconds(10));
    EXPECT_EQ(Status(id), "running");
    return id;
  }
};

TEST_F(LifecycleTest, CreatingBecomesRunningAfterTheCreateDuration) {
  Start();
  std::string id = Create();
  EXPECT_EQ(Status(id), "creating");
  clock_.Advance(seconds(9));
  EXPECT_EQ(Status(id), "creating");
  clock_.Advance(seconds(1));
  EXPECT_EQ(Status(id), "running");
}

TEST_F(LifecycleTest, PauseAndResume) {
  Start();
  std::string id = Running();
  SimResponse r = Api("POST", "/v1/instances/" + id + "/pause", json::object());
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(Body(r)["data"]["status"], "pausing");
  EXPECT_EQ(Api("POST", "/v1/instances/" + id + "/pause", json::object()).status, 409);
  clock_.Advance(seconds(5));
  json got = Body(Api("GET", "/v1/instances/" + id))["data"];
  EXPECT_EQ(got["status"], "paused");
  EXPECT_EQ(got["connection_url"], "");  // a paused instance has no connection URL
  r = Api("POST", "/v1/instances/" + id + "/resume", json::object());
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(Body(r)["data"]["status"], "resuming");
  EXPECT_EQ(Api("POST", "/v1/instances/" + id + "/resume", json::object()).status, 409);
  clock_.Advance(seconds(5));
  EXPECT_EQ(Status(id), "running");
  EXPECT_NE(Body(Api("GET", "/v1/instances/" + id))["data"]["connection_url"], "");
}

TEST_F(LifecycleTest, PauseWithoutBodyNeedsJsonContentType) {
  Start();
  std::string id = Running();
  SimResponse r =
      Do("POST", "/v1/instances/" + id + "/pause", "", {{"Authorization", "Bearer " + token_}});
  EXPECT_EQ(r.status, 415);
  r = Do("POST", "/v1/instances/" + id + "/pause", "",
         {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 202);
}

TEST_F(LifecycleTest, ResizeIsAsyncAndRenameIsImmediate) {
  Start();
  std::string id = Running();
  SimResponse r = Api("PATCH", "/v1/instances/" + id, {{"name", "renamed"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["data"]["name"], "renamed");
  EXPECT_EQ(Body(r)["data"]["status"], "running");

  r = Api("PATCH", "/v1/instances/" + id, {{"memory", "8GB"}, {"vector_optimized", true}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(Body(r)["data"]["status"], "updating");
  EXPECT_EQ(Body(r)["data"]["memory"], "4GB");  // applied when the update completes
  EXPECT_EQ(Api("PATCH", "/v1/instances/" + id, {{"memory", "16GB"}}).status, 409);
  SimResponse busy = Api("DELETE", "/v1/instances/" + id);
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(Body(busy)["errors"][0]["reason"], "ongoing-database-operation");
  clock_.Advance(seconds(5));
  json got = Body(Api("GET", "/v1/instances/" + id))["data"];
  EXPECT_EQ(got["status"], "running");
  EXPECT_EQ(got["memory"], "8GB");
  EXPECT_EQ(got["storage"], "16GB");
  EXPECT_EQ(got["vector_optimized"], true);
  EXPECT_EQ(got["name"], "renamed");
  // The LIST shows the new name.
  EXPECT_EQ(Body(Api("GET", "/v1/instances"))["data"][0]["name"], "renamed");
}

TEST_F(LifecycleTest, PatchValidation) {
  Start();
  std::string id = Running();
  auto field_of = [&](json body) {
    SimResponse r = Api("PATCH", "/v1/instances/" + id, body);
    EXPECT_EQ(r.status, 400) << body.dump() << " -> " << r.body;
    return Body(r)["errors"][0].value("field", "");
  };
  EXPECT_EQ(field_of({{"name", nullptr}}), "name");
  EXPECT_EQ(field_of({{"memory", "5GB"}}), "memory");
  EXPECT_EQ(field_of({{"memory", "512GB"}}), "memory");  // not offered for professional-db
  EXPECT_EQ(field_of({{"secondaries_count", 2}}), "secondaries_count");  // enterprise-db only
  EXPECT_EQ(field_of({{"cdc_enrichment_mode", "FULL"}}), "cdc_enrichment_mode");
  EXPECT_EQ(field_of({{"colour", "red"}}), "colour");
  EXPECT_EQ(Api("PATCH", "/v1/instances/" + id, json::object()).status, 400);
  EXPECT_EQ(Status(id), "running");
}

TEST_F(LifecycleTest, DeleteDestroysThenAnswers404) {
  Start();
  std::string id = Running();
  SimResponse r = Api("DELETE", "/v1/instances/" + id);
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(Body(r)["data"]["status"], "destroying");
  EXPECT_EQ(Status(id), "destroying");
  EXPECT_EQ(Api("DELETE", "/v1/instances/" + id).status, 404);  // at most one 202
  clock_.Advance(seconds(5));
  EXPECT_EQ(Api("GET", "/v1/instances/" + id).status, 404);
  EXPECT_TRUE(Body(Api("GET", "/v1/instances"))["data"].empty());
  json admin = Admin("GET", "/_sim/instances");
  ASSERT_EQ(admin["instances"].size(), 1u);
  EXPECT_EQ(admin["instances"][0]["deleted"], true);
}

TEST_F(LifecycleTest, CreatingInstanceCannotBeDeletedOrPaused) {
  Start();
  std::string id = Create();
  EXPECT_EQ(Api("DELETE", "/v1/instances/" + id).status, 409);
  EXPECT_EQ(Api("POST", "/v1/instances/" + id + "/pause", json::object()).status, 409);
}

TEST_F(LifecycleTest, SnapshotsAndRestore) {
  Start();
  std::string id = Running();
  const std::string base = "/v1/instances/" + id + "/snapshots";
  SimResponse r = Api("POST", base, json::object());
  ASSERT_EQ(r.status, 202) << r.body;
  std::string sid = Body(r)["data"]["snapshot_id"];
  json snap = Body(Api("GET", base + "/" + sid))["data"];
  EXPECT_EQ(snap["status"], "InProgress");
  EXPECT_EQ(snap["profile"], "AdHoc");
  EXPECT_EQ(snap["instance_id"], id);
  EXPECT_EQ(Api("POST", base + "/" + sid + "/restore", json::object()).status, 409);
  clock_.Advance(seconds(5));
  EXPECT_EQ(Body(Api("GET", base + "/" + sid))["data"]["status"], "Completed");
  json list = Body(Api("GET", base))["data"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["snapshot_id"], sid);
  EXPECT_TRUE(Body(Api("GET", base + "?date=2020-01-01"))["data"].empty());
  EXPECT_EQ(Api("GET", base + "?date=yesterday").status, 400);
  EXPECT_EQ(Body(Api("GET", base + "/nope"))["errors"][0]["reason"], "snapshot-not-found");
  r = Api("POST", base + "/" + sid + "/restore", json::object());
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(Body(r)["data"]["status"], "restoring");
  clock_.Advance(seconds(5));
  EXPECT_EQ(Status(id), "running");
}

TEST_F(LifecycleTest, CloneFromAnExportableSnapshot) {
  Start();
  std::string source = Running("source");
  std::string sid = Body(
      Api("POST", "/v1/instances/" + source + "/snapshots", json::object()))["data"]["snapshot_id"];
  json body = testing::CreateBody("clone");
  body["source_instance_id"] = source;
  body["source_snapshot_id"] = sid;
  EXPECT_EQ(Api("POST", "/v1/instances", body).status, 400);  // snapshot still in progress
  clock_.Advance(seconds(5));
  SimResponse r = Api("POST", "/v1/instances", body);
  EXPECT_EQ(r.status, 202) << r.body;
}

}  // namespace
}  // namespace aura::simulator
