// AuraCustomerManagedKey documents and spec.customerManagedKeyRef (issue 22).
#include <gtest/gtest.h>

#include "pkg/spec/spec.h"
#include "pkg/spec/spec_test_util.h"

namespace aura::spec {
namespace {

using testing::ExpectDiagnostics;
using testing::KeyDoc;

std::string Instance(const std::string& ref) {
  return testing::Doc({{"type", "enterprise-db"}, {"customerManagedKeyRef", ref}});
}

TEST(SpecKey, ValidKeyIsLoadedApartFromInstances) {
  const LoadResult r = LoadString(KeyDoc("  deletionPolicy: Delete\n"), "keys.yaml");
  ASSERT_TRUE(r.ok()) << testing::Dump(r);
  EXPECT_TRUE(r.specs.empty());
  ASSERT_EQ(r.keys.size(), 1u);
  const CustomerManagedKeySpec& k = r.keys[0];
  EXPECT_EQ(k.key(), "shop/prod-key");
  EXPECT_EQ(k.journal_key(), "cmk/shop/prod-key");
  EXPECT_EQ(k.aura_name, "Production Key");
  EXPECT_EQ(k.tenant_id, testing::kTenant);
  EXPECT_EQ(k.cloud_provider, "gcp");
  EXPECT_EQ(k.region, "europe-west1");
  EXPECT_EQ(k.key_id, "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k");
  EXPECT_EQ(k.instance_type, "enterprise-db");
  EXPECT_EQ(k.deletion_policy, DeletionPolicy::kDelete);
  EXPECT_EQ(k.location.line, 1);
  EXPECT_EQ(k.field_locations.count("spec.keyId"), 1u);
  EXPECT_EQ(r.invalid(), 0);
}

TEST(SpecKey, NameDefaultsToMetadataNameAndPolicyToRetain) {
  std::string doc = KeyDoc();
  doc.erase(doc.find("  name: Production Key\n"));
  const LoadResult r = LoadString(doc, "keys.yaml");
  ASSERT_TRUE(r.ok()) << testing::Dump(r);
  EXPECT_EQ(r.keys[0].aura_name, "prod-key");
  EXPECT_EQ(r.keys[0].deletion_policy, DeletionPolicy::kRetain);
}

TEST(SpecKey, PreciseErrors) {
  LoadResult r = LoadString(KeyDoc("  memory: 4GB\n"), "keys.yaml");
  ExpectDiagnostics(r, {{13, 3, "spec.memory",
                         "found unknown field \"memory\"; allowed: name, tenantId, projectId, "
                         "cloudProvider, region, keyId, instanceType, deletionPolicy"}});
  EXPECT_EQ(r.invalid_keys, std::set<std::string>{"cmk/shop/prod-key"});
  EXPECT_EQ(r.invalid(), 1);

  r = LoadString(KeyDoc("", "prod-key", "professional-db"), "keys.yaml");
  ExpectDiagnostics(r, {{11, 17, "spec.instanceType",
                         "found \"professional-db\"; allowed: enterprise-db, enterprise-ds"}});

  std::string doc = KeyDoc();
  doc.replace(doc.find("  keyId: "), doc.find('\n', doc.find("  keyId: ")) - doc.find("  keyId: "),
              "  keyId: \"a b\"");
  r = LoadString(doc, "keys.yaml");
  ExpectDiagnostics(r, {{10, 10, "spec.keyId", "found \"a b\"; allowed: the key's id or ARN"}});

  doc = KeyDoc();
  doc.erase(doc.find("  keyId: "),
            doc.find('\n', doc.find("  keyId: ")) + 1 - doc.find("  keyId: "));
  r = LoadString(doc, "keys.yaml");
  ExpectDiagnostics(r, {{6, 1, "spec.keyId", "missing (required)"}});
}

TEST(SpecKey, KindNearMissIsTheKeyKind) {
  std::string doc = KeyDoc();
  doc.replace(doc.find("AuraCustomerManagedKey"), 22, "AuraCustomerManagedKeys");
  const LoadResult r = LoadString(doc, "keys.yaml");
  ExpectDiagnostics(r, {{2, 7, "kind", "(did you mean \"AuraCustomerManagedKey\"?)"}});
  EXPECT_EQ(r.invalid_keys, std::set<std::string>{"cmk/shop/prod-key"});
}

TEST(SpecKey, SameNameInOneTenantIsClaimedOnce) {
  const LoadResult r = LoadString(KeyDoc() + "---\n" + KeyDoc("", "other-key"), "keys.yaml");
  ExpectDiagnostics(r, {{12, 9, "spec.name", "claimed again (also by cmk/shop/other-key"},
                        {25, 9, "spec.name", "claimed again (also by cmk/shop/prod-key"}});
}

TEST(SpecKey, InstanceAndKeyMayShareNames) {
  const LoadResult r = LoadString(KeyDoc("", "orders") + "---\n" + testing::Doc(), "keys.yaml");
  ASSERT_TRUE(r.ok()) << testing::Dump(r);
  EXPECT_EQ(r.keys.size(), 1u);
  EXPECT_EQ(r.specs.size(), 1u);
}

TEST(SpecKeyRef, ResolvesToAKeySpecOfTheNamespace) {
  const LoadResult r = LoadString(Instance("prod-key") + "---\n" + KeyDoc(), "case.yaml");
  ASSERT_TRUE(r.ok()) << testing::Dump(r);
  ASSERT_EQ(r.specs.size(), 1u);
  EXPECT_EQ(r.specs[0].customer_managed_key_ref, "shop/prod-key");
  EXPECT_EQ(r.specs[0].customer_managed_key_id, "");
}

TEST(SpecKeyRef, PreciseErrors) {
  LoadResult r = LoadString(Instance("missing-key") + "---\n" + KeyDoc(), "case.yaml");
  ExpectDiagnostics(r, {{12, 26, "spec.customerManagedKeyRef",
                         "found \"missing-key\", which no AuraCustomerManagedKey loaded with this "
                         "spec has as its metadata.name in namespace \"shop\""}});

  r = LoadString(Instance("prod-key") + "---\n" + KeyDoc("", "prod-key", "enterprise-ds"),
                 "case.yaml");
  ExpectDiagnostics(r, {{12, 26, "spec.customerManagedKeyRef",
                         "a key with instanceType enterprise-ds, not enterprise-db"}});

  r = LoadString(testing::Doc({{"type", "enterprise-db"},
                               {"region", "us-east1"},
                               {"customerManagedKeyRef", "prod-key"}}) +
                     "---\n" + KeyDoc(),
                 "case.yaml");
  ExpectDiagnostics(
      r, {{12, 26, "spec.customerManagedKeyRef", "a key with region europe-west1, not us-east1"}});

  r = LoadString(testing::Doc({{"type", "enterprise-db"},
                               {"customerManagedKeyId", "k1"},
                               {"customerManagedKeyRef", "prod-key"}}) +
                     "---\n" + KeyDoc(),
                 "case.yaml");
  ExpectDiagnostics(r, {{13, 26, "spec.customerManagedKeyRef", "not both"}});

  r = LoadString(Instance("Prod_Key") + "---\n" + KeyDoc(), "case.yaml");
  ExpectDiagnostics(r, {{12, 26, "spec.customerManagedKeyRef",
                         "found \"Prod_Key\"; allowed: the metadata.name of an "
                         "AuraCustomerManagedKey"}});

  r = LoadString(testing::Doc({{"customerManagedKeyRef", "prod-key"}}) + "---\n" + KeyDoc(),
                 "case.yaml");
  ExpectDiagnostics(r, {{12, 26, "spec.customerManagedKeyRef",
                         "for type \"professional-db\"; allowed only for type enterprise-db"}});
}

TEST(SpecKeyRef, KeySpecInAnotherNamespaceDoesNotCount) {
  std::string key = KeyDoc();
  key.replace(key.find("namespace: shop"), 15, "namespace: prod");
  const LoadResult r = LoadString(Instance("prod-key") + "---\n" + key, "case.yaml");
  ExpectDiagnostics(r, {{12, 26, "spec.customerManagedKeyRef", "in namespace \"shop\""}});
}

}  // namespace
}  // namespace aura::spec
