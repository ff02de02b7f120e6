// POST /v1/instances/{id}/upgrade in both profiles, stepped with a FakeClock (issue 22).
#include <gtest/gtest.h>

#include "pkg/simulator/test_util.h"

namespace aura::simulator {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class UpgradeTest : public testing::EngineFixture, public ::testing::WithParamInterface<Profile> {
 protected:
  std::string Running(const std::string& name = "orders") {
    std::string id = Create(name);
    clock_.Advance(seconds(10));
    EXPECT_EQ(Status(id), "running");
    return id;
  }
};

TEST_P(UpgradeTest, ProfessionalBecomesBusinessCriticalWithTheResize) {
  options_.profile = GetParam();
  Start();
  std::string id = Running();
  const std::string path = "/v1/instances/" + id + "/upgrade";
  SimResponse r = Api("POST", path, {{"memory", "8GB"}, {"storage", "16GB"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["data"]["status"], "updating");
  EXPECT_EQ(Api("POST", path, json::object()).status, 409);  // busy
  clock_.Advance(seconds(10));
  json got = Body(Api("GET", "/v1/instances/" + id))["data"];
  EXPECT_EQ(got["status"], "running");
  EXPECT_EQ(got["type"], "business-critical");
  EXPECT_EQ(got["memory"], "8GB");
  // Only professional-db is upgraded.
  r = Api("POST", path, json::object());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["errors"][0]["field"], "type");
}

TEST_P(UpgradeTest, RefusesHalfAResizeUnknownFieldsAndMissingInstances) {
  options_.profile = GetParam();
  Start();
  std::string id = Running();
  const std::string path = "/v1/instances/" + id + "/upgrade";
  EXPECT_EQ(Api("POST", path, {{"memory", "8GB"}}).status, 400);
  EXPECT_EQ(Api("POST", path, {{"memory", "8GB"}, {"storage", "4GB"}}).status, 400);
  EXPECT_EQ(Api("POST", path, {{"type", "enterprise-db"}}).status, 400);
  EXPECT_EQ(Api("POST", "/v1/instances/0badf00d/upgrade", json::object()).status, 404);
  // Without a body change: the type alone, the size kept.
  SimResponse r = Api("POST", path, json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  clock_.Advance(seconds(10));
  json got = Body(Api("GET", "/v1/instances/" + id))["data"];
  EXPECT_EQ(got["type"], "business-critical");
  EXPECT_EQ(got["memory"], "4GB");
}

TEST_P(UpgradeTest, OverwriteFromAnotherInstanceOrItsSnapshot) {
  options_.profile = GetParam();
  Start();
  std::string target = Running("target");
  std::string source = Running("source");
  const std::string path = "/v1/instances/" + target + "/overwrite";
  EXPECT_EQ(Api("POST", path, json::object()).status, 400);  // source_instance_id required
  EXPECT_EQ(Api("POST", path, {{"source_instance_id", "0badf00d"}}).status, 404);
  EXPECT_EQ(
      Api("POST", path, {{"source_instance_id", source}, {"source_snapshot_id", "nope"}}).status,
      404);
  SimResponse r = Api("POST", path, {{"source_instance_id", source}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(Body(r)["data"]["status"], "overwriting");
  EXPECT_EQ(Api("POST", path, {{"source_instance_id", source}}).status, 409);
  clock_.Advance(seconds(5));
  EXPECT_EQ(Status(target), "running");
  // A smaller target is refused (500, as Aura does).
  json big = testing::CreateBody("big");
  big["memory"] = "8GB";
  std::string big_id = Body(Api("POST", "/v1/instances", big))["data"]["id"];
  clock_.Advance(seconds(10));
  r = Api("POST", path, {{"source_instance_id", big_id}});
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("into smaller database"), std::string::npos) << r.body;
}

INSTANTIATE_TEST_SUITE_P(Profiles, UpgradeTest, ::testing::Values(Profile::kStrict, Profile::kReal),
                         [](const auto& p) {
                           return p.param == Profile::kStrict ? std::string("strict")
                                                              : std::string("real");
                         });

}  // namespace
}  // namespace aura::simulator
