// The exactly-once chaos test (issue 6): the real aura-controller against the real
// aura-simulator, which fails committed creates in every way it can (500, a reset connection,
// a 202 later than the controller's request timeout), lags its LIST, throttles creates and
// answers some requests with 503; meanwhile the controller is SIGKILLed at random moments and
// restarted on the same journal. After each scenario's kills it runs until the specs converge
// and tests/chaos/chaos_check.h judges the evidence.
//
// An ITERATION is one kill/restart cycle: start `aura-controller run`, wait a random delay
// (the chaos schedule, drawn from the seeded RNG), SIGKILL it. A SCENARIO is a fresh simulator
// with a seeded fault mix and a fresh workspace, taking AURA_CHAOS_KILLS_PER_SCENARIO
// iterations (the create-failure mode rotates 500 -> drop -> timeout from one iteration to the
// next), then a last run until every spec converged, a SIGTERM, and the checks. Its
// AURA_CHAOS_SPECS specs arrive in batches of up to 10 spread over the runs, so that runs have
// creates in flight for the kill to interrupt. Scenarios run until AURA_CHAOS_ITERATIONS kills
// are done.
//
// Environment (defaults are the quick CI set): AURA_CHAOS_ITERATIONS (8), AURA_CHAOS_SEED (1),
// AURA_CHAOS_SPECS (20), AURA_CHAOS_KILLS_PER_SCENARIO (4), AURA_CHAOS_SCENARIO (run only
// that scenario, to reproduce one), AURA_CHAOS_MAX_DELAY_MS (2000). A failing scenario's
// workspace (journal, credentials, every controller log) and simulator log are copied to
// $TMPDIR/aura-chaos-failures/seed-S-scenario-N. scripts/chaos.sh runs the long set.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "tests/chaos/chaos_check.h"
#include "tests/e2e/e2e_util.h"
#include "tests/harness/http.h"

namespace aura::chaos {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using test_harness::SimulatorProcess;
using test_harness::WaitFor;

constexpr char kNamespace[] = "e2e";  // e2e::Workspace::WriteSpecs
constexpr char kPrefix[] = "chaos";
// Controller timings: the settle window must exceed the LIST lag (at most kMaxListLag).
constexpr milliseconds kRequestTimeout(2000);
constexpr milliseconds kSettleWindow(4000);
constexpr double kMaxListLag = 3.0;
// A `timeout` create answers 202 this late: past the request timeout, so nobody reads it.
constexpr double kLateReplySeconds = 4.0;
constexpr const char* kCreateModes[] = {"500", "drop", "timeout"};
constexpr int kBatch = 10;  // specs written at once (the controller runs 4 workers)

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

struct ChaosOptions {
  int iterations = EnvInt("AURA_CHAOS_ITERATIONS", 8);
  uint64_t seed = static_cast<uint64_t>(EnvInt("AURA_CHAOS_SEED", 1));
  int specs = EnvInt("AURA_CHAOS_SPECS", 20);
  int kills_per_scenario = std::max(1, EnvInt("AURA_CHAOS_KILLS_PER_SCENARIO", 4));
  int only_scenario = EnvInt("AURA_CHAOS_SCENARIO", -1);
  int min_delay_ms = 50;
  int max_delay_ms = std::max(100, EnvInt("AURA_CHAOS_MAX_DELAY_MS", 2000));
  seconds converge_timeout{120};
};

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Join(const std::map<std::string, int64_t>& m) {
  std::string out = "{";
  for (const auto& [k, n] : m) out += (out.size() > 1 ? "," : "") + k + ":" + std::to_string(n);
  return out + "}";
}

// Figures over every scenario.
struct Tally {
  int scenarios = 0, iterations = 0, kills = 0, kills_mid_create = 0, creates_interrupted = 0;
  int kills_after_commit = 0;
  int64_t posts = 0, creates = 0;
  std::map<std::string, int64_t> faults, unsent;
  int extra_creations = 0, unowned = 0, duplicate_metric = 0, violations = 0;
  int passwords_sent = 0, passwords_saved = 0, lost_to_kills = 0, lost_after_receipt = 0;
  int lost_passwords = 0;

