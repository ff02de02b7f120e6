#include "cmd/aura-controller/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace aura::cmd {
namespace {

using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v :
         {"AURA_CLIENT_ID", "AURA_CLIENT_SECRET", "AURA_API_URL", "AURA_STATE", "AURA_RATE_LIMIT",
          "AURA_SPECS", "AURA_CREDENTIALS_FILE", "AURA_LEASE_TTL", "AURA_ETCD_CA", "AURA_ETCD_CERT",
          "AURA_ETCD_KEY", "AURA_CREDENTIALS_KEY_FILE", "AURA_IDENTITY", "AURA_CONNECTION_SECRETS",
          "AURA_KUBE_API_URL", "AURA_KUBE_TOKEN_FILE", "AURA_KUBE_CA_FILE"}) {
      ::unsetenv(v);
    }
  }
  std::string TempFile(const std::string& content) {
    std::string path = ::testing::TempDir() + "/creds-" + std::to_string(++n_) + ".txt";
    std::ofstream(path) << content;
    return path;
  }
  int n_ = 0;
};

TEST_F(ConfigTest, DefaultsFlagsAndPositionalSpecs) {
  auto c =
      ParseConfig({"apply", "--wait", "--rate-limit", "60", "--timeout=2m", "specs/", "more.yaml"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->command, Command::kApply);
  EXPECT_TRUE(c->wait);
  EXPECT_EQ(c->rate_limit, 60);
  EXPECT_EQ(c->timeout, std::chrono::minutes(2));
  EXPECT_EQ(c->specs, (std::vector<std::string>{"specs/", "more.yaml"}));
  EXPECT_EQ(c->api_url, "https://api.neo4j.io/v1");
  EXPECT_EQ(c->token_url, "https://api.neo4j.io/oauth/token");
  EXPECT_EQ(c->rate_window, std::chrono::seconds(60));
}

TEST_F(ConfigTest, FlagsBeatEnvironmentWhichBeatsDefaults) {
  ::setenv("AURA_RATE_LIMIT", "100", 1);
  ::setenv("AURA_STATE", "/var/lib/j.json", 1);
  auto c = ParseConfig({"run", "--rate-limit=50"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->rate_limit, 50);
  EXPECT_EQ(c->state, "/var/lib/j.json");
}

TEST_F(ConfigTest, ConnectionSecretsOffByDefaultOnByFlagOrEnvironment) {
  auto off = ParseConfig({"run"});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->connection_secrets);
  EXPECT_EQ(off->kube_api_url, "");
  auto on = ParseConfig({"run", "--connection-secrets", "--kube-api-url=http://127.0.0.1:8001",
                         "--kube-token-file", "/t", "--kube-ca-file", "/ca.pem"});
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->connection_secrets);
  EXPECT_EQ(on->kube_api_url, "http://127.0.0.1:8001");
  EXPECT_EQ(on->kube_token_file, "/t");
  EXPECT_EQ(on->kube_ca_file, "/ca.pem");
  ::setenv("AURA_CONNECTION_SECRETS", "true", 1);
  EXPECT_TRUE(ParseConfig({"apply"})->connection_secrets);
  EXPECT_FALSE(ParseConfig({"apply", "--connection-secrets=false"})->connection_secrets);
  ::setenv("AURA_CONNECTION_SECRETS", "maybe", 1);
  EXPECT_THAT(ParseConfig({"apply"}).status().message(), HasSubstr("AURA_CONNECTION_SECRETS"));
  ::unsetenv("AURA_CONNECTION_SECRETS");
  EXPECT_THAT(ParseConfig({"run", "--conection-secrets"}).status().message(),
              HasSubstr("did you mean --connection-secrets?"));
}

