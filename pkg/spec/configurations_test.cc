// CheckConfigurations: the online check against a tenant's instance configurations.

#include <gtest/gtest.h>

#include "pkg/spec/spec.h"
#include "pkg/spec/spec_test_util.h"

namespace aura::spec {
namespace {

using testing::Doc;
using testing::kTenant;

std::vector<Combination> Offered() {
  std::vector<Combination> out;
  for (const char* region : {"europe-west1", "europe-west2", "us-central1"}) {
    for (const char* type : {"professional-db", "enterprise-db"}) {
      for (auto [memory, storage] : {std::pair{"2GB", "4GB"}, {"4GB", "8GB"}, {"8GB", "16GB"}}) {
        out.push_back({"gcp", region, type, memory, storage, "5"});
      }
    }
  }
  out.push_back({"aws", "us-east-1", "professional-db", "4GB", "8GB", "5"});
  out.push_back({"gcp", "europe-west1", "free-db", "1GB", "", "5"});
  return out;
}

InstanceSpec Load1(const std::vector<std::pair<std::string, std::string>>& overrides) {
  const LoadResult r = LoadString(Doc(overrides), "c.yaml");
  EXPECT_TRUE(r.ok()) << testing::Dump(r);
  return r.specs.empty() ? InstanceSpec{} : r.specs[0];
}

std::vector<Diagnostic> Check(const std::vector<std::pair<std::string, std::string>>& overrides) {
  return CheckConfigurations({Load1(overrides)}, {{kTenant, Offered()}});
}

TEST(ConfigurationsTest, OfferedCombinationsPass) {
  EXPECT_TRUE(Check({}).empty());
  EXPECT_TRUE(Check({{"type", "enterprise-db"}, {"memory", "8GB"}, {"storage", "16GB"}}).empty());
  EXPECT_TRUE(Check({{"type", "free-db"}, {"memory", "1GB"}}).empty());
  EXPECT_TRUE(Check({{"cloudProvider", "aws"}, {"region", "us-east-1"}}).empty());
}

TEST(ConfigurationsTest, NamesTheFirstFieldNotOfferedAndTheNearestValues) {
  auto d = Check({{"cloudProvider", "azure"}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].Format(),
            "c.yaml:8:18: spec.cloudProvider: found \"azure\", which tenant "
            "\"6e6bbbe2-5678-5f8a-1234-b1f62f08b98f\" does not offer; allowed: aws, gcp");
  EXPECT_EQ(d[0].key, "shop/orders");

  d = Check({{"region", "europe-west3"}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].field, "spec.region");
  EXPECT_EQ(d[0].location.line, 9);
  EXPECT_NE(d[0].message.find("does not offer for gcp; allowed: europe-west1, europe-west2, "
                              "us-central1"),
            std::string::npos)
      << d[0].message;

  d = Check({{"type", "business-critical"}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].field, "spec.type");
  EXPECT_NE(d[0].message.find("for gcp europe-west1; allowed: enterprise-db, professional-db"),
            std::string::npos)
      << d[0].message;

  d = Check({{"version", "\"4\""}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].field, "spec.version");
  EXPECT_EQ(d[0].location.line, 12);

  d = Check({{"memory", "16GB"}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].field, "spec.memory");
  EXPECT_NE(d[0].message.find("; allowed: 8GB, 4GB, 2GB"), std::string::npos) << d[0].message;
}

TEST(ConfigurationsTest, DefaultedFieldsSaySo) {
  auto d = Check({{"memory", "2GB"}, {"storage", "8GB"}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].field, "spec.storage");
  EXPECT_EQ(d[0].location.line, 12);
  EXPECT_NE(d[0].message.find("found \"8GB\", which"), std::string::npos) << d[0].message;
  EXPECT_NE(d[0].message.find("allowed: 4GB"), std::string::npos) << d[0].message;

  // The default version "5" is not offered by a tenant that only has "4".
  std::vector<Combination> v4 = {{"gcp", "europe-west1", "professional-db", "4GB", "8GB", "4"}};
  d = CheckConfigurations({Load1({})}, {{kTenant, v4}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].field, "spec.version");
  EXPECT_EQ(d[0].location.line, 1);  // the document: nothing was written
  EXPECT_NE(d[0].message.find("found \"5\" (the default), which"), std::string::npos)
      << d[0].message;
}

TEST(ConfigurationsTest, TenantsNotFetchedAreNotChecked) {
  EXPECT_TRUE(CheckConfigurations({Load1({{"cloudProvider", "azure"}})}, {}).empty());
}

TEST(ConfigurationsTest, TenantOfferingNothing) {
  const auto d = CheckConfigurations({Load1({})}, {{kTenant, {}}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].field, "spec.tenantId");
  EXPECT_EQ(d[0].location.line, 7);
  EXPECT_NE(d[0].message.find("offers no instance configurations"), std::string::npos);
}

TEST(ConfigurationsTest, LongListsAreCut) {
  std::vector<Combination> many;
  for (int i = 0; i < 30; ++i) {
    many.push_back({"gcp", "region-" + std::to_string(i), "professional-db", "4GB", "8GB", "5"});
  }
  const auto d = CheckConfigurations({Load1({})}, {{kTenant, many}});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].message.find(", ..."), std::string::npos) << d[0].message;
}

}  // namespace
}  // namespace aura::spec
