#include "pkg/aura/model_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace aura::api {
namespace {

using base::StatusCode;

constexpr char kInstance[] = R"({"data":{
  "id":"2f49c2b3","name":"Production","status":"running",
  "connection_url":"neo4j+s://2f49c2b3.databases.neo4j.io","tenant_id":"t1",
  "cloud_provider":"gcp","memory":"8GB","storage":"16GB","region":"europe-west1",
  "type":"enterprise-db","created_at":"2023-01-20T13:44:42Z","vector_optimized":false,
  "graph_analytics_plugin":true,"secondaries_count":2.0,"cdc_enrichment_mode":"DIFF",
  "graph_nodes":"17","some_future_field":{"x":[1,2]}}})";

TEST(ModelJsonTest, ParsesAFullInstanceAndIgnoresUnknownFields) {
  auto i = ParseInstance(kInstance);
  ASSERT_TRUE(i.ok()) << i.status();
  EXPECT_EQ(i->id, "2f49c2b3");
  EXPECT_EQ(i->status, "running");
  EXPECT_EQ(i->memory, "8GB");
  EXPECT_EQ(i->storage, "16GB");
  EXPECT_EQ(i->vector_optimized, false);
  EXPECT_EQ(i->graph_analytics_plugin, true);
  EXPECT_EQ(i->secondaries_count, 2);
  EXPECT_EQ(i->cdc_enrichment_mode, "DIFF");
}

TEST(ModelJsonTest, OptionalFieldsMayBeAbsentOrNull) {
  auto i = ParseInstance(R"({"data":{"id":"a","name":"n","status":"paused",
    "connection_url":null,"tenant_id":"t","cloud_provider":"gcp","memory":"1GB",
    "region":"europe-west1","type":"free-db","created_at":"x","vector_optimized":null}})");
  ASSERT_TRUE(i.ok()) << i.status();
  EXPECT_EQ(i->connection_url, "");
  EXPECT_EQ(i->storage, "");  // free-db
  EXPECT_FALSE(i->vector_optimized.has_value());
  EXPECT_FALSE(i->secondaries_count.has_value());
}

bool HasNote(const DecodeNotes& notes, const std::string& text) {
  for (const auto& n : notes) {
    if (n.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(ModelJsonTest, LeanInstanceParsesAndNotesWhatIsMissing) {
  // The shape of the live service's GET (docs/AURA_API_DIFFERENCES.md): no created_at, no
  // tenant_id, nulls, a number for graph_nodes, fields the OpenAPI does not know.
  DecodeNotes notes;
  auto i = ParseInstance(R"({"data":{"id":"a1b2c3d4","name":"n","status":"resizing",
    "connection_url":null,"cloud_provider":"gcp","memory":"4GB","storage":null,
    "region":"europe-west1","type":"business-critical","cdc_enrichment_mode":null,
    "graph_nodes":1234,"graph_relationships":5678,"aura_new_field":{"x":1}}})",
                         &notes);
  ASSERT_TRUE(i.ok()) << i.status();
  EXPECT_EQ(i->status, "resizing");
  EXPECT_EQ(i->created_at, "");
  EXPECT_EQ(i->tenant_id, "");
  EXPECT_EQ(i->connection_url, "");
  EXPECT_FALSE(i->cdc_enrichment_mode.has_value());
  EXPECT_TRUE(HasNote(notes, "data.created_at: missing"));
  EXPECT_TRUE(HasNote(notes, "data.tenant_id: missing"));
  EXPECT_TRUE(HasNote(notes, "data.connection_url: null"));
  EXPECT_TRUE(HasNote(notes, "data.graph_nodes: a number where a string was expected"));
  EXPECT_TRUE(HasNote(notes, "data.aura_new_field: not in the model"));
  // An empty object is an instance we know nothing about, not an error.
  EXPECT_TRUE(ParseInstance(R"({"data":{}})").ok());
}

TEST(ModelJsonTest, WrongTypesAreOverlookedAndNotedNeverFatal) {
  for (const char* field : {"status", "memory", "vector_optimized", "secondaries_count",
                            "cdc_enrichment_mode", "region"}) {
    nlohmann::json j = nlohmann::json::parse(kInstance);
    j["data"][field] = nlohmann::json::array({1});
    DecodeNotes notes;
    auto i = ParseInstance(j.dump(), &notes);
    ASSERT_TRUE(i.ok()) << field << ": " << i.status();
    EXPECT_TRUE(HasNote(notes, std::string("data.") + field + ": expected")) << field;
  }
  // Convertible values are converted.
  nlohmann::json j = nlohmann::json::parse(kInstance);
  j["data"]["secondaries_count"] = "3";
  j["data"]["vector_optimized"] = "true";
  j["data"]["memory"] = 8;
  auto i = ParseInstance(j.dump());
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->secondaries_count, 3);
  EXPECT_EQ(i->vector_optimized, true);
  EXPECT_EQ(i->memory, "8");
  j["data"]["secondaries_count"] = 1.5;  // not a whole number: ignored
  EXPECT_FALSE(ParseInstance(j.dump())->secondaries_count.has_value());
  // What cannot be an instance at all is still an error.
  EXPECT_FALSE(ParseInstance(R"({"data":[]})").ok());
  EXPECT_FALSE(ParseInstance(R"([])").ok());
  EXPECT_FALSE(ParseInstance(R"({"nodata":{}})").ok());
}