TEST_F(ConfigTest, SecretNeverFromAFlag) {
  auto c = ParseConfig({"run", "--client-secret", "hunter2"});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("AURA_CLIENT_SECRET"));
  EXPECT_THAT(c.status().message(), ::testing::Not(HasSubstr("hunter2")));
  ::setenv("AURA_CLIENT_SECRET", "from-env", 1);
  auto ok = ParseConfig({"run"});
  EXPECT_EQ(ok->client_secret, "from-env");
}

TEST_F(ConfigTest, UnknownFlagsAndCommandsSuggest) {
  auto f = ParseConfig({"run", "--alow-delete"});
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("did you mean --allow-delete"));
  auto c = ParseConfig({"aply"});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("did you mean \"apply\""));
}

TEST_F(ConfigTest, BadValuesNameTheFlagAndWhatIsAllowed) {
  auto a = ParseConfig({"run", "--rate-limit", "lots"});
  EXPECT_THAT(a.status().message(), HasSubstr("--rate-limit: found \"lots\""));
  auto b = ParseConfig({"plan", "--output", "yaml"});
  EXPECT_THAT(b.status().message(), HasSubstr("allowed: table, json"));
  auto d = ParseConfig({"run", "--resync", "soon"});
  EXPECT_THAT(d.status().message(), HasSubstr("--resync"));
  auto m = ParseConfig({"run", "--rate-limit", "10", "--rate-margin", "10"});
  EXPECT_FALSE(m.ok());
  auto n = ParseConfig({"run", "--state"});
  EXPECT_THAT(n.status().message(), HasSubstr("needs a value"));
}

TEST_F(ConfigTest, Durations) {
  EXPECT_EQ(*ParseDuration("90"), std::chrono::seconds(90));
  EXPECT_EQ(*ParseDuration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(*ParseDuration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(*ParseDuration("5m"), std::chrono::minutes(5));
  EXPECT_EQ(*ParseDuration("1h"), std::chrono::hours(1));
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("5d").ok());
  EXPECT_FALSE(ParseDuration("-5s").ok());
}

TEST_F(ConfigTest, CredentialsFileFormats) {
  std::string id, secret;
  ASSERT_TRUE(
      ReadCredentialsFile(TempFile("client_id=abc\nclient_secret=s3cret\n"), &id, &secret).ok());
  EXPECT_EQ(id, "abc");
  EXPECT_EQ(secret, "s3cret");
  id.clear();
  secret.clear();
  ASSERT_TRUE(
      ReadCredentialsFile(TempFile("Client ID: xyz\nClient Secret: pa55:word\n"), &id, &secret)
          .ok());
  EXPECT_EQ(id, "xyz");
  EXPECT_EQ(secret, "pa55:word");
  id.clear();
  secret.clear();
  ASSERT_TRUE(ReadCredentialsFile(TempFile("just-the-secret\n"), &id, &secret).ok());
  EXPECT_EQ(secret, "just-the-secret");
  secret.clear();
  EXPECT_FALSE(ReadCredentialsFile(TempFile("client_id=only\n"), &id, &secret).ok());
  EXPECT_FALSE(ReadCredentialsFile("/nonexistent/file", &id, &secret).ok());

  auto c = ParseConfig({"run", "--credentials-file", TempFile("client_id=a\nclient_secret=b\n")});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->client_id, "a");
  EXPECT_EQ(c->client_secret, "b");
}

TEST_F(ConfigTest, HelpAndVersion) {
  EXPECT_EQ(ParseConfig({})->command, Command::kHelp);
  EXPECT_TRUE(ParseConfig({"plan", "--help"})->help);
  EXPECT_EQ(ParseConfig({"--version"})->command, Command::kVersion);
  for (Command c : {Command::kRun, Command::kPlan, Command::kApply, Command::kValidate,
                    Command::kStatus, Command::kVersion}) {
    EXPECT_THAT(CommandHelp(c), HasSubstr("Usage: aura-controller"));
  }
}

