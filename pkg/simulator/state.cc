#include "pkg/simulator/state.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace aura::simulator {
namespace {

using nlohmann::json;

int64_t ToMs(base::SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

base::SystemTime FromMs(int64_t ms) {
  return base::SystemTime(
      std::chrono::duration_cast<base::SystemTime::duration>(std::chrono::milliseconds(ms)));
}

json InstanceJson(const InstanceRecord& r) {
  json j = {
      {"id", r.id},
      {"name", r.name},
      {"created_name", r.created_name},
      {"tenant_id", r.tenant_id},
      {"cloud_provider", r.cloud_provider},
      {"region", r.region},
      {"type", r.type},
      {"memory", r.memory},
      {"storage", r.storage},
      {"version", r.version},
      {"status", r.status},
      {"status_until_ms", ToMs(r.status_until)},
      {"created_ms", ToMs(r.created)},
      {"vector_optimized", r.vector_optimized},
      {"graph_analytics_plugin", r.graph_analytics_plugin},
      {"customer_managed_key_id", r.customer_managed_key_id},
      {"source_instance_id", r.source_instance_id},
      {"created_by", r.created_by},
      {"password", r.password},
      {"create_response_code", r.create_response_code},
      {"create_response_delay_ms",
       std::chrono::duration_cast<std::chrono::milliseconds>(r.create_response_delay).count()},
      {"create_response_faults", r.create_response_faults},
      {"create_response_bytes", r.create_response_bytes},
      {"create_response_password", r.create_response_password},
      {"pending_update", r.pending_update},
      {"deleted", r.deleted},
      {"deleted_at_ms", ToMs(r.deleted_at)},
      {"status_since_ms", ToMs(r.status_since)},
      {"last_write_ms", ToMs(r.last_write)},
      {"status_pinned", r.status_pinned},
      {"auto_paused", r.auto_paused},
      {"auto_resumed", r.auto_resumed},
      {"auto_deleted", r.auto_deleted}};
  if (r.secondaries_count) j["secondaries_count"] = *r.secondaries_count;
  if (r.cdc_enrichment_mode) j["cdc_enrichment_mode"] = *r.cdc_enrichment_mode;
  return j;
}

InstanceRecord InstanceFromJson(const json& j) {
  InstanceRecord r;
  r.id = j.at("id").get<std::string>();
  r.name = j.at("name").get<std::string>();
  r.created_name = j.value("created_name", r.name);
  r.tenant_id = j.at("tenant_id").get<std::string>();
  r.cloud_provider = j.at("cloud_provider").get<std::string>();
  r.region = j.at("region").get<std::string>();
  r.type = j.at("type").get<std::string>();
  r.memory = j.at("memory").get<std::string>();
  r.storage = j.value("storage", "");
  r.version = j.value("version", "5");
  r.status = j.at("status").get<std::string>();
  r.status_until = FromMs(j.value("status_until_ms", int64_t{0}));
  r.created = FromMs(j.at("created_ms").get<int64_t>());
  r.vector_optimized = j.value("vector_optimized", false);
  r.graph_analytics_plugin = j.value("graph_analytics_plugin", false);
  if (j.contains("secondaries_count")) r.secondaries_count = j["secondaries_count"].get<int>();
  if (j.contains("cdc_enrichment_mode")) {
    r.cdc_enrichment_mode = j["cdc_enrichment_mode"].get<std::string>();
  }
  r.customer_managed_key_id = j.value("customer_managed_key_id", "");
  r.source_instance_id = j.value("source_instance_id", "");
  r.created_by = j.value("created_by", "");
  r.password = j.value("password", "");
  r.create_response_code = j.value("create_response_code", "");
  r.create_response_delay = std::chrono::duration_cast<base::Duration>(
      std::chrono::milliseconds(j.value("create_response_delay_ms", int64_t{0})));
  r.create_response_faults = j.value("create_response_faults", "");
  r.create_response_bytes = j.value("create_response_bytes", int64_t{0});
  r.create_response_password = j.value("create_response_password", false);
  r.pending_update = j.value("pending_update", json::object());
  r.deleted = j.value("deleted", false);
  r.deleted_at = FromMs(j.value("deleted_at_ms", int64_t{0}));
  // Files written before these fields: the status began when its transition ended (or at
  // creation), and no write is known.
  r.status_since = j.contains("status_since_ms") ? FromMs(j["status_since_ms"].get<int64_t>())
                                                 : std::max(r.created, r.status_until);
  r.last_write = FromMs(j.value("last_write_ms", int64_t{0}));
  r.status_pinned = j.value("status_pinned", false);
  r.auto_paused = j.value("auto_paused", int64_t{0});
  r.auto_resumed = j.value("auto_resumed", int64_t{0});
  r.auto_deleted = j.value("auto_deleted", false);
  return r;
}

}  // namespace

json StateToJson(const State& s) {
  json j = {{"version", 1},
            {"instances", json::array()},
            {"snapshots", json::array()},
            {"tokens", json::object()}};
  for (const auto& r : s.instances) j["instances"].push_back(InstanceJson(r));
  for (const auto& n : s.snapshots) {
    j["snapshots"].push_back({{"snapshot_id", n.snapshot_id},
                              {"instance_id", n.instance_id},
                              {"profile", n.profile},
                              {"status", n.status},
                              {"timestamp_ms", ToMs(n.timestamp)},
                              {"done_ms", ToMs(n.done_at)},
                              {"exportable", n.exportable}});
  }
  j["keys"] = json::array();
  for (const auto& k : s.keys) {
    j["keys"].push_back({{"id", k.id},
                         {"name", k.name},
                         {"tenant_id", k.tenant_id},
                         {"cloud_provider", k.cloud_provider},
                         {"region", k.region},
                         {"instance_type", k.instance_type},
                         {"key_id", k.key_id},
                         {"status", k.status},
                         {"created_ms", ToMs(k.created)},
                         {"ready_ms", ToMs(k.ready_at)},
                         {"deleted", k.deleted}});
  }
  for (const auto& [token, t] : s.tokens) {
    j["tokens"][token] = {{"client_id", t.client_id}, {"expires_ms", ToMs(t.expires_at)}};
  }
  return j;
}

base::StatusOr<State> StateFromJson(const json& j) {
  try {
    if (j.value("version", 0) != 1) return base::DataLossError("unknown state file version");
    State s;
    for (const auto& i : j.at("instances")) s.instances.push_back(InstanceFromJson(i));
    for (const auto& n : j.at("snapshots")) {
      SnapshotRecord r;
      r.snapshot_id = n.at("snapshot_id").get<std::string>();
      r.instance_id = n.at("instance_id").get<std::string>();
      r.profile = n.at("profile").get<std::string>();
      r.status = n.at("status").get<std::string>();
      r.timestamp = FromMs(n.at("timestamp_ms").get<int64_t>());
      r.done_at = FromMs(n.at("done_ms").get<int64_t>());
      r.exportable = n.value("exportable", true);
      s.snapshots.push_back(std::move(r));
    }
    // Files written before keys existed have none.
    for (const auto& k : j.value("keys", json::array())) {
      KeyRecord r;
      r.id = k.at("id").get<std::string>();
      r.name = k.at("name").get<std::string>();
      r.tenant_id = k.at("tenant_id").get<std::string>();
      r.cloud_provider = k.at("cloud_provider").get<std::string>();
      r.region = k.at("region").get<std::string>();
      r.instance_type = k.at("instance_type").get<std::string>();
      r.key_id = k.at("key_id").get<std::string>();
      r.status = k.at("status").get<std::string>();
      r.created = FromMs(k.at("created_ms").get<int64_t>());
      r.ready_at = FromMs(k.at("ready_ms").get<int64_t>());
      r.deleted = k.value("deleted", false);
      s.keys.push_back(std::move(r));
    }
    for (const auto& [token, t] : j.at("tokens").items()) {
      s.tokens[token] = {t.at("client_id").get<std::string>(),
                         FromMs(t.at("expires_ms").get<int64_t>())};
    }
    return s;
  } catch (const json::exception& e) {
    return base::DataLossError(std::string("malformed state: ") + e.what());
  }
}

base::Status WriteStateFile(const std::string& path, const State& state) {
  const std::string tmp = path + ".tmp";
  const std::string text = StateToJson(state).dump();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return base::UnavailableError("open " + tmp + ": " + std::strerror(errno));
  }
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return base::UnavailableError("write " + tmp + ": " + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return base::UnavailableError("sync " + tmp + ": " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return base::UnavailableError("rename " + tmp + ": " + std::strerror(errno));
  }
  return base::Status();
}

base::StatusOr<State> ReadStateFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return base::NotFoundError("no state file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return base::DataLossError("state file " + path + " is not JSON");
  auto state = StateFromJson(j);
  if (!state.ok()) return state.status().WithContext("state file " + path);
  return state;
}

}  // namespace aura::simulator
