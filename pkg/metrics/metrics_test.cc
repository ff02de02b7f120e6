#include "pkg/metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace aura::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RouteTemplateTest, NeverCarriesIds) {
  EXPECT_EQ(RouteTemplate("/v1/instances"), kRouteInstances);
  EXPECT_EQ(RouteTemplate("/v1/instances?tenantId=abc"), kRouteInstances);
  EXPECT_EQ(RouteTemplate("/v1/instances/2f49c2b3"), kRouteInstance);
  EXPECT_EQ(RouteTemplate("/v1/instances/2f49c2b3/pause"), kRoutePause);
  EXPECT_EQ(RouteTemplate("/v1/instances/2f49c2b3/resume"), kRouteResume);
  EXPECT_EQ(RouteTemplate("/v1/instances/2f49c2b3/snapshots"), kRouteSnapshots);
  EXPECT_EQ(RouteTemplate("/v1/instances/2f49c2b3/snapshots/s1"), kRouteSnapshot);
  EXPECT_EQ(RouteTemplate("/v1/instances/2f49c2b3/snapshots/s1/restore"), kRouteRestore);
  EXPECT_EQ(RouteTemplate("/v1/tenants"), kRouteTenants);
  EXPECT_EQ(RouteTemplate("/v1/tenants/5f1c-uuid"), kRouteTenant);
  EXPECT_EQ(RouteTemplate("/oauth/token"), kRouteToken);
  EXPECT_EQ(RouteTemplate("/v1/customer-managed-keys?tenantId=abc"), kRouteKeys);
  EXPECT_EQ(RouteTemplate("/v1/customer-managed-keys/8c764aed-8eb3"), kRouteKey);
  EXPECT_EQ(RouteTemplate("/v1/instances/a/b/c/d/e/f/g/h/i"), kRouteOther);
  EXPECT_EQ(RouteTemplate("/v1/whatever/x"), kRouteOther);
}

TEST(MetricsTest, EveryFamilyIsPresentFromStartUp) {
  Metrics m("1.2.3");
  const std::string text = m.Serialize();
  for (const char* family :
       {"aura_api_requests_total", "aura_api_request_duration_seconds", "aura_api_retries_total",
        "aura_api_throttled_total", "aura_ratelimit_wait_seconds",
        "aura_ratelimit_requests_in_window", "aura_ratelimit_paused", "aura_reconcile_total",
        "aura_reconcile_duration_seconds", "aura_workqueue_depth", "aura_instances",
        "aura_creates_total", "aura_adoptions_total", "aura_duplicate_instances",
        "aura_observation_staleness_seconds", "aura_token_refreshes_total", "aura_build_info",
        "aura_leader"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + family + " ")) << family;
  }
  EXPECT_THAT(text, HasSubstr("aura_build_info{version=\"1.2.3\"} 1"));
  EXPECT_THAT(text, HasSubstr("aura_instances{state=\"pending_create\"} 0"));
  EXPECT_THAT(text, HasSubstr("aura_creates_total{outcome=\"ambiguous\"} 0"));
  EXPECT_THAT(text, HasSubstr("aura_connection_secrets_pending 0"));
  for (const char* result : {"created", "updated", "deleted", "conflict", "forbidden", "error"}) {
    EXPECT_THAT(text, HasSubstr(std::string("aura_connection_secret_writes_total{result=\"") +
                                result + "\"} 0"));
  }
  EXPECT_THAT(text, HasSubstr("aura_kube_requests_total{code=\"200\",verb=\"get\"} 0"));
}

TEST(MetricsTest, CountsShowUpInText) {
  Metrics m;
  m.ApiRequests("GET", kRouteInstance, "200").Increment();
  m.ApiRequests("GET", kRouteInstance, "200").Increment();
  m.Creates("accepted").Increment();
  const std::string text = m.Serialize();
  EXPECT_THAT(
      text,
      HasSubstr(
          "aura_api_requests_total{code=\"200\",method=\"GET\",route=\"/instances/{id}\"} 2"));
  EXPECT_THAT(text, HasSubstr("aura_creates_total{outcome=\"accepted\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("2f49c2b3")));
}

}  // namespace
}  // namespace aura::metrics
