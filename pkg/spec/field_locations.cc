// FieldLocations: the source location of each field a spec wrote, with interned paths.
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>

#include "pkg/spec/spec.h"

namespace aura::spec {
namespace {

// The one copy of each field path. Paths come from the schema (the decoder builds them from
// its own field names; unknown fields are errors, never recorded), so the set stays small and
// lives as long as the process. Strings in a std::set never move: the views stay valid.
std::string_view Intern(std::string_view path) {
  static std::mutex mu;
  static std::set<std::string, std::less<>> paths;
  std::lock_guard<std::mutex> g(mu);
  auto it = paths.find(path);
  if (it == paths.end()) it = paths.emplace(path).first;
  return *it;
}

}  // namespace

FieldLocations::const_iterator FieldLocations::find(std::string_view path) const {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == path) return it;
  }
  return entries_.end();
}

const LineColumn& FieldLocations::at(std::string_view path) const {
  const auto it = find(path);
  if (it == end()) throw std::out_of_range("no location for field " + std::string(path));
  return it->second;
}

void FieldLocations::Set(std::string_view path, LineColumn at) {
  for (auto& e : entries_) {
    if (e.first == path) {
      e.second = at;
      return;
    }
  }
  entries_.emplace_back(Intern(path), at);
}

}  // namespace aura::spec