  std::string Summary(const ChaosOptions& o, double wall) const {
    std::ostringstream s;
    s << "chaos: seed=" << o.seed << " iterations=" << iterations << " scenarios=" << scenarios
      << " specs=" << o.specs << " kills=" << kills << " kills_mid_create=" << kills_mid_create
      << " kills_after_commit=" << kills_after_commit
      << " creates_interrupted=" << creates_interrupted << " posts=" << posts
      << " creates=" << creates << " faults=" << Join(faults)
      << " unsent_passwords=" << Join(unsent) << " duplicates=" << extra_creations
      << " duplicate_metric=" << duplicate_metric << " unowned=" << unowned
      << " passwords_saved=" << passwords_saved << "/" << passwords_sent
      << " lost_to_kills=" << lost_to_kills << " of_which_read=" << lost_after_receipt
      << " lost_passwords=" << lost_passwords << " violations=" << violations
      << " wall=" << static_cast<int>(wall) << "s";
    return s.str();
  }
};

void SetFlag(std::vector<std::string>* flags, const std::string& name, const std::string& value) {
  for (size_t i = 0; i + 1 < flags->size(); ++i) {
    if ((*flags)[i] == name) {
      (*flags)[i + 1] = value;
      return;
    }
  }
  flags->push_back(name);
  flags->push_back(value);
}

// j[key] when it is a string, else "" (json::value() trips GCC 12's -Wnull-dereference).
std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

json ReadJson(const std::string& path) { return json::parse(e2e::ReadFile(path), nullptr, false); }

// One scenario: its own simulator, workspace and seeded fault mix.
class Scenario {
 public:
  Scenario(const ChaosOptions& o, int index, int kills)
      : o_(o),
        index_(index),
        kills_(kills),
        rng_(o.seed * 1000003u + static_cast<uint64_t>(index)),
        failures_before_(FailureCount()) {}
  ~Scenario() { PreserveIfFailed(); }

  void Run(Tally* t);

 private:
  double Uniform(double lo, double hi) { return std::uniform_real_distribution<>(lo, hi)(rng_); }
  json CreateFailure(int iteration) const;
  json Throttle();
  void StartSimulator();
  std::vector<std::string> ControllerFlags() const;
  std::string LogPath(const std::string& what) const {
    return ws_.dir() + "/controller-" + what + ".log";
  }
  void WriteBatch(int run);
  void KillCycle(int k, Tally* t);
  bool Converged(std::string* why) const;
  void FinalRun(Tally* t);
  void Judge(Tally* t);
  void PreserveIfFailed() const;
  static int FailureCount() {
    const ::testing::TestResult* r =
        ::testing::UnitTest::GetInstance()->current_test_info()->result();
    int n = 0;
    for (int i = 0; i < r->total_part_count(); ++i) n += r->GetTestPartResult(i).failed();
    return n;
  }

