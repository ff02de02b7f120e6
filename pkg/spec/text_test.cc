// Helpers: UTF-8, quoting, suggestions, Kubernetes name formats, line index, pre-scan.

#include "pkg/spec/text.h"

#include <gtest/gtest.h>

#include "pkg/spec/prescan.h"

namespace aura::spec::detail {
namespace {

TEST(TextTest, Utf8) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("größe \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_EQ(Utf8Length("größe"), 5u);
  EXPECT_EQ(Utf8Length("a\xff"
                       "b"),
            3u);
  EXPECT_TRUE(IsPrintableText("tab-free text"));
  EXPECT_FALSE(IsPrintableText("a\tb"));
  EXPECT_FALSE(IsPrintableText(std::string("a\0b", 3)));
}

TEST(TextTest, QuoteEscapesAndCuts) {
  EXPECT_EQ(Quote("3GB"), "\"3GB\"");
  EXPECT_EQ(Quote("a\"b\\c\nd\te"), "\"a\\\"b\\\\c\\nd\\te\"");
  EXPECT_EQ(Quote(std::string("a\0\x01\xff", 4)), "\"a\\x00\\x01\\xff\"");
  EXPECT_EQ(Quote("größe"), "\"größe\"");
  EXPECT_EQ(Quote("abcdef", 3), "\"abc...\"");
}

TEST(TextTest, EditDistanceAndSuggestions) {
  EXPECT_EQ(EditDistance("memory", "memroy"), 1);  // transposition
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
  EXPECT_EQ(EditDistance("TenantID", "tenantId"), 0);
  EXPECT_EQ(EditDistance(std::string(300, 'a'), "a"), 1000);
  const std::vector<std::string> fields = {"name", "tenantId", "memory", "storage"};
  EXPECT_EQ(Suggest("memroy", fields, 2), "memory");
  EXPECT_EQ(Suggest("tenant_id", fields, 2), "tenantId");
  EXPECT_EQ(Suggest("storag", fields, 2), "storage");
  EXPECT_EQ(Suggest("replicas", fields, 2), std::nullopt);
  EXPECT_EQ(Suggest("memory", fields, 2), std::nullopt);  // already allowed
  EXPECT_EQ(Suggest("ab", fields, 2), std::nullopt);      // too short to be a typo of anything
  EXPECT_EQ(Suggest("3GB", {"1GB", "2GB", "4GB"}, 0), std::nullopt);
  EXPECT_EQ(Suggest("4 gb", {"1GB", "2GB", "4GB"}, 0), "4GB");
  // A value without its suffix: the first allowed one it begins.
  EXPECT_EQ(Suggest("professional", {"enterprise-db", "professional-db", "professional-ds"}, 2),
            "professional-db");
  EXPECT_EQ(Suggest("free", {"free-db"}, 0), "free-db");
}

TEST(TextTest, KubernetesNames) {
  EXPECT_TRUE(IsDns1123Label("orders"));
  EXPECT_TRUE(IsDns1123Label("a"));
  EXPECT_TRUE(IsDns1123Label("0-9"));
  EXPECT_TRUE(IsDns1123Label(std::string(63, 'a')));
  EXPECT_FALSE(IsDns1123Label(std::string(64, 'a')));
  EXPECT_FALSE(IsDns1123Label(""));
  EXPECT_FALSE(IsDns1123Label("-a"));
  EXPECT_FALSE(IsDns1123Label("a-"));
  EXPECT_FALSE(IsDns1123Label("A"));
  EXPECT_FALSE(IsDns1123Label("a.b"));
  EXPECT_FALSE(IsDns1123Label("a_b"));
  EXPECT_TRUE(IsDns1123Subdomain("app.kubernetes.io"));
  EXPECT_FALSE(IsDns1123Subdomain("app..io"));
  EXPECT_TRUE(IsQualifiedName("team"));
  EXPECT_TRUE(IsQualifiedName("app.kubernetes.io/name"));
  EXPECT_TRUE(IsQualifiedName("A_b.c-D"));
  EXPECT_FALSE(IsQualifiedName("/name"));
  EXPECT_FALSE(IsQualifiedName("a/"));
  EXPECT_FALSE(IsQualifiedName("bad key"));
  EXPECT_TRUE(IsLabelValue(""));
  EXPECT_TRUE(IsLabelValue("v1.2_3-x"));
  EXPECT_FALSE(IsLabelValue("-x"));
  EXPECT_FALSE(IsLabelValue(std::string(64, 'a')));
}

TEST(LineIndexTest, LinesAndCharacterColumns) {
  const std::string text = "ab\ncd\r\nef\rgé h";
  const LineIndex lines(text);
  EXPECT_EQ(lines.At(0).line, 1);
  EXPECT_EQ(lines.At(1).column, 2);
  EXPECT_EQ(lines.At(3).line, 2);
  EXPECT_EQ(lines.At(7).line, 3);
  EXPECT_EQ(lines.At(10).line, 4);
  EXPECT_EQ(lines.At(10).column, 1);
  EXPECT_EQ(lines.At(14).column, 4);  // 'h' after the two-byte 'é'
  EXPECT_EQ(lines.At(11).column, 2);  // backwards lookup still right
  EXPECT_EQ(lines.At(1000).line, 4);  // past the end: the end
}

TEST(PrescanTest, Encoding) {
  EXPECT_FALSE(CheckEncoding("a: b\n\tc\r\n"));
  EXPECT_EQ(CheckEncoding(std::string("ab\0", 3))->offset, 2u);
  EXPECT_EQ(CheckEncoding("ab\x1b[0m")->offset, 2u);
  EXPECT_EQ(CheckEncoding("\xef\xbf\xbe")->message,
            "found control character U+FFFE; allowed: UTF-8 text without control characters "
            "other than tab and line breaks");
}

int Flagged(const std::string& text, int max_depth = 4) {
  const auto p = CheckStructure(text, max_depth);
  return p ? static_cast<int>(p->offset) : -1;
}

TEST(PrescanTest, DepthEstimate) {
  // Limit 2 x 4 = 8.
  // One indentation level plus the open brackets.
  EXPECT_EQ(Flagged("a: [[[[[[[]]]]]]]\n"), -1);
  EXPECT_EQ(Flagged("a: [[[[[[[[]]]]]]]]\n"), 10);  // the 8th bracket: 1 + 8 > 8
  EXPECT_EQ(Flagged("a: \"[[[[[[[[[[[[\"\nb: '[[[[[[[[[[[[[[['\n"), -1);
  EXPECT_EQ(Flagged("a: x [[[[[[[[[[[[[[[[\n"), -1);  // plain scalar text
  EXPECT_EQ(Flagged("- - - - - - - - x\n"), 14);      // the 8th indicator
  EXPECT_EQ(Flagged("a: |\n  [[[[[[[[[[[[[[\n  {{{{{{{{{{{{\nb: 1\n"), -1);
  EXPECT_EQ(Flagged("- |\n  [[[[[[[[[[[[[[\n"), -1);
  EXPECT_EQ(Flagged("a: |\n  text\nb: [[[[[[[[[[[[\n"), 22);         // the scalar ended
  EXPECT_EQ(Flagged("--- |\n[[[[[[[[[[[\n--- [[[[[[[[[[[[\n"), 30);  // a marker ends it
  EXPECT_EQ(Flagged("a: \"multi\n  [[[[[[[[[[[[[ line\"\n"), -1);
  EXPECT_EQ(Flagged("a: 'it''s [[[[[[[[[[[[['\n"), -1);
  EXPECT_EQ(Flagged("a: [\n  [\n   [[[[[[[[[[\n"), 17);
  EXPECT_EQ(Flagged("# [[[[[[[[[[[[[[[[\na: b # [[[[[[[[[[[[[[[\n"), -1);
}

TEST(PrescanTest, UnterminatedQuotes) {
  EXPECT_EQ(CheckStructure("a: \"open\nb: 1\n", 64)->offset, 3u);
  EXPECT_EQ(CheckStructure("a: 'open\n---\nb: 1'\n", 64)->message,
            "found a quoted string with no closing ' before the next document marker; allowed: "
            "a closing '");
  EXPECT_FALSE(CheckStructure("a: \"multi\n  line\"\nb: 'it''s'\nc: don't\n", 64));
}

TEST(PrescanTest, Tabs) {
  EXPECT_EQ(CheckStructure("a:\n\tb: 1\n", 64)->offset, 3u);
  EXPECT_EQ(CheckStructure("a:\n  \tb: 1\n", 64)->offset, 5u);
  EXPECT_FALSE(CheckStructure("a: [1,\n\t2]\n", 64));  // flow continuation
  EXPECT_FALSE(CheckStructure("\t\n\t# comment\na: b\tc\n", 64));
}

}  // namespace
}  // namespace aura::spec::detail
