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

TEST(ModelJsonTest, MissingRequiredFieldIsNamed) {
  nlohmann::json j = nlohmann::json::parse(kInstance);
  j["data"].erase("memory");
  auto i = ParseInstance(j.dump());
  ASSERT_FALSE(i.ok());
  EXPECT_EQ(i.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(i.status().message().find("data.memory: required field missing"), std::string::npos)
      << i.status();
}

TEST(ModelJsonTest, WrongTypesAreErrorsNotExceptions) {
  for (const char* field : {"id", "status", "memory", "vector_optimized", "secondaries_count"}) {
    nlohmann::json j = nlohmann::json::parse(kInstance);
    j["data"][field] = j["data"][field].is_string() ? nlohmann::json(42) : nlohmann::json("x");
    auto i = ParseInstance(j.dump());
    ASSERT_FALSE(i.ok()) << field;
    EXPECT_EQ(i.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(i.status().message().find(std::string("data.") + field), std::string::npos)
        << i.status();
  }
  nlohmann::json j = nlohmann::json::parse(kInstance);
  j["data"]["secondaries_count"] = 1.5;
  EXPECT_FALSE(ParseInstance(j.dump()).ok());
  EXPECT_FALSE(ParseInstance(R"({"data":[]})").ok());
  EXPECT_FALSE(ParseInstance(R"([])").ok());
  EXPECT_FALSE(ParseInstance(R"({"nodata":{}})").ok());
}

TEST(ModelJsonTest, TruncatedBodyIsAnErrorThatDoesNotQuoteIt) {
  std::string body = R"({"data":{"id":"a","password":"hunter2-secret)";
  auto c = ParseCreatedInstance(body);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(c.status().message().find("hunter2"), std::string::npos) << c.status();
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

TEST(ModelJsonTest, CreatedInstanceRequiresThePassword) {
  auto c = ParseCreatedInstance(R"({"data":{"id":"a","connection_url":"u","username":"neo4j",
    "password":"p","tenant_id":"t","cloud_provider":"gcp","region":"r","type":"free-db",
    "name":"n","created_at":"c"}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->password, "p");
  EXPECT_FALSE(ParseCreatedInstance(R"({"data":{"id":"a","connection_url":"u",
    "username":"neo4j","tenant_id":"t","cloud_provider":"gcp","region":"r","type":"free-db",
    "name":"n","created_at":"c"}})")
                   .ok());
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
  EXPECT_FALSE(ParseTokenResponse(R"({"access_token":"abc","token_type":"bearer"})").ok());
  EXPECT_FALSE(
      ParseTokenResponse(R"({"access_token":"abc","expires_in":"3600","token_type":"bearer"})")
          .ok());
  EXPECT_FALSE(
      ParseTokenResponse(R"({"access_token":"","expires_in":3600,"token_type":"bearer"})").ok());
  EXPECT_FALSE(
      ParseTokenResponse(R"({"access_token":"abc","expires_in":-1,"token_type":"b"})").ok());
}

}  // namespace
}  // namespace aura::api
