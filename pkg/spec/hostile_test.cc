// Hostile input: every case is an error (or a skip), never a crash, a hang or an explosion.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "pkg/spec/spec.h"
#include "pkg/spec/spec_test_util.h"

namespace aura::spec {
namespace {

using testing::Doc;
using testing::Dump;
using testing::Expect;
using testing::ExpectDiagnostics;

// Within the ctest timeout is not enough: these must be fast.
class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override { start_ = std::chrono::steady_clock::now(); }
  void TearDown() override {
    EXPECT_LT(std::chrono::steady_clock::now() - start_, std::chrono::seconds(5));
  }
  std::chrono::steady_clock::time_point start_;
};

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST_F(HostileTest, SyntaxErrorKeepsEarlierDocumentsAndMarksTheLoadIncomplete) {
  const LoadResult r =
      LoadString(Doc() + "---\nkind: AuraInstance\nmetadata: {name: [x}\n", "s.yaml");
  ExpectDiagnostics(r, {{14, 20, "", "invalid YAML: illegal flow end"}});
  EXPECT_EQ(r.specs.size(), 1u);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.errors[0].key, "");
}

TEST_F(HostileTest, BadIndentation) {
  const LoadResult r = LoadString("a: 1\n b: 2\n", "s.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].location.line, 2);
  EXPECT_FALSE(r.complete);
  // In plain words, not only the parser's.
  EXPECT_NE(r.errors[0].message.find("check the indentation of this line and of the line above"),
            std::string::npos)
      << r.errors[0].message;
}

TEST_F(HostileTest, ASpecFieldOutsideSpecIsPointedAtSpec) {
  const LoadResult r = LoadString(
      "apiVersion: aura.neo4j.io/v1alpha1\nkind: AuraInstance\nmetadata:\n  name: a\n"
      "  memory: 2GB\nspec:\n  tenantId: 5f1c4d2e-8a3b-4c6d-9e0f-1a2b3c4d5e6f\n  cloudProvider: "
      "gcp\n  region: europe-west1\n  type: professional-db\nmemory: 4GB\n",
      "s.yaml");
  std::map<std::string, std::string> by_field;
  for (const auto& e : r.errors) by_field[e.field] = e.message;
  EXPECT_THAT(by_field["metadata.memory"], ::testing::HasSubstr("did you mean spec.memory?"))
      << Dump(r);
  EXPECT_THAT(by_field["memory"],
              ::testing::HasSubstr("did you mean spec.memory? check its indentation"))
      << Dump(r);
  EXPECT_THAT(by_field["spec.memory"], ::testing::HasSubstr("missing (required)")) << Dump(r);
}

TEST_F(HostileTest, TabIndentation) {
  const LoadResult r = LoadString("kind: AuraInstance\nmetadata:\n\tname: x\n", "t.yaml");
  ExpectDiagnostics(r, {{3, 1, "", "found a tab character in indentation; allowed: spaces only"}});
  EXPECT_FALSE(r.complete);
}

TEST_F(HostileTest, TabsInsideValuesAndBlockScalarsAreFine) {
  const LoadResult r = LoadString(
      "kind: Other\nnote: \"a\tb\"\nscript: |\n  if x:\n  \tdo\nlist: [a,\tb]\n", "t.yaml");
  EXPECT_TRUE(r.ok()) << Dump(r);
  EXPECT_EQ(r.skipped, 1);
}

TEST_F(HostileTest, BillionLaughsIsCheap) {
  // a30 stands for 10^31 "lol"s when expanded; the tree holds it in about 300 nodes.
  std::string bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 30; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + Repeat(prev + ", ", 9) +
            prev + "]\n";
  }
  // In another kind: skipped without walking it.
  LoadResult r = LoadString("kind: Bomb\n" + bomb, "bomb.yaml");
  EXPECT_TRUE(r.ok()) << Dump(r);
  EXPECT_EQ(r.skipped, 1);
  // In an AuraInstance, aliased where values are read.
  std::string text = "bomb:\n";
  for (std::size_t at = 0, nl; (nl = bomb.find('\n', at)) != std::string::npos; at = nl + 1) {
    text += "  " + bomb.substr(at, nl - at) + "\n";
  }
  text += Doc({{"name", "*a30"}, {"storage", "*a30"}});
  r = LoadString(text, "bomb.yaml");
  ExpectDiagnostics(r, {{1, 1, "bomb", "found unknown field \"bomb\""},
                        {44, 9, "spec.name", "found a sequence; allowed: a string"},
                        {45, 12, "spec.storage", "found a sequence; allowed: a string"}});
}

