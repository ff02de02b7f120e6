// What the controller has seen of the Aura account: per-tenant LISTs and per-instance GETs,
// each with the wall time it was fetched. Plain values; the controller keeps them current.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "pkg/aura/instance_status.h"
#include "pkg/aura/model.h"
#include "pkg/base/clock.h"

namespace aura::reconcile {

struct TenantListing {
  std::vector<api::InstanceSummary> instances;
  // Wall time at which the LIST request was sent: everything created before it is (modulo
  // Aura's LIST lag) in `instances`.
  base::SystemTime fetched_at{};
  std::string request_id;
  // Positions in `instances` by name, built by Index() (the controller indexes every LIST it
  // stores). Without it the planner scans `instances` for each key.
  std::unordered_map<std::string, std::vector<std::size_t>> by_name;
  bool indexed = false;

  void Index() {
    by_name.clear();
    for (std::size_t i = 0; i < instances.size(); ++i) by_name[instances[i].name].push_back(i);
    indexed = true;
  }
};

struct InstanceObservation {
  bool found = false;      // false: GET returned 404
  api::Instance instance;  // valid when found
  base::SystemTime observed_at{};
  // When the instance was first seen in its current status (observed_at for a new status).
  base::SystemTime status_since{};
  std::string request_id;
  // Loaded from the journal at start (a restart, an HA takeover), not fetched by this process:
  // trusted for planning and status, refreshed through the drift budget oldest first, and
  // fetched again before any write to the instance is planned from it.
  bool stale = false;
};

struct Observed {
  std::map<std::string, TenantListing> listings;         // by tenant id
  std::map<std::string, InstanceObservation> instances;  // by instance id
};

// Aura statuses in which the instance is stable and accepts operations (instance_status.h).
inline bool IsStable(const std::string& status) {
  return api::KindOf(status) == api::StatusKind::kStable;
}

}  // namespace aura::reconcile
