#include "pkg/store/codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "pkg/store/test_util.h"

namespace aura::store::detail {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using testutil::FullEntry;
using testutil::SameEntry;

base::SystemTime At(long long ns) { return base::SystemTime(std::chrono::nanoseconds(ns)); }

TEST(TimeTest, FormatsRfc3339WithNanoseconds) {
  EXPECT_EQ(FormatTime(At(0)), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(FormatTime(At(1798761600123456789)), "2027-01-01T00:00:00.123456789Z");
  EXPECT_EQ(FormatTime(At(-1)), "1969-12-31T23:59:59.999999999Z");
}

TEST(TimeTest, ParseIsTheInverseOfFormat) {
  for (long long ns : {0LL, 1LL, -1LL, 1798761600123456789LL, 951782400000000000LL /*leap day*/,
                       4102444799999999999LL}) {
    auto t = ParseTime(FormatTime(At(ns)));
    ASSERT_TRUE(t.ok()) << FormatTime(At(ns));
    EXPECT_EQ(*t, At(ns));
  }
  EXPECT_EQ(*ParseTime("2027-01-01T00:00:00Z"), At(1798761600000000000));
  EXPECT_EQ(*ParseTime("2027-01-01T00:00:00.5Z"), At(1798761600500000000));
}

TEST(TimeTest, ParseRejectsAnythingElse) {
  for (const char* s :
       {"", "2027-01-01", "2027-01-01T00:00:00", "2027-01-01 00:00:00Z", "2027-13-01T00:00:00Z",
        "2027-02-30T00:00:00Z", "2027-01-01T24:00:00Z", "2027-01-01T00:00:00.Z",
        "2027-01-01T00:00:00.1234567890Z", "2027-01-01T00:00:00+01:00", "2027-01-01T00:00:00Zjunk",
        "9999-01-01T00:00:00Z"}) {
    EXPECT_FALSE(ParseTime(s).ok()) << s;
  }
}

TEST(JournalCodecTest, RoundTripsEveryMember) {
  JournalImage image;
  image.generation = 7;
  image.entries["shop/orders"] = FullEntry("shop/orders", "id1");
  JournalEntry bare;
  bare.key = "shop/bare";
  image.entries["shop/bare"] = bare;
  auto bytes = EncodeJournal(image);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto back = DecodeJournal(*bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->generation, 7u);
  ASSERT_EQ(back->entries.size(), 2u);
  EXPECT_TRUE(SameEntry(back->entries["shop/orders"], image.entries["shop/orders"]));
  EXPECT_TRUE(SameEntry(back->entries["shop/bare"], bare));
  EXPECT_FALSE(back->entries["shop/bare"].intent.has_value());
}

TEST(JournalCodecTest, DocumentLayout) {
  JournalImage image;
  image.entries["a/b"] = FullEntry("a/b");
  json doc = json::parse(*EncodeJournal(image));
  EXPECT_EQ(doc["schema_version"], 2);
  EXPECT_EQ(doc["format"], "aura-controller journal");
  EXPECT_EQ(doc["generation"], 0);
  EXPECT_EQ(doc["entries"]["a/b"]["origin"], "adopted");
  EXPECT_EQ(doc["entries"]["a/b"]["intent"]["intent_time"], "2027-01-01T00:00:00.123456789Z");
  const std::string sum = doc["checksum"];
  EXPECT_EQ(sum.substr(0, 7), "sha256:");
  EXPECT_EQ(sum.size(), 7u + 64u);
  EXPECT_EQ(sum, *JournalChecksum(doc));
}

TEST(JournalCodecTest, RejectsStringsThatAreNotUtf8) {
  JournalImage image;
  image.entries["a/b"] = FullEntry("a/b");
  image.entries["a/b"].aura_name = "bad\xff";
  auto bytes = EncodeJournal(image);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), base::StatusCode::kInvalidArgument);
}

// A valid document to mutate: re-sealed after each change so only the change is wrong.
json ValidDoc() {
  JournalImage image;
  image.entries["a/b"] = FullEntry("a/b");
  return json::parse(*EncodeJournal(image));
}
std::string Seal(json doc) {
  doc["checksum"] = *JournalChecksum(doc);
  return doc.dump();
}
void ExpectDataLoss(const std::string& bytes, const std::string& what) {
  auto r = DecodeJournal(bytes);
  ASSERT_FALSE(r.ok()) << "accepted: " << bytes;
  EXPECT_EQ(r.status().code(), base::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr(what));
}

