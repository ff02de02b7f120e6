#include "pkg/reconcile/report.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "pkg/base/log.h"
#include "pkg/store/state_file.h"

namespace aura::reconcile {
namespace {

using nlohmann::json;

std::string Cell(std::string s, size_t width) {
  if (s.size() > width) s = s.substr(0, width - 1) + "~";
  s.resize(width, ' ');
  return s;
}

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size());
  for (size_t c = 0; c < header.size(); ++c) widths[c] = header[c].size();
  for (const auto& r : rows) {
    for (size_t c = 0; c + 1 < r.size() && c < widths.size(); ++c) {
      widths[c] = std::min<size_t>(std::max(widths[c], r[c].size()), 40);
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    std::string l;
    for (size_t c = 0; c < r.size(); ++c) {
      l += c + 1 == r.size() ? r[c] : Cell(r[c], widths[c]) + "  ";
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

std::string Dash(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace

std::string FormatRfc3339(base::SystemTime t) {
  const auto secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json ToJson(const SpecStatus& s) {
  json j = {{"key", s.key},
            {"phase", s.phase},
            {"aura_id", s.aura_id},
            {"aura_name", s.aura_name},
            {"aura_status", s.aura_status},
            {"message", s.message},
            {"last_error", s.last_error},
            {"last_request_id", s.last_request_id},
            {"credentials_known", s.credentials_known},
            {"pending_create", s.pending_create},
            {"drifted", s.drifted},
            {"conflict", s.conflict},
            {"duplicate_ids", s.duplicate_ids},
            {"conditions",
             {{{"type", "Ready"}, {"status", s.ready}, {"reason", s.ready_reason}},
              {{"type", "Synced"}, {"status", s.synced}, {"reason", s.synced_reason}}}}};
  if (!s.secret.empty()) {
    j["connection_secret_name"] = s.secret;
    j["conditions"].push_back({{"type", "SecretSynced"},
                               {"status", s.secret_synced},
                               {"reason", s.secret_reason},
                               {"message", s.secret_message}});
  }
  return j;
}

base::StatusOr<SpecStatus> SpecStatusFromJson(const json& j) {
  try {
    SpecStatus s;
    s.key = j.at("key").get<std::string>();
    s.phase = j.value("phase", "");
    s.aura_id = j.value("aura_id", "");
    s.aura_name = j.value("aura_name", "");
    s.aura_status = j.value("aura_status", "");
    s.message = j.value("message", "");
    s.last_error = j.value("last_error", "");
    s.last_request_id = j.value("last_request_id", "");
    s.credentials_known = j.value("credentials_known", false);
    s.pending_create = j.value("pending_create", false);
    s.drifted = j.value("drifted", false);
    s.conflict = j.value("conflict", false);
    s.duplicate_ids = j.value("duplicate_ids", std::vector<std::string>{});
    for (const auto& c : j.value("conditions", json::array())) {
      if (c.value("type", "") == "Ready") {
        s.ready = c.value("status", false);
        s.ready_reason = c.value("reason", "");
      } else if (c.value("type", "") == "Synced") {
        s.synced = c.value("status", false);
        s.synced_reason = c.value("reason", "");
      } else if (c.value("type", "") == "SecretSynced") {
        s.secret = j.value("connection_secret_name", "");
        s.secret_synced = c.value("status", false);
        s.secret_reason = c.value("reason", "");
        s.secret_message = c.value("message", "");
      }
    }
    return s;
  } catch (const json::exception& e) {
    return base::DataLossError(std::string("status entry unreadable: ") + e.what());
  }
}

json ToJson(const Action& a) {
  json j = {{"key", a.key}, {"action", std::string(ActionTypeName(a.type))}, {"reason", a.reason}};
  if (!a.instance_id.empty()) j["aura_id"] = a.instance_id;
  if (a.type == ActionType::kCreate) {
    j["attempt"] = a.attempt;
    j["create"] = {{"name", a.create.name},
                   {"tenant_id", a.create.tenant_id},
                   {"cloud_provider", a.create.cloud_provider},
                   {"region", a.create.region},
                   {"type", a.create.type},
                   {"version", a.create.version},
                   {"memory", a.create.memory}};
    if (a.create.storage) j["create"]["storage"] = *a.create.storage;
  }
  if (a.type == ActionType::kPatch) {
    json p = json::object();
    if (a.patch.name) p["name"] = *a.patch.name;
    if (a.patch.memory) p["memory"] = *a.patch.memory;
    if (a.patch.storage) p["storage"] = *a.patch.storage;
    if (a.patch.vector_optimized) p["vector_optimized"] = *a.patch.vector_optimized;
    if (a.patch.graph_analytics_plugin) {
      p["graph_analytics_plugin"] = *a.patch.graph_analytics_plugin;
    }
    if (a.patch.cdc_enrichment_mode) p["cdc_enrichment_mode"] = *a.patch.cdc_enrichment_mode;
    if (a.patch.secondaries_count) p["secondaries_count"] = *a.patch.secondaries_count;
    j["patch"] = p;
  }
  if (a.type == ActionType::kUpgrade) {
    json u = json::object();
    if (a.upgrade.memory) u["memory"] = *a.upgrade.memory;
    if (a.upgrade.storage) u["storage"] = *a.upgrade.storage;
    j["upgrade"] = u;
  }
  if (!a.duplicate_ids.empty()) j["duplicate_ids"] = a.duplicate_ids;
  return j;
}

json PlanToJson(const Plan& plan) {
  json actions = json::array();
  for (const auto& a : plan.Actions()) actions.push_back(ToJson(a));
  json keys = json::array();
  json secrets = json::array();
  for (const auto& k : plan.keys) {
    keys.push_back(ToJson(k.status));
    for (const auto& c : k.secret_changes) {
      secrets.push_back(
          {{"key", k.key}, {"action", c.op}, {"secret", c.secret}, {"reason", c.reason}});
    }
  }
  json out = {{"changes", plan.HasChanges()}, {"actions", actions}, {"specs", keys}};
  if (!secrets.empty()) out["secret_changes"] = std::move(secrets);
  if (!plan.key_changes.empty()) {
    json cmk = json::array();
    for (const auto& c : plan.key_changes) {
      cmk.push_back({{"key", c.spec_key},
                     {"action", c.op},
                     {"name", c.aura_name},
                     {"tenant_id", c.tenant_id},
                     {"key_id", c.key_id},
                     {"reason", c.message}});
    }
    out["key_changes"] = std::move(cmk);
  }
  return out;
}

std::string PlanTable(const Plan& plan) {
  std::vector<std::vector<std::string>> rows;
  std::map<std::string, int> counts;
  int errors = 0;
  int blocked = 0;
  int as_specified = 0;  // adoptions that change nothing in Aura
  int unchanged = 0;
  for (const auto& k : plan.keys) {
    if (k.actions.empty() && k.secret_changes.empty()) {
      // Errors and specs that cannot move are counted first: never "no changes" over them.
      std::string what = "-";
      if (k.status.phase == kPhaseError) {
        ++errors;
        what = "error";
      } else if (k.terminal || k.status.conflict || k.status.failed) {
        ++blocked;
        what = "blocked";
      } else {
        ++unchanged;
      }
      rows.push_back({k.key, what, Dash(k.status.aura_id), k.status.message});
      continue;
    }
    for (const auto& a : k.actions) {
      if (a.as_specified) {
        ++as_specified;
      } else {
        ++counts[std::string(ActionTypeName(a.type))];
      }
      rows.push_back({k.key, std::string(ActionTypeName(a.type)),
                      Dash(a.instance_id.empty() ? k.status.aura_id : a.instance_id), a.reason});
    }
    // Connection Secrets: the Secret in place of the Aura id.
    for (const auto& c : k.secret_changes) {
      ++counts[c.op];
      rows.push_back({k.key, c.op, c.secret, c.reason});
    }
  }
  // Customer-managed keys (AuraCustomerManagedKey specs), under "cmk/<namespace>/<name>".
  for (const auto& c : plan.key_changes) {
    if (c.IsChange()) {
      ++counts[c.op];
    } else {
      ++blocked;
    }
    rows.push_back({"cmk/" + c.spec_key, c.op, Dash(c.key_id), c.message});
  }
  std::string out = Table({"KEY", "ACTION", "AURA-ID", "REASON"}, rows);
  std::string summary;
  auto add = [&summary](int n, const std::string& what) {
    if (n > 0) summary += (summary.empty() ? "" : ", ") + std::to_string(n) + " " + what;
  };
  add(errors, errors == 1 ? "error" : "errors");
  add(blocked, "blocked");
  for (const auto& [name, n] : counts) add(n, name);
  if (counts.empty()) summary += (summary.empty() ? "" : ", ") + std::string("no changes");
  add(as_specified, "adopt as specified");
  out += "\nPlan: " + summary + ", " + std::to_string(unchanged) + " unchanged.\n";
  return out;
}

std::string StatusTable(const std::vector<SpecStatus>& statuses) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<std::string>> errors;
  for (const auto& s : statuses) {
    rows.push_back({s.key, Dash(s.aura_id), Dash(s.aura_status), Dash(s.phase),
                    s.ready ? "True" : "False", s.synced ? "True" : "False", s.message});
    if (!s.last_error.empty()) {
      errors.push_back({s.key, Dash(s.last_request_id), s.last_error});
    }
  }
  std::string out =
      Table({"KEY", "AURA-ID", "STATUS", "PHASE", "READY", "SYNCED", "MESSAGE"}, rows);
  if (!errors.empty()) {
    out += "\n" + Table({"KEY", "REQUEST-ID", "LAST ERROR"}, errors);
  }
  std::vector<std::vector<std::string>> secrets;
  for (const auto& s : statuses) {
    if (s.secret.empty()) continue;
    secrets.push_back({s.key, s.secret, s.secret_synced ? "True" : "False", Dash(s.secret_reason),
                       s.secret_message});
  }
  if (!secrets.empty()) {
    out += "\n" + Table({"KEY", "CONNECTION-SECRET", "SYNCED", "REASON", "MESSAGE"}, secrets);
  }
  return out;
}

base::Status SaveStatusFile(const std::string& path, const std::vector<SpecStatus>& statuses,
                            base::SystemTime written_at) {
  json j = {{"written_at", FormatRfc3339(written_at)}, {"specs", json::array()}};
  for (const auto& s : statuses) j["specs"].push_back(ToJson(s));
  // Atomic and private (0600): it holds keys, names and messages of every spec; secrets are
  // redacted as in logs.
  const nlohmann::json redacted = nlohmann::json::parse(
      base::Redact(j.dump(-1, ' ', false, json::error_handler_t::replace)), nullptr, false);
  return store::WriteJsonFile(path, redacted.is_discarded() ? j : redacted);
}

base::StatusOr<StatusFile> LoadStatusFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return base::NotFoundError("no status file at " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return base::DataLossError("status file " + path + " is not valid JSON");
  }
  StatusFile f;
  f.written_at = j.value("written_at", "");
  for (const auto& e : j.value("specs", json::array())) {
    auto s = SpecStatusFromJson(e);
    if (!s.ok()) return s.status();
    f.statuses.push_back(*s);
  }
  return f;
}

}  // namespace aura::reconcile