  const ChaosOptions& o_;
  const int index_, kills_;
  std::mt19937_64 rng_;
  const int failures_before_;
  std::vector<std::string> names_;
  e2e::Workspace ws_;
  std::unique_ptr<SimulatorProcess> sim_;
  double create_rate_ = 0, throttle_rate_ = 0;
  std::vector<Evidence::Kill> kills_seen_;
  std::set<std::string> saved_ids_, received_ids_;
  int duplicate_alarms_ = 0;
  std::string header_;
};

// Each run's first create gets a 429 that holds every request for 1-3 s, while the next
// creates write their intents: those go out late, which the settle window must allow for. A few
// other creates are refused with a 429 too (definitely: the intent is cleared).
json Scenario::Throttle() {
  return {{{"route", "POST /v1/instances"},
           {"count", 1},
           {"retry_after", std::uniform_int_distribution<int>(1, 3)(rng_)}},
          {{"route", "POST /v1/instances"}, {"rate", throttle_rate_}, {"retry_after", 1}}};
}

json Scenario::CreateFailure(int iteration) const {
  return {{"mode", kCreateModes[(index_ + iteration) % 3]},
          {"rate", create_rate_},
          {"delay_seconds", kLateReplySeconds}};
}

void Scenario::StartSimulator() {
  create_rate_ = Uniform(0.3, 0.5);
  throttle_rate_ = Uniform(0.0, 0.05);
  const double lag = Uniform(1.0, kMaxListLag);
  const json faults = {
      {"create_failure", CreateFailure(0)},
      {"list_lag_seconds", lag},
      {"errors", {{{"route", "*"}, {"rate", Uniform(0.01, 0.05)}, {"status", 503}}}},
      {"throttle", Throttle()},
      // Creates take a while, so that kills land in the middle of them.
      {"latency",
       {{{"route", "POST /v1/instances"}, {"ms", 200}, {"jitter_ms", 600}},
        {{"route", "*"}, {"ms", 0}, {"jitter_ms", 100}}}}};
  const double create_seconds = Uniform(0.2, 1.0);
  const uint64_t sim_seed = rng_() % 1000000000;
  std::ostringstream h;
  h << "chaos: scenario " << index_ << " (seed " << o_.seed << "): sim --seed " << sim_seed
    << " --create-seconds " << create_seconds << " faults " << faults.dump();
  header_ = h.str();
  std::cout << header_ << std::endl;
  auto sim = SimulatorProcess::Start({"--seed", std::to_string(sim_seed), "--create-seconds",
                                      std::to_string(create_seconds), "--rate-limit", "100000",
                                      "--faults", faults.dump()});
  ASSERT_TRUE(sim.ok()) << sim.status();
  sim_ = std::move(*sim);
}

std::vector<std::string> Scenario::ControllerFlags() const {
  std::vector<std::string> f = e2e::ControllerFlags(*sim_, ws_);
  SetFlag(&f, "--request-timeout", std::to_string(kRequestTimeout.count()) + "ms");
  SetFlag(&f, "--settle-window", std::to_string(kSettleWindow.count()) + "ms");
  SetFlag(&f, "--metrics-addr", "127.0.0.1:0");
  SetFlag(&f, "--rate-limit", "600");
  return f;
}

// Spec files arrive in batches of up to kBatch, spread evenly over the runs, so that runs have
// creates in flight for a kill to interrupt, and more creates than workers: the later ones
// write their intents and then wait behind the run's first 429 (Throttle()).
void Scenario::WriteBatch(int run) {
  const int runs = kills_ + 1;
  const int batches = std::min(runs, (o_.specs + kBatch - 1) / kBatch);
  for (int b = 0; b < batches; ++b) {
    if (b * runs / batches != run) continue;  // batch b comes before run b*runs/batches
    const int count = o_.specs / batches + (b < o_.specs % batches ? 1 : 0);
    const std::string prefix = std::string(kPrefix) + std::to_string(b);
    ws_.WriteSpecs(prefix + ".yaml", prefix, count);
    for (int i = 0; i < count; ++i) names_.push_back(prefix + "-" + std::to_string(i));
  }
}

void Scenario::KillCycle(int k, Tally* t) {
  WriteBatch(k);
  ASSERT_TRUE(
      sim_->SetFaults({{"create_failure", CreateFailure(k)}, {"throttle", Throttle()}}).ok());
  const std::string log = LogPath(std::to_string(k));
  auto ctl = e2e::StartRun(ControllerFlags(), log);
  ASSERT_TRUE(ctl.ok()) << ctl.status();
  // The chaos schedule: the kill lands wherever this delay puts it.
  std::this_thread::sleep_for(
      milliseconds(std::uniform_int_distribution<int>(o_.min_delay_ms, o_.max_delay_ms)(rng_)));
  ASSERT_TRUE((*ctl)->Running()) << "the controller exited on its own: " << e2e::ReadFile(log);
  ASSERT_TRUE((*ctl)->Kill().ok());
  const int64_t killed_at = NowMs();
  auto st = (*ctl)->Wait(seconds(10));
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->signal, SIGKILL) << st->ToString();
  const LogFacts f = ParseControllerLog(e2e::ReadFile(log));
  kills_seen_.push_back({killed_at, f.pending_keys});
  saved_ids_.insert(f.saved_ids.begin(), f.saved_ids.end());
  received_ids_.insert(f.received_ids.begin(), f.received_ids.end());
  duplicate_alarms_ += f.duplicate_alarms;
  ++t->kills;
  ++t->iterations;
  if (!f.pending_keys.empty()) {
    ++t->kills_mid_create;
    t->creates_interrupted += static_cast<int>(f.pending_keys.size());
  }
}