TEST_F(HostileTest, AliasesOfABigMappingAreReadOnceEach) {
  std::string text = "kind: AuraInstance\nbase: &m {";
  for (int i = 0; i < 2000; ++i) text += "k" + std::to_string(i) + ": v, ";
  text += "z: v}\nmetadata: *m\nspec: *m\n";
  const LoadResult r = LoadString(text, "alias.yaml");
  // 2001 unknown fields in metadata and again in spec: capped at 100, with a summary.
  ASSERT_EQ(r.errors.size(), 101u);
  EXPECT_EQ(r.errors.back().message,
            "found 3910 more problems in this document; allowed: only the first 100 are listed");
  EXPECT_FALSE(r.complete);  // metadata.name is missing: the key is unknown
}

TEST_F(HostileTest, RecursiveAliasDoesNotLoop) {
  const LoadResult r = LoadString(
      "kind: AuraInstance\napiVersion: aura.neo4j.io/v1alpha1\nmetadata: &m {name: x, labels: *m}\n"
      "spec: &s [*s, *s]\n",
      "loop.yaml");
  ExpectDiagnostics(r, {{3, 32, "metadata.labels.labels", "found a mapping; allowed: a string"},
                        {4, 7, "spec", "found a sequence; allowed: a mapping"}});
}

