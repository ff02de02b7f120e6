#include "cmd/aura-controller/tenants.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace aura::cmd {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

api::InstanceConfiguration Ic(std::string provider, std::string region, std::string type,
                              std::string memory, std::string storage, std::string version) {
  return {provider, region, region + " name", type, memory, storage, version};
}

TEST(TenantsTable, OneRowPerProviderRegionTypeSizesAscendingVersionsMerged) {
  api::TenantDetail t{"t-1", "Prod", {}};
  t.instance_configurations = {
      Ic("gcp", "europe-west1", "professional-db", "16GB", "32GB", "5"),
      Ic("gcp", "europe-west1", "professional-db", "2GB", "4GB", "5"),
      Ic("gcp", "europe-west1", "professional-db", "2GB", "4GB", "4"),
      Ic("gcp", "europe-west1", "professional-db", "16GB", "32GB", "4"),
      Ic("aws", "us-east-1", "business-critical", "4GB", "8GB", "5"),
      Ic("gcp", "europe-west1", "free-db", "1GB", "", "5"),
  };
  const std::string out = TenantsTable({t});
  EXPECT_THAT(out, HasSubstr("TENANT t-1  \"Prod\""));
  EXPECT_THAT(out, HasSubstr("PROVIDER"));
  // 2GB before 16GB (numeric, not text, order); 5 and 4 share the row, newest first.
  EXPECT_THAT(out, ::testing::ContainsRegex(
                       "gcp +europe-west1 +professional-db +5,4 +2GB/4GB 16GB/32GB\n"));
  EXPECT_THAT(out, ::testing::ContainsRegex("aws +us-east-1 +business-critical +5 +4GB/8GB\n"));
  // No storage reported: memory alone.
  EXPECT_THAT(out, ::testing::ContainsRegex("free-db +5 +1GB\n"));
  EXPECT_THAT(out, HasSubstr("1 tenant(s)"));
}

TEST(TenantsTable, VersionsWithDifferentSizesGetTheirOwnRows) {
  api::TenantDetail t{"t-1", "", {}};
  t.instance_configurations = {
      Ic("gcp", "us-central1", "enterprise-db", "2GB", "4GB", "5"),
      Ic("gcp", "us-central1", "enterprise-db", "4GB", "8GB", "5"),
      Ic("gcp", "us-central1", "enterprise-db", "2GB", "4GB", "4"),
  };
  const std::string out = TenantsTable({t});
  EXPECT_THAT(out, ::testing::ContainsRegex("enterprise-db +5 +2GB/4GB 4GB/8GB\n"));
  EXPECT_THAT(out, ::testing::ContainsRegex("enterprise-db +4 +2GB/4GB\n"));
  EXPECT_THAT(out, Not(HasSubstr("\"\"")));
}

TEST(TenantsTable, TenantWithoutConfigurationsSaysSo) {
  const std::string out = TenantsTable({api::TenantDetail{"t-2", "Empty", {}}});
  EXPECT_THAT(out, HasSubstr("(no instance configurations offered)"));
}

TEST(TenantsJson, KeepsEveryConfigurationAsSent) {
  api::TenantDetail t{"t-1", "Prod", {Ic("gcp", "europe-west1", "free-db", "1GB", "2GB", "5")}};
  const auto j = TenantsJson({t});
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["id"], "t-1");
  EXPECT_EQ(j[0]["instance_configurations"][0]["region_name"], "europe-west1 name");
  EXPECT_EQ(j[0]["instance_configurations"][0]["storage"], "2GB");
}

}  // namespace
}  // namespace aura::cmd
