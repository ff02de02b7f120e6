#include "pkg/simulator/catalog.h"

#include <array>
#include <charconv>

namespace aura::simulator {
namespace {

constexpr std::array<std::string_view, 6> kTypes = {"enterprise-db",     "enterprise-ds",
                                                    "business-critical", "professional-db",
                                                    "professional-ds",   "free-db"};
constexpr std::array<int, 14> kMemories = {1, 2, 4, 8, 16, 24, 32, 48, 64, 128, 192, 256, 384, 512};

struct Region {
  std::string_view provider, region, name;
};
constexpr std::array<Region, 6> kRegions = {{
    {"gcp", "europe-west1", "Belgium (europe-west1)"},
    {"gcp", "us-central1", "Iowa (us-central1)"},
    {"aws", "us-east-1", "US East, N. Virginia (us-east-1)"},
    {"aws", "eu-west-1", "EU, Ireland (eu-west-1)"},
    {"azure", "eastus", "(US) East US (eastus)"},
    {"azure", "westeurope", "(Europe) West Europe (westeurope)"},
}};

std::vector<InstanceConfiguration> Build() {
  std::vector<InstanceConfiguration> out;
  for (std::string_view version : {"5", "4"}) {
    out.push_back({"gcp", "europe-west1", "Belgium (europe-west1)", "free-db", "1GB", "2GB",
                   std::string(version)});
    for (const Region& r : kRegions) {
      for (std::string_view type : kTypes) {
        if (type == "free-db") continue;
        bool professional = type.starts_with("professional");
        for (int gb : kMemories) {
          if (professional ? gb > 128 : gb < 2) continue;
          out.push_back({std::string(r.provider), std::string(r.region), std::string(r.name),
                         std::string(type), GbString(gb), GbString(2 * gb), std::string(version)});
        }
      }
    }
  }
  return out;
}

}  // namespace

const std::vector<InstanceConfiguration>& DefaultInstanceConfigurations() {
  static const auto* configs = new std::vector<InstanceConfiguration>(Build());
  return *configs;
}

bool IsInstanceType(std::string_view s) {
  for (auto t : kTypes) {
    if (t == s) return true;
  }
  return false;
}

bool IsCloudProvider(std::string_view s) { return s == "gcp" || s == "aws" || s == "azure"; }

bool IsVersion(std::string_view s) { return s == "4" || s == "5"; }

bool IsMemorySize(std::string_view s) {
  int gb = SizeGb(s);
  for (int m : kMemories) {
    if (m == gb) return true;
  }
  return false;
}

int SizeGb(std::string_view s) {
  if (s.size() < 3 || !s.ends_with("GB")) return -1;
  std::string_view digits = s.substr(0, s.size() - 2);
  int v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size() || v <= 0) return -1;
  return v;
}

std::string GbString(int gb) { return std::to_string(gb) + "GB"; }

bool SupportsCdc(std::string_view type) {
  return type == "business-critical" || type == "enterprise-db" || type == "enterprise-ds";
}

bool SupportsSecondaries(std::string_view type) { return type == "enterprise-db"; }

}  // namespace aura::simulator
