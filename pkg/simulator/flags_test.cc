#include "pkg/simulator/flags.h"

#include <gtest/gtest.h>

namespace aura::simulator {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(FlagsTest, DefaultsGiveOneTenantAndOneClient) {
  auto f = ParseFlags({});
  ASSERT_TRUE(f.ok()) << f.status();
  const SimulatorOptions& o = f->options;
  ASSERT_EQ(o.tenants.size(), 1u);
  EXPECT_EQ(o.tenants[0].id, kDefaultTenantId);
  EXPECT_GE(o.tenants[0].instance_quota, 1000);
  ASSERT_EQ(o.clients.size(), 1u);
  EXPECT_EQ(o.clients[0].id, kDefaultClientId);
  EXPECT_EQ(o.rate_limit, 125);
  EXPECT_EQ(o.rate_window, seconds(60));
  EXPECT_EQ(o.token_ttl, seconds(3600));
}

TEST(FlagsTest, ParsesEverything) {
  const std::string t1 = "11111111-1111-4111-8111-111111111111";
  const std::string t2 = "22222222-2222-4222-8222-222222222222";
  auto f = ParseFlags({"--listen",
                       "127.0.0.1:0",
                       "--tenant",
                       t1 + "=Prod",
                       "--tenant=" + t2,
                       "--client-id",
                       "a",
                       "--client-secret",
                       "sa",
                       "--client-tenants",
                       t1,
                       "--client-id=b",
                       "--client-secret=sb",
                       "--quota",
                       "5",
                       "--tenant-quota",
                       t2 + "=7",
                       "--missing-billing",
                       t2,
                       "--token-ttl",
                       "120",
                       "--rate-limit",
                       "10",
                       "--rate-window",
                       "0.5",
                       "--retry-after-format",
                       "http-date",
                       "--create-seconds",
                       "0.25",
                       "--pause-seconds",
                       "1",
                       "--seed",
                       "77",
                       "--list-lag-seconds",
                       "2",
                       "--latency-ms",
                       "30",
                       "--error-rate",
                       "0.1",
                       "--create-fault",
                       "drop:0.5",
                       "--token-expiry-seconds",
                       "9",
                       "--state",
                       "/tmp/x.json",
                       "--faults",
                       R"({"throttle": [{"count": 2}]})",
                       "--omit-free-storage"});
  ASSERT_TRUE(f.ok()) << f.status();
  const SimulatorOptions& o = f->options;
  EXPECT_EQ(o.listen, "127.0.0.1:0");
  ASSERT_EQ(o.tenants.size(), 2u);
  EXPECT_EQ(o.tenants[0].name, "Prod");
  EXPECT_EQ(o.tenants[0].instance_quota, 5);
  EXPECT_EQ(o.tenants[1].instance_quota, 7);
  EXPECT_TRUE(o.tenants[1].missing_billing);
  ASSERT_EQ(o.clients.size(), 2u);
  EXPECT_EQ(o.clients[0].tenants, std::vector<std::string>{t1});
  EXPECT_TRUE(o.clients[1].tenants.empty());
  EXPECT_EQ(o.clients[1].secret, "sb");
  EXPECT_EQ(o.token_ttl, seconds(120));
  EXPECT_EQ(o.rate_limit, 10);
  EXPECT_EQ(o.rate_window, milliseconds(500));
  EXPECT_EQ(o.retry_after_format, RetryAfterFormat::kHttpDate);
  EXPECT_EQ(o.durations.create, milliseconds(250));
  EXPECT_EQ(o.durations.pause, seconds(1));
  EXPECT_EQ(o.seed, 77u);
  EXPECT_EQ(o.state_file, "/tmp/x.json");
  EXPECT_TRUE(o.omit_free_storage);
  EXPECT_EQ(o.faults.list_lag_seconds, 2.0);
  ASSERT_EQ(o.faults.latency.size(), 1u);
  EXPECT_EQ(o.faults.latency[0].ms, 30);
  ASSERT_EQ(o.faults.errors.size(), 1u);
  EXPECT_EQ(o.faults.errors[0].rule.rate, 0.1);
  ASSERT_TRUE(o.faults.create_failure.has_value());
  EXPECT_EQ(o.faults.create_failure->mode, CreateFailMode::kDrop);
  EXPECT_EQ(o.faults.create_failure->rate, 0.5);
  EXPECT_EQ(o.faults.token_expiry_seconds, 9.0);
  ASSERT_EQ(o.faults.throttle.size(), 1u);
  EXPECT_EQ(o.faults.throttle[0].rule.count, 2);
}

TEST(FlagsTest, RejectsBadFlags) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--nope", "1"},
           {"--listen", "nowhere"},
           {"--listen", "127.0.0.1:99999"},
           {"--rate-limit", "0"},
           {"--rate-window", "abc"},
           {"--tenant", "not-a-uuid"},
           {"--client-secret", "s"},
           {"--client-id", "a"},
           {"--client-id", "a", "--client-secret", "s", "--client-tenants",
            "33333333-3333-4333-8333-333333333333"},
           {"--tenant-quota", "33333333-3333-4333-8333-333333333333=4"},
           {"--create-fault", "explode"},
           {"--faults", "{not json"},
           {"--retry-after-format", "minutes"},
           {"--rate-limit"},
           {"positional"}}) {
    auto f = ParseFlags(args);
    EXPECT_FALSE(f.ok()) << args[0];
  }
}

