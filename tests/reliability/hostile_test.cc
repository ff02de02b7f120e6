// Hostile API responses (issue 9): 2xx bodies that are cut short, have the wrong types, lack
// required fields, are huge (above and below the client's 16 MiB limit), or arrive one byte
// per second. The controller must report each as a clear error carrying the response's
// X-Request-Id, never crash, never wait on a response much longer than --request-timeout, and
// converge once the faults are cleared; a create whose 202 is unreadable is an ambiguous
// create, resolved to exactly one instance whose password is reported unknown.
//
// Environment: AURA_REL_HOSTILE_SPECS (30; 20 under sanitizers).
#include <gtest/gtest.h>

#include <functional>
#include <sstream>

#include "tests/harness/http.h"
#include "tests/reliability/reliability_fixture.h"

namespace aura::reliability {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test_harness::WaitFor;

constexpr int kRequestTimeoutS = 3;  // e2e::ControllerFlags

class HostileTest : public ReliabilityTest {
 protected:
  void StartHostileSim() {
    StartSimulator({"--rate-limit", "125", "--rate-window", "3", "--log-level", "debug"});
  }
  std::vector<std::string> LimitedFlags() const {
    std::vector<std::string> f = Flags();
    SetFlag(&f, "--rate-limit", "125");
    SetFlag(&f, "--rate-window", "3s");
    return f;
  }
  // Request ids of the responses the simulator broke on purpose, with the faults: every
  // malformed body (the 1 MiB "huge" ones excepted: they are valid JSON under the client's
  // limit) and every trickled one.
  std::map<std::string, std::string> BrokenResponses() const {
    std::map<std::string, std::string> out;
    std::istringstream in(sim_->Logs());
    for (std::string line; std::getline(in, line);) {
      const json j = json::parse(line, nullptr, false);
      if (!j.is_object() || Str(j, "msg") != "request") continue;
      const std::string faults = Str(j, "faults");
      const bool broken = faults.find("malformed") != std::string::npos ||
                          faults.find("trickle") != std::string::npos;
      if (broken) out[Str(j, "request_id")] = faults;
    }
    return out;
  }
  // warn and error lines of `log` by the request id they carry.
  static std::map<std::string, json> ErrorsByRequestId(const std::string& log) {
    std::map<std::string, json> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
      const json j = json::parse(line, nullptr, false);
      if (!j.is_object()) continue;
      const std::string level = Str(j, "level");
      if (level != "warn" && level != "error") continue;
      std::string id = Str(j, "request_id");
      if (!id.empty()) out.emplace(id, j);
    }
    return out;
  }
  // Requests slower than `seconds` (all routes), from the duration histogram.
  static double SlowerThan(const std::string& metrics, const std::string& le) {
    double all = 0, within = 0;
    std::istringstream in(metrics);
    for (std::string line; std::getline(in, line);) {
      if (!line.starts_with("aura_api_request_duration_seconds_bucket")) continue;
      const double v = std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
      if (line.find("le=\"+Inf\"") != std::string::npos) all += v;
      if (line.find("le=\"" + le + "\"") != std::string::npos) within += v;
    }
    return all - within;
  }
  int64_t Injected(const json& stats, const std::string& kind) const {
    return stats["faults_injected"].value(kind, int64_t{0});
  }
};