TEST_F(HostileTest, DeepFlowNestingIsRefusedBeforeParsing) {
  const LoadResult r =
      LoadString("kind: AuraInstance\nx: " + std::string(100000, '['), "deep.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].location.line, 2);
  EXPECT_EQ(r.errors[0].location.column, 4 + 127);  // the 128th bracket
  EXPECT_NE(r.errors[0].message.find(
                "allowed: at most 64 levels of nested mappings and sequences (max_depth)"),
            std::string::npos);
  EXPECT_FALSE(r.complete);
}

TEST_F(HostileTest, DeepBlockNestingIsRefused) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += std::string(i, ' ') + "k:\n";
  const LoadResult r = LoadString(text, "deep.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].location.line, 129);  // 129 indentation levels
  EXPECT_NE(r.errors[0].message.find("(max_depth)"), std::string::npos);
}

TEST_F(HostileTest, DeepCompactSequencesAreRefused) {
  const LoadResult r = LoadString(Repeat("- ", 5000) + "x\n", "deep.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("(max_depth)"), std::string::npos);
}

TEST_F(HostileTest, DeepMixedSameIndentSequencesAreRefused) {
  // A sequence as a mapping value may sit at its key's indentation: depth grows 2 per level.
  std::string text;
  for (int i = 0; i < 400; ++i) text += std::string(2 * i, ' ') + "- k:\n";
  const LoadResult r = LoadString(text, "deep.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("(max_depth)"), std::string::npos) << Dump(r);
}

TEST_F(HostileTest, ExactDepthLimitWhileParsing) {
  // 65 nested flow sequences: under the pre-scan guard (128), over max_depth (64).
  const LoadResult r =
      LoadString("k: " + std::string(64, '[') + std::string(64, ']') + "\n", "d.yaml");
  ExpectDiagnostics(r, {{1, 67, "",
                         "found nesting deeper than 64 levels; allowed: at most 64 levels of "
                         "nested mappings and sequences (max_depth)"}});
  LoadOptions options;
  options.max_depth = 70;
  EXPECT_TRUE(
      LoadString("k: " + std::string(64, '[') + std::string(64, ']') + "\n", "d.yaml", options)
          .ok());
}

TEST_F(HostileTest, DeepButLegalOtherKindsAreSkipped) {
  std::string text = "kind: CustomResourceDefinition\n";
  for (int i = 0; i < 40; ++i) text += std::string(2 * i, ' ') + "properties:\n";
  text += std::string(80, ' ') + "type: string\n";
  const LoadResult r = LoadString(text, "crd.yaml");
  EXPECT_TRUE(r.ok()) << Dump(r);
  EXPECT_EQ(r.skipped, 1);
}

TEST_F(HostileTest, BracketsInsideScalarsAreNotNesting) {
  const std::string brackets(300, '[');
  const LoadResult r = LoadString(
      "kind: Other\n"
      "a: \"" +
          brackets +
          "\"\n"
          "b: '" +
          brackets +
          "'\n"
          "c: it's " +
          brackets +
          "\n"
          "d: |\n  " +
          brackets + "\n    " + brackets +
          "\n"
          "e: >-\n  " +
          brackets +
          "\n"
          "f:\n  - |\n    " +
          brackets +
          "\n"
          "g: \"multi\n  line " +
          brackets +
          "\"\n"
          "# " +
          brackets + "\n",
      "s.yaml");
  EXPECT_TRUE(r.ok()) << Dump(r);
}

TEST_F(HostileTest, ManyLongUnknownKeysStayCheap) {
  std::string text = Doc();
  for (int i = 0; i < 15000; ++i) {
    text += "  " + std::string(200, 'k') + std::to_string(i) + ": 1\n";  // 3 MB in all
  }
  const LoadResult r = LoadString(text, "keys.yaml");
  ASSERT_EQ(r.errors.size(), 101u) << r.errors[0].Format();
}

// A quote the pre-scan mistakes (the continuation of a plain scalar) hides brackets from it; the
// parser's own recursion guard still stops the descent.
TEST_F(HostileTest, PrescanBlindSpotIsCaughtWhileParsing) {
  const LoadResult r = LoadString("a: b\n  'x\n" + std::string(3000, '[') + "'\n", "blind.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_FALSE(r.complete);
}

TEST_F(HostileTest, HugeText) {
  LoadOptions options;
  options.max_file_bytes = 1000;
  const LoadResult r = LoadString(std::string(5000, 'a'), "huge.yaml", options);
  ExpectDiagnostics(
      r, {{1, 1001, "",
           "found a file larger than 1000 bytes; allowed: at most 1000 bytes (max_file_bytes)"}});
  EXPECT_FALSE(r.complete);
}

TEST_F(HostileTest, NulByte) {
  const LoadResult r = LoadString(std::string("kind: x\nab\0cd\n", 14), "bin.yaml");
  ExpectDiagnostics(r, {{2, 3, "", "found a NUL byte (binary data?); allowed: UTF-8 text"}});
  EXPECT_FALSE(r.complete);
}

TEST_F(HostileTest, InvalidUtf8) {
  ExpectDiagnostics(LoadString("kind: \xff\xfe\n", "u.yaml"),
                    {{1, 7, "", "found invalid UTF-8 (byte 0xff); allowed: UTF-8 text"}});
  ExpectDiagnostics(LoadString("a: \xc0\xaf\n", "u.yaml"), {{1, 4, "", "byte 0xc0"}});  // overlong
  ExpectDiagnostics(LoadString("a: \xed\xa0\x80\n", "u.yaml"),
                    {{1, 4, "", "byte 0xed"}});                                      // surrogate
  ExpectDiagnostics(LoadString("a: é\xe9\n", "u.yaml"), {{1, 5, "", "byte 0xe9"}});  // Latin-1
  // UTF-16 with a byte order mark.
  ExpectDiagnostics(LoadString(std::string("\xff\xfe"
                                           "a\0",
                                           4),
                               "u.yaml"),
                    {{1, 1, "", "byte 0xff"}});
}

TEST_F(HostileTest, ControlCharacters) {
  ExpectDiagnostics(LoadString("a: b\x07\n", "c.yaml"),
                    {{1, 5, "", "found control character U+0007"}});
  ExpectDiagnostics(LoadString("a: b\x7f\n", "c.yaml"), {{1, 5, "", "U+007F"}});
  ExpectDiagnostics(LoadString("a: b\xc2\x80\n", "c.yaml"), {{1, 5, "", "U+0080"}});
  EXPECT_TRUE(LoadString("kind: X\na: \"b\xc2\x85 \xef\xbb\xbf\"\n", "c.yaml").ok());  // NEL, BOM
}

TEST_F(HostileTest, BinaryGarbage) {
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 7919 + 13) % 256));
  const LoadResult r = LoadString(garbage, "garbage.bin");
  EXPECT_EQ(r.errors.size(), 1u);
  EXPECT_FALSE(r.complete);
}

TEST_F(HostileTest, EmptyInputs) {
  for (const char* text : {"", "\n\n", "# nothing\n", "---\n", "---\n...\n", "~\n", "null\n"}) {
    const LoadResult r = LoadString(text, "e.yaml");
    EXPECT_TRUE(r.ok()) << text;
    EXPECT_TRUE(r.complete) << text;
    EXPECT_EQ(r.documents, r.empty) << text;
  }
}

TEST_F(HostileTest, NodeLimit) {
  LoadOptions options;
  options.max_nodes = 100;
  std::string text = "kind: X\nlist: [";
  for (int i = 0; i < 200; ++i) text += "1, ";
  text += "1]\n";
  const LoadResult r = LoadString(text, "n.yaml", options);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message,
            "found more than 100 YAML nodes in one document; allowed: at most 100 (max_nodes)");
}