// Every spec recorded with its instance running, no intent left, and `status` all Ready.
bool Scenario::Converged(std::string* why) const {
  const json journal = json::parse(e2e::ReadJournal(ws_.state()), nullptr, false);
  auto inst = sim_->Instances();
  if (!journal.is_object() || !inst.ok()) {
    *why = "journal or simulator unreadable";
    return false;
  }
  std::map<std::string, std::string> status_of;
  for (const json& i : (*inst)["instances"]) status_of[Str(i, "id")] = Str(i, "status");
  const json entries = journal.value("entries", json::object());
  for (const std::string& n : names_) {
    const std::string key = std::string(kNamespace) + "/" + n;
    if (!entries.contains(key)) {
      *why = key + ": no journal entry";
      return false;
    }
    const json& e = entries[key];
    const std::string id = Str(e, "instance_id");
    if (e.contains("intent") || id.empty() || status_of[id] != "running") {
      *why = key + ": " + e.dump();
      return false;
    }
  }
  e2e::CliResult r =
      e2e::RunCli({"status", "--output", "json", "--state", ws_.state()}, seconds(20));
  const json status = json::parse(r.out, nullptr, false);
  if (!status.is_object() || status.value("specs", json::array()).size() != names_.size()) {
    *why = "status: " + r.out + r.err;
    return false;
  }
  for (const json& s : status["specs"]) {
    for (const json& c : s["conditions"]) {
      if (c["type"] == "Ready" && !c["status"].get<bool>()) {
        *why = "status not Ready: " + s.dump();
        return false;
      }
    }
  }
  return true;
}

void Scenario::FinalRun(Tally* t) {
  WriteBatch(kills_);
  ASSERT_TRUE(
      sim_->SetFaults({{"create_failure", CreateFailure(kills_)}, {"throttle", Throttle()}}).ok());
  const std::string log = LogPath("final");
  auto ctl = e2e::StartRun(ControllerFlags(), log);
  ASSERT_TRUE(ctl.ok()) << ctl.status();
  const auto start = std::chrono::steady_clock::now();
  std::string why;
  ASSERT_TRUE(WaitFor([&] { return Converged(&why); }, o_.converge_timeout, milliseconds(250)))
      << "not converged within " << o_.converge_timeout.count() << "s: " << why << "\n"
      << header_;
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  LogFacts f = ParseControllerLog(e2e::ReadFile(log));
  ASSERT_NE(f.metrics_port, 0) << "no metrics port in " << log;
  auto scrape =
      test_harness::Http("GET", "http://127.0.0.1:" + std::to_string(f.metrics_port) + "/metrics");
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  EXPECT_NE(scrape->body.find("\naura_duplicate_instances 0\n"), std::string::npos)
      << "aura_duplicate_instances is not 0";
  if (scrape->body.find("\naura_duplicate_instances 0\n") == std::string::npos)
    ++t->duplicate_metric;
  ASSERT_TRUE((*ctl)->Terminate().ok());
  auto st = (*ctl)->Wait(seconds(20));
  ASSERT_TRUE(st.ok()) << "SIGTERM did not stop the controller";
  EXPECT_TRUE(st->ok()) << st->ToString();
  f = ParseControllerLog(e2e::ReadFile(log));
  saved_ids_.insert(f.saved_ids.begin(), f.saved_ids.end());
  received_ids_.insert(f.received_ids.begin(), f.received_ids.end());
  duplicate_alarms_ += f.duplicate_alarms;
  std::cout << "chaos: scenario " << index_ << " converged " << took << "s after the last kill"
            << std::endl;
}

