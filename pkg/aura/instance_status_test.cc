#include "pkg/aura/instance_status.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace aura::api {
namespace {

TEST(InstanceStatusTest, EveryOpenApiStatusIsKnown) {
  // The 13 of the OpenAPI's enum (docs/spec/aura-api-v1.openapi.yaml).
  for (const char* s :
       {"creating", "destroying", "running", "pausing", "paused", "suspending", "suspended",
        "resuming", "loading", "loading failed", "restoring", "updating", "overwriting"}) {
    EXPECT_NE(FindStatus(s), nullptr) << s;
  }
}

TEST(InstanceStatusTest, KindsFollowWhatTheyMeanForReconciling) {
  EXPECT_EQ(KindOf("running"), StatusKind::kStable);
  EXPECT_EQ(KindOf("paused"), StatusKind::kStable);
  EXPECT_EQ(KindOf("resizing"), StatusKind::kTransitional);
  EXPECT_EQ(KindOf("updating"), StatusKind::kTransitional);
  EXPECT_EQ(KindOf("deleting"), StatusKind::kTransitional);
  EXPECT_EQ(KindOf("suspended"), StatusKind::kFailed);
  EXPECT_EQ(KindOf("loading failed"), StatusKind::kFailed);
  EXPECT_EQ(KindOf("Loading Failed "), StatusKind::kFailed);
  EXPECT_EQ(KindOf("RUNNING"), StatusKind::kStable);
  EXPECT_EQ(KindOf("hibernating"), StatusKind::kUnknown);
  EXPECT_EQ(KindOf(""), StatusKind::kUnknown);
}

TEST(InstanceStatusTest, TableHasNoDuplicatesAndEveryEntryMeansSomething) {
  std::set<std::string> seen;
  for (const auto& s : KnownStatuses()) {
    EXPECT_TRUE(seen.insert(std::string(s.name)).second) << s.name;
    EXPECT_FALSE(s.meaning.empty()) << s.name;
    EXPECT_NE(s.kind, StatusKind::kUnknown) << s.name;
  }
}

}  // namespace
}  // namespace aura::api
