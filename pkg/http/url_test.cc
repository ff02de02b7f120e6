#include "pkg/http/url.h"

#include <gtest/gtest.h>

namespace aura::http {
namespace {

TEST(UrlTest, ParsesTheParts) {
  auto u = ParseUrl("HTTPS://Api.Neo4j.IO:8443/v1/instances?tenantId=a%20b");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "api.neo4j.io");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->target, "/v1/instances?tenantId=a%20b");
  EXPECT_EQ(u->Origin(), "https://api.neo4j.io:8443");

  auto bare = ParseUrl("http://localhost");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->target, "/");
  EXPECT_EQ(bare->EffectivePort(), 80);

  auto v6 = ParseUrl("http://[::1]:2379/v3/kv/range");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->Origin(), "http://[::1]:2379");

  auto query_only = ParseUrl("http://127.0.0.1:9?x=1");
  ASSERT_TRUE(query_only.ok());
  EXPECT_EQ(query_only->target, "/?x=1");
}

TEST(UrlTest, RefusesUserinfoWithoutEchoingIt) {
  for (const char* url : {"http://127.0.0.1@evil.example/", "http://127.0.0.1:9@localhost:8080/",
                          "https://user:hunter2@api.neo4j.io/v1", "http://@localhost/"}) {
    auto u = ParseUrl(url);
    ASSERT_FALSE(u.ok()) << url;
    EXPECT_EQ(u.status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_EQ(u.status().reason(), "url");
    EXPECT_NE(u.status().message().find("credentials in the URL"), std::string::npos);
    EXPECT_EQ(u.status().message().find("hunter2"), std::string::npos) << u.status();
  }
}

TEST(UrlTest, RefusesMalformedUrls) {
  for (const char* url :
       {"api.neo4j.io/v1", "ftp://x/", "http://", "http:///path", "http://host:/", "http://host:0/",
        "http://host:65536/", "http://host:12a/", "http://[::1/", "http://[zz::1]/",
        "http://[::1]x/", "http://ho st/", "http://host/a b", "http://host/#frag",
        "http://host\\@evil/", "http://h\x01st/"}) {
    EXPECT_FALSE(ParseUrl(url).ok()) << url;
  }
}

TEST(UrlTest, LoopbackIsOnlyALiteralAddressOrLocalhost) {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "127.255.255.254", "localhost", "LOCALHOST",
                        "::1", "[::1]", "0:0:0:0:0:0:0:1"}) {
    EXPECT_TRUE(IsLoopbackHost(h)) << h;
  }
  for (const char* h :
       {"127.evil.example", "127.0.0.1.evil.example", "localhost.evil.example", "evil-localhost",
        "128.0.0.1", "10.0.0.1", "::2", "", "127.0.0.256", "0x7f.0.0.1x"}) {
    EXPECT_FALSE(IsLoopbackHost(h)) << h;
  }
}

TEST(UrlTest, PlainHttpOnlyToLoopbackUnlessAllowed) {
  EXPECT_TRUE(CheckUrlAllowed("https://api.neo4j.io/v1", false).ok());
  EXPECT_TRUE(CheckUrlAllowed("http://127.0.0.1:8080/v1", false).ok());
  EXPECT_TRUE(CheckUrlAllowed("http://[::1]:8080/v1", false).ok());
  EXPECT_TRUE(CheckUrlAllowed("http://localhost:8080/v1", false).ok());
  for (const char* url : {"http://127.evil.example/v1", "http://api.neo4j.io/v1",
                          "http://127.0.0.1@evil.example/", "http://127.0.0.1:9@localhost:8/"}) {
    base::Status s = CheckUrlAllowed(url, false, "--insecure-http-aura");
    EXPECT_FALSE(s.ok()) << url;
    EXPECT_EQ(s.reason(), "url") << url;
  }
  base::Status s = CheckUrlAllowed("http://api.neo4j.io/v1", false, "--insecure-http-aura");
  EXPECT_NE(s.message().find("--insecure-http-aura"), std::string::npos) << s;
  EXPECT_TRUE(CheckUrlAllowed("http://etcd.internal:2379", true).ok());
  // The permission is for plain http, not for userinfo.
  EXPECT_FALSE(CheckUrlAllowed("http://u:p@etcd.internal:2379", true).ok());
}

TEST(UrlTest, PercentEncodesAllButUnreserved) {
  EXPECT_EQ(PercentEncode("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(PercentEncode("a/b c?&=%"), "a%2Fb%20c%3F%26%3D%25");
  EXPECT_EQ(PercentEncode("\xff"), "%FF");
}

}  // namespace
}  // namespace aura::http
