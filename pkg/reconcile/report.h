// Reports for people and machines: plan tables, status tables, their JSON forms, and the
// status snapshot file that `aura-controller status` reads while `run` keeps it current.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pkg/base/clock.h"
#include "pkg/base/status.h"
#include "pkg/reconcile/planner.h"

namespace aura::reconcile {

nlohmann::json ToJson(const SpecStatus& s);
base::StatusOr<SpecStatus> SpecStatusFromJson(const nlohmann::json& j);
nlohmann::json ToJson(const Action& a);
nlohmann::json PlanToJson(const Plan& plan);

// A fixed-width table: KEY ACTION AURA-ID REASON, one row per action or per key at rest, and a
// summary line ("2 to create, 1 to update, 0 to delete; 3 unchanged").
std::string PlanTable(const Plan& plan);
// KEY AURA-ID STATUS PHASE READY SYNCED MESSAGE, and a second block of last errors with their
// request ids.
std::string StatusTable(const std::vector<SpecStatus>& statuses);

// The snapshot `run` and `apply` write next to the journal. Written atomically (temp + rename);
// losing it loses nothing that matters (the journal is the record).
base::Status SaveStatusFile(const std::string& path, const std::vector<SpecStatus>& statuses,
                            base::SystemTime written_at);
struct StatusFile {
  std::vector<SpecStatus> statuses;
  std::string written_at;  // RFC 3339
};
base::StatusOr<StatusFile> LoadStatusFile(const std::string& path);

std::string FormatRfc3339(base::SystemTime t);

}  // namespace aura::reconcile
