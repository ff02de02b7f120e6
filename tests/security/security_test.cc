// The security suite (issue "Never lose or leak a credential"): the real aura-controller binary
// against small hostile servers on 127.0.0.1 and the real simulator. Each test fails on the
// code before its fix: redirects followed with credentials, userinfo URLs passing for loopback,
// response bodies read whole before the size check, a state folder reused for another account,
// a password left only in memory while the command exits 0.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <filesystem>

#include "pkg/base/base64.h"
#include "pkg/http/server.h"
#include "pkg/http/testing/raw_server.h"
#include "tests/e2e/e2e_util.h"
#include "tests/harness/http.h"

namespace aura::security {
namespace {

using e2e::Args;
using e2e::CliResult;
using e2e::RunCli;
using e2e::Workspace;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test_harness::SimulatorProcess;
using ::testing::HasSubstr;

std::unique_ptr<SimulatorProcess> StartSim(std::vector<std::string> extra = {}) {
  std::vector<std::string> flags = {"--create-seconds", "0.3", "--update-seconds", "0.3"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return e2e::StartSimulator(std::move(flags));
}

// Flags pointing at the given URLs, with the workspace's state.
std::vector<std::string> Flags(const Workspace& ws, const std::string& api,
                               const std::string& token) {
  return {"--api-url",         api,        "--token-url",       token,
          "--state",           ws.state(), "--credentials-dir", ws.credentials(),
          "--request-timeout", "5s",       "--token-cooldown",  "1s",
          "--settle-window",   "2s",       "--poll-interval",   "200ms",
          "--log-format",      "json",     "--specs",           ws.specs()};
}

// A server that answers every request with `code` and a Location to `location`, counting them
// and keeping what the Authorization header said.
struct Redirector {
  explicit Redirector(int code, std::string location) {
    auto s = http::StartServer(
        "127.0.0.1:0", [this, code, location](http::ServerRequest req, http::Respond respond) {
          ++hits;
          respond(http::Reply{code, "text/plain", "", {{"Location", location}}});
          (void)req;
        });
    EXPECT_TRUE(s.ok()) << s.status();
    server = std::move(*s);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }
  std::atomic<int> hits{0};
  std::unique_ptr<http::Server> server;
};

// Passes reads through to the simulator and redirects every write.
struct Proxy {
  Proxy(const SimulatorProcess& sim, int code, std::string location) {
    const std::string base = sim.base_url();
    auto s = http::StartServer("127.0.0.1:0", [this, base, code, location](http::ServerRequest req,
                                                                           http::Respond respond) {
      if (req.method != "GET") {
        ++posts;
        return respond(http::Reply{code, "text/plain", "", {{"Location", location}}});
      }
      auto r = test_harness::Http(
          "GET", base + req.path + (req.raw_query.empty() ? "" : "?" + req.raw_query), "",
          {{"Authorization", req.Header("Authorization")}});
      if (!r.ok()) return respond(http::Reply{502, "text/plain", "", {}});
      respond(http::Reply{r->status, "application/json", r->body, {}});
    });
    EXPECT_TRUE(s.ok()) << s.status();
    server = std::move(*s);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }
  std::atomic<int> posts{0};
  std::unique_ptr<http::Server> server;
};

// A server that records every request it gets (the place credentials must never reach).
struct Thief {
  Thief() {
    auto s =
        http::StartServer("127.0.0.1:0", [this](http::ServerRequest req, http::Respond respond) {
          std::lock_guard<std::mutex> g(mu);
          seen.push_back(req.method + " " + req.path + " auth=" + req.Header("Authorization"));
          respond(http::Reply{200, "application/json", "{}", {}});
        });
    EXPECT_TRUE(s.ok()) << s.status();
    server = std::move(*s);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }
  std::vector<std::string> Seen() {
    std::lock_guard<std::mutex> g(mu);
    return seen;
  }
  std::mutex mu;
  std::vector<std::string> seen;
  std::unique_ptr<http::Server> server;
};

TEST(SecurityTest, RedirectsAreNeverFollowedWithCredentials) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Thief thief;
  for (int code : {301, 302, 303, 307, 308}) {
    SCOPED_TRACE(code);
    Workspace ws;  // each API below is another account: a state of its own
    ws.WriteSpecs("a.yaml", "redir", 1);
    // The token URL redirects: the Basic client secret must not follow.
    Redirector token(code, thief.url("/oauth/token"));
    CliResult r =
        RunCli(Args({"plan"}, Flags(ws, sim->api_url(), token.url("/oauth/token"))), seconds(60));
    EXPECT_EQ(r.exit.code, 1) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("HTTP " + std::to_string(code) + " redirect to host '127.0.0.1'"));
    EXPECT_GE(token.hits.load(), 1);
    // The API answers reads and redirects the create: the POST is not re-sent elsewhere (nor
    // turned into a GET), the bearer token does not travel, and the create counts as refused.
    Proxy api(*sim, code, thief.url("/v1/instances"));
    CliResult a = RunCli(
        Args({"apply", "--wait", "--timeout", "30s"}, Flags(ws, api.url("/v1"), sim->token_url())),
        seconds(60));
    EXPECT_EQ(a.exit.code, 1) << a.out << a.err;
    EXPECT_THAT(a.err, HasSubstr("redirect to host '127.0.0.1'"));
    EXPECT_GE(api.posts.load(), 1);
  }
  EXPECT_TRUE(thief.Seen().empty()) << thief.Seen()[0];
  auto stats = sim->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)["post_instances"], 0);
}

