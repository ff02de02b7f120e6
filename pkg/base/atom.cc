#include "pkg/base/atom.h"

#include <functional>
#include <mutex>
#include <ostream>
#include <unordered_set>

namespace aura::base {
namespace {

struct Hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct Table {
  std::mutex mu;
  // Nodes never move: the pointers Atoms hold stay valid as the set grows.
  std::unordered_set<std::string, Hash, std::equal_to<>> values;  // GUARDED_BY(mu)
};

// Never destroyed: Atoms in static objects may outlive any destruction order.
Table& TheTable() {
  static Table* t = new Table;
  return *t;
}

}  // namespace

Atom::Atom(std::string_view value) {
  if (value.empty()) {
    s_ = &Empty();
    return;
  }
  Table& t = TheTable();
  std::lock_guard<std::mutex> g(t.mu);
  auto it = t.values.find(value);
  if (it == t.values.end()) it = t.values.emplace(value).first;
  s_ = &*it;
}

const std::string& Atom::Empty() noexcept {
  static const std::string* empty = new std::string;
  return *empty;
}

std::size_t Atom::Count() {
  Table& t = TheTable();
  std::lock_guard<std::mutex> g(t.mu);
  return t.values.size();
}

std::ostream& operator<<(std::ostream& out, const Atom& a) { return out << a.str(); }

}  // namespace aura::base