TEST_F(HostileTest, DocumentLimit) {
  LoadOptions options;
  options.max_documents = 3;
  const LoadResult r = LoadString(Repeat("---\nkind: X\n", 10), "d.yaml", options);
  ExpectDiagnostics(
      r,
      {{7, 1, "",
        "found more than 3 documents; allowed: at most 3 documents in one load (max_documents)"}});
  EXPECT_FALSE(r.complete);
}

TEST_F(HostileTest, ManyUnknownFieldsAreCapped) {
  std::string text = Doc();
  for (int i = 0; i < 5000; ++i) text += "  unknown" + std::to_string(i) + ": 1\n";
  const LoadResult r = LoadString(text, "many.yaml");
  ASSERT_EQ(r.errors.size(), 101u);
  EXPECT_EQ(r.errors.back().message,
            "found 4900 more problems in this document; allowed: only the first 100 are listed");
}

TEST_F(HostileTest, LongValuesAreCutInMessages) {
  const LoadResult r = LoadString(Doc({{"memory", std::string(100000, 'x')}}), "long.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_LT(r.errors[0].message.size(), 400u);
  EXPECT_NE(r.errors[0].message.find("xxx...\""), std::string::npos);
}

TEST_F(HostileTest, WrongScalarTypesEverywhere) {
  const LoadResult r = LoadString(
      "apiVersion: [1]\nkind: AuraInstance\nmetadata:\n  name: x\n  labels: 5\nspec:\n"
      "  tenantId: {a: 1}\n  cloudProvider: [gcp]\n  region: {}\n  type: []\n  memory: [1]\n"
      "  paused: maybe\n  suspend: 1\n",
      "types.yaml");
  ExpectDiagnostics(r, {{1, 13, "apiVersion", "found a sequence; allowed: a string"},
                        {5, 11, "metadata.labels", "found \"5\"; allowed: a mapping"},
                        {7, 13, "spec.tenantId", "found a mapping; allowed: a string"},
                        {8, 18, "spec.cloudProvider", "found a sequence"},
                        {9, 11, "spec.region", "found a mapping"},
                        {10, 9, "spec.type", "found a sequence"},
                        {11, 11, "spec.memory", "found a sequence"},
                        {12, 11, "spec.paused", "found \"maybe\"; allowed: true, false"},
                        {13, 12, "spec.suspend", "found \"1\"; allowed: true, false"}});
  EXPECT_EQ(r.invalid_keys, std::set<std::string>{"default/x"});
}

TEST_F(HostileTest, UnknownTagsAndComplexKeys) {
  const LoadResult r = LoadString(
      Doc({{"region", "!custom europe-west1"}}) + "  ? [complex, key]\n  : 1\n", "tags.yaml");
  ExpectDiagnostics(r,
                    {{9, 11, "spec.region", "found a value tagged \"!custom\"; allowed: a string"},
                     {12, 5, "spec", "found a sequence as a field name"}});
}

}  // namespace
}  // namespace aura::spec