TEST(JournalCodecTest, RejectsDamage) {
  const std::string good = ValidDoc().dump(2);
  ExpectDataLoss("", "empty");
  ExpectDataLoss(good.substr(0, good.size() / 2), "not valid JSON");
  ExpectDataLoss("{\"schema_version\": 1,,}", "not valid JSON");
  ExpectDataLoss("[1, 2]", "expected a JSON object");
  ExpectDataLoss("{}", "no schema_version");

  json doc = ValidDoc();
  doc["entries"]["a/b"]["region"] = "elsewhere";  // not re-sealed
  ExpectDataLoss(doc.dump(), "checksum mismatch");
  doc = ValidDoc();
  doc.erase("checksum");
  ExpectDataLoss(doc.dump(), "no checksum");
}

TEST(JournalCodecTest, RejectsOtherSchemaVersions) {
  json doc = ValidDoc();
  doc["schema_version"] = 3;
  ExpectDataLoss(Seal(doc), "schema_version 3 is not supported");
  doc["schema_version"] = 0;
  ExpectDataLoss(Seal(doc), "schema_version 0 is not supported");
  doc["schema_version"] = 1;  // the format before the record log: read (and migrated on open)
  auto v1 = DecodeJournal(Seal(doc));
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->schema_version, 1);
  doc["schema_version"] = "1";
  ExpectDataLoss(Seal(doc), "schema_version: expected an integer");
  doc["schema_version"] = 1.0;
  ExpectDataLoss(Seal(doc), "schema_version: expected an integer");
}

TEST(JournalCodecTest, RejectsMembersOfTheWrongType) {
  struct Case {
    json::json_pointer where;
    json value;
    std::string message;
  };
  const Case cases[] = {
      {json::json_pointer("/entries/a~1b/instance_id"), 5, "instance_id: expected a string"},
      {json::json_pointer("/entries/a~1b/origin"), "stolen", "origin: expected \"created\""},
      {json::json_pointer("/entries/a~1b/credentials_saved"), "yes", "expected a boolean"},
      {json::json_pointer("/entries/a~1b/duplicate_ids"), json::array({1}), "array of strings"},
      {json::json_pointer("/entries/a~1b/updated"), "yesterday", "RFC 3339"},
      {json::json_pointer("/entries/a~1b/intent"), "none", "intent: expected an object"},
      {json::json_pointer("/entries/a~1b/intent/attempt"), 1.5, "attempt: expected an integer"},
      {json::json_pointer("/entries/a~1b/intent/attempt"), 1LL << 40, "int range"},
      {json::json_pointer("/entries/a~1b"), json::array(), "expected an object"},
      {json::json_pointer("/entries"), json::array(), "entries: expected an object"},
      {json::json_pointer("/generation"), -1, "generation"},
      {json::json_pointer("/format"), "something else", "format"},
  };
  for (const Case& c : cases) {
    json doc = ValidDoc();
    doc[c.where] = c.value;
    ExpectDataLoss(Seal(doc), c.message);
  }
  json doc = ValidDoc();
  doc["entries"]["a/b"]["intent"].erase("intent_time");
  ExpectDataLoss(Seal(doc), "intent_time is missing");
}

TEST(JournalCodecTest, MissingMembersTakeDefaultsAndUnknownOnesAreIgnored) {
  json doc = ValidDoc();
  doc["entries"]["a/b"] = json{{"instance_id", "x"}, {"future_member", {1, 2}}};
  doc["future_top_level"] = true;
  auto r = DecodeJournal(Seal(doc));
  ASSERT_TRUE(r.ok()) << r.status();
  JournalEntry expected;
  expected.key = "a/b";
  expected.instance_id = "x";
  EXPECT_TRUE(SameEntry(r->entries["a/b"], expected));
}

