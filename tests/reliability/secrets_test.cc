// Secrets (issue 9): across a run with every fault the simulator has, the client secret, every
// one-time password the simulator generated and every access token it issued never appear,
// whole or in part (12 consecutive characters), in anything the controller writes or serves
// except the credentials folder: debug logs, /metrics, /readyz, /healthz, `status` (table and
// JSON), the status snapshot, the journal, `plan`, and the errors of `apply` with a wrong
// secret and of `credentials get` for an unknown key.
//
// Environment: AURA_REL_SECRETS_SPECS (20; 12 under sanitizers).
#include <gtest/gtest.h>

#include <functional>

#include "tests/harness/http.h"
#include "tests/reliability/reliability_fixture.h"

namespace aura::reliability {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test_harness::WaitFor;

class SecretsTest : public ReliabilityTest {};

TEST_F(SecretsTest, NothingLeaksAcrossARunWithEveryFault) {
  const int specs = EnvInt("AURA_REL_SECRETS_SPECS", 20, 12);
  const std::string sim_state = ws_.dir() + "/simulator-state.json";
  StartSimulator(
      {"--state", sim_state, "--rate-limit", "125", "--rate-window", "3", "--create-seconds", "1"});
  // Every kind of fault at once; create failures rotate 500 -> drop -> timeout below.
  const json faults = {
      {"errors",
       {{{"route", "*"}, {"rate", 0.05}, {"status", 503}, {"retry_after", 1}},
        {{"route", "POST /oauth/token"}, {"count", 2}, {"status", 500}}}},
      {"latency", {{{"route", "*"}, {"ms", 0}, {"jitter_ms", 50}}}},
      {"throttle", {{{"route", "*"}, {"count", 2}, {"retry_after", 1}}}},
      {"create_failure", {{"mode", "500"}, {"rate", 0.3}, {"count", 2}}},
      {"malformed",
       {{{"route", "POST /v1/instances"}, {"mode", "truncate"}, {"count", 2}},
        {{"route", "POST /v1/instances"}, {"mode", "wrong_types"}, {"count", 1}},
        {{"route", "POST /v1/instances"}, {"mode", "missing_fields"}, {"count", 1}},
        {{"route", "POST /oauth/token"}, {"mode", "truncate"}, {"count", 1}},
        {{"route", "GET /v1/instances"}, {"mode", "truncate"}, {"rate", 0.1}},
        {{"route", "GET /v1/instances/{instanceId}"}, {"mode", "wrong_types"}, {"rate", 0.1}},
        {{"route", "GET /v1/instances/{instanceId}"}, {"mode", "missing_fields"}, {"rate", 0.1}},
        {{"route", "GET /v1/instances"}, {"mode", "huge"}, {"bytes", 17 << 20}, {"count", 1}}}},
      {"trickle",
       {{{"route", "GET /v1/instances/{instanceId}"},
         {"chunk_bytes", 4},
         {"interval_ms", 500},
         {"count", 2}}}},
      {"token_expiry_seconds", 2},
      {"list_lag_seconds", 1}};
  ASSERT_TRUE(sim_->SetFaults(faults).ok());
  ws_.WriteSpecs("secret.yaml", "secret", specs);
  auto names = SpecNames("secret", specs);
  std::vector<std::string> flags = Flags();
  SetFlag(&flags, "--rate-limit", "125");
  SetFlag(&flags, "--rate-window", "3s");
  SetFlag(&flags, "--log-level", "debug");
  auto run = StartController(flags);
  ASSERT_NE(run, nullptr);

  // Everything the controller shows the world, gathered as the run goes.
  std::string shown;
  auto cli = [&](std::vector<std::string> args, std::map<std::string, std::string> env) {
    e2e::CliResult r = e2e::RunCli(std::move(args), seconds(120), std::move(env));
    shown += r.out + r.err;
    return r;
  };
  auto observe = [&] {
    for (const char* path : {"/metrics", "/readyz", "/healthz"}) shown += run->Get(path);
    cli({"status", "--state", ws_.state()}, e2e::ControllerEnv());
    cli({"status", "--output", "json", "--state", ws_.state()}, e2e::ControllerEnv());
    shown += e2e::ReadFile(ws_.state()) + e2e::ReadFile(ws_.state() + ".log") +
             e2e::ReadFile(ws_.dir() + "/state/journal.status.json");
  };
  auto fired = [&](const std::string& kind) {
    auto s = sim_->Stats();
    return s.ok() && s->value("faults_injected", json::object()).value(kind, 0) > 0;
  };
  // The create failure modes in turn, a second batch of specs for each so that creates keep
  // coming, and one expire_tokens_now.
  int batch = 0;
  for (const char* mode : {"500", "drop", "timeout"}) {
    SCOPED_TRACE(mode);
    ASSERT_TRUE(
        sim_->SetFaults({{"create_failure",
                          {{"mode", mode}, {"rate", 1}, {"count", 1}, {"delay_seconds", 5}}}})
            .ok());
    const std::string prefix = "secret" + std::to_string(++batch);
    ws_.WriteSpecs(prefix + ".yaml", prefix, 3);
    const auto more = SpecNames(prefix, 3);
    names.insert(names.end(), more.begin(), more.end());
    ASSERT_TRUE(WaitFor([&] { return fired(std::string("create_") + mode); }, seconds(120),
                        milliseconds(100)))
        << sim_->Stats()->dump();
    observe();
  }
  ASSERT_TRUE(sim_->SetFaults({{"expire_tokens_now", true}}).ok());
  // A read-only plan, an apply with a wrong secret, credentials of an unknown key.
  {
    std::vector<std::string> args = {"plan", "--log-level", "debug"};
    auto f = e2e::ControllerFlags(*sim_, ws_);
    args.insert(args.end(), f.begin(), f.end());
    cli(args, e2e::ControllerEnv());
    auto wrong = e2e::ControllerEnv();
    wrong["AURA_CLIENT_SECRET"] = "wrong-secret-8c1d5e2f";
    std::vector<std::string> apply = {"apply", "--log-level", "debug"};
    SetFlag(&f, "--state", ws_.dir() + "/other/journal.json");  // `run` holds the journal
    apply.insert(apply.end(), f.begin(), f.end());
    e2e::CliResult r = cli(apply, wrong);
    EXPECT_EQ(r.exit.code, 1) << r.out << r.err;
    cli({"credentials", "get", "e2e/nobody", "--credentials-dir", ws_.credentials()},
        e2e::ControllerEnv());
  }
  // Every kind of fault has fired.
  for (const char* kind :
       {"error", "latency", "throttle", "create_500", "create_drop", "create_timeout",
        "malformed_truncate", "malformed_wrong_types", "malformed_missing_fields", "malformed_huge",
        "trickle", "token_early_expiry", "tokens_expired_now"}) {
    EXPECT_TRUE(WaitFor([&] { return fired(kind); }, seconds(120), milliseconds(100)))
        << kind << " never fired: " << sim_->Stats()->dump();
  }
  observe();
  auto stats = sim_->Stats();
  ASSERT_TRUE(stats.ok());

  // Faults off: convergence, then the last look and the shutdown's log lines.
  ASSERT_TRUE(sim_->SetFaults({{"clear", true}}).ok());
  std::string why;
  ASSERT_TRUE(WaitFor([&] { return Converged(*sim_, ws_, names, run.get(), &why); },
                      seconds(kSanitizerBuild ? 300 : 120), milliseconds(250)))
      << why;
  observe();
  EXPECT_TRUE(run->Stop().ok());
  for (const auto& log : AllLogs()) shown += log;

  std::vector<std::string> secrets = KnownSecrets(*sim_, sim_state);
  const size_t passwords = (*sim_->Instances())["instances"].size();
  const size_t tokens = secrets.size() - 1 - passwords;
  secrets.push_back("wrong-secret-8c1d5e2f");
  secrets.push_back(test_harness::BasicAuth(test_harness::kSimClientId,
                                            test_harness::kSimClientSecret)
                        .substr(6));  // the base64 of "id:secret"
  const auto leaks = Leaks(shown, secrets);
  const auto partial = PartialLeaks(shown, secrets);
  for (const auto& leak : leaks) ADD_FAILURE() << leak;
  for (const auto& leak : partial) ADD_FAILURE() << leak;
  // The oracle: the passwords the controller received are where they belong.
  const chaos::Verdict v = Judge(*sim_, ws_, names, 3000, AllLogs());
  for (const auto& violation : v.violations) ADD_FAILURE() << violation;
  EXPECT_GT(v.passwords_saved, 0);

  std::string injected;
  for (const auto& [kind, n] : (*stats)["faults_injected"].items()) {
    injected += (injected.empty() ? "" : ",") + kind + ":" + n.dump();
  }
  RecordFigures("secrets", {{"specs", std::to_string(names.size())},
                            {"faults_injected", injected},
                            {"bytes_scanned", std::to_string(shown.size())},
                            {"passwords", std::to_string(passwords)},
                            {"tokens", std::to_string(tokens)},
                            {"leaks", std::to_string(leaks.size() + partial.size())},
                            {"passwords_saved", std::to_string(v.passwords_saved) + "/" +
                                                    std::to_string(v.passwords_sent)},
                            {"duplicates", std::to_string(v.extra_creations)}});
}

}  // namespace
}  // namespace aura::reliability
