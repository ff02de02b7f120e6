// The real controller against the simulator's `--profile real` (docs/SIMULATOR_PROFILES.md):
// lean and loose replies, no created_at, CDC that reads back null on business-critical,
// `resizing`, a 25-request tier, a token endpoint limit, the deprecation header. With default
// flags but for the time-compressing ones (--rate-window, --settle-window, --poll-*, the same
// window on both sides; no --rate-limit), 16 specs (2 business-critical with CDC) must
// converge with every password kept, at most one 429 over the whole test, one token request
// for one apply and ten plans, at most 2 CDC PATCHes per spec over three applies, a resize seen
// going through `resizing`, and a suspended instance ending `apply --wait` with exit 1 naming it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "tests/e2e/e2e_util.h"
#include "tests/harness/http.h"

namespace aura::e2e {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using test_harness::SimulatorProcess;
using ::testing::HasSubstr;

constexpr char kWindow[] = "3";  // seconds, both sides: 25 requests per 3 s

std::vector<std::string> ControllerArgs(const SimulatorProcess& sim, const Workspace& ws,
                                        std::vector<std::string> head) {
  std::vector<std::string> a = std::move(head);
  for (const std::string& f : ControllerFlags(sim, ws)) a.push_back(f);
  for (const char* f : {"--rate-window", "3s", "--log-level", "debug"}) a.push_back(f);
  return a;
}

void WriteRealSpecs(const Workspace& ws, const std::string& recs_memory) {
  std::ostringstream y;
  auto doc = [&](const std::string& name, const std::string& type, const std::string& memory,
                 const std::string& extra) {
    y << "---\napiVersion: aura.neo4j.io/v1alpha1\nkind: AuraInstance\nmetadata:\n  name: " << name
      << "\n  namespace: e2e\nspec:\n  tenantId: " << test_harness::kSimTenantId
      << "\n  cloudProvider: gcp\n  region: europe-west1\n  type: " << type
      << "\n  memory: " << memory << "\n"
      << extra;
  };
  for (int i = 0; i < 13; ++i) doc("app-" + std::to_string(i), "professional-db", "1GB", "");
  doc("recs", "professional-db", recs_memory, "  graphAnalyticsPlugin: true\n");
  doc("orders", "business-critical", "4GB", "  cdcEnrichmentMode: FULL\n");
  doc("events", "business-critical", "4GB", "  cdcEnrichmentMode: DIFF\n");
  ws.WriteFile("specs/real.yaml", y.str());
}

int64_t Count(const json& stats, const std::string& route, const std::string& code = "") {
  const json r = stats["requests"].value(route, json::object());
  int64_t n = 0;
  for (const auto& [c, v] : r.items()) {
    if (code.empty() || c == code) n += v.get<int64_t>();
  }
  return n;
}

// "update accepted" log lines that sent cdcEnrichmentMode, by spec key.
std::map<std::string, int> CdcPatches(const std::string& log) {
  std::map<std::string, int> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || j.value("msg", "") != "update accepted") continue;
    if (j.value("reason", "").find("cdcEnrichmentMode") == std::string::npos) continue;
    ++out[j.value("key", "")];
  }
  return out;
}

