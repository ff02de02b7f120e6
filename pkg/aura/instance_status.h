// Every instance status the controller knows, with what it means for reconciling
// (docs/AURA_API_DIFFERENCES.md "Statuses"). The OpenAPI lists 13; the live service and public
// clients show more (`resizing` after a memory change, `deleting`, `pending`), and new ones may
// appear at any time.
//
//   stable        the instance accepts operations: running, paused
//   transitional  an operation is under way; wait and poll: creating, updating, resizing, ...
//   failed        Aura stopped on its own and a person must act: suspended, "loading failed"
//   unknown       not in this table: treated as transitional for a bounded time
//                 (PlanOptions::unknown_status_patience), then reported
//
// Thread-safety: constant data and pure functions.
#pragma once

#include <string_view>
#include <vector>

namespace aura::api {

enum class StatusKind { kStable, kTransitional, kFailed, kUnknown };

struct StatusInfo {
  std::string_view name;  // as Aura spells it, lower case ("loading failed" has a space)
  StatusKind kind;
  std::string_view meaning;  // for people: status messages and docs
};

// The table, in a stable order (docs list it).
const std::vector<StatusInfo>& KnownStatuses();

// The entry for `status` (compared case-insensitively, surrounding spaces ignored), or null.
const StatusInfo* FindStatus(std::string_view status);

// kUnknown for statuses not in the table (and for "").
StatusKind KindOf(std::string_view status);

std::string_view StatusKindName(StatusKind k);  // "stable", "transitional", "failed", "unknown"

}  // namespace aura::api