TEST(ModelJsonTest, NotesNeverQuoteValues) {
  DecodeNotes notes;
  auto i = ParseInstance(
      R"({"data":{"id":"a","name":"hunter2-secret-name","status":["hunter2"],"x":"hunter2"}})",
      &notes);
  ASSERT_TRUE(i.ok());
  for (const auto& n : notes) EXPECT_EQ(n.find("hunter2"), std::string::npos) << n;
}

TEST(ModelJsonTest, CreateReplyCutShortStillYieldsThePassword) {
  // Cut in the middle: id and password (with escapes) readable, the rest lost.
  DecodeNotes notes;
  auto c = ParseCreatedInstance(
      R"({"data":{"id":"a1b2c3d4","connection_url":"neo4j+s://a1b2c3d4.databases.neo4j.io","username":"neo4j","password":"s3cr\"et\\pw\u00e9","tenant_id":"5f1c4d2e-8a3b)",
      &notes);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->complete);
  EXPECT_EQ(c->id, "a1b2c3d4");
  EXPECT_EQ(c->password, "s3cr\"et\\pw\xc3\xa9");
  EXPECT_TRUE(HasNote(notes, "salvaged"));
  // Garbled rather than cut: a member name elsewhere in a value is not taken for one.
  auto g = ParseCreatedInstance(R"(xx{"name":"\"password\":\"no\"","password" : "yes", "id":)");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->password, "yes");
  EXPECT_EQ(g->id, "");
  // The password itself cut short: nothing is invented, the id is kept.
  auto p = ParseCreatedInstance(R"({"data":{"id":"a","password":"hunter2-secr)");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->id, "a");
  EXPECT_EQ(p->password, "");
  // Nothing readable: an error that does not quote the body.
  auto none = ParseCreatedInstance(R"(<html>hunter2 Bad Gateway</html>)");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(none.status().message().find("hunter2"), std::string::npos) << none.status();
  EXPECT_FALSE(ParseInstance("").ok());
}

TEST(ModelJsonTest, ParsesListsTenantsAndSnapshots) {
  auto l = ParseInstanceList(R"({"data":[{"id":"a","name":"n","tenant_id":"t",
    "cloud_provider":"aws","created_at":"c","extra":1}]})");
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].cloud_provider, "aws");
  auto bad = ParseInstanceList(R"({"data":[{"id":"a"}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("data[0].name"), std::string::npos);

  auto t = ParseTenantDetail(R"({"data":{"id":"t","name":"Prod","instance_configurations":[
    {"region":"europe-west1","region_name":"Belgium","type":"enterprise-db","memory":"4GB",
     "storage":"8GB","version":"5","cloud_provider":"gcp"},
    {"region":"europe-west1","region_name":"Belgium","type":"free-db","memory":"1GB",
     "version":"5","cloud_provider":"gcp"}]}})");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->instance_configurations.size(), 2u);
  EXPECT_EQ(t->instance_configurations[1].storage, "");
  auto tl = ParseTenantList(R"({"data":[{"id":"a","name":"b"}]})");
  ASSERT_TRUE(tl.ok());
  EXPECT_EQ((*tl)[0].name, "b");

  auto s = ParseSnapshotList(R"({"data":[{"instance_id":"i","profile":"AdHoc",
    "snapshot_id":"s1","status":"Completed","timestamp":"x","exportable":true}]})");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)[0].exportable, true);
  auto id = ParseSnapshotId(R"({"data":{"snapshot_id":"s2"}})");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "s2");
}

TEST(ModelJsonTest, CreateReplyIdAndPasswordFirst) {
  auto c = ParseCreatedInstance(R"({"data":{"id":"a","connection_url":"u","username":"neo4j",
    "password":"p","tenant_id":"t","cloud_provider":"gcp","region":"r","type":"free-db",
    "name":"n","created_at":"c"}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->password, "p");
  EXPECT_TRUE(c->complete);
  // The lean reply of the live service: no created_at, an unknown field, a null.
  auto lean = ParseCreatedInstance(R"({"data":{"id":"a","connection_url":"u","username":"neo4j",
    "password":"p","tenant_id":null,"cloud_provider":"gcp","extra":[1]}})");
  ASSERT_TRUE(lean.ok()) << lean.status();
  EXPECT_EQ(lean->password, "p");
  EXPECT_EQ(lean->created_at, "");
  // No password: the id is kept, the password is empty (unknown), not an error.
  DecodeNotes notes;
  auto nopw = ParseCreatedInstance(R"({"data":{"id":"a","connection_url":"u"}})", &notes);
  ASSERT_TRUE(nopw.ok()) << nopw.status();
  EXPECT_EQ(nopw->id, "a");
  EXPECT_EQ(nopw->password, "");
  EXPECT_TRUE(HasNote(notes, "data.password: missing"));
  // An id or password of another type is garbage, never taken for one.
  auto num = ParseCreatedInstance(R"({"data":{"id":"a","password":12345}})");
  ASSERT_TRUE(num.ok());
  EXPECT_EQ(num->password, "");
  EXPECT_FALSE(ParseCreatedInstance(R"({"data":{"id":8,"password":12}})").ok());
  EXPECT_FALSE(ParseInstanceList(R"({"data":[{"id":8,"name":"n"}]})").ok());
  EXPECT_FALSE(ParseCreatedInstance(R"({"data":{"connection_url":"u"}})").ok());
}