TEST(FlagsTest, StrictIsTheDefaultProfile) {
  for (const auto& args : std::vector<std::vector<std::string>>{{}, {"--profile", "strict"}}) {
    auto f = ParseFlags(args);
    ASSERT_TRUE(f.ok()) << f.status();
    const SimulatorOptions& o = f->options;
    EXPECT_EQ(o.profile, Profile::kStrict);
    EXPECT_EQ(o.rate_limit, 125);
    EXPECT_EQ(o.token_limit, 0);
    EXPECT_EQ(o.free_idle_pause, seconds(0));
    EXPECT_EQ(o.free_paused_delete, seconds(0));
    EXPECT_EQ(o.paid_paused_resume, seconds(0));
    EXPECT_EQ(o.api_expires, "");
  }
}

TEST(FlagsTest, ProfileRealSetsItsDefaults) {
  auto f = ParseFlags({"--profile", "real"});
  ASSERT_TRUE(f.ok()) << f.status();
  const SimulatorOptions& o = f->options;
  EXPECT_EQ(o.profile, Profile::kReal);
  EXPECT_EQ(o.rate_limit, 25);
  EXPECT_EQ(o.rate_window, seconds(60));
  EXPECT_EQ(o.token_limit, 15);
  EXPECT_EQ(o.token_window, hours(1));
  EXPECT_EQ(o.free_idle_pause, hours(72));
  EXPECT_EQ(o.free_paused_delete, hours(720));
  EXPECT_EQ(o.paid_paused_resume, hours(720));
  EXPECT_EQ(o.api_expires, "Wed, 03 Mar 2027 00:00:00 UTC");
}

TEST(FlagsTest, ExplicitFlagsWinOverTheProfileInAnyOrder) {
  auto before = ParseFlags(
      {"--rate-limit", "50", "--token-limit=3", "--api-expires", "", "--profile", "real"});
  auto after =
      ParseFlags({"--profile=real", "--rate-limit", "50", "--token-limit=3", "--api-expires="});
  for (const auto* f : {&before, &after}) {
    ASSERT_TRUE(f->ok()) << f->status();
    const SimulatorOptions& o = (*f)->options;
    EXPECT_EQ(o.rate_limit, 50);
    EXPECT_EQ(o.token_limit, 3);
    EXPECT_EQ(o.api_expires, "");
    EXPECT_EQ(o.free_idle_pause, hours(72));  // not given: the profile's
  }
  auto off = ParseFlags({"--free-idle-pause", "0", "--profile", "real", "--paid-paused-resume", "0",
                         "--free-paused-delete=0s"});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->options.free_idle_pause, seconds(0));
  EXPECT_EQ(off->options.free_paused_delete, seconds(0));
  EXPECT_EQ(off->options.paid_paused_resume, seconds(0));
  // Strict with the real service's settings, one by one.
  auto strict = ParseFlags({"--token-limit", "15", "--api-expires", "Fri, 01 Jan 2027 00:00:00 UTC",
                            "--free-idle-pause", "3d"});
  ASSERT_TRUE(strict.ok()) << strict.status();
  EXPECT_EQ(strict->options.profile, Profile::kStrict);
  EXPECT_EQ(strict->options.token_limit, 15);
  EXPECT_EQ(strict->options.api_expires, "Fri, 01 Jan 2027 00:00:00 UTC");
  EXPECT_EQ(strict->options.free_idle_pause, hours(72));
}