TEST_F(HostileTest, BrokenSlowAndHugeBodiesAreClearErrorsNotCrashesOrHangs) {
  const int specs = EnvInt("AURA_REL_HOSTILE_SPECS", 30, 20);
  StartHostileSim();
  const json rules = json::array(
      {{{"route", "GET /v1/instances"}, {"mode", "truncate"}, {"rate", 0.15}},
       {{"route", "GET /v1/instances"}, {"mode", "wrong_types"}, {"rate", 0.15}},
       {{"route", "GET /v1/instances"}, {"mode", "missing_fields"}, {"rate", 0.15}},
       {{"route", "GET /v1/instances"}, {"mode", "huge"}, {"bytes", 20 << 20}, {"count", 2}},
       {{"route", "GET /v1/instances/{instanceId}"}, {"mode", "truncate"}, {"rate", 0.1}},
       {{"route", "GET /v1/instances/{instanceId}"}, {"mode", "wrong_types"}, {"rate", 0.1}},
       {{"route", "GET /v1/instances/{instanceId}"}, {"mode", "missing_fields"}, {"rate", 0.1}},
       {{"route", "GET /v1/instances/{instanceId}"},
        {"mode", "huge"},
        {"bytes", 1 << 20},
        {"count", 3}},
       {{"route", "GET /v1/tenants/{tenantId}"}, {"mode", "truncate"}, {"count", 1}},
       {{"route", "POST /oauth/token"}, {"mode", "truncate"}, {"count", 1}},
       {{"route", "POST /oauth/token"}, {"mode", "wrong_types"}, {"count", 1}},
       {{"route", "POST /oauth/token"}, {"mode", "missing_fields"}, {"count", 1}}});
  const json trickle = json::array(
      {{{"route", "GET /v1/instances"}, {"chunk_bytes", 1}, {"interval_ms", 1000}, {"count", 1}},
       {{"route", "GET /v1/instances/{instanceId}"},
        {"chunk_bytes", 1},
        {"interval_ms", 1000},
        {"count", 3}}});
  ASSERT_TRUE(sim_->SetFaults({{"malformed", rules}}).ok());
  ws_.WriteSpecs("hostile.yaml", "hostile", specs);
  const auto names = SpecNames("hostile", specs);
  const auto start = std::chrono::steady_clock::now();
  auto run = StartController(LimitedFlags());
  ASSERT_NE(run, nullptr);

  // Phase 1, broken bodies until every counted one has fired; phase 2, trickled bodies (on
  // their own, so that each response has one fault). Alive and live throughout.
  int healthz = 0;
  auto alive_until = [&](const std::function<bool(const json&)>& done) {
    return WaitFor(
        [&] {
          EXPECT_TRUE(run->Running()) << "the controller died";
          if (!run->Running()) return true;
          run->Get("/healthz", &healthz);
          EXPECT_EQ(healthz, 200);
          auto s = sim_->Stats();
          return s.ok() && done(*s);
        },
        seconds(kSanitizerBuild ? 600 : 240), milliseconds(250));
  };
  ASSERT_TRUE(alive_until([&](const json& s) {
    return Injected(s, "malformed_huge") >= 5 && Injected(s, "malformed_truncate") >= 5 &&
           Injected(s, "malformed_wrong_types") >= 4 &&
           Injected(s, "malformed_missing_fields") >= 4;
  })) << (*sim_->Stats()).dump();
  ASSERT_TRUE(sim_->SetFaults({{"malformed", json::array()}, {"trickle", trickle}}).ok());
  ASSERT_TRUE(alive_until([&](const json& s) { return Injected(s, "trickle") >= 4; }))
      << (*sim_->Stats()).dump();
  ASSERT_TRUE(run->Running());
  const double faulty_s = Seconds(start);
  auto stats = sim_->Stats();
  ASSERT_TRUE(stats.ok());
  // No exchange much longer than the request timeout, trickles included.
  const std::string metrics = run->Get("/metrics");
  EXPECT_EQ(SlowerThan(metrics, "5"), 0) << "requests slower than 5 s (timeout 3 s)";

  ASSERT_TRUE(sim_->SetFaults({{"malformed", json::array()}, {"trickle", json::array()}}).ok());
  std::string why;
  ASSERT_TRUE(WaitFor([&] { return Converged(*sim_, ws_, names, run.get(), &why); },
                      seconds(kSanitizerBuild ? 300 : 120), milliseconds(250)))
      << "not converged after the faults were cleared: " << why;
  const double converged_s = Seconds(start);
  const std::string log = run->Log();
  EXPECT_TRUE(run->Stop().ok());

  // Every unreadable response is an error naming its X-Request-Id and saying what was wrong;
  // the 1 MiB bodies below the limit are read normally. Bodies with wrong types or missing
  // fields are errors only where a field the operation needs is gone (a LIST item's id, a
  // token); elsewhere decoding is lenient (docs/AURA_API_DIFFERENCES.md) and they are read.
  const auto errors = ErrorsByRequestId(log);
  int matched = 0, below_limit = 0, lenient = 0;
  std::map<std::string, int> by_fault;
  for (const auto& [id, faults] : BrokenResponses()) {
    auto it = errors.find(id);
    if (faults == "malformed_huge") {
      // Only the 20 MiB ones are errors; a 1 MiB body is valid JSON under the limit.
      if (it == errors.end()) ++below_limit;
      continue;
    }
    if (it == errors.end() &&
        (faults == "malformed_wrong_types" || faults == "malformed_missing_fields")) {
      ++lenient;
      continue;
    }
    if (it == errors.end()) {
      ADD_FAILURE() << "no error names the broken response " << id << " (" << faults << ")";
      continue;
    }
    ++matched;
    ++by_fault[faults];
    const std::string error = Str(it->second, "error");
    EXPECT_NE(error.find(id), std::string::npos) << it->second.dump();
    bool clear = false;
    for (const char* what :
         {"JSON", "json", "exceeds the limit", "missing", "expected", "timeout"}) {
      clear = clear || error.find(what) != std::string::npos;
    }
    EXPECT_TRUE(clear) << "unclear error: " << it->second.dump();
  }
  EXPECT_EQ(below_limit, 3) << "the 1 MiB bodies under the limit were not all read";
  const chaos::Verdict v = Judge(*sim_, ws_, names, kRequestTimeoutS * 1000, AllLogs());
  for (const auto& violation : v.violations) ADD_FAILURE() << violation;
  RecordFigures("hostile_responses",
                {{"specs", std::to_string(specs)},
                 {"faulty_s", Fmt(faulty_s)},
                 {"truncate", std::to_string(Injected(*stats, "malformed_truncate"))},
                 {"wrong_types", std::to_string(Injected(*stats, "malformed_wrong_types"))},
                 {"missing_fields", std::to_string(Injected(*stats, "malformed_missing_fields"))},
                 {"huge", std::to_string(Injected(*stats, "malformed_huge")) + "(2x20MiB,3x1MiB)"},
                 {"trickle", std::to_string(Injected(*stats, "trickle")) + "(1B/s)"},
                 {"errors_naming_request_id", std::to_string(matched)},
                 {"read_leniently", std::to_string(lenient)},
                 {"huge_1MiB_read_fine", std::to_string(below_limit)},
                 {"requests_over_5s", Fmt(SlowerThan(metrics, "5"), 0)},
                 {"converged_s", Fmt(converged_s)},
                 {"duplicates", std::to_string(v.extra_creations)},
                 {"lost_passwords", std::to_string(v.passwords_lost)}});
}

