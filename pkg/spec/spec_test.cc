// Table-driven tests of every validation rule and default (docs/SPECS.md).

#include "pkg/spec/spec.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "pkg/spec/spec_test_util.h"

namespace aura::spec {
namespace {

using testing::Doc;
using testing::Expect;
using testing::ExpectDiagnostics;
using testing::Head;
using testing::kTenant;

// `Doc()` with the line of `field` (a base field) removed.
std::string DocWithout(const std::string& field) {
  std::string doc = Doc();
  const std::size_t at = doc.find("  " + field + ":");
  const std::size_t end = doc.find('\n', at);
  return doc.erase(at, end - at + 1);
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

struct InvalidCase {
  std::string name;
  std::string yaml;
  std::vector<Expect> expect;
  bool complete = true;                                    // LoadResult::complete
  std::optional<std::string> invalid_key = "shop/orders";  // nullopt: no key known
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class InvalidSpecTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidSpecTest, ReportsExactlyTheseProblems) {
  const InvalidCase& c = GetParam();
  const LoadResult r = LoadString(c.yaml, "case.yaml");
  ExpectDiagnostics(r, c.expect);
  EXPECT_TRUE(r.specs.empty());
  EXPECT_EQ(r.complete, c.complete);
  if (c.invalid_key) {
    EXPECT_EQ(r.invalid_keys, std::set<std::string>{*c.invalid_key});
    for (const Diagnostic& d : r.errors) EXPECT_EQ(d.key, *c.invalid_key);
  } else {
    EXPECT_TRUE(r.invalid_keys.empty());
  }
}

const std::string k31(31, 'a');

std::vector<InvalidCase> SpecFieldCases() {
  return {
      // Enumerations and value formats.
      {"MemoryNotAllowed",
       Doc({{"memory", "3GB"}}),
       {{11, 11, "spec.memory",
         "found \"3GB\"; allowed: 1GB, 2GB, 4GB, 8GB, 16GB, 24GB, 32GB, 48GB, 64GB, 128GB, 192GB, "
         "256GB, 384GB, 512GB"}}},
      {"MemoryCase",
       Doc({{"memory", "4gb"}}),
       {{11, 11, "spec.memory", "found \"4gb\" (did you mean \"4GB\"?)"}}},
      {"MemorySequence",
       Doc({{"memory", "[1]"}}),
       {{11, 11, "spec.memory", "found a sequence; allowed: a string"}}},
      {"MemoryMapping",
       Doc({{"memory", "{a: 1}"}}),
       {{11, 11, "spec.memory", "found a mapping; allowed: a string"}}},
      {"MemoryNullIsMissing",
       Doc({{"memory", "~"}}),
       {{11, 3, "spec.memory", "missing (required); allowed: 1GB"}}},
      {"MemoryEmptyIsMissing",
       Doc({{"memory", ""}}),
       {{11, 3, "spec.memory", "missing (required)"}}},
      {"MemoryTagged",
       Doc({{"memory", "!!binary aGVsbG8="}}),
       {{11, 11, "spec.memory",
         "found a value tagged \"tag:yaml.org,2002:binary\"; allowed: a string"}}},
      {"TenantFormat",
       Doc({{"tenantId", "\"not a uuid\""}}),
       {{7, 13, "spec.tenantId", "found \"not a uuid\"; allowed: the Aura tenant (project) id"}}},
      {"TenantSequence",
       Doc({{"tenantId", "[a, b]"}}),
       {{7, 13, "spec.tenantId", "found a sequence; allowed: a string"}}},
      {"ProjectIdDiffers",
       Doc({{"projectId", "11111111-2222-3333-4444-555555555555"}}),
       {{12, 14, "spec.projectId", "which differs from tenantId \"6e6bbbe2"}}},
      {"ProjectIdFormat",
       Doc({{"projectId", "\"x y\""}}),
       {{12, 14, "spec.projectId", "found \"x y\"; allowed: the Aura tenant"}}},
      {"CloudProviderCase",
       Doc({{"cloudProvider", "GCP"}}),
       {{8, 18, "spec.cloudProvider",
         "found \"GCP\" (did you mean \"gcp\"?); allowed: gcp, aws, azure"}}},
      {"CloudProviderUnknown",
       Doc({{"cloudProvider", "ibm"}}),
       {{8, 18, "spec.cloudProvider", "found \"ibm\"; allowed: gcp, aws, azure"}}},
      {"RegionUppercase",
       Doc({{"region", "Europe-West1"}}),
       {{9, 11, "spec.region", "found \"Europe-West1\"; allowed: a region id"}}},
      {"RegionEmpty",
       Doc({{"region", "\"\""}}),
       {{9, 11, "spec.region", "found \"\"; allowed: a region id"}}},
      {"RegionDoubleDash",
       Doc({{"region", "europe--west1"}}),
       {{9, 11, "spec.region", "found \"europe--west1\""}}},
      {"RegionSpaces",
       Doc({{"region", "europe west1"}}),
       {{9, 11, "spec.region", "found \"europe west1\""}}},
      {"TypeTypo",
       Doc({{"type", "profesional-db"}}),
       {{10, 9, "spec.type", "(did you mean \"professional-db\"?)"}}},
      {"TypeUnknown",
       Doc({{"type", "serverless"}}),
       {{10, 9, "spec.type",
         "found \"serverless\"; allowed: enterprise-db, enterprise-ds, business-critical, "
         "professional-db, professional-ds, free-db"}}},
      {"Version6",
       Doc({{"version", "6"}}),
       {{12, 12, "spec.version", "found \"6\"; allowed: 4, 5"}}},
      {"VersionFloat",
       Doc({{"version", "5.0"}}),
       {{12, 12, "spec.version", "found \"5.0\"; allowed: 4, 5"}}},
      {"StorageBelowMemory",
       Doc({{"storage", "2GB"}}),
       {{12, 12, "spec.storage",
         "found \"2GB\", below memory 4GB; allowed: at least the memory (4GB); default 2 x memory "
         "(8GB)"}}},
      {"StorageCase",
       Doc({{"storage", "16gb"}}),
       {{12, 12, "spec.storage", "found \"16gb\" (did you mean \"16GB\"?)"}}},
      {"StorageWords",
       Doc({{"storage", "lots"}}),
       {{12, 12, "spec.storage",
         "found \"lots\"; allowed: a whole number of GB such as 8GB, at least the memory"}}},
      {"StorageBareNumber",
       Doc({{"storage", "8"}}),
       {{12, 12, "spec.storage", "found \"8\"; allowed: a whole number of GB"}}},
      {"StorageLeadingZero",
       Doc({{"storage", "08GB"}}),
       {{12, 12, "spec.storage", "found \"08GB\""}}},
      {"PausedMaybe",
       Doc({{"paused", "maybe"}}),
       {{12, 11, "spec.paused", "found \"maybe\"; allowed: true, false"}}},
      {"PausedYes",
       Doc({{"paused", "yes"}}),
       {{12, 11, "spec.paused", "found \"yes\"; allowed: true, false"}}},
      {"PausedQuoted",
       Doc({{"paused", "\"true\""}}),
       {{12, 11, "spec.paused", "found the string \"true\"; allowed: true, false (unquoted)"}}},
      {"SuspendMapping",
       Doc({{"suspend", "{a: 1}"}}),
       {{12, 12, "spec.suspend", "found a mapping; allowed: true, false"}}},
      {"GraphAnalyticsSequence",
       Doc({{"graphAnalyticsPlugin", "[]"}}),
       {{12, 25, "spec.graphAnalyticsPlugin", "found a sequence; allowed: true, false"}}},
      {"VectorOptimizedNumber",
       Doc({{"vectorOptimized", "1"}}),
       {{12, 20, "spec.vectorOptimized", "found \"1\"; allowed: true, false"}}},
      {"CdcCase",
       Doc({{"type", "enterprise-db"}, {"cdcEnrichmentMode", "diff"}}),
       {{12, 22, "spec.cdcEnrichmentMode",
         "found \"diff\" (did you mean \"DIFF\"?); allowed: OFF, DIFF, FULL"}}},
      {"DeletionPolicyCase",
       Doc({{"deletionPolicy", "retain"}}),
       {{12, 19, "spec.deletionPolicy",
         "found \"retain\" (did you mean \"Retain\"?); allowed: Retain, Delete"}}},
      {"DeletionPolicyUnknown",
       Doc({{"deletionPolicy", "Orphan"}}),
       {{12, 19, "spec.deletionPolicy", "found \"Orphan\"; allowed: Retain, Delete"}}},
      {"AdoptionUnknown",
       Doc({{"adoption", "Always"}}),
       {{12, 13, "spec.adoption", "found \"Always\"; allowed: IfExists, Never"}}},
      {"AdoptionCase",
       Doc({{"adoption", "never"}}),
       {{12, 13, "spec.adoption", "(did you mean \"Never\"?)"}}},
      // Aura name.
      {"AuraNameTooLong",
       Doc({{"name", k31}}),
       {{12, 9, "spec.name",
         "(31 characters); allowed: 1..30 characters without leading or trailing whitespace"}}},
      {"AuraNameLeadingSpace",
       Doc({{"name", "\" x\""}}),
       {{12, 9, "spec.name", "found \" x\" (leading whitespace)"}}},
      {"AuraNameTrailingSpace",
       Doc({{"name", "\"x \""}}),
       {{12, 9, "spec.name", "found \"x \" (trailing whitespace)"}}},
      {"AuraNameTrailingNbsp",
       Doc({{"name", "\"x\\u00a0\""}}),
       {{12, 9, "spec.name", "(trailing whitespace)"}}},
      {"AuraNameEmpty", Doc({{"name", "\"\""}}), {{12, 9, "spec.name", "found \"\" (empty)"}}},
      {"AuraNameControl",
       Doc({{"name", "\"a\\u0001b\""}}),
       {{12, 9, "spec.name",
         "found \"a\\x01b\", which holds control characters; allowed: printable text"}}},
      {"AuraNameNul",
       Doc({{"name", "\"a\\0b\""}}),
       {{12, 9, "spec.name", "holds control characters"}}},
      {"AuraNameMapping",
       Doc({{"name", "{a: b}"}}),
       {{12, 9, "spec.name", "found a mapping; allowed: a string"}}},
      {"AuraNameDefaultTooLong",
       Doc({}, "orders-" + std::string(24, 'x')),
       {{4, 9, "spec.name",
         "from metadata.name (31 characters); allowed: 1..30 characters without leading or "
         "trailing whitespace: set spec.name"}},
       true,
       "shop/orders-" + std::string(24, 'x')},
      // Type rules.
      {"FreeDbMemory",
       Doc({{"type", "free-db"}, {"memory", "2GB"}}),
       {{11, 11, "spec.memory", "found \"2GB\"; allowed for free-db: 1GB"}}},
      {"FreeDbProvider",
       Doc({{"type", "free-db"}, {"memory", "1GB"}, {"cloudProvider", "aws"}}),
       {{8, 18, "spec.cloudProvider", "found \"aws\"; allowed for free-db: gcp"}}},
      {"FreeDbRegion",
       Doc({{"type", "free-db"}, {"memory", "1GB"}, {"region", "us-central1"}}),
       {{9, 11, "spec.region", "found \"us-central1\"; allowed for free-db: europe-west1"}}},
      {"FreeDbPaused",
       Doc({{"type", "free-db"}, {"memory", "1GB"}, {"paused", "true"}}),
       {{12, 11, "spec.paused",
         "allowed for free-db: false (free-db instances cannot be paused)"}}},
      {"FreeDbStorage",
       Doc({{"type", "free-db"}, {"memory", "1GB"}, {"storage", "2GB"}}),
       {{12, 12, "spec.storage", "found \"2GB\"; allowed for free-db: no storage field"}}},
      {"CdcOnProfessional",
       Doc({{"cdcEnrichmentMode", "DIFF"}}),
       {{12, 22, "spec.cdcEnrichmentMode",
         "found \"DIFF\" on type professional-db; allowed only on business-critical, "
         "enterprise-db, enterprise-ds"}}},
      {"CdcOffOnFree",
       Doc({{"type", "free-db"}, {"memory", "1GB"}, {"cdcEnrichmentMode", "OFF"}}),
       {{12, 22, "spec.cdcEnrichmentMode", "on type free-db"}}},
      {"VectorOptimizedNeeds4GB",
       Doc({{"memory", "2GB"}, {"vectorOptimized", "true"}}),
       {{12, 20, "spec.vectorOptimized",
         "found true with memory 2GB; allowed: true only with memory of at least 4GB"}}},
      {"VectorOptimizedOnFree",
       Doc({{"type", "free-db"}, {"memory", "1GB"}, {"vectorOptimized", "true"}}),
       {{12, 20, "spec.vectorOptimized", "memory 1GB"}}},
      // Unknown and repeated fields.
      {"UnknownSpecField",
       Doc({{"memroy", "8GB"}}),
       {{12, 3, "spec.memroy",
         "found unknown field \"memroy\" (did you mean \"memory\"?); allowed: name, tenantId, "
         "projectId"}}},
      {"UnknownSpecFieldCase",
       Doc({{"TenantID", "x"}}),
       {{12, 3, "spec.TenantID", "(did you mean \"tenantId\"?)"}}},
      {"UnknownSpecFieldFar",
       Doc({{"replicas", "3"}}),
       {{12, 3, "spec.replicas", "found unknown field \"replicas\"; allowed:"}}},
      {"RepeatedSpecField",
       Doc() + "  memory: 8GB\n",
       {{12, 3, "spec.memory",
         "found field \"memory\" a second time (first at line 11, column 3); allowed: each field "
         "once"}}},
      {"MergeKey",
       Doc() + "  <<: {paused: true}\n",
       {{12, 3, "spec.<<", "found a YAML merge key \"<<\"; allowed: the fields written out"}}},
      {"SequenceAsKey",
       Doc() + "  [a]: 1\n",
       {{12, 3, "spec", "found a sequence as a field name; allowed: field names (strings)"}}},
      {"NullKey", Doc() + "  ~: 1\n", {{12, 3, "spec", "found null as a field name"}}},
  };
}

std::vector<InvalidCase> MissingCases() {
  std::vector<InvalidCase> cases;
  for (const char* field : {"tenantId", "cloudProvider", "region", "type", "memory"}) {
    cases.push_back({std::string("Missing_") + field,
                     DocWithout(field),
                     {{6, 1, std::string("spec.") + field, "missing (required); allowed: "}}});
  }
  cases.push_back({"SpecMissing",
                   Head().substr(0, Head().size() - 6),
                   {{1, 1, "spec", "missing (required); allowed: a mapping with tenantId"}}});
  cases.push_back({"SpecSequence",
                   Head() + "  - 1\n",
                   {{7, 3, "spec", "found a sequence; allowed: a mapping"}}});
  cases.push_back({"SpecScalar",
                   Replace(Head(), "spec:\n", "spec: big\n"),
                   {{6, 7, "spec", "found \"big\"; allowed: a mapping"}}});
  return cases;
}

std::vector<InvalidCase> TopAndMetadataCases() {
  const std::string doc = Doc();
  return {
      {"ApiVersionWrong",
       Replace(doc, "v1alpha1", "v1"),
       {{1, 13, "apiVersion", "found \"aura.neo4j.io/v1\"; allowed: aura.neo4j.io/v1alpha1"}}},
      {"ApiVersionOtherGroup",
       Replace(doc, "aura.neo4j.io/v1alpha1", "v1"),
       {{1, 13, "apiVersion", "found \"v1\"; allowed: aura.neo4j.io/v1alpha1"}}},
      {"ApiVersionMissing",
       Replace(doc, "apiVersion: aura.neo4j.io/v1alpha1\n", ""),
       {{1, 1, "apiVersion", "missing (required); allowed: aura.neo4j.io/v1alpha1"}}},
      {"ApiVersionSequence",
       Replace(doc, "aura.neo4j.io/v1alpha1", "[a]"),
       {{1, 13, "apiVersion", "found a sequence; allowed: a string"}}},
      {"KindNearMiss",
       Replace(doc, "kind: AuraInstance", "kind: AuraInstances"),
       {{2, 7, "kind",
         "found \"AuraInstances\" (did you mean \"AuraInstance\"?); allowed: AuraInstance"}}},
      {"KindLowercase",
       Replace(doc, "kind: AuraInstance", "kind: aurainstance"),
       {{2, 7, "kind", "(did you mean \"AuraInstance\"?)"}}},
      {"KindOtherInAuraGroup",
       Replace(doc, "kind: AuraInstance", "kind: Database"),
       {{2, 7, "kind",
         "found \"Database\"; allowed: AuraInstance, AuraCustomerManagedKey (the kinds of "
         "aura.neo4j.io)"}}},
      {"KindMissingInAuraGroup",
       Replace(doc, "kind: AuraInstance\n", ""),
       {{1, 1, "kind", "missing (required); allowed: AuraInstance"}}},
      {"KindMissingWithTenant",
       Replace(Replace(doc, "kind: AuraInstance\n", ""), "apiVersion: aura.neo4j.io/v1alpha1\n",
               ""),
       {{1, 1, "kind", "missing (required); allowed: AuraInstance"},
        {1, 1, "apiVersion", "missing (required)"}}},
      {"KindKeyCapitalized",
       Replace(doc, "kind:", "Kind:"),
       {{2, 1, "Kind",
         "found unknown field \"Kind\" (did you mean \"kind\"?); allowed: apiVersion, kind, "
         "metadata, spec"}}},
      {"TopUnknownField",
       doc + "status: {}\n",
       {{12, 1, "status",
         "found unknown field \"status\"; allowed: apiVersion, kind, metadata, spec"}}},
      {"TopTypo",
       Replace(doc, "spec:", "specs:"),
       {{1, 1, "spec", "missing (required)"}, {6, 1, "specs", "(did you mean \"spec\"?)"}}},
      {"TopRepeated",
       doc + "kind: AuraInstance\n",
       {{12, 1, "kind", "found field \"kind\" a second time (first at line 2, column 1)"}}},
      {"MetadataNameInvalid",
       Doc({}, "Orders"),
       {{4, 9, "metadata.name",
         "found \"Orders\"; allowed: a DNS-1123 label: 1..63 lowercase letters, digits and "
         "'-'"}},
       true,
       "shop/Orders"},
      {"MetadataNameDash",
       Doc({}, "orders-"),
       {{4, 9, "metadata.name", "found \"orders-\""}},
       true,
       "shop/orders-"},
      {"MetadataNameTooLong",
       Doc({{"name", "orders"}}, std::string(64, 'a')),
       {{4, 9, "metadata.name", "DNS-1123 label"}},
       true,
       "shop/" + std::string(64, 'a')},
      {"NamespaceInvalid",
       Replace(doc, "namespace: shop", "namespace: Shop_1"),
       {{5, 14, "metadata.namespace", "found \"Shop_1\"; allowed: a DNS-1123 label"}},
       true,
       "Shop_1/orders"},
      {"MetadataUnknownField",
       Replace(doc, "  namespace: shop\n", "  namespace: shop\n  uid: x\n"),
       {{6, 3, "metadata.uid",
         "found unknown field \"uid\"; allowed: name, namespace, labels, annotations"}}},
      {"LabelsNotMapping",
       Replace(doc, "  namespace: shop\n", "  namespace: shop\n  labels: [a]\n"),
       {{6, 11, "metadata.labels", "found a sequence; allowed: a mapping of names to strings"}}},
      {"LabelKeyInvalid",
       Replace(doc, "  namespace: shop\n", "  namespace: shop\n  labels: {\"bad key\": x}\n"),
       {{6, 12, "metadata.labels.bad key", "found key \"bad key\"; allowed: [prefix/]name"}}},
      {"LabelValueInvalid",
       Replace(doc, "  namespace: shop\n", "  namespace: shop\n  labels:\n    team: \"-x\"\n"),
       {{7, 11, "metadata.labels.team", "found \"-x\"; allowed: empty, or 1..63"}}},
      {"LabelValueMapping",
       Replace(doc, "  namespace: shop\n", "  namespace: shop\n  labels:\n    team: {a: b}\n"),
       {{7, 11, "metadata.labels.team", "found a mapping; allowed: a string"}}},
      {"LabelRepeated",
       Replace(doc, "  namespace: shop\n", "  namespace: shop\n  labels: {a: x, a: y}\n"),
       {{6, 18, "metadata.labels.a", "a second time"}}},
      {"AnnotationsNotMapping",
       Replace(doc, "  namespace: shop\n", "  namespace: shop\n  annotations: note\n"),
       {{6, 16, "metadata.annotations", "found \"note\"; allowed: a mapping of names to strings"}}},
  };
}

// Documents whose key cannot be known: LoadResult::complete turns false.
std::vector<InvalidCase> UnknownKeyCases() {
  const std::string doc = Doc();
  return {
      {"MetadataMissing",
       Replace(doc, "metadata:\n  name: orders\n  namespace: shop\n", ""),
       {{1, 1, "metadata", "missing (required); allowed: a mapping with name"}},
       false,
       std::nullopt},
      {"MetadataSequence",
       Replace(doc, "metadata:\n  name: orders\n  namespace: shop\n", "metadata: [orders]\n"),
       {{3, 11, "metadata", "found a sequence; allowed: a mapping with name"}},
       false,
       std::nullopt},
      {"MetadataNameMissing",
       Replace(doc, "  name: orders\n", ""),
       {{3, 1, "metadata.name", "missing (required); allowed: a DNS-1123 label"}},
       false,
       std::nullopt},
      {"MetadataNameNull",
       Replace(doc, "  name: orders\n", "  name:\n"),
       {{4, 3, "metadata.name", "missing (required)"}},
       false,
       std::nullopt},
      {"MetadataNameSequence",
       Replace(doc, "name: orders", "name: [orders]"),
       {{4, 9, "metadata.name", "found a sequence; allowed: a string"}},
       false,
       std::nullopt},
      {"NamespaceMapping",
       Replace(doc, "namespace: shop", "namespace: {a: b}"),
       {{5, 14, "metadata.namespace", "found a mapping; allowed: a string"}},
       false,
       std::nullopt},
      {"KindMapping",
       Replace(doc, "kind: AuraInstance", "kind: {a: b}"),
       {{2, 7, "kind", "found a mapping; allowed: a string such as AuraInstance"}},
       false,
       std::nullopt},
      {"RootSequence",
       "- a\n- b\n",
       {{1, 1, "", "found a sequence as a document; allowed: a mapping"}},
       false,
       std::nullopt},
      {"RootScalar",
       "just text\n",
       {{1, 1, "", "found \"just text\" as a document"}},
       false,
       std::nullopt},
  };
}

std::string CaseName(const ::testing::TestParamInfo<InvalidCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(SpecFields, InvalidSpecTest, ::testing::ValuesIn(SpecFieldCases()),
                         CaseName);
INSTANTIATE_TEST_SUITE_P(Missing, InvalidSpecTest, ::testing::ValuesIn(MissingCases()), CaseName);
INSTANTIATE_TEST_SUITE_P(TopAndMetadata, InvalidSpecTest,
                         ::testing::ValuesIn(TopAndMetadataCases()), CaseName);
INSTANTIATE_TEST_SUITE_P(UnknownKey, InvalidSpecTest, ::testing::ValuesIn(UnknownKeyCases()),
                         CaseName);

// ---- Valid documents and defaults ----

struct ValidCase {
  std::string name;
  std::string yaml;
  std::function<void(const InstanceSpec&)> check;
};

void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.name; }

class ValidSpecTest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ValidSpecTest, LoadsWithDefaults) {
  const LoadResult r = LoadString(GetParam().yaml, "case.yaml");
  ASSERT_TRUE(r.ok()) << testing::Dump(r);
  ASSERT_EQ(r.specs.size(), 1u);
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.invalid_keys.empty());
  GetParam().check(r.specs[0]);
}

std::vector<ValidCase> ValidCases() {
  return {
      {"BaseDefaults", Doc(),
       [](const InstanceSpec& s) {
         EXPECT_EQ(s.key(), "shop/orders");
         EXPECT_EQ(s.aura_name, "orders");
         EXPECT_EQ(s.tenant_id, kTenant);
         EXPECT_EQ(s.cloud_provider, "gcp");
         EXPECT_EQ(s.region, "europe-west1");
         EXPECT_EQ(s.type, "professional-db");
         EXPECT_EQ(s.memory, "4GB");
         EXPECT_EQ(s.storage, "8GB");
         EXPECT_EQ(s.version, "5");
         EXPECT_FALSE(s.paused);
         EXPECT_FALSE(s.suspend);
         EXPECT_FALSE(s.vector_optimized);
         EXPECT_FALSE(s.graph_analytics_plugin);
         EXPECT_FALSE(s.cdc_enrichment_mode.has_value());
         EXPECT_EQ(s.deletion_policy, DeletionPolicy::kRetain);
         EXPECT_EQ(s.adoption, Adoption::kIfExists);
         EXPECT_EQ(s.location.line, 1);
         EXPECT_EQ(s.field_locations.at("spec.memory").line, 11);
         EXPECT_EQ(s.field_locations.at("spec.memory").column, 11);
         EXPECT_EQ(s.field_locations.count("spec.storage"), 0u);  // defaulted
         EXPECT_EQ(s.connection_secret, "orders-aura");
       }},
      {"ConnectionSecretName", Doc({{"connectionSecret", "{name: orders.neo4j-1}"}}),
       [](const InstanceSpec& s) {
         EXPECT_EQ(s.connection_secret, "orders.neo4j-1");
         EXPECT_EQ(s.field_locations.count("spec.connectionSecret.name"), 1u);
       }},
      {"ConnectionSecretEmptyIsDefault", Doc({{"connectionSecret", "~"}}),
       [](const InstanceSpec& s) { EXPECT_EQ(s.connection_secret, "orders-aura"); }},
      {"DefaultNamespace", Replace(Doc(), "  namespace: shop\n", ""),
       [](const InstanceSpec& s) { EXPECT_EQ(s.key(), "default/orders"); }},
      {"NullNamespaceIsDefault", Replace(Doc(), "namespace: shop", "namespace: ~"),
       [](const InstanceSpec& s) { EXPECT_EQ(s.namespace_name, "default"); }},
      {"ProjectIdAlias", Replace(Doc(), "tenantId:", "projectId:"),
       [](const InstanceSpec& s) {
         EXPECT_EQ(s.tenant_id, kTenant);
         EXPECT_EQ(s.field_locations.at("spec.tenantId").line, 7);
       }},
      {"ProjectIdEqual", Doc({{"projectId", kTenant}}),
       [](const InstanceSpec& s) { EXPECT_EQ(s.tenant_id, kTenant); }},
      {"VersionUnquoted", Doc({{"version", "5"}}),
       [](const InstanceSpec& s) { EXPECT_EQ(s.version, "5"); }},
      {"Version4Quoted", Doc({{"version", "\"4\""}}),
       [](const InstanceSpec& s) { EXPECT_EQ(s.version, "4"); }},
      {"StorageExplicit", Doc({{"storage", "16GB"}}),
       [](const InstanceSpec& s) {
         EXPECT_EQ(s.storage, "16GB");
         EXPECT_EQ(s.field_locations.count("spec.storage"), 1u);
       }},
      {"StorageEqualToMemory", Doc({{"storage", "4GB"}}),
       [](const InstanceSpec& s) { EXPECT_EQ(s.storage, "4GB"); }},
      {"StorageLarge", Doc({{"storage", "2048GB"}}),
       [](const InstanceSpec& s) { EXPECT_EQ(s.storage, "2048GB"); }},
      {"Memory512", Doc({{"memory", "512GB"}, {"type", "enterprise-db"}}),
       [](const InstanceSpec& s) { EXPECT_EQ(s.storage, "1024GB"); }},
      {"FreeDb", Doc({{"type", "free-db"}, {"memory", "1GB"}}),
       [](const InstanceSpec& s) { EXPECT_EQ(s.storage, ""); }},
      {"EveryOption",
       Doc({{"type", "business-critical"},
            {"memory", "8GB"},
            {"cloudProvider", "azure"},
            {"region", "westeurope"},
            {"name", "Shop Orders"},
            {"version", "\"4\""},
            {"storage", "32GB"},
            {"vectorOptimized", "true"},
            {"graphAnalyticsPlugin", "False"},
            {"cdcEnrichmentMode", "FULL"},
            {"paused", "TRUE"},
            {"deletionPolicy", "Delete"},
            {"adoption", "Never"},
            {"recreate", "Never"},
            {"suspend", "true"}}),
       [](const InstanceSpec& s) {
         EXPECT_EQ(s.aura_name, "Shop Orders");
         EXPECT_EQ(s.cloud_provider, "azure");
         EXPECT_EQ(s.region, "westeurope");
         EXPECT_EQ(s.version, "4");
         EXPECT_EQ(s.storage, "32GB");
         EXPECT_TRUE(s.vector_optimized);
         EXPECT_FALSE(s.graph_analytics_plugin);
         EXPECT_EQ(s.cdc_enrichment_mode, "FULL");
         EXPECT_TRUE(s.paused);
         EXPECT_TRUE(s.suspend);
         EXPECT_EQ(s.deletion_policy, DeletionPolicy::kDelete);
         EXPECT_EQ(s.adoption, Adoption::kNever);
         EXPECT_EQ(s.recreate, Recreate::kNever);
       }},
      {"GraphAnalyticsOnProfessionalDb",
       Doc({{"type", "professional-db"}, {"graphAnalyticsPlugin", "true"}}),
       [](const InstanceSpec& s) {
         EXPECT_TRUE(s.graph_analytics_plugin);
         EXPECT_EQ(s.recreate, Recreate::kIfMissing);
       }},
      {"FalseSpellings",
       Doc({{"paused", "False"}, {"suspend", "FALSE"}, {"vectorOptimized", "false"}}),
       [](const InstanceSpec& s) { EXPECT_FALSE(s.paused || s.suspend || s.vector_optimized); }},
      {"BoolTag", Doc({{"paused", "!!bool true"}}),
       [](const InstanceSpec& s) { EXPECT_TRUE(s.paused); }},
      {"CdcOnEnterpriseDs", Doc({{"type", "enterprise-ds"}, {"cdcEnrichmentMode", "OFF"}}),
       [](const InstanceSpec& s) { EXPECT_EQ(s.cdc_enrichment_mode, "OFF"); }},
      {"VectorOptimized4GB", Doc({{"vectorOptimized", "true"}}),
       [](const InstanceSpec& s) { EXPECT_TRUE(s.vector_optimized); }},
      {"AuraName30", Doc({{"name", std::string(30, 'n')}}),
       [](const InstanceSpec& s) { EXPECT_EQ(s.aura_name.size(), 30u); }},
      {"AuraNameUnicode",
       Doc({{"name", "\"Bestellungen Größe ÄÖÜ äöü 123\""}}),  // 30 characters, 37 bytes
       [](const InstanceSpec& s) { EXPECT_EQ(s.aura_name, "Bestellungen Größe ÄÖÜ äöü 123"); }},
      {"AuraNameDefault30", Doc({}, std::string(30, 'x')),
       [](const InstanceSpec& s) { EXPECT_EQ(s.aura_name, std::string(30, 'x')); }},
      {"MetadataNameDigits", Doc({}, "123"),
       [](const InstanceSpec& s) { EXPECT_EQ(s.name, "123"); }},
      {"LabelsAndAnnotations",
       Replace(Doc(), "  namespace: shop\n",
               "  namespace: shop\n  labels: {team: shop, app.kubernetes.io/name: orders, empty: "
               "\"\"}\n"
               "  annotations:\n    note: |\n      any text\n      at all\n"),
       [](const InstanceSpec& s) {
         EXPECT_EQ(s.labels.at("team"), "shop");
         EXPECT_EQ(s.labels.at("app.kubernetes.io/name"), "orders");
         EXPECT_EQ(s.labels.at("empty"), "");
         EXPECT_EQ(s.annotations.at("note"), "any text\nat all\n");
       }},
      {"Aliases", Replace(Doc({{"name", "*n"}}), "  name: orders\n", "  name: &n orders\n"),
       [](const InstanceSpec& s) { EXPECT_EQ(s.aura_name, "orders"); }},
      {"QuotedKeysAndFlowStyle",
       "{\"apiVersion\": aura.neo4j.io/v1alpha1, kind: AuraInstance, metadata: {name: a},\n"
       " spec: {tenantId: 6e6bbbe2-5678-5f8a-1234-b1f62f08b98f, cloudProvider: aws, region: "
       "us-east-1, type: professional-ds, memory: 2GB}}\n",
       [](const InstanceSpec& s) { EXPECT_EQ(s.storage, "4GB"); }},
      {"CrLfLineEndings",
       [] {
         std::string d = Doc();
         std::string out;
         for (char c : d) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
         return out;
       }(),
       [](const InstanceSpec& s) { EXPECT_EQ(s.field_locations.at("spec.memory").line, 11); }},
      {"ByteOrderMark", "\xEF\xBB\xBF" + Doc(),
       [](const InstanceSpec& s) { EXPECT_EQ(s.field_locations.at("spec.region").column, 11); }},
      {"CommentsAndDocumentMarkers", "# leading comment\n---\n" + Doc() + "...\n",
       [](const InstanceSpec& s) { EXPECT_EQ(s.field_locations.at("spec.memory").line, 13); }},
  };
}

std::string ValidName(const ::testing::TestParamInfo<ValidCase>& info) { return info.param.name; }
INSTANTIATE_TEST_SUITE_P(Valid, ValidSpecTest, ::testing::ValuesIn(ValidCases()), ValidName);

// ---- Several documents ----

TEST(SpecStreamTest, SkipsOtherKindsAndCountsEmptyDocuments) {
  const std::string text =
      Doc() +
      "---\n"
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n"
      "---\n"
      "---\n"
      "# only a comment\n"
      "---\n"
      "resources: [a.yaml]\n"  // a kustomization without kind
      "---\n" +
      Doc({}, "users");
  const LoadResult r = LoadString(text, "many.yaml");
  ASSERT_TRUE(r.ok()) << testing::Dump(r);
  EXPECT_EQ(r.documents, 6);
  EXPECT_EQ(r.skipped, 2);
  EXPECT_EQ(r.empty, 2);
  EXPECT_EQ(r.invalid(), 0);
  ASSERT_EQ(r.specs.size(), 2u);
  EXPECT_EQ(r.specs[0].key(), "shop/orders");
  EXPECT_EQ(r.specs[1].key(), "shop/users");
  EXPECT_EQ(r.specs[1].location.line, 23);
}

TEST(SpecStreamTest, ValidDocumentsSurviveInvalidNeighbours) {
  const LoadResult r =
      LoadString(Doc({{"memory", "3GB"}}, "bad") + "---\n" + Doc({}, "good"), "x.yaml");
  ASSERT_EQ(r.specs.size(), 1u);
  EXPECT_EQ(r.specs[0].name, "good");
  EXPECT_EQ(r.invalid_keys, std::set<std::string>{"shop/bad"});
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.invalid(), 1);
}