TEST(SecurityTest, UrlsWithUserinfoOrLookalikeHostsAreRefusedBeforeAnyRequest) {
  Thief thief;
  Workspace ws;
  ws.WriteSpecs("a.yaml", "ui", 1);
  const std::string port = std::to_string(thief.server->port());
  for (const auto& [api, token] : std::vector<std::pair<std::string, std::string>>{
           {"http://127.0.0.1:" + port + "/v1", "http://127.0.0.1:9@127.0.0.1:" + port + "/t"},
           {"http://127.0.0.1@127.0.0.1:" + port + "/v1", "http://127.0.0.1:" + port + "/t"},
           {"http://127.evil.example/v1", "http://127.0.0.1:" + port + "/t"}}) {
    SCOPED_TRACE(api + " " + token);
    CliResult r = RunCli(Args({"plan"}, Flags(ws, api, token)), seconds(30));
    EXPECT_EQ(r.exit.code, 1) << r.out << r.err;
    EXPECT_THAT(r.err, ::testing::AnyOf(HasSubstr("credentials in the URL"),
                                        HasSubstr("refusing plain http://")));
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("sim-secret")));
  }
  EXPECT_TRUE(thief.Seen().empty()) << thief.Seen()[0];
  // --insecure-http-aura allows plain http, never userinfo; each such endpoint is named.
  CliResult plain = RunCli(
      Args({"plan", "--insecure-http-aura"}, Flags(ws, "http://127.0.0.1:" + port + "/v1",
                                                   "http://127.0.0.1:" + port + "/oauth/token")),
      seconds(30));
  EXPECT_THAT(plain.err, HasSubstr("plain http endpoint"));
}

long MaxChildRssKiB() {
  rusage u{};
  ::getrusage(RUSAGE_CHILDREN, &u);
  return u.ru_maxrss;
}

TEST(SecurityTest, AHugeReplyRaisesPeakMemoryByAtMost32MiB) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteSpecs("a.yaml", "huge", 3);
  // Baseline: the same plan against the simulator (reaped: its peak is in RUSAGE_CHILDREN).
  CliResult base = RunCli(Args({"plan"}, Flags(ws, sim->api_url(), sim->token_url())), seconds(60));
  ASSERT_EQ(base.exit.code, 2) << base.out << base.err;
  const long baseline = MaxChildRssKiB();
  // 600 MB without a Content-Length: the controller must stop reading at its 16 MiB limit.
  http::testing::RawServer huge(
      "HTTP/1.1 200 OK\r\nConnection: close\r\nX-Request-Id: huge-1\r\n\r\n",
      std::uint64_t{600} << 20, '[');
  CliResult r = RunCli(Args({"plan"}, Flags(ws, huge.url("/v1"), sim->token_url())), seconds(120));
  EXPECT_EQ(r.exit.code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("exceeds the limit"));
  EXPECT_THAT(r.err, HasSubstr("huge-1"));
  const long peak = MaxChildRssKiB();
#ifndef AURA_SANITIZER_BUILD
  // A sanitizer's shadow memory grows with every allocated byte (TSan measured +81 MiB here for
  // the same 16 MiB read), so the RSS goal is judged in the plain build only; the bytes read
  // below are checked in every build.
  EXPECT_LE(peak - baseline, 32 * 1024) << "peak " << peak << " KiB, baseline " << baseline;
#endif
  EXPECT_LT(huge.bytes_written(), std::uint64_t{64} << 20) << "read far past the limit";
  std::cout << "security: huge reply peak_rss_kib=" << peak << " baseline_kib=" << baseline
            << " delta_kib=" << peak - baseline << " bytes_sent=" << huge.bytes_written() << "\n";
}