// Creates answered 202 with a broken body: cut short, wrong types, without ids, over the size
// limit. The instance exists either way; each create is resolved to exactly one instance. The
// password is kept whenever the body held it whole (id and password are read first, from the
// text when it is not whole JSON, and a password without an id is linked to the instance the
// LIST resolves); otherwise it is reported unknown, never invented.
TEST_F(HostileTest, UnreadableCreateAnswersAreResolvedExactlyOnce) {
  StartHostileSim();
  ASSERT_TRUE(
      sim_->SetFaults(
              {{"malformed",
                json::array(
                    {{{"route", "POST /v1/instances"}, {"mode", "truncate"}, {"count", 1}},
                     {{"route", "POST /v1/instances"}, {"mode", "wrong_types"}, {"count", 1}},
                     {{"route", "POST /v1/instances"}, {"mode", "missing_fields"}, {"count", 1}},
                     {{"route", "POST /v1/instances"},
                      {"mode", "huge"},
                      {"bytes", 20 << 20},
                      {"count", 1}}})}})
          .ok());
  ws_.WriteSpecs("c.yaml", "badcreate", 4);
  const auto names = SpecNames("badcreate", 4);
  auto run = StartController(LimitedFlags());
  ASSERT_NE(run, nullptr);
  std::string why;
  ASSERT_TRUE(WaitFor([&] { return Converged(*sim_, ws_, names, run.get(), &why); },
                      seconds(kSanitizerBuild ? 300 : 120), milliseconds(250)))
      << why;
  const std::string log = run->Log();
  EXPECT_TRUE(run->Stop().ok());
  auto inst = sim_->Instances();
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ((*inst)["max_creations_per_name"], 1) << inst->dump();
  EXPECT_EQ((*inst)["instances"].size(), 4u);
  auto stats = sim_->Stats();
  EXPECT_EQ((*stats)["post_instances"], 4) << "a create was sent again";
  const json journal = json::parse(e2e::ReadJournal(ws_.state()));
  // Which creates carried a readable password, by name.
  std::map<std::string, bool> readable;
  for (const json& i : (*inst)["instances"]) {
    readable[i.value("created_name", "")] = i.value("create_response_password", false) &&
                                            i.value("create_response_bytes", 0) <= (16 << 20);
  }
  int kept = 0;
  for (const auto& name : names) {
    const json& e = journal["entries"][std::string(kNamespace) + "/" + name];
    EXPECT_EQ(e.value("credentials_saved", false), readable[name]) << name << ": " << e.dump();
    kept += readable[name] ? 1 : 0;
  }
  EXPECT_GE(kept, 1) << "the reply without ids still carried its password";
  e2e::CliResult status = e2e::RunCli({"status", "--state", ws_.state()}, seconds(30));
  EXPECT_EQ(status.exit.code, 0);
  e2e::CliResult status_json =
      e2e::RunCli({"status", "--output", "json", "--state", ws_.state()}, seconds(30));
  const json sj = json::parse(status_json.out, nullptr, false);
  ASSERT_TRUE(sj.is_object()) << status_json.out << status_json.err;
  for (const json& s : sj["specs"]) {
    const std::string name = s.value("key", "").substr(std::string(kNamespace).size() + 1);
    EXPECT_EQ(s.value("credentials_known", !readable[name]), readable[name]) << s.dump();
  }
  EXPECT_EQ(static_cast<int>(ws_.Passwords().size()), kept);
  const chaos::Verdict v = Judge(*sim_, ws_, names, kRequestTimeoutS * 1000, AllLogs());
  for (const auto& violation : v.violations) ADD_FAILURE() << violation;
  RecordFigures("hostile_create_answers",
                {{"creates", "4"},
                 {"broken_202", "4(truncate,wrong_types,missing_fields,huge)"},
                 {"passwords_kept", std::to_string(kept)},
                 {"posts", (*stats)["post_instances"].dump()},
                 {"instances", std::to_string((*inst)["instances"].size())},
                 {"duplicates", std::to_string((*inst)["max_creations_per_name"].get<int>() - 1)},
                 {"status_exit", std::to_string(status.exit.code)}});
}

}  // namespace
}  // namespace aura::reliability