TEST_F(ConfigTest, StatusFileSitsBesideTheJournal) {
  EXPECT_EQ(StatusFilePath("/var/lib/a/journal.json"), "/var/lib/a/journal.status.json");
  EXPECT_EQ(StatusFilePath("state"), "state.status.json");
}

TEST_F(ConfigTest, EtcdStateAndItsFlags) {
  auto c = ParseConfig({"run", "--state", "etcd://127.0.0.1:2379,127.0.0.1:2380/aura",
                        "--lease-ttl", "3s", "--credentials-key-file", "k1,k2"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(IsEtcdState(*c));
  EXPECT_EQ(c->lease_ttl, std::chrono::seconds(3));
  EXPECT_EQ(c->credentials_key_files, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_THAT(c->identity, HasSubstr(" pid "));  // default: host and pid
  EXPECT_EQ(ParseConfig({"run", "--state", "etcd://h:1/p"})->lease_ttl, std::chrono::seconds(15));

  ::setenv("AURA_LEASE_TTL", "20s", 1);
  ::setenv("AURA_IDENTITY", "pod-a", 1);
  auto e = ParseConfig({"status", "--state", "etcds://h:1/p", "--etcd-ca", "ca.pem", "--etcd-cert",
                        "c.pem", "--etcd-key", "k.pem"});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->lease_ttl, std::chrono::seconds(20));
  EXPECT_EQ(e->identity, "pod-a");
  EXPECT_EQ(e->etcd_cert, "c.pem");

  EXPECT_FALSE(IsEtcdState(*ParseConfig({"run"})));
}

TEST_F(ConfigTest, EtcdMistakesAreExplained) {
  auto url = ParseConfig({"run", "--state", "etcd://127.0.0.1:2379"});
  EXPECT_THAT(url.status().message(), HasSubstr("no key prefix"));
  auto tls = ParseConfig({"run", "--state", "etcd://h:1/p", "--etcd-cert", "c", "--etcd-key", "k"});
  EXPECT_THAT(tls.status().message(), HasSubstr("etcds://"));
  auto half = ParseConfig({"run", "--state", "etcds://h:1/p", "--etcd-cert", "c"});
  EXPECT_THAT(half.status().message(), HasSubstr("go together"));
  auto frac = ParseConfig({"run", "--state", "etcd://h:1/p", "--lease-ttl", "1500ms"});
  EXPECT_THAT(frac.status().message(), HasSubstr("whole seconds"));
  auto zero = ParseConfig({"run", "--state", "etcd://h:1/p", "--lease-ttl", "0"});
  EXPECT_THAT(zero.status().message(), HasSubstr("--lease-ttl"));
  EXPECT_THAT(CommandHelp(Command::kRun), HasSubstr("--credentials-key-file"));
  EXPECT_THAT(CommandHelp(Command::kCredentials), HasSubstr("credentials get"));
}

TEST_F(ConfigTest, StateMigrateTakesItsOwnFlags) {
  auto c = ParseConfig({"state", "migrate", "--to", "etcd", "--etcd", "etcd://127.0.0.1:2379/a",
                        "--credentials-key-file", "k", "--state", "j.json"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->command, Command::kState);
  EXPECT_EQ(c->args, (std::vector<std::string>{"migrate"}));
  EXPECT_TRUE(c->specs.empty());  // "migrate" is not a spec path
  EXPECT_EQ(c->migrate_to, "etcd");
  EXPECT_EQ(c->etcd_url, "etcd://127.0.0.1:2379/a");
  EXPECT_EQ(c->state, "j.json");
  EXPECT_FALSE(IsEtcdState(*c));  // --state is the file it copies from
  EXPECT_THAT(Usage(), HasSubstr("state migrate"));
  EXPECT_THAT(CommandHelp(Command::kState), HasSubstr("--etcd"));
  EXPECT_THAT(ParseConfig({"stat"}).status().message(), HasSubstr("state"));
}

}  // namespace
}  // namespace aura::cmd