TEST(SpecStreamTest, ReportsEveryProblemOfADocumentInOneRun) {
  const LoadResult r = LoadString(
      Doc({{"memory", "3GB"}, {"cloudProvider", "ibm"}, {"paused", "maybe"}, {"adoption", "x"}}),
      "x.yaml");
  ExpectDiagnostics(r, {{8, 18, "spec.cloudProvider", "ibm"},
                        {11, 11, "spec.memory", "3GB"},
                        {12, 11, "spec.paused", "maybe"},
                        {13, 13, "spec.adoption", "\"x\""}});
}

TEST(SpecStreamTest, DuplicateKeysNameBothLocations) {
  const LoadResult r = LoadString(Doc() + "---\n" + Doc({{"memory", "8GB"}}), "dup.yaml");
  ExpectDiagnostics(r, {{4, 9, "metadata.name",
                         "found key \"shop/orders\" again (also at dup.yaml:16:9); allowed: one "
                         "document per namespace/name"},
                        {16, 9, "metadata.name", "(also at dup.yaml:4:9)"}});
  EXPECT_TRUE(r.specs.empty());
  EXPECT_EQ(r.invalid_keys, std::set<std::string>{"shop/orders"});
}

TEST(SpecStreamTest, DuplicateAuraNamesInOneTenant) {
  const LoadResult r = LoadString(
      Doc({{"name", "shared"}}, "a") + "---\n" + Doc({}, "shared") + "---\n" +
          Doc({{"name", "shared"}, {"tenantId", "11111111-2222-3333-4444-555555555555"}}, "c"),
      "claims.yaml");
  ExpectDiagnostics(r,
                    {{12, 9, "spec.name",
                      "found Aura name \"shared\" in tenant "
                      "\"6e6bbbe2-5678-5f8a-1234-b1f62f08b98f\" claimed again (also by shop/shared "
                      "at claims.yaml:17:9); allowed: one spec per (tenant, Aura name)"},
                     {17, 9, "spec.name", "(also by shop/a at claims.yaml:12:9)"}});
  ASSERT_EQ(r.specs.size(), 1u);  // the same name in another tenant is fine
  EXPECT_EQ(r.specs[0].name, "c");
  EXPECT_EQ(r.invalid_keys, (std::set<std::string>{"shop/a", "shop/shared"}));
}

