// CpprestTransport against small servers on 127.0.0.1: redirects refused (nothing reaches the
// target), the URL rule enforced before sending, and the response size limit checked from
// Content-Length before the body and while streaming without one.
#include "pkg/http/transport.h"

#include <gtest/gtest.h>

#include <atomic>

#include "pkg/http/server.h"
#include "pkg/http/testing/raw_server.h"

namespace aura::http {
namespace {

using std::chrono::seconds;

HttpRequest Request(std::string method, std::string url) {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.headers = {{"Authorization", "Basic c2VjcmV0OnNlY3JldA=="}};
  r.timeout = seconds(10);
  return r;
}

TEST(TransportTest, RedirectsAreRefusedAndNothingReachesTheTarget) {
  std::atomic<int> target_hits{0};
  auto target = StartServer("127.0.0.1:0", [&](ServerRequest, Respond respond) {
    ++target_hits;
    respond(Reply{200, "text/plain", "stolen", {}});
  });
  ASSERT_TRUE(target.ok()) << target.status();
  const std::string location = "http://127.0.0.2:" + std::to_string((*target)->port()) + "/x";
  for (int code : {301, 302, 303, 307, 308}) {
    auto redirector = StartServer("127.0.0.1:0", [&](ServerRequest, Respond respond) {
      respond(Reply{code, "text/plain", "", {{"Location", location}, {"X-Request-Id", "rid-1"}}});
    });
    ASSERT_TRUE(redirector.ok()) << redirector.status();
    auto transport = NewCpprestTransport();
    for (const char* method : {"GET", "POST"}) {
      auto r = transport->Send(
          Request(method, "http://127.0.0.1:" + std::to_string((*redirector)->port()) + "/t"));
      ASSERT_FALSE(r.ok()) << code << " " << method;
      EXPECT_EQ(r.status().reason(), "redirect");
      EXPECT_EQ(r.status().http_status(), code);
      EXPECT_EQ(r.status().request_id(), "rid-1");
      EXPECT_NE(r.status().message().find("HTTP " + std::to_string(code)), std::string::npos);
      EXPECT_NE(r.status().message().find("'127.0.0.2'"), std::string::npos) << r.status();
    }
  }
  EXPECT_EQ(target_hits.load(), 0);
}

TEST(TransportTest, UrlsWithUserinfoAreRefusedBeforeSending) {
  testing::RawServer server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0);
  auto transport = NewCpprestTransport();
  auto r = transport->Send(
      Request("POST", "http://127.0.0.1:9@127.0.0.1:" + std::to_string(server.port()) + "/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "url");
  auto plain = transport->Send(Request("GET", "http://127.evil.example/"));
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.status().reason(), "url");
  EXPECT_EQ(server.connections(), 0);
}

TEST(TransportTest, ContentLengthOverTheLimitIsRefusedBeforeTheBody) {
  // Announces 600 MB and sends up to 4 MiB of it: the client must stop at the headers.
  testing::RawServer server(
      "HTTP/1.1 200 OK\r\nContent-Length: 600000000\r\nX-Request-Id: big-1\r\n\r\n", 4 << 20);
  TransportOptions o;
  o.max_response_bytes = 1 << 20;
  auto transport = NewCpprestTransport(o);
  auto r = transport->Send(Request("GET", server.url()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "too_large");
  EXPECT_EQ(r.status().request_id(), "big-1");
  EXPECT_NE(r.status().message().find("600000000"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("1048576"), std::string::npos) << r.status();
}

TEST(TransportTest, BodyWithoutLengthStopsAtTheLimit) {
  // No Content-Length: the body ends when the server closes, after 64 MiB unless the client
  // stops reading first.
  testing::RawServer server("HTTP/1.1 200 OK\r\nConnection: close\r\nX-Request-Id: big-2\r\n\r\n",
                            std::uint64_t{64} << 20);
  TransportOptions o;
  o.max_response_bytes = 1 << 20;
  auto transport = NewCpprestTransport(o);
  auto r = transport->Send(Request("GET", server.url()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "too_large") << r.status();
  EXPECT_EQ(r.status().request_id(), "big-2");
  // The client hung up long before the end: it read about the limit (plus what the socket
  // buffers held), not the whole body.
  EXPECT_LT(server.bytes_written(), std::uint64_t{32} << 20);
}

TEST(TransportTest, BodiesUpToTheLimitArriveWhole) {
  const std::string body(1 << 20, 'b');
  auto server = StartServer("127.0.0.1:0", [&](ServerRequest, Respond respond) {
    respond(Reply{200, "application/json", body, {}});
  });
  ASSERT_TRUE(server.ok());
  TransportOptions o;
  o.max_response_bytes = body.size();
  auto transport = NewCpprestTransport(o);
  auto exact = transport->Send(
      Request("GET", "http://127.0.0.1:" + std::to_string((*server)->port()) + "/exact"));
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->body, body);
  // One byte more, without Content-Length (a server closing the connection at the end).
  testing::RawServer over("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", body.size() + 1);
  auto r = transport->Send(Request("GET", over.url()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "too_large");
}

TEST(TransportTest, RequestIdOfPrefersXRequestIdThenAuditId) {
  HttpResponse r;
  r.headers = {{"audit-id", "k8s-1"}};
  EXPECT_EQ(RequestIdOf(r), "k8s-1");
  r.headers.emplace_back("x-request-id", "aura-1");
  EXPECT_EQ(RequestIdOf(r), "aura-1");
  EXPECT_EQ(RequestIdOf(HttpResponse{}), "");
}

}  // namespace
}  // namespace aura::http