void Scenario::Judge(Tally* t) {
  Evidence e;
  e.ns = kNamespace;
  e.names = names_;
  e.client_id = test_harness::kSimClientId;
  auto inst = sim_->Instances();
  auto stats = sim_->Stats();
  ASSERT_TRUE(inst.ok() && stats.ok());
  e.sim_instances = *inst;
  e.journal = json::parse(e2e::ReadJournal(ws_.state()), nullptr, false);
  std::error_code ec;
  const fs::path creds = fs::path(ws_.credentials()) / kNamespace;
  for (auto it = fs::directory_iterator(creds, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->path().extension() != ".json") continue;
    e.credentials[std::string(kNamespace) + "/" + it->path().stem().string()] =
        ReadJson(it->path().string());
  }
  e.kills = kills_seen_;
  e.saved_ids = saved_ids_;
  e.received_ids = received_ids_;
  e.request_timeout_ms = kRequestTimeout.count();
  json kills = json::array();
  for (const auto& k : e.kills) kills.push_back({{"ms", k.ms}, {"pending_keys", k.pending_keys}});
  // Beside the logs, for whoever reads a kept workspace (AURA_E2E_KEEP, failures).
  ws_.WriteFile(
      "evidence.json",
      json{{"sim_instances", e.sim_instances}, {"sim_stats", *stats}, {"kills", kills}}.dump(1));
  const Verdict v = Check(e);
  for (const std::string& violation : v.violations) ADD_FAILURE() << violation << "\n" << header_;
  EXPECT_EQ(duplicate_alarms_, 0) << "the controller logged duplicate alarms";

  ++t->scenarios;
  t->posts += (*stats)["post_instances"].get<int64_t>();
  t->creates += (*stats)["creates_committed"].get<int64_t>();
  for (const auto& [kind, n] : (*stats)["faults_injected"].items())
    t->faults[kind] += n.get<int64_t>();
  for (const auto& [kind, n] : v.unsent) t->unsent[kind] += n;
  t->kills_after_commit += v.kills_after_commit;
  t->extra_creations += v.extra_creations;
  t->unowned += v.unowned;
  t->passwords_sent += v.passwords_sent;
  t->passwords_saved += v.passwords_saved;
  t->lost_to_kills += v.passwords_lost_to_kills;
  t->lost_after_receipt += v.lost_after_receipt;
  t->lost_passwords += v.passwords_lost;
  t->violations += static_cast<int>(v.violations.size());
  std::cout << "chaos: scenario " << index_ << ": posts=" << (*stats)["post_instances"]
            << " creates=" << (*stats)["creates_committed"]
            << " faults=" << (*stats)["faults_injected"].dump()
            << " passwords_saved=" << v.passwords_saved << "/" << v.passwords_sent
            << " lost_to_kills=" << v.passwords_lost_to_kills
            << " violations=" << v.violations.size() << std::endl;
}

void Scenario::Run(Tally* t) {
  StartSimulator();
  if (::testing::Test::HasFatalFailure()) return;
  for (int k = 0; k < kills_; ++k) {
    KillCycle(k, t);
    if (::testing::Test::HasFatalFailure()) return;
  }
  FinalRun(t);
  if (::testing::Test::HasFatalFailure()) return;
  Judge(t);
}

void Scenario::PreserveIfFailed() const {
  if (FailureCount() == failures_before_) return;
  const fs::path to = fs::temp_directory_path() / "aura-chaos-failures" /
                      ("seed-" + std::to_string(o_.seed) + "-scenario-" + std::to_string(index_));
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::create_directories(to, ec);
  fs::copy(ws_.dir(), to / "workspace", fs::copy_options::recursive, ec);
  if (sim_) fs::copy_file(sim_->log_path(), to / "simulator.log", ec);
  std::cout << "chaos: scenario " << index_ << " failed; evidence kept in " << to.string()
            << " (rerun: AURA_CHAOS_SEED=" << o_.seed << " AURA_CHAOS_SCENARIO=" << index_
            << " AURA_CHAOS_KILLS_PER_SCENARIO=" << kills_ << ")" << std::endl;
}

TEST(ChaosTest, EveryCreateExactlyOnceUnderKillsAndFailedCommittedCreates) {
  const ChaosOptions o;
  const auto start = std::chrono::steady_clock::now();
  std::cout << "chaos: seed=" << o.seed << " iterations=" << o.iterations << " specs=" << o.specs
            << " kills_per_scenario=" << o.kills_per_scenario << std::endl;
  Tally t;
  for (int scenario = 0, done = 0; done < o.iterations; ++scenario) {
    const int kills = std::min(o.kills_per_scenario, o.iterations - done);
    done += kills;
    if (o.only_scenario >= 0 && scenario != o.only_scenario) continue;
    {
      Scenario s(o, scenario, kills);
      s.Run(&t);
    }
    if (::testing::Test::HasFatalFailure()) break;
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << t.Summary(o, wall) << std::endl;
  EXPECT_EQ(t.extra_creations, 0);
  EXPECT_EQ(t.unowned, 0);
  EXPECT_EQ(t.lost_passwords, 0);
  EXPECT_EQ(t.duplicate_metric, 0);
}

}  // namespace
}  // namespace aura::chaos
