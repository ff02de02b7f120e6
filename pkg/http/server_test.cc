#include "pkg/http/server.h"

#include <gtest/gtest.h>

#include <atomic>

#include "pkg/http/transport.h"

namespace aura::http {
namespace {

TEST(ListenAddressTest, Parses) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseListenAddress(":9090", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 9090);
  ASSERT_TRUE(ParseListenAddress("127.0.0.1:0", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 0);
  EXPECT_FALSE(ParseListenAddress("9090", &host, &port).ok());
  EXPECT_FALSE(ParseListenAddress(":http", &host, &port).ok());
  EXPECT_FALSE(ParseListenAddress(":70000", &host, &port).ok());
}

TEST(HttpServerTest, ServesRoutesOverLoopback) {
  std::atomic<int> ready_status{503};
  auto server =
      StartServer("127.0.0.1:0", {{"/healthz",
                                   [] {
                                     return Reply{200, "text/plain", "ok\n", {}};
                                   }},
                                  {"/readyz", [&] {
                                     return Reply{ready_status.load(), "text/plain", "state\n", {}};
                                   }}});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string base = "http://127.0.0.1:" + std::to_string((*server)->port());
  auto transport = http::NewCpprestTransport();
  auto get = [&](const std::string& path) {
    http::HttpRequest req;
    req.method = "GET";
    req.url = base + path;
    req.timeout = std::chrono::seconds(5);
    return transport->Send(req);
  };
  auto h = get("/healthz");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->body, "ok\n");
  auto r = get("/readyz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  ready_status = 200;
  EXPECT_EQ(get("/readyz")->status, 200);
  EXPECT_EQ(get("/nope")->status, 404);
  (*server)->Stop();
  auto after = get("/healthz");
  EXPECT_FALSE(after.ok());
}

}  // namespace
}  // namespace aura::http