TEST(SpecStreamTest, DuplicateAuraNamesIgnoreTenantCase) {
  const LoadResult r = LoadString(
      Doc({}, "a") + "---\n" +
          Doc({{"name", "a"}, {"tenantId", "6E6BBBE2-5678-5F8A-1234-B1F62F08B98F"}}, "b"),
      "claims.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << testing::Dump(r);
  EXPECT_NE(r.errors[1].message.find("in tenant \"6E6BBBE2"), std::string::npos);
}

TEST(SpecStreamTest, FormatNamesFileLineColumnFieldFoundAndAllowed) {
  const LoadResult r = LoadString(Doc({{"memory", "3GB"}}), "specs/orders.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].Format(),
            "specs/orders.yaml:11:11: spec.memory: found \"3GB\"; allowed: 1GB, 2GB, 4GB, 8GB, "
            "16GB, 24GB, 32GB, 48GB, 64GB, 128GB, 192GB, 256GB, 384GB, 512GB");
  EXPECT_EQ(r.errors[0].key, "shop/orders");
  Diagnostic file_level{{"f.yaml", 0, 0}, "", "cannot read: Permission denied", ""};
  EXPECT_EQ(file_level.Format(), "f.yaml: cannot read: Permission denied");
}

TEST(SpecStreamTest, ColumnsCountCharactersNotBytes) {
  const LoadResult r = LoadString(
      Replace(Doc(), "  namespace: shop\n", "  namespace: shop\n  labels: {größe: x, b: [1]}\n"),
      "x.yaml");
  ExpectDiagnostics(r, {{6, 12, "metadata.labels.größe", "found key \"größe\""},
                        {6, 25, "metadata.labels.b", "found a sequence"}});
}

TEST(SpecStreamTest, NamesAndHelpers) {
  EXPECT_EQ(DeletionPolicyName(DeletionPolicy::kDelete), "Delete");
  EXPECT_EQ(DeletionPolicyName(DeletionPolicy::kRetain), "Retain");
  EXPECT_EQ(AdoptionName(Adoption::kNever), "Never");
  EXPECT_EQ(AdoptionName(Adoption::kIfExists), "IfExists");
  EXPECT_EQ(Gigabytes("4GB"), 4);
  EXPECT_EQ(Gigabytes("512GB"), 512);
  EXPECT_EQ(Gigabytes("999999GB"), 999999);
  EXPECT_FALSE(Gigabytes("1000000GB"));
  EXPECT_FALSE(Gigabytes("0GB"));
  EXPECT_FALSE(Gigabytes("4gb"));
  EXPECT_FALSE(Gigabytes("GB"));
  EXPECT_FALSE(Gigabytes("-1GB"));
}

}  // namespace
}  // namespace aura::spec

namespace aura::spec {
namespace {

TEST(FieldLocationsTest, ReadsLikeAMapAndSharesOneCopyOfEachPath) {
  FieldLocations a;
  a.Set("spec.memory", LineColumn{3, 11});
  a.Set("spec.region", LineColumn{4, 11});
  a.Set("spec.memory", LineColumn{9, 2});  // set again: moved, not added
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(a.at("spec.memory").line, 9);
  EXPECT_EQ(a.at("spec.memory").column, 2);
  EXPECT_EQ(a.count("spec.storage"), 0u);
  EXPECT_FALSE(a.contains("spec.storage"));
  EXPECT_EQ(a.find("spec.storage"), a.end());
  EXPECT_THROW((void)a.at("spec.storage"), std::out_of_range);

  // A path built at run time is stored once: both specs point at the same characters.
  FieldLocations b;
  const std::string built = std::string("spec.") + "region";
  b.Set(built, LineColumn{1, 1});
  EXPECT_EQ(b.find("spec.region")->first.data(), a.find("spec.region")->first.data());
}

}  // namespace
}  // namespace aura::spec
