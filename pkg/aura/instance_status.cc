#include "pkg/aura/instance_status.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace aura::api {

const std::vector<StatusInfo>& KnownStatuses() {
  static const auto* table = new std::vector<StatusInfo>{
      {"running", StatusKind::kStable, "running and accepting connections"},
      {"paused", StatusKind::kStable, "paused: not billed for compute, no connections"},
      {"creating", StatusKind::kTransitional, "being created"},
      {"updating", StatusKind::kTransitional, "a change (rename, resize, settings) is applied"},
      {"resizing", StatusKind::kTransitional, "memory or storage is being changed"},
      {"pausing", StatusKind::kTransitional, "being paused"},
      {"resuming", StatusKind::kTransitional, "being resumed"},
      {"restoring", StatusKind::kTransitional, "a snapshot is being restored"},
      {"overwriting", StatusKind::kTransitional, "being overwritten from another instance"},
      {"loading", StatusKind::kTransitional, "data is being loaded (import or clone)"},
      {"upgrading", StatusKind::kTransitional, "its type is being upgraded"},
      {"suspending", StatusKind::kTransitional, "Aura is suspending it"},
      {"destroying", StatusKind::kTransitional, "being deleted"},
      {"deleting", StatusKind::kTransitional, "being deleted"},
      {"pending", StatusKind::kTransitional, "an operation is queued"},
      {"suspended", StatusKind::kFailed,
       "suspended by Aura (billing, quota or policy): contact Neo4j support or the account's "
       "billing owner"},
      {"loading failed", StatusKind::kFailed,
       "a data load (import, clone or restore) failed: restore a snapshot or recreate it"},
  };
  return *table;
}

const StatusInfo* FindStatus(std::string_view status) {
  while (!status.empty() && std::isspace(static_cast<unsigned char>(status.front()))) {
    status.remove_prefix(1);
  }
  while (!status.empty() && std::isspace(static_cast<unsigned char>(status.back()))) {
    status.remove_suffix(1);
  }
  std::string lower(status);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const StatusInfo& s : KnownStatuses()) {
    if (s.name == lower) return &s;
  }
  return nullptr;
}

StatusKind KindOf(std::string_view status) {
  const StatusInfo* s = FindStatus(status);
  return s == nullptr ? StatusKind::kUnknown : s->kind;
}

std::string_view StatusKindName(StatusKind k) {
  switch (k) {
    case StatusKind::kStable:
      return "stable";
    case StatusKind::kTransitional:
      return "transitional";
    case StatusKind::kFailed:
      return "failed";
    case StatusKind::kUnknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace aura::api