// The encoder writes entry by entry; its bytes must stay those of the whole document's
// dump(2), and its checksum JournalChecksum's, so that files of either encoder read alike.
TEST(JournalCodecTest, EncodesExactlyTheWholeDocumentsPrettyDump) {
  std::vector<JournalImage> images(4);
  images[1].entries["a/b"] = FullEntry("a/b");
  images[2].generation = 42;
  images[2].entries["shop/orders"] = FullEntry("shop/orders", "id1");
  JournalEntry bare;
  bare.key = "shop/bare";
  images[2].entries["shop/bare"] = bare;
  JournalEntry odd = FullEntry("q\"uote/\xc3\xa4\\n", "id\n2");
  odd.duplicate_ids.clear();
  images[2].entries[odd.key] = odd;
  for (int i = 0; i < 300; ++i) {
    const std::string key = "ns" + std::to_string(i % 7) + "/k" + std::to_string(i);
    images[3].entries[key] = i % 2 ? FullEntry(key, "id" + std::to_string(i)) : bare;
    images[3].entries[key].key = key;
  }
  for (const JournalImage& image : images) {
    auto bytes = EncodeJournal(image);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    const json doc = json::parse(*bytes);
    EXPECT_EQ(*bytes, doc.dump(2) + "\n");
    EXPECT_EQ(doc["checksum"], *JournalChecksum(doc));
    EXPECT_EQ(doc["entries"].size(), image.entries.size());
    auto back = DecodeJournal(*bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(back->entries.size(), image.entries.size());
    for (const auto& [key, e] : image.entries) EXPECT_TRUE(SameEntry(back->entries[key], e)) << key;
  }
}

// The decoder reads entry by entry; what it accepts and what it reports first must not depend
// on that: the order of members in the file, repeated keys, and the order of the checks.
TEST(JournalCodecTest, DecodesAsTheWholeDocumentReadsIt) {
  // Members in reverse order (the checksum is over the sorted dump): accepted.
  json doc = ValidDoc();
  doc["entries"]["c/d"] = doc["entries"]["a/b"];
  doc["entries"]["c/d"]["instance_id"] = "second";
  doc["checksum"] = *JournalChecksum(doc);
  std::string reversed =
      "{\"schema_version\":2,\"generation\":0,\"format\":" + doc["format"].dump() +
      ",\"entries\":{\"c/d\":" + doc["entries"]["c/d"].dump() +
      ",\"a/b\":" + doc["entries"]["a/b"].dump() + "},\"checksum\":" + doc["checksum"].dump() + "}";
  auto r = DecodeJournal(reversed);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entries["c/d"].instance_id, "second");
  EXPECT_EQ(r->entries["a/b"].instance_id, "abcd1234");

  // A repeated key: the last one counts, as in the document model the checksum is made of.
  std::string repeated = reversed;
  repeated.replace(repeated.find("\"c/d\""), 5, "\"a/b\"");
  json last = json::parse(repeated);
  EXPECT_EQ(last["entries"].size(), 1u);
  last["checksum"] = *JournalChecksum(last);
  repeated.replace(repeated.find(doc["checksum"].dump()), doc["checksum"].dump().size(),
                   last["checksum"].dump());
  r = DecodeJournal(repeated);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->entries.size(), 1u);
  EXPECT_EQ(r->entries["a/b"].instance_id, "abcd1234");

  // Two bad entries: the first by key is named, whatever the file order.
  doc = ValidDoc();
  doc["entries"]["z/z"] = json{{"origin", "stolen"}};
  doc["entries"]["m/m"] = json{{"instance_id", 5}};
  ExpectDataLoss(Seal(doc), "entries[\"m/m\"].instance_id");
  // A bad entry in a file whose checksum or version is wrong: those are reported.
  doc["checksum"] = "sha256:0000";
  ExpectDataLoss(doc.dump(), "checksum mismatch");
  doc["schema_version"] = 3;
  ExpectDataLoss(Seal(doc), "schema_version 3 is not supported");
  // Values of any type under "entries" and elsewhere keep their place in the checksum.
  doc = ValidDoc();
  doc["entries"]["n/n"] = "a string";
  doc["future"] = json{{"entries", json::object()}, {"x", json::array({1, "a/b"})}};
  ExpectDataLoss(Seal(doc), "entries[\"n/n\"]: expected an object, found string");
  doc["entries"].erase("n/n");
  r = DecodeJournal(Seal(doc));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entries.size(), 1u);
}

// The checksum is computed while the entries are read when the file is laid out as this code
// writes it; any other layout is hashed in its sorted order all the same.
TEST(JournalCodecTest, HashesMembersInTheirSortedPlaceWhateverTheFileOrder) {
  json doc = ValidDoc();
  doc["binding"] = json{{"api_url", "https://api.example"}, {"client", "fp"}};
  doc["checksum"] = *JournalChecksum(doc);
  const auto text = [&](const json& binding) {
    return "{\"checksum\":" + doc["checksum"].dump() + ",\"entries\":" + doc["entries"].dump() +
           ",\"binding\":" + binding.dump() + ",\"format\":" + doc["format"].dump() +
           ",\"generation\":0,\"schema_version\":2}";
  };
  auto r = DecodeJournal(text(doc["binding"]));  // the binding after the entries
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->binding.api_url, "https://api.example");
  EXPECT_EQ(r->entries.at("a/b").instance_id, "abcd1234");
  ExpectDataLoss(text(json{{"api_url", "https://other"}, {"client", "fp"}}), "checksum mismatch");
  // Before the entries and repeated after them with another value: the last counts.
  const std::string twice = "{\"binding\":{\"api_url\":\"https://first\",\"client\":\"fp\"}," +
                            text(doc["binding"]).substr(1);
  r = DecodeJournal(twice);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->binding.api_url, "https://api.example");
  // As written (sorted, the binding first), and with one entry's byte changed: a mismatch.
  const std::string sealed = Seal(doc);
  ASSERT_TRUE(DecodeJournal(sealed).ok());
  std::string damaged = sealed;
  damaged.replace(damaged.find("abcd1234"), 8, "abcd1235");
  ExpectDataLoss(damaged, "checksum mismatch");
}

