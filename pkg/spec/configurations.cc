// CheckConfigurations(): the online check of specs against the instance configurations their
// tenants offer. The caller fetches and converts; nothing here knows HTTP.

#include <algorithm>
#include <cstdlib>
#include <set>

#include "pkg/spec/spec.h"
#include "pkg/spec/text.h"

namespace aura::spec {
namespace {

constexpr std::size_t kMaxListed = 10;

struct Dimension {
  const char* path;
  std::string Combination::*offered;
  const base::Atom InstanceSpec::*wanted;
  bool sizes;  // "NGB" values: nearest by size rather than by spelling
};

const Dimension kDimensions[] = {
    {"spec.cloudProvider", &Combination::cloud_provider, &InstanceSpec::cloud_provider, false},
    {"spec.region", &Combination::region, &InstanceSpec::region, false},
    {"spec.type", &Combination::type, &InstanceSpec::type, false},
    {"spec.version", &Combination::version, &InstanceSpec::version, false},
    {"spec.memory", &Combination::memory, &InstanceSpec::memory, true},
    {"spec.storage", &Combination::storage, &InstanceSpec::storage, true},
};

// Distinct values, nearest to `wanted` first, at most kMaxListed (then "...").
std::string Nearest(std::set<std::string> values, const std::string& wanted, bool sizes) {
  std::vector<std::string> sorted(values.begin(), values.end());
  auto distance = [&](const std::string& v) -> long {
    if (sizes) {
      const auto a = Gigabytes(v), b = Gigabytes(wanted);
      if (a && b) return std::labs(static_cast<long>(*a) - *b);
    }
    return detail::EditDistance(v, wanted);
  };
  std::stable_sort(sorted.begin(), sorted.end(), [&](const std::string& a, const std::string& b) {
    return distance(a) < distance(b);
  });
  const bool cut = sorted.size() > kMaxListed;
  if (cut) sorted.resize(kMaxListed);
  return detail::Join(sorted) + (cut ? ", ..." : "");
}

std::optional<Diagnostic> Check(const InstanceSpec& spec, const std::vector<Combination>& all) {
  auto location = [&spec](const std::string& path) {
    const auto it = spec.field_locations.find(path);
    return it == spec.field_locations.end()
               ? spec.location
               : SourceLocation{spec.location.file, it->second.line, it->second.column};
  };
  if (all.empty()) {
    return Diagnostic{location("spec.tenantId"), "spec.tenantId",
                      "found tenant " + detail::Quote(spec.tenant_id) +
                          ", which offers no instance configurations; allowed: a tenant these "
                          "credentials may create instances in",
                      spec.key()};
  }
  std::vector<const Combination*> candidates;
  for (const Combination& c : all) candidates.push_back(&c);
  std::string context;
  for (const Dimension& dim : kDimensions) {
    const std::string& wanted = spec.*dim.wanted;
    std::vector<const Combination*> kept, with_value;
    for (const Combination* c : candidates) {
      if (!(c->*dim.offered).empty()) with_value.push_back(c);
      if (c->*dim.offered == wanted) kept.push_back(c);
    }
    if (wanted.empty() || with_value.empty()) continue;  // e.g. storage of free-db
    if (kept.empty()) {
      std::set<std::string> values;
      for (const Combination* c : with_value) values.insert(c->*dim.offered);
      const bool defaulted = spec.field_locations.count(dim.path) == 0;
      return Diagnostic{location(dim.path), dim.path,
                        "found " + detail::Quote(wanted) + (defaulted ? " (the default)" : "") +
                            ", which tenant " + detail::Quote(spec.tenant_id) + " does not offer" +
                            (context.empty() ? "" : " for" + context) +
                            "; allowed: " + Nearest(std::move(values), wanted, dim.sizes),
                        spec.key()};
    }
    candidates = std::move(kept);
    context += " " + wanted;
  }
  return std::nullopt;
}

}  // namespace

std::vector<Diagnostic> CheckConfigurations(
    const std::vector<const InstanceSpec*>& specs,
    const std::map<std::string, std::vector<Combination>>& offered) {
  std::vector<Diagnostic> out;
  for (const InstanceSpec* spec : specs) {
    const auto it = offered.find(spec->tenant_id);
    if (it == offered.end()) continue;
    if (auto d = Check(*spec, it->second)) out.push_back(std::move(*d));
  }
  return out;
}

std::vector<Diagnostic> CheckConfigurations(
    const std::vector<InstanceSpec>& specs,
    const std::map<std::string, std::vector<Combination>>& offered) {
  std::vector<const InstanceSpec*> pointers;
  pointers.reserve(specs.size());
  for (const InstanceSpec& s : specs) pointers.push_back(&s);
  return CheckConfigurations(pointers, offered);
}

}  // namespace aura::spec