TEST(RealApiE2E, ConvergesKeepsEveryPasswordAndSpendsLittle) {
  auto sim = SimulatorProcess::Start({"--profile", "real", "--rate-window", kWindow,
                                      "--create-seconds", "0.5", "--update-seconds", "2",
                                      "--pause-seconds", "0.3", "--resume-seconds", "0.3"});
  ASSERT_TRUE(sim.ok()) << sim.status();
  Workspace ws;
  WriteRealSpecs(ws, "4GB");
  std::map<std::string, int> cdc;
  auto phase = [&](const char* name) {
    auto st = (*sim)->Stats();
    if (st.ok()) {
      std::cout << "after " << name << ": throttled=" << (*st)["throttled_total"]
                << " requests=" << (*st)["requests_total"] << "\n";
    }
  };
  auto add_cdc = [&](const std::string& log) {
    for (const auto& [k, n] : CdcPatches(log)) cdc[k] += n;
  };

  // 1. The first apply: 16 creates on a 25-per-window account, from a fresh state folder.
  CliResult a1 =
      RunCli(ControllerArgs(**sim, ws, {"apply", "--wait", "--timeout", "4m"}), seconds(300));
  ASSERT_EQ(a1.exit.code, 0) << a1.out
                             << a1.err.substr(a1.err.size() > 6000 ? a1.err.size() - 6000 : 0);
  EXPECT_THAT(a1.out, HasSubstr("converged: 16 specs"));
  add_cdc(a1.err);
  phase("apply 1");
  EXPECT_THAT(a1.err, HasSubstr("learned the account's rate limit")) << "no 429 was expected?";
  EXPECT_THAT(a1.err, HasSubstr("deprecated"));

  auto inst = (*sim)->Instances();
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ((*inst)["instances"].size(), 16u);
  EXPECT_EQ((*inst)["max_creations_per_name"], 1);
  // Every password the simulator handed out is in the credentials folder.
  std::set<std::string> saved;
  for (const auto& p : ws.Passwords()) saved.insert(p);
  for (const json& i : (*inst)["instances"]) {
    EXPECT_TRUE(saved.count(i.value("password", ""))) << i.value("created_name", "");
  }
  EXPECT_EQ(saved.size(), 16u);

  // 2. Ten plans within the token's hour: no new token, no change, nothing learned again.
  for (int i = 0; i < 10; ++i) {
    CliResult p = RunCli(ControllerArgs(**sim, ws, {"plan"}), seconds(120));
    EXPECT_EQ(p.exit.code, 0) << p.out
                              << p.err.substr(p.err.size() > 4000 ? p.err.size() - 4000 : 0);
  }
  phase("10 plans");
  auto stats = (*sim)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(Count(*stats, "POST /oauth/token"), 1) << stats->dump();

  // 3. Two more applies, the second resizing recs (4GB -> 8GB): it goes through `resizing`.
  CliResult a2 =
      RunCli(ControllerArgs(**sim, ws, {"apply", "--wait", "--timeout", "2m"}), seconds(150));
  EXPECT_EQ(a2.exit.code, 0) << a2.out << a2.err;
  add_cdc(a2.err);
  phase("apply 2");
  WriteRealSpecs(ws, "8GB");
  CliResult a3 =
      RunCli(ControllerArgs(**sim, ws, {"apply", "--wait", "--timeout", "2m"}), seconds(150));
  EXPECT_EQ(a3.exit.code, 0) << a3.out << a3.err;
  add_cdc(a3.err);
  phase("apply 3 (resize)");
  EXPECT_THAT(a3.out, HasSubstr("e2e/recs Updating"));
  EXPECT_THAT(a3.out, HasSubstr("instance is resizing"));
  EXPECT_EQ(cdc.size(), 2u) << "each business-critical spec sends CDC once";
  for (const auto& [key, n] : cdc) EXPECT_LE(n, 2) << key;

  // 4. Aura suspends one instance: apply --wait ends at once, exit 1, naming it.
  std::string orders_id;
  inst = (*sim)->Instances();
  ASSERT_TRUE(inst.ok());
  for (const json& i : (*inst)["instances"]) {
    if (i.value("created_name", "") == "orders") orders_id = i.value("id", "");
  }
  ASSERT_FALSE(orders_id.empty());
  auto set =
      test_harness::Http("POST", (*sim)->base_url() + "/_sim/instances/" + orders_id + "/status",
                         R"({"status":"suspended"})", {{"Content-Type", "application/json"}});
  ASSERT_TRUE(set.ok() && set->status == 200) << (set.ok() ? set->body : set.status().ToString());
  CliResult a4 =
      RunCli(ControllerArgs(**sim, ws, {"apply", "--wait", "--timeout", "2m"}), seconds(150));
  EXPECT_EQ(a4.exit.code, 1) << a4.out << a4.err;
  EXPECT_THAT(a4.err, HasSubstr("e2e/orders (Failed)"));
  EXPECT_THAT(a4.err, HasSubstr("suspended"));
  phase("apply 4 (suspended)");

  // Over everything: at most one 429, still one token request, exactly-once.
  stats = (*sim)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_LE((*stats)["throttled_total"].get<int64_t>(), 1) << stats->dump();
  EXPECT_EQ(Count(*stats, "POST /oauth/token"), 1);
  EXPECT_EQ(Count(*stats, "POST /v1/instances"), 16);
  const std::string ratelimit = ReadFile(ws.dir() + "/state/journal.ratelimit.json");
  EXPECT_THAT(ratelimit, HasSubstr("\"rate_limit\": 25"));
  std::cout << "real-api e2e: throttled=" << (*stats)["throttled_total"]
            << " token_requests=" << Count(*stats, "POST /oauth/token")
            << " requests=" << (*stats)["requests_total"] << " cdc_patches=" << cdc.size() << "\n";
}

}  // namespace
}  // namespace aura::e2e