// A compaction writes the text in pieces of about 1 MiB, never the whole: the pieces add up to
// EncodeJournal's bytes, and a sink error stops the write.
TEST(JournalCodecTest, WritesTheTextInPieces) {
  std::map<std::string, JournalEntry> entries;
  for (int i = 0; i < 4000; ++i) {
    const std::string key = "ns/k" + std::to_string(i);
    entries[key] = FullEntry(key, "id" + std::to_string(i));
  }
  const StateBinding binding{"https://api.example", "fp"};
  auto whole = EncodeJournal(entries, 9, binding);
  ASSERT_TRUE(whole.ok()) << whole.status();
  auto sum = JournalFileChecksum(entries, 9, binding);
  ASSERT_TRUE(sum.ok()) << sum.status();
  std::string joined;
  std::vector<std::size_t> sizes;
  ASSERT_TRUE(WriteJournal(entries, 9, binding, *sum, [&](std::string_view piece) {
                sizes.push_back(piece.size());
                joined += piece;
                return base::Status::Ok();
              }).ok());
  EXPECT_EQ(joined, *whole);
  ASSERT_GE(whole->size(), 3u << 20);
  EXPECT_GE(sizes.size(), 3u);
  for (std::size_t n : sizes) EXPECT_LT(n, (1u << 20) + 16 * 1024);
  int calls = 0;
  base::Status s = WriteJournal(entries, 9, binding, *sum, [&](std::string_view) {
    ++calls;
    return base::UnavailableError("write: No space left on device (ENOSPC)");
  });
  EXPECT_EQ(s.code(), base::StatusCode::kUnavailable);
  EXPECT_EQ(calls, 1);
  // An entry that cannot be serialized fails the checksum pass, before any text exists.
  entries["ns/k0"].aura_name = "\xff";
  EXPECT_EQ(JournalFileChecksum(entries, 9, binding).status().code(),
            base::StatusCode::kInvalidArgument);
}

TEST(CredentialsCodecTest, RoundTrip) {
  Credentials c{"id1", "neo4j+s://id1.databases.neo4j.io", "neo4j", "s3cr3t-pass"};
  auto bytes = EncodeCredentials("shop/orders", c, At(1798761600000000000));
  ASSERT_TRUE(bytes.ok());
  auto d = DecodeCredentials(*bytes);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->key, "shop/orders");
  EXPECT_EQ(d->credentials.instance_id, "id1");
  EXPECT_EQ(d->credentials.connection_url, c.connection_url);
  EXPECT_EQ(d->credentials.username, "neo4j");
  EXPECT_EQ(d->credentials.password, "s3cr3t-pass");
  EXPECT_EQ(d->saved_at, At(1798761600000000000));
}

TEST(CredentialsCodecTest, ErrorsNeverQuoteThePassword) {
  Credentials c{"id1", "neo4j+s://x", "neo4j", "s3cr3t-pass"};
  const std::string bytes = *EncodeCredentials("shop/orders", c, At(0));
  const size_t at = bytes.find("s3cr3t");
  for (const std::string& damaged :
       {bytes.substr(0, at + 4), bytes.substr(0, at + 2) + "\x01" + bytes.substr(at + 3)}) {
    auto d = DecodeCredentials(damaged);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), base::StatusCode::kDataLoss);
    EXPECT_THAT(d.status().message(), Not(HasSubstr("s3cr")));
  }
  json doc = json::parse(bytes);
  doc["password"] = 12345678;
  auto d = DecodeCredentials(doc.dump());
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), Not(HasSubstr("12345678")));
  doc = json::parse(bytes);
  doc.erase("password");
  EXPECT_THAT(DecodeCredentials(doc.dump()).status().message(), HasSubstr("password is missing"));
}

}  // namespace
}  // namespace aura::store::detail