TEST(FlagsTest, DurationSyntax) {
  const std::vector<std::pair<std::string, base::Duration>> good = {
      {"2s", seconds(2)},
      {"0.5", milliseconds(500)},
      {"90m", std::chrono::minutes(90)},
      {"72h", hours(72)},
      {"30d", hours(720)},
      {"250ms", milliseconds(250)},
      {"1.5h", std::chrono::minutes(90)},
      {"0", seconds(0)}};
  for (const auto& [text, want] : good) {
    for (const char* flag :
         {"--token-window", "--free-idle-pause", "--free-paused-delete", "--paid-paused-resume"}) {
      if (want == seconds(0) && std::string(flag) == "--token-window") continue;
      auto f = ParseFlags({flag, text});
      ASSERT_TRUE(f.ok()) << flag << " " << text << ": " << f.status();
      const SimulatorOptions& o = f->options;
      base::Duration got = std::string(flag) == "--token-window"         ? o.token_window
                           : std::string(flag) == "--free-idle-pause"    ? o.free_idle_pause
                           : std::string(flag) == "--free-paused-delete" ? o.free_paused_delete
                                                                         : o.paid_paused_resume;
      EXPECT_EQ(got, want) << flag << " " << text;
    }
  }
  for (const char* bad : {"", "3x", "h", "-1s", "1e3s", "2 s", "1..5s"}) {
    EXPECT_FALSE(ParseFlags({"--free-idle-pause", bad}).ok()) << "'" << bad << "'";
  }
}

TEST(FlagsTest, RejectsBadProfileFlags) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--profile", "loose"},
                                             {"--profile"},
                                             {"--token-limit", "-1"},
                                             {"--token-limit", "many"},
                                             {"--token-window", "0"},
                                             {"--token-window", "0s"},
                                             {"--api-expires", "Mon\r\nSet-Cookie: x"},
                                             {"--api-expires", std::string("Mon,\n03")},
                                             {"-x"}}) {
    EXPECT_FALSE(ParseFlags(args).ok()) << args[0] << " " << (args.size() > 1 ? args[1] : "");
  }
  EXPECT_FALSE(ParseFlags({"--api-expires", "Mon\r\n"}).ok());
}

TEST(FlagsTest, HelpDocumentsEveryProfileFlag) {
  auto f = ParseFlags({"-h"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->help);
  const std::string usage = Usage();
  for (const char* text :
       {"--profile", "strict|real", "--token-limit", "--token-window", "--free-idle-pause",
        "--free-paused-delete", "--paid-paused-resume", "--api-expires", "/_sim/profile",
        "/_sim/instances/ID/status", "Wed, 03 Mar 2027 00:00:00 UTC", "72h"}) {
    EXPECT_NE(usage.find(text), std::string::npos) << text;
  }
}

TEST(FlagsTest, HelpAndVersion) {
  auto f = ParseFlags({"--help"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->help);
  EXPECT_NE(Usage().find("--rate-window"), std::string::npos);
  EXPECT_TRUE(ParseFlags({"--version"})->version);
}

}  // namespace
}  // namespace aura::simulator
