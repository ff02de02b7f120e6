// What the controller has seen of the Aura account: per-tenant LISTs and per-instance GETs,
// each with the wall time it was fetched. Plain values; the controller keeps them current.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <string>
#include <string_view>
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
  // Positions in `instances` in name order (listing order among equal names), built by Index()
  // (the controller indexes every LIST it stores). Without it the planner scans `instances` for
  // each key. Positions, not names: one allocation of 4 bytes an instance, and a copy of the
  // listing stays right (a hash map of names cost three allocations an instance).
  std::vector<std::uint32_t> by_name;
  bool indexed = false;

  void Index() {
    by_name.resize(instances.size());
    std::iota(by_name.begin(), by_name.end(), 0u);
    std::stable_sort(by_name.begin(), by_name.end(), [this](std::uint32_t a, std::uint32_t b) {
      return instances[a].name < instances[b].name;
    });
    indexed = true;
  }

  // The positions of the instances named `name`, in listing order. REQUIRES: indexed.
  std::vector<std::uint32_t> Named(std::string_view name) const {
    struct ByName {
      const std::vector<api::InstanceSummary>* instances;
      bool operator()(std::uint32_t a, std::string_view n) const {
        return (*instances)[a].name < n;
      }
      bool operator()(std::string_view n, std::uint32_t a) const {
        return n < (*instances)[a].name;
      }
    };
    auto [first, last] = std::equal_range(by_name.begin(), by_name.end(), name, ByName{&instances});
    return std::vector<std::uint32_t>(first, last);
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
