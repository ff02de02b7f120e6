// FieldLocations: the source location of each field a spec wrote, with interned paths.
#include <algorithm>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pkg/spec/spec.h"

namespace aura::spec {
namespace {

// The one copy of each field path, numbered in order of first use. Paths come from the schema
// (the decoder builds them from its own field names; unknown fields are errors, never
// recorded), so the table stays small and lives as long as the process. Strings in a std::map
// never move: the views stay valid.
struct PathTable {
  std::mutex mu;
  std::map<std::string, std::uint16_t, std::less<>> ids;  // GUARDED_BY(mu)
  std::vector<std::string_view> paths;                    // GUARDED_BY(mu), by id
};

PathTable& Paths() {
  static PathTable* t = new PathTable;  // never destroyed: specs in static objects may use it
  return *t;
}

// The number of `path`; nullopt when it is not interned (and `add` is false) or the table is
// full (65,536 paths: more than any schema has).
std::optional<std::uint16_t> PathId(std::string_view path, bool add) {
  PathTable& t = Paths();
  std::lock_guard<std::mutex> g(t.mu);
  auto it = t.ids.find(path);
  if (it != t.ids.end()) return it->second;
  if (!add || t.paths.size() > std::numeric_limits<std::uint16_t>::max()) return std::nullopt;
  const auto id = static_cast<std::uint16_t>(t.paths.size());
  it = t.ids.emplace(std::string(path), id).first;
  t.paths.push_back(it->first);
  return id;
}

std::string_view PathOf(std::uint16_t id) {
  PathTable& t = Paths();
  std::lock_guard<std::mutex> g(t.mu);
  return t.paths[id];
}

}  // namespace

FieldLocations::value_type FieldLocations::const_iterator::operator*() const {
  return value_type(PathOf(at_->path),
                    LineColumn{static_cast<int>(at_->line), static_cast<int>(at_->column)});
}

FieldLocations::const_iterator FieldLocations::find(std::string_view path) const {
  const std::optional<std::uint16_t> id = PathId(path, false);
  if (!id) return end();
  for (const Entry& e : entries_) {
    if (e.path == *id) return const_iterator(&e);
  }
  return end();
}

LineColumn FieldLocations::at(std::string_view path) const {
  const auto it = find(path);
  if (it == end()) throw std::out_of_range("no location for field " + std::string(path));
  return (*it).second;
}

void FieldLocations::Set(std::string_view path, LineColumn at) {
  const std::optional<std::uint16_t> id = PathId(path, true);
  if (!id) return;  // not recorded: messages then point at the document
  const Entry e{*id, static_cast<std::uint16_t>(std::clamp(at.column, 0, 65535)),
                static_cast<std::uint32_t>(std::max(at.line, 0))};
  for (Entry& old : entries_) {
    if (old.path == *id) {
      old = e;
      return;
    }
  }
  entries_.push_back(e);
}

}  // namespace aura::spec
