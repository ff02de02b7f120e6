// The simulator's durable state: every instance ever created (deleted ones included), their
// snapshots and the issued tokens, with a JSON form for --state FILE. Times are wall-clock so
// that a restarted simulator carries on with operations that were in flight.
//
// Thread-safety: values; the engine guards its State with its lock.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pkg/base/clock.h"
#include "pkg/base/status.h"

namespace aura::simulator {

struct InstanceRecord {
  std::string id;
  std::string name;
  std::string created_name;  // the name at creation, for per-name creation counts
  std::string tenant_id;
  std::string cloud_provider;
  std::string region;
  std::string type;
  std::string memory;
  std::string storage;
  std::string version;
  std::string status;             // creating, running, pausing, paused, ...
  base::SystemTime status_until;  // when a transitional status ends
  base::SystemTime created;
  bool vector_optimized = false;
  bool graph_analytics_plugin = false;
  std::optional<int> secondaries_count;
  std::optional<std::string> cdc_enrichment_mode;
  std::string customer_managed_key_id;
  std::string source_instance_id;
  std::string created_by;  // client id
  // What the create's response was, for tests of exactly-once and lost passwords (admin only):
  std::string password;              // the one-time password the 202 carried (or would have)
  std::string create_response_code;  // "202", "500" or "dropped", as in /_sim/stats
  // How late the response was sent (or dropped); a trickled body's last byte counts.
  base::Duration create_response_delay{0};
  std::string create_response_faults;  // the faults that shaped it ("malformed_truncate", ...)
  int64_t create_response_bytes = 0;   // its body's size
  // The body sent holds the whole password as a JSON string member: a tolerant client could
  // read it, whatever else the faults did to the body.
  bool create_response_password = false;
  nlohmann::json pending_update = nlohmann::json::object();  // applied when `updating` ends
  bool deleted = false;  // destroying has finished: the API answers 404
  base::SystemTime deleted_at;
  // When `status` was last set (the start of a paused or running spell, for Aura's own
  // lifecycle) and when the last write request (PATCH, pause, resume) addressed it.
  base::SystemTime status_since;
  base::SystemTime last_write;
  // The status was set by POST /_sim/instances/{id}/status and stays as is: no transition,
  // no lifecycle of Aura's own, writes refused.
  bool status_pinned = false;
  // What Aura did on its own (--free-idle-pause, --paid-paused-resume, --free-paused-delete).
  int64_t auto_paused = 0;
  int64_t auto_resumed = 0;
  bool auto_deleted = false;
};

struct SnapshotRecord {
  std::string snapshot_id;
  std::string instance_id;
  std::string profile;  // AdHoc | Scheduled
  std::string status;   // InProgress | Completed
  base::SystemTime timestamp;
  base::SystemTime done_at;
  bool exportable = true;
};

// A customer-managed key (POST /customer-managed-keys): `pending` until ready_at, then `ready`.
struct KeyRecord {
  std::string id;  // a UUID
  std::string name;
  std::string tenant_id;
  std::string cloud_provider;
  std::string region;
  std::string instance_type;  // enterprise-db | enterprise-ds
  std::string key_id;         // the KMS key id or ARN
  std::string status;         // pending | ready
  base::SystemTime created;
  base::SystemTime ready_at;
  bool deleted = false;
};

struct TokenRecord {
  std::string client_id;
  base::SystemTime expires_at;  // when the token stops working (may precede the announced TTL)
};

struct State {
  std::vector<InstanceRecord> instances;  // in creation order
  std::vector<SnapshotRecord> snapshots;
  std::vector<KeyRecord> keys;  // customer-managed keys, in creation order, deleted ones included
  std::map<std::string, TokenRecord> tokens;  // access token -> record
};

nlohmann::json StateToJson(const State& state);
[[nodiscard]] base::StatusOr<State> StateFromJson(const nlohmann::json& j);

// Writes atomically (temporary file, fsync, rename).
[[nodiscard]] base::Status WriteStateFile(const std::string& path, const State& state);
// kNotFound when the file does not exist; kDataLoss when it cannot be parsed.
[[nodiscard]] base::StatusOr<State> ReadStateFile(const std::string& path);

}  // namespace aura::simulator
