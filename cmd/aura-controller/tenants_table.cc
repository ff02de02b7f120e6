// The output of `aura-controller tenants` (tenants.h).
#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>

#include "cmd/aura-controller/tenants.h"

namespace aura::cmd {
namespace {

// "16GB" -> 16, for ordering sizes; unknown shapes sort last, by text.
long SizeOrder(const std::string& s) {
  long v = 0;
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    v = v * 10 + (s[i] - '0');
    if (v > 1000000) break;
    ++i;
  }
  return i == 0 ? 1000001 : v;
}

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size() + 1, ' ');
}

}  // namespace

std::string TenantsTable(const std::vector<api::TenantDetail>& tenants) {
  std::string out;
  for (const auto& t : tenants) {
    out += "TENANT " + t.id + (t.name.empty() ? "" : "  \"" + t.name + "\"") + "\n";
    if (t.instance_configurations.empty()) {
      out += "  (no instance configurations offered)\n\n";
      continue;
    }
    // (provider, region, type) -> version -> sizes
    using Key = std::tuple<std::string, std::string, std::string>;
    std::map<Key, std::map<std::string, std::vector<std::pair<std::string, std::string>>>> by_key;
    for (const auto& ic : t.instance_configurations) {
      by_key[{ic.cloud_provider, ic.region, ic.type}][ic.version].emplace_back(ic.memory,
                                                                               ic.storage);
    }
    struct Row {
      std::string provider, region, type, versions, sizes;
    };
    std::vector<Row> rows;
    for (auto& [key, versions] : by_key) {
      // Versions offering the same sizes share a row.
      std::map<std::string, std::vector<std::string>> versions_by_sizes;
      for (auto& [version, sizes] : versions) {
        std::sort(sizes.begin(), sizes.end(), [](const auto& a, const auto& b) {
          return std::make_pair(SizeOrder(a.first), a) < std::make_pair(SizeOrder(b.first), b);
        });
        sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
        std::vector<std::string> text;
        for (const auto& [memory, storage] : sizes) {
          text.push_back(storage.empty() ? memory : memory + "/" + storage);
        }
        versions_by_sizes[Join(text, " ")].push_back(version.empty() ? "-" : version);
      }
      for (auto& [sizes, vs] : versions_by_sizes) {
        std::sort(vs.rbegin(), vs.rend());  // newest first
        rows.push_back(
            {std::get<0>(key), std::get<1>(key), std::get<2>(key), Join(vs, ","), sizes});
      }
    }
    size_t w[4] = {8, 6, 4, 8};
    for (const auto& r : rows) {
      w[0] = std::max(w[0], r.provider.size());
      w[1] = std::max(w[1], r.region.size());
      w[2] = std::max(w[2], r.type.size());
      w[3] = std::max(w[3], r.versions.size());
    }
    out += "  " + Pad("PROVIDER", w[0]) + Pad("REGION", w[1]) + Pad("TYPE", w[2]) +
           Pad("VERSIONS", w[3]) + "MEMORY/STORAGE\n";
    for (const auto& r : rows) {
      out += "  " + Pad(r.provider, w[0]) + Pad(r.region, w[1]) + Pad(r.type, w[2]) +
             Pad(r.versions, w[3]) + r.sizes + "\n";
    }
    out += "\n";
  }
  out += std::to_string(tenants.size()) + " tenant(s)\n";
  return out;
}

nlohmann::json TenantsJson(const std::vector<api::TenantDetail>& tenants) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : tenants) {
    nlohmann::json configs = nlohmann::json::array();
    for (const auto& ic : t.instance_configurations) {
      configs.push_back({{"cloud_provider", ic.cloud_provider},
                         {"region", ic.region},
                         {"region_name", ic.region_name},
                         {"type", ic.type},
                         {"memory", ic.memory},
                         {"storage", ic.storage},
                         {"version", ic.version}});
    }
    out.push_back({{"id", t.id}, {"name", t.name}, {"instance_configurations", configs}});
  }
  return out;
}

}  // namespace aura::cmd