TEST(ModelJsonTest, RequestsCarryOnlySetFieldsAndNoNulls) {
  CreateInstanceRequest c;
  c.name = "n";
  c.version = "5";
  c.region = "europe-west1";
  c.memory = "4GB";
  c.type = "professional-db";
  c.tenant_id = "t";
  c.cloud_provider = "gcp";
  auto cj = nlohmann::json::parse(ToJson(c));
  EXPECT_EQ(cj.size(), 7u);
  EXPECT_EQ(cj["tenant_id"], "t");
  c.storage = "8GB";
  c.vector_optimized = false;
  cj = nlohmann::json::parse(ToJson(c));
  EXPECT_EQ(cj["storage"], "8GB");
  EXPECT_EQ(cj["vector_optimized"], false);
  EXPECT_FALSE(cj.contains("graph_analytics_plugin"));
  EXPECT_FALSE(cj.contains("source_instance_id"));
  EXPECT_FALSE(cj.contains("source_snapshot_id"));
  c.source_instance_id = "db1d1234";
  c.source_snapshot_id = "3e5e6e27";
  cj = nlohmann::json::parse(ToJson(c));
  EXPECT_EQ(cj["source_instance_id"], "db1d1234");
  EXPECT_EQ(cj["source_snapshot_id"], "3e5e6e27");
  EXPECT_FALSE(cj.contains("customer_managed_key_id"));
  c.customer_managed_key_id = "key-1";
  EXPECT_EQ(nlohmann::json::parse(ToJson(c))["customer_managed_key_id"], "key-1");

  UpdateInstanceRequest u;
  u.memory = "16GB";
  u.secondaries_count = 0;
  EXPECT_EQ(ToJson(u), R"({"memory":"16GB","secondaries_count":0})");
  EXPECT_EQ(ToJson(UpdateInstanceRequest{}), "{}");
}

TEST(ModelJsonTest, ErrorBodiesOfBothStyles) {
  auto e = ParseErrorBody(R"({"errors":[{"message":"DB not found: x","reason":"db-not-found"}]})");
  EXPECT_EQ(e.message, "DB not found: x");
  EXPECT_EQ(e.reason, "db-not-found");
  e = ParseErrorBody(R"({"errors":[{"message":"bad","reason":"invalid","field":"memory"},
    {"message":"worse","reason":"invalid","field":"name"}]})");
  EXPECT_EQ(e.message, "bad; worse");
  EXPECT_EQ(e.field, "memory");
  e = ParseErrorBody(R"({"error":"Too many requests"})");
  EXPECT_EQ(e.message, "Too many requests");
  EXPECT_EQ(e.reason, "");
  e = ParseErrorBody(R"({"error":"invalid_client","error_description":"bad credentials"})");
  EXPECT_EQ(e.reason, "invalid_client");
  EXPECT_EQ(e.message, "bad credentials");
  e = ParseErrorBody("<html>Bad Gateway</html>\n");
  EXPECT_NE(e.message.find("Bad Gateway"), std::string::npos);
  EXPECT_EQ(ParseErrorBody("").message, "empty response body");
  EXPECT_FALSE(ParseErrorBody(R"({"errors":"nope"})").message.empty());
}

TEST(ModelJsonTest, TokenResponse) {
  auto t = ParseTokenResponse(R"({"access_token":"abc","expires_in":3600,"token_type":"Bearer"})");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->expires_in, std::chrono::seconds(3600));
  EXPECT_EQ(t->token_type, "Bearer");
  auto lean = ParseTokenResponse(R"({"access_token":"abc"})");
  ASSERT_TRUE(lean.ok()) << lean.status();
  EXPECT_EQ(lean->expires_in, std::chrono::seconds(3600));
  EXPECT_EQ(lean->token_type, "bearer");
  auto text = ParseTokenResponse(R"({"access_token":"abc","expires_in":"1800"})");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->expires_in, std::chrono::seconds(1800));
  EXPECT_FALSE(
      ParseTokenResponse(R"({"access_token":"","expires_in":3600,"token_type":"bearer"})").ok());
  EXPECT_FALSE(ParseTokenResponse(R"({"expires_in":3600})").ok());
  EXPECT_FALSE(
      ParseTokenResponse(R"({"access_token":"abc","expires_in":-1,"token_type":"b"})").ok());
}

}  // namespace
}  // namespace aura::api