TEST(SecurityTest, AStateFolderIsNeverUsedForAnotherAccount) {
  auto prod = StartSim();
  auto other = StartSim();
  ASSERT_NE(prod, nullptr);
  ASSERT_NE(other, nullptr);
  Workspace ws;
  ws.WriteSpecs("a.yaml", "bound", 1);
  CliResult first = RunCli(
      Args({"apply", "--wait", "--timeout", "60s"}, Flags(ws, prod->api_url(), prod->token_url())),
      seconds(90));
  ASSERT_EQ(first.exit.code, 0) << first.err;
  const auto passwords = ws.Passwords();
  ASSERT_EQ(passwords.size(), 1u);
  // The same state pointed at another API: refused, nothing sent, nothing overwritten.
  for (const char* command : {"apply", "plan"}) {
    CliResult r =
        RunCli(Args({command}, Flags(ws, other->api_url(), other->token_url())), seconds(60));
    EXPECT_EQ(r.exit.code, 1) << command << r.err;
    EXPECT_THAT(r.err, HasSubstr("belongs to another account"));
    EXPECT_THAT(r.err, HasSubstr("--rebind-state"));
  }
  // The same API with another client id is another account too.
  CliResult client =
      RunCli(Args({"apply"}, Flags(ws, prod->api_url(), prod->token_url())), seconds(60),
             {{"AURA_CLIENT_ID", "someone-else"}, {"AURA_CLIENT_SECRET", "their-secret"}});
  EXPECT_EQ(client.exit.code, 1);
  EXPECT_THAT(client.err, HasSubstr("another client id"));
  EXPECT_EQ((*other->Stats())["post_instances"], 0);
  EXPECT_EQ(ws.Passwords(), passwords);
  // A deliberate move.
  CliResult moved =
      RunCli(Args({"plan", "--rebind-state"}, Flags(ws, other->api_url(), other->token_url())),
             seconds(60));
  EXPECT_NE(moved.exit.code, 1) << moved.err;
}

TEST(SecurityTest, APasswordThatCannotBeSavedFailsTheCommandAndIsRetried) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Workspace ws;
  ws.WriteSpecs("a.yaml", "unsaved", 2);
  // The credentials folder exists, but its namespace folder is a file: every save fails
  // (as root too, where a read-only mode would not stop the write).
  std::filesystem::create_directories(ws.credentials());
  ws.WriteFile("credentials/e2e", "not a folder");
  CliResult r = RunCli(Args({"apply"}, Flags(ws, sim->api_url(), sim->token_url())), seconds(60));
  EXPECT_EQ(r.exit.code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("NOT saved"));
  EXPECT_THAT(r.err, HasSubstr("e2e/unsaved-0"));
  EXPECT_THAT(r.err, HasSubstr("e2e/unsaved-1"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("\"password\"")));

  // `run`: not ready, the keys named on /readyz, the gauge set; the folder fixed, it saves and
  // gets ready. (Fresh specs: the passwords above were lost with that process, as it said.)
  ws.WriteSpecs("a.yaml", "later", 2);
  const std::string log = ws.dir() + "/run.log";
  auto run = e2e::StartRun(
      Args({"--metrics-addr", "127.0.0.1:0", "--resync", "1s", "--spec-poll", "200ms"},
           Flags(ws, sim->api_url(), sim->token_url())),
      log);
  ASSERT_TRUE(run.ok()) << run.status();
  int port = 0;
  ASSERT_TRUE(test_harness::WaitFor(
      [&] {
        const std::string l = e2e::ReadFile(log);
        const auto at = l.find("\"metrics_port\":");
        if (at == std::string::npos) return false;
        port = std::atoi(l.c_str() + at + 15);
        return port > 0;
      },
      seconds(30), milliseconds(100)));
  auto get = [&](const std::string& path, int* code) {
    auto h = test_harness::Http("GET", "http://127.0.0.1:" + std::to_string(port) + path);
    *code = h.ok() ? h->status : 0;
    return h.ok() ? h->body : std::string();
  };
  int code = 0;
  std::string body;
  ASSERT_TRUE(test_harness::WaitFor(
      [&] {
        body = get("/readyz", &code);
        return body.find("credentials NOT saved") != std::string::npos;
      },
      seconds(60), milliseconds(200)))
      << body;
  EXPECT_EQ(code, 503);
  EXPECT_THAT(body, HasSubstr("e2e/later-"));
  EXPECT_TRUE(test_harness::WaitFor(
      [&] {
        return get("/metrics", &code).find("aura_credentials_unsaved 2") != std::string::npos;
      },
      seconds(30), milliseconds(200)));
  std::filesystem::remove(ws.credentials() + "/e2e");
  ASSERT_TRUE(test_harness::WaitFor(
      [&] {
        body = get("/readyz", &code);
        return code == 200;
      },
      seconds(60), milliseconds(200)))
      << body;
  EXPECT_EQ(ws.Passwords().size(), 2u);
  EXPECT_TRUE((*run)->Stop().code == 0);
}

}  // namespace
}  // namespace aura::security
