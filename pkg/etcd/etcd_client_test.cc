// GatewayEtcdClient against a scripted Transport: the JSON it sends, how it reads etcd's
// answers (64-bit integers as strings, members left out when zero or false), errors, and the
// failover between members.
#include "pkg/etcd/etcd_client.h"

#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>

#include "pkg/base/base64.h"

namespace aura::etcd {
namespace {

using http::Transport;

using base::StatusCode;
using nlohmann::json;

class ScriptedTransport final : public http::Transport {
 public:
  using Handler = std::function<base::StatusOr<http::HttpResponse>(const http::HttpRequest&)>;
  void On(Handler h) { handler_ = std::move(h); }
  base::StatusOr<http::HttpResponse> Send(const http::HttpRequest& r) override {
    {
      std::lock_guard<std::mutex> g(mu_);
      requests_.push_back(r);
    }
    return handler_(r);
  }
  std::vector<http::HttpRequest> requests() {
    std::lock_guard<std::mutex> g(mu_);
    return requests_;
  }

 private:
  std::mutex mu_;
  Handler handler_;
  std::vector<http::HttpRequest> requests_;
};

http::HttpResponse Ok(const json& body) {
  http::HttpResponse r;
  r.status = 200;
  r.body = body.dump();
  return r;
}

http::HttpResponse Err(int http, int code, const std::string& msg) {
  http::HttpResponse r;
  r.status = http;
  r.body = json{{"error", msg}, {"code", code}, {"message", msg}}.dump();
  return r;
}

std::string B64(const std::string& s) { return base::Base64Encode(s); }

json Header(int rev) {
  return {{"cluster_id", "1"},
          {"member_id", "2"},
          {"revision", std::to_string(rev)},
          {"raft_term", "2"}};
}

class GatewayTest : public ::testing::Test {
 protected:
  std::unique_ptr<EtcdClient> Client(std::vector<std::string> endpoints = {
                                         "http://127.0.0.1:2379"}) {
    GatewayEtcdClientOptions o;
    o.endpoints = std::move(endpoints);
    o.request_timeout = std::chrono::milliseconds(1500);
    return NewGatewayEtcdClient(&transport_, o);
  }
  static json Body(const http::HttpRequest& r) { return json::parse(r.body); }
  ScriptedTransport transport_;
};

TEST_F(GatewayTest, RangeSendsBase64AndParsesStringIntegers) {
  transport_.On([](const http::HttpRequest&) {
    return Ok({{"header", Header(7)},
               {"kvs",
                {{{"key", B64("/aura/journal/a/b")},
                  {"create_revision", "3"},
                  {"mod_revision", "6"},
                  {"version", "2"},
                  {"value", B64("v1")}}}},
               {"count", "1"}});
  });
  auto c = Client();
  auto r = c->Range("/aura/journal/", /*prefix=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revision, 7);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key, "/aura/journal/a/b");
  EXPECT_EQ(r->kvs[0].value, "v1");
  EXPECT_EQ(r->kvs[0].create_revision, 3);
  EXPECT_EQ(r->kvs[0].mod_revision, 6);
  EXPECT_EQ(r->kvs[0].version, 2);
  EXPECT_EQ(r->kvs[0].lease, 0);  // absent: zero
  auto reqs = transport_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].url, "http://127.0.0.1:2379/v3/kv/range");
  EXPECT_EQ(reqs[0].timeout, std::chrono::milliseconds(1500));
  json body = Body(reqs[0]);
  EXPECT_EQ(body["key"], B64("/aura/journal/"));
  EXPECT_EQ(body["range_end"], B64("/aura/journal0"));  // '/' + 1
}

TEST_F(GatewayTest, EmptyRangeHasNoKvs) {
  transport_.On([](const http::HttpRequest&) { return Ok({{"header", Header(2)}}); });
  auto r = Client()->Range("/nope");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->kvs.empty());
  EXPECT_FALSE(Body(transport_.requests()[0]).contains("range_end"));
}

TEST_F(GatewayTest, TxnEncodesComparesAndOpsAndReadsTheOutcome) {
  transport_.On([](const http::HttpRequest&) {
    // A failed txn: "succeeded" is left out (false), the failure branch's range is returned.
    return Ok({{"header", Header(9)},
               {"responses",
                {{{"response_range",
                   {{"header", {{"revision", "9"}}},
                    {"kvs",
                     {{{"key", B64("/aura/leader")},
                       {"create_revision", "5"},
                       {"mod_revision", "5"},
                       {"version", "1"},
                       {"value", B64("other")},
                       {"lease", "77"}}}},
                    {"count", "1"}}}}}}});
  });
  auto r =
      Client()->Txn({EtcdCompare::CreateRevision("/aura/leader", 4),
                     EtcdCompare::Lease("/aura/leader", 42), EtcdCompare::Version("/aura/c/x", 0),
                     EtcdCompare::Value("/aura/v", "x", EtcdCompare::Result::kNotEqual)},
                    {EtcdOp::Put("/aura/journal/a/b", "data", 42), EtcdOp::Delete("/aura/d")},
                    {EtcdOp::Get("/aura/leader")});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->succeeded);
  EXPECT_EQ(r->revision, 9);
  ASSERT_EQ(r->ranges.size(), 1u);
  EXPECT_EQ(r->ranges[0].kvs[0].value, "other");
  EXPECT_EQ(r->ranges[0].kvs[0].lease, 77);

  json body = Body(transport_.requests()[0]);
  EXPECT_EQ(transport_.requests()[0].url, "http://127.0.0.1:2379/v3/kv/txn");
  ASSERT_EQ(body["compare"].size(), 4u);
  EXPECT_EQ(body["compare"][0], (json{{"key", B64("/aura/leader")},
                                      {"target", "CREATE"},
                                      {"result", "EQUAL"},
                                      {"create_revision", "4"}}));
  EXPECT_EQ(body["compare"][1]["target"], "LEASE");
  EXPECT_EQ(body["compare"][1]["lease"], "42");
  EXPECT_EQ(body["compare"][2]["target"], "VERSION");
  EXPECT_EQ(body["compare"][2]["version"], "0");
  EXPECT_EQ(body["compare"][3]["result"], "NOT_EQUAL");
  EXPECT_EQ(body["compare"][3]["value"], B64("x"));
  EXPECT_EQ(body["success"][0],
            (json{{"request_put",
                   {{"key", B64("/aura/journal/a/b")}, {"value", B64("data")}, {"lease", "42"}}}}));
  EXPECT_EQ(body["success"][1], (json{{"request_delete_range", {{"key", B64("/aura/d")}}}}));
  EXPECT_EQ(body["failure"][0], (json{{"request_range", {{"key", B64("/aura/leader")}}}}));
}

TEST_F(GatewayTest, TxnSucceeded) {
  transport_.On([](const http::HttpRequest&) {
    return Ok({{"header", Header(12)},
               {"succeeded", true},
               {"responses", {{{"response_put", {{"header", {{"revision", "12"}}}}}}}}});
  });
  auto r = Client()->Txn({}, {EtcdOp::Put("k", "v")}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->succeeded);
  EXPECT_EQ(r->revision, 12);
  EXPECT_TRUE(r->ranges.empty());
}

TEST_F(GatewayTest, Leases) {
  transport_.On([](const http::HttpRequest& r) -> base::StatusOr<http::HttpResponse> {
    if (r.url.ends_with("/v3/lease/grant")) {
      return Ok({{"header", Header(3)}, {"ID", "2324035632693437962"}, {"TTL", "5"}});
    }
    if (r.url.ends_with("/v3/lease/keepalive")) {
      // A stream: one object per line.
      http::HttpResponse resp =
          Ok({{"result", {{"header", Header(3)}, {"ID", "2324035632693437962"}, {"TTL", "5"}}}});
      resp.body += "\n";
      return resp;
    }
    if (r.url.ends_with("/v3/lease/revoke")) return Ok({{"header", Header(4)}});
    return Err(404, 5, "not found");
  });
  auto c = Client();
  auto lease = c->LeaseGrant(std::chrono::seconds(5));
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(lease->id, 2324035632693437962);
  EXPECT_EQ(lease->ttl, std::chrono::seconds(5));
  EXPECT_EQ(Body(transport_.requests()[0])["TTL"], "5");
  auto ttl = c->LeaseKeepAlive(lease->id);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, std::chrono::seconds(5));
  EXPECT_EQ(Body(transport_.requests()[1])["ID"], "2324035632693437962");
  EXPECT_TRUE(c->LeaseRevoke(lease->id).ok());
}

TEST_F(GatewayTest, KeepAliveOfAnExpiredLeaseIsNotFound) {
  transport_.On([](const http::HttpRequest& r) -> base::StatusOr<http::HttpResponse> {
    if (r.url.ends_with("/v3/lease/revoke")) {
      return Err(404, 5, "etcdserver: requested lease not found");
    }
    // etcd leaves TTL out (zero) for a lease it no longer has.
    return Ok({{"result", {{"header", Header(5)}, {"ID", "7"}}}});
  });
  auto c = Client();
  EXPECT_EQ(c->LeaseKeepAlive(7).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(c->LeaseRevoke(7).ok());  // already gone is fine
}

TEST_F(GatewayTest, ConnectFailureMovesToTheNextMemberAndRemembersIt) {
  transport_.On([](const http::HttpRequest& r) -> base::StatusOr<http::HttpResponse> {
    if (r.url.starts_with("http://127.0.0.1:1")) {
      return base::UnavailableError("connection refused").SetReason("connect");
    }
    return Ok({{"header", Header(2)}});
  });
  auto c = Client({"http://127.0.0.1:1", "http://127.0.0.1:2/"});
  ASSERT_TRUE(c->Put("k", "v").ok());
  ASSERT_TRUE(c->Put("k", "v").ok());
  auto reqs = transport_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].url, "http://127.0.0.1:1/v3/kv/put");
  EXPECT_EQ(reqs[1].url, "http://127.0.0.1:2/v3/kv/put");
  EXPECT_EQ(reqs[2].url, "http://127.0.0.1:2/v3/kv/put");  // the member that answered
}

TEST_F(GatewayTest, AWriteThatTimedOutIsNotSentAgain) {
  transport_.On([](const http::HttpRequest&) -> base::StatusOr<http::HttpResponse> {
    return base::DeadlineExceededError("timed out").SetReason("timeout");
  });
  auto c = Client({"http://127.0.0.1:1", "http://127.0.0.1:2"});
  auto put = c->Put("k", "v");
  EXPECT_EQ(put.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(transport_.requests().size(), 1u);  // it may have been applied: no resend
  // A read may go to the other member.
  EXPECT_FALSE(c->Range("k").ok());
  EXPECT_EQ(transport_.requests().size(), 3u);
}

TEST_F(GatewayTest, NoLeaderTriesTheOthersThenIsUnavailable) {
  transport_.On([](const http::HttpRequest&) { return Err(503, 14, "etcdserver: no leader"); });
  auto c = Client({"http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"});
  auto r = c->Txn({}, {EtcdOp::Put("k", "v")}, {});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("no leader"), std::string::npos);
  EXPECT_EQ(transport_.requests().size(), 3u);
}

TEST_F(GatewayTest, ErrorsMapToCodes) {
  transport_.On([](const http::HttpRequest& r) {
    if (r.url.ends_with("/v3/kv/put")) return Err(400, 3, "etcdserver: key is not provided");
    return Err(401, 16, "etcdserver: invalid auth token");
  });
  auto c = Client();
  EXPECT_EQ(c->Put("", "v").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c->Delete("k").status().code(), StatusCode::kUnauthenticated);
}

TEST_F(GatewayTest, UnreadableAnswerIsDataLoss) {
  transport_.On([](const http::HttpRequest&) {
    http::HttpResponse r;
    r.status = 200;
    r.body = R"({"header":{},"kvs":[{"key":"!!not base64"}]})";
    return r;
  });
  EXPECT_EQ(Client()->Range("k").status().code(), StatusCode::kDataLoss);
}

TEST(EtcdUrlTest, Parses) {
  auto t = ParseEtcdUrl("etcd://127.0.0.1:2379,10.0.0.2:2379,[::1]:2379/aura/prod");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->endpoints, (std::vector<std::string>{"http://127.0.0.1:2379", "http://10.0.0.2:2379",
                                                    "http://[::1]:2379"}));
  EXPECT_EQ(t->prefix, "/aura/prod");
  auto s = ParseEtcdUrl("etcds://etcd.db.svc:2379/aura/");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->endpoints, (std::vector<std::string>{"https://etcd.db.svc:2379"}));
  EXPECT_EQ(s->prefix, "/aura");
  EXPECT_TRUE(IsEtcdUrl("etcd://x:1/p"));
  EXPECT_TRUE(IsEtcdUrl("etcds://x:1/p"));
  EXPECT_FALSE(IsEtcdUrl(".aura/journal.json"));
}

TEST(EtcdUrlTest, RejectsBadShapes) {
  for (const char* bad :
       {"etcd://127.0.0.1:2379", "etcd://127.0.0.1:2379/", "etcd:///aura", "etcd://host/aura",
        "etcd://host:0/aura", "etcd://host:99999/aura", "etcd://a:1,,b:2/aura", "etcd://a:1//aura",
        "http://a:1/aura", "etcd://user@a:1/aura"}) {
    auto t = ParseEtcdUrl(bad);
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(t.status().message().find("etcd://HOST:PORT"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace aura::etcd
