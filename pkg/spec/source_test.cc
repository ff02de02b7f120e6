// spec.source: clone at create (issue 22).
#include <gtest/gtest.h>

#include "pkg/spec/spec.h"
#include "pkg/spec/spec_test_util.h"

namespace aura::spec {
namespace {

using testing::Doc;
using testing::ExpectDiagnostics;

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(SpecSource, InstanceAloneIsInTheSpecsNamespace) {
  const LoadResult r = LoadString(
      Doc({{"source", "{instance: prod-orders}"}}) + "---\n" + Doc({}, "prod-orders"), "case.yaml");
  ASSERT_TRUE(r.ok()) << testing::Dump(r);
  ASSERT_EQ(r.specs.size(), 2u);
  ASSERT_TRUE(r.specs[0].source.has_value());
  EXPECT_EQ(r.specs[0].source->instance_key, "shop/prod-orders");
  EXPECT_EQ(r.specs[0].source->instance_id, "");
  EXPECT_EQ(r.specs[0].source->snapshot_id, "");
  EXPECT_EQ(r.specs[0].field_locations.count("spec.source.instance"), 1u);
}

TEST(SpecSource, InstanceIdAndSnapshot) {
  const LoadResult r = LoadString(
      Doc({{"source", "{instanceId: db1d1234, snapshotId: 3e5e6e27-bf0a-4898-abb8-5f3050cac418}"}}),
      "case.yaml");
  ASSERT_TRUE(r.ok()) << testing::Dump(r);
  const auto& src = *r.specs[0].source;
  EXPECT_EQ(src.instance_key, "");
  EXPECT_EQ(src.instance_id, "db1d1234");
  EXPECT_EQ(src.snapshot_id, "3e5e6e27-bf0a-4898-abb8-5f3050cac418");
}

TEST(SpecSource, OtherNamespaceAndNullIsUnset) {
  const std::string prod =
      "---\n" + Replace(Doc({{"name", "prod-orders"}}), "namespace: shop", "namespace: prod");
  LoadResult r = LoadString(Doc({{"source", "{instance: prod/orders}"}}) + prod, "case.yaml");
  ASSERT_TRUE(r.ok()) << testing::Dump(r);
  EXPECT_EQ(r.specs[0].source->instance_key, "prod/orders");
  r = LoadString(Doc({{"source", "~"}}), "case.yaml");
  ASSERT_TRUE(r.ok()) << testing::Dump(r);
  EXPECT_FALSE(r.specs[0].source.has_value());
}

TEST(SpecSource, InstanceMustBeASpecLoadedWithIt) {
  const LoadResult r = LoadString(Doc({{"source", "{instance: prod-orders}"}}), "case.yaml");
  testing::ExpectDiagnostics(
      r, {{12, 22, "spec.source.instance",
           "found \"shop/prod-orders\", which no spec loaded with this one has as its key; "
           "allowed: the [NAMESPACE/]NAME of another spec in the same files"}});
}

struct Case {
  std::string name;
  std::string source;  // the value of spec.source, on line 12 at column 11
  std::vector<testing::Expect> expect;
};

class SpecSourceInvalid : public ::testing::TestWithParam<Case> {};

TEST_P(SpecSourceInvalid, ReportsFileLineFieldFoundAndAllowed) {
  const LoadResult r = LoadString(Doc({{"source", GetParam().source}}), "case.yaml");
  ExpectDiagnostics(r, GetParam().expect);
  EXPECT_TRUE(r.specs.empty());
  EXPECT_EQ(r.invalid_keys, std::set<std::string>{"shop/orders"});
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SpecSourceInvalid,
    ::testing::ValuesIn(std::vector<Case>{
        {"Scalar",
         "orders-prod",
         {{12, 11, "spec.source",
           "found \"orders-prod\"; allowed: a "
           "mapping with instance"}}},
        {"Empty", "{}", {{12, 3, "spec.source.instance", "missing (required); allowed: instance"}}},
        {"Both",
         "{instance: a, instanceId: db1d1234}",
         {{12, 37, "spec.source.instanceId",
           "found both instance \"a\" and instanceId \"db1d1234\"; allowed: one of them"}}},
        {"BadRef",
         "{instance: Prod/Orders}",
         {{12, 22, "spec.source.instance",
           "found \"Prod/Orders\"; allowed: another spec as [NAMESPACE/]NAME"}}},
        {"Itself",
         "{instance: shop/orders}",
         {{12, 22, "spec.source.instance", "(this spec itself)"}}},
        {"BadId",
         "{instanceId: db1d-1234}",
         {{12, 24, "spec.source.instanceId",
           "found \"db1d-1234\"; allowed: an Aura instance id: 1..64 letters and digits"}}},
        {"BadSnapshot",
         "{instanceId: db1d1234, snapshotId: \"a b\"}",
         {{12, 46, "spec.source.snapshotId",
           "found \"a b\"; allowed: an Aura snapshot id: 1..64 letters, digits and '-'"}}},
        {"UnknownField",
         "{instanceID: db1d1234}",
         {{12, 3, "spec.source.instance", "missing (required)"},
          {12, 12, "spec.source.instanceID", "did you mean \"instanceId\"?"}}},
    }),
    [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace aura::spec

namespace aura::spec {
namespace {

TEST(SpecSecondaries, EnterpriseDbTakesZeroToFifteen) {
  for (const char* n : {"0", "3", "15"}) {
    const LoadResult r =
        LoadString(testing::Doc({{"type", "enterprise-db"}, {"secondariesCount", n}}), "case.yaml");
    ASSERT_TRUE(r.ok()) << testing::Dump(r);
    EXPECT_EQ(r.specs[0].secondaries_count, std::stoi(n));
  }
  const LoadResult unset = LoadString(testing::Doc({{"type", "enterprise-db"}}), "case.yaml");
  EXPECT_FALSE(unset.specs[0].secondaries_count.has_value());
}

TEST(SpecSecondaries, PreciseErrors) {
  struct Bad {
    std::string value;
    std::string type;
    std::string fragment;
  };
  for (const Bad& b : std::vector<Bad>{
           {"16", "enterprise-db", "found \"16\"; allowed: a whole number from 0 to 15, unquoted"},
           {"-1", "enterprise-db", "found \"-1\"; allowed: a whole number from 0 to 15"},
           {"\"2\"", "enterprise-db", "found \"2\" (quoted); allowed: a whole number"},
           {"01", "enterprise-db", "found \"01\""},
           {"2", "professional-db",
            "found \"2\" for type \"professional-db\"; allowed only for type enterprise-db"},
       }) {
    const LoadResult r =
        LoadString(testing::Doc({{"type", b.type}, {"secondariesCount", b.value}}), "case.yaml");
    testing::ExpectDiagnostics(r, {{12, 21, "spec.secondariesCount", b.fragment}});
  }
}

}  // namespace
}  // namespace aura::spec

namespace aura::spec {
namespace {

TEST(SpecCustomerManagedKey, EnterpriseTypesOnlyWithPreciseErrors) {
  LoadResult r = LoadString(
      testing::Doc({{"type", "enterprise-ds"}, {"customerManagedKeyId", "5f1c-key"}}), "case.yaml");
  ASSERT_TRUE(r.ok()) << testing::Dump(r);
  EXPECT_EQ(r.specs[0].customer_managed_key_id, "5f1c-key");
  r = LoadString(testing::Doc({{"customerManagedKeyId", "5f1c-key"}}), "case.yaml");
  testing::ExpectDiagnostics(
      r, {{12, 25, "spec.customerManagedKeyId",
           "found \"5f1c-key\" for type \"professional-db\"; allowed only for type enterprise-db "
           "or enterprise-ds"}});
  r = LoadString(testing::Doc({{"type", "enterprise-db"}, {"customerManagedKeyId", "\"a b\""}}),
                 "case.yaml");
  testing::ExpectDiagnostics(r,
                             {{12, 25, "spec.customerManagedKeyId",
                               "found \"a b\"; allowed: the id of an Aura customer-managed key"}});
}

}  // namespace
}  // namespace aura::spec
