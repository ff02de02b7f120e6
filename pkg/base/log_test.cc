#include "pkg/base/log.h"

#include <gtest/gtest.h>

#include <vector>

namespace aura::base {
namespace {

struct Capture {
  std::vector<std::string> lines;
  Logger::Sink sink() {
    return [this](std::string_view l) { lines.emplace_back(l); };
  }
};

TEST(LoggerTest, WritesOneJsonObjectPerLine) {
  FakeClock clock;
  Capture cap;
  Logger log(LogLevel::kInfo, LogFormat::kJson, cap.sink(), &clock);
  log.With({{"key", "shop/orders"}}).Info("created", {{"action", "create"}, {"request_id", "r-1"}});
  ASSERT_EQ(cap.lines.size(), 1u);
  auto j = nlohmann::json::parse(cap.lines[0]);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "created");
  EXPECT_EQ(j["key"], "shop/orders");
  EXPECT_EQ(j["action"], "create");
  EXPECT_EQ(j["request_id"], "r-1");
  EXPECT_EQ(j["time"], "2027-01-01T00:00:00.000Z");
}

TEST(LoggerTest, DropsLinesBelowLevel) {
  Capture cap;
  Logger log(LogLevel::kWarn, LogFormat::kJson, cap.sink());
  log.Info("quiet");
  log.Debug("quieter");
  log.Error("loud");
  ASSERT_EQ(cap.lines.size(), 1u);
  EXPECT_NE(cap.lines[0].find("loud"), std::string::npos);
}

TEST(LoggerTest, RedactsRegisteredSecretsEverywhere) {
  RegisterSecret("s3cr3t-pa55word");
  RegisterSecret("ab");  // too short: ignored
  Capture cap;
  Logger log(LogLevel::kDebug, LogFormat::kJson, cap.sink());
  log.Info("got s3cr3t-pa55word back", {{"detail", "x=s3cr3t-pa55word;y"}, {"ab", "ab"}});
  ASSERT_EQ(cap.lines.size(), 1u);
  EXPECT_EQ(cap.lines[0].find("s3cr3t-pa55word"), std::string::npos) << cap.lines[0];
  EXPECT_NE(cap.lines[0].find("[REDACTED]"), std::string::npos);
  EXPECT_NE(cap.lines[0].find("\"ab\""), std::string::npos);
  EXPECT_EQ(Redact("no secrets here"), "no secrets here");
}

TEST(LoggerTest, HumanFormatIsReadable) {
  FakeClock clock;
  Capture cap;
  Logger log(LogLevel::kInfo, LogFormat::kHuman, cap.sink(), &clock);
  log.Warn("slow down", {{"retry_after_s", 5}});
  ASSERT_EQ(cap.lines.size(), 1u);
  EXPECT_EQ(cap.lines[0], "00:00:00.000 WARN slow down retry_after_s=5");
}

TEST(LoggerTest, InvalidUtf8DoesNotThrow) {
  Capture cap;
  Logger log(LogLevel::kInfo, LogFormat::kJson, cap.sink());
  log.Info(std::string("bad \xff\xfe bytes"));
  ASSERT_EQ(cap.lines.size(), 1u);
  EXPECT_TRUE(nlohmann::json::accept(cap.lines[0])) << cap.lines[0];
}

TEST(LoggerTest, StatusFieldsCarryRequestId) {
  Status s = AmbiguousError("POST timed out");
  s.SetRequestId("req-9");
  auto f = StatusFields(s);
  EXPECT_EQ(f["request_id"], "req-9");
  EXPECT_NE(f["error"].get<std::string>().find("AMBIGUOUS"), std::string::npos);
  EXPECT_TRUE(StatusFields(Status()).empty());
}

TEST(LogLevelTest, Parses) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
}

}  // namespace
}  // namespace aura::base

namespace aura::base {
namespace {

TEST(RedactionTest, SecretsWithQuotesAndBackslashesAreFoundInSerializedLines) {
  const std::string secret = "pa\"ss\\wo\"rd-42";
  RegisterSecret(secret);
  std::vector<std::string> lines;
  for (LogFormat f : {LogFormat::kJson, LogFormat::kHuman}) {
    Logger log(LogLevel::kDebug, f, [&](std::string_view l) { lines.emplace_back(l); });
    log.Info("saw " + secret, {{"detail", "x " + secret + " y"}, {"nested", {{"v", secret}}}});
  }
  // And in a serialized JSON text handed to Redact directly.
  lines.push_back(Redact(nlohmann::json{{"any", secret}}.dump()));
  for (const auto& l : lines) {
    EXPECT_EQ(l.find("pa\\\"ss"), std::string::npos) << l;
    EXPECT_EQ(l.find("pa\"ss"), std::string::npos) << l;
    EXPECT_NE(l.find("[REDACTED]"), std::string::npos) << l;
  }
}

TEST(RedactionTest, SecretNamedMembersAreMaskedEvenWhenNeverRegistered) {
  // An error body echoing a password nobody registered yet.
  const std::string body =
      R"({"errors":[{"message":"bad"}],"password":"never-registered-9","data":{"Access_Token" : "tok-never"},"name":"ok"})";
  const std::string r = Redact(body);
  EXPECT_EQ(r.find("never-registered-9"), std::string::npos) << r;
  EXPECT_EQ(r.find("tok-never"), std::string::npos) << r;
  EXPECT_NE(r.find("\"name\":\"ok\""), std::string::npos) << r;
  // Cut short in the middle of the value.
  EXPECT_EQ(Redact(R"({"client_secret":"half-of-it)").find("half-of-it"), std::string::npos);
  // In a log line the body is a string value inside the line: masked before escaping.
  std::string line;
  Logger log(LogLevel::kDebug, LogFormat::kJson, [&](std::string_view l) { line = l; });
  log.Warn("request refused", {{"error", "HTTP 500: " + body}, {"password", "raw-field-value"}});
  EXPECT_EQ(line.find("never-registered-9"), std::string::npos) << line;
  EXPECT_EQ(line.find("raw-field-value"), std::string::npos) << line;
}

TEST(RedactionTest, WhereASecretIsStaysReadable) {
  // A path or URL named after a secret is not one: operators need to see which file is read.
  const std::string r = Redact(
      R"({"token_file":"/run/token","credentials_key_path":"/k","token_url":"https://t","token":"tk-1"})");
  EXPECT_NE(r.find("/run/token"), std::string::npos) << r;
  EXPECT_NE(r.find("\"/k\""), std::string::npos) << r;
  EXPECT_NE(r.find("https://t"), std::string::npos) << r;
  EXPECT_EQ(r.find("tk-1"), std::string::npos) << r;
}

}  // namespace
}  // namespace aura::base
