// aura-controller import: one AuraInstance spec file per existing instance of a tenant, with the
// values Aura reports, `adoption: IfExists` and `deletionPolicy: Retain`, so that a team can put
// an account it already has under management (docs/IMPORT.md). Read-only towards Aura; writes
// only new files (an existing file is never overwritten: nothing is written then).
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cmd/aura-controller/common.h"
#include "pkg/spec/text.h"

namespace aura::cmd {

namespace {

namespace fs = std::filesystem;

// A DNS-1123 label from an Aura name: lowercase, [a-z0-9-], no leading or trailing '-', at
// most 63 characters; "instance-<id>" when nothing is left.
std::string LabelFrom(const std::string& aura_name, const std::string& id) {
  std::string out;
  for (char ch : aura_name) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c)) {
      out += static_cast<char>(std::tolower(c));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.empty()) out = "instance-" + LabelFrom(id, "x");
  return out;
}

struct Imported {
  std::string label;  // metadata.name
  api::InstanceSummary summary;
  std::optional<api::Instance> detail;  // nullopt: the GET failed (`why`)
  std::string why;
};

std::string SpecYaml(const Imported& im, const std::string& ns, const std::string& tenant) {
  YAML::Emitter y;
  const std::string& aura_name = im.summary.name;
  y << YAML::Comment("Imported from Aura instance " + im.summary.id + " (\"" + aura_name + "\")");
  y << YAML::BeginMap;
  y << YAML::Key << "apiVersion" << YAML::Value << "aura.neo4j.io/v1alpha1";
  y << YAML::Key << "kind" << YAML::Value << "AuraInstance";
  y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << im.label;
  y << YAML::Key << "namespace" << YAML::Value << ns;
  y << YAML::EndMap;
  y << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  if (aura_name != im.label) y << YAML::Key << "name" << YAML::Value << aura_name;
  y << YAML::Key << "tenantId" << YAML::Value << tenant;
  std::vector<std::string> unread;
  if (im.detail) {
    const api::Instance& i = *im.detail;
    auto put = [&](const char* field, const std::string& v) {
      if (v.empty()) {
        unread.push_back(field);
      } else {
        y << YAML::Key << field << YAML::Value << v;
      }
    };
    put("cloudProvider", i.cloud_provider.empty() ? im.summary.cloud_provider : i.cloud_provider);
    put("region", i.region);
    put("type", i.type);
    put("memory", i.memory);
    if (i.type != "free-db") put("storage", i.storage);
    if (i.vector_optimized) {
      if (*i.vector_optimized) y << YAML::Key << "vectorOptimized" << YAML::Value << true;
    } else {
      unread.push_back("vectorOptimized");
    }
    if (i.graph_analytics_plugin) {
      if (*i.graph_analytics_plugin) {
        y << YAML::Key << "graphAnalyticsPlugin" << YAML::Value << true;
      }
    } else if (i.type == "professional-db") {
      unread.push_back("graphAnalyticsPlugin");
    }
    if (i.cdc_enrichment_mode) {
      if (*i.cdc_enrichment_mode != "OFF") {
        y << YAML::Key << "cdcEnrichmentMode" << YAML::Value << *i.cdc_enrichment_mode;
      }
    } else if (i.type == "business-critical" || i.type == "enterprise-db") {
      unread.push_back("cdcEnrichmentMode");
    }
    if (i.status == "paused") y << YAML::Key << "paused" << YAML::Value << true;
  } else {
    unread = {"cloudProvider", "region", "type", "memory", "storage"};
  }
  y << YAML::Key << "adoption" << YAML::Value << "IfExists";
  y << YAML::Key << "deletionPolicy" << YAML::Value << "Retain";
  y << YAML::EndMap;
  y << YAML::EndMap;
  std::string out = y.c_str();
  out += "\n";
  if (!unread.empty()) {
    std::string fields;
    for (const auto& f : unread) fields += (fields.empty() ? "" : ", ") + f;
    out += "# Not read from Aura (" + (im.detail ? std::string("not reported") : im.why) +
           "): " + fields + ". Set them from the Aura console; `validate` names what is " +
           "required.\n";
  }
  out += "# version: not reported by the API; it only matters for new instances (default 5).\n";
  out += "# The password is unknown: Aura shows it once, to whoever created the instance.\n";
  return out;
}

}  // namespace

int Import(const Config& c) {
  if (c.import_tenant.empty()) {
    return Fail(base::InvalidArgumentError(
        "import: --tenant ID is required (the Aura project id: the Aura console, Project "
        "settings)"));
  }
  if (!spec::detail::IsDns1123Label(c.import_namespace)) {
    return Fail(base::InvalidArgumentError(
        "import: --namespace \"" + c.import_namespace +
        "\" is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)"));
  }
  base::Logger log = MakeLogger(c);
  base::SetDefaultLogger(log);
  metrics::Metrics m;
  auto stack = BuildApi(c, &base::RealClock(), &m, log);
  if (!stack.ok()) return Fail(stack.status());
  api::Client& client = *(*stack)->client;
  auto listed = client.ListInstances(c.import_tenant, ratelimit::Priority::kPoll);
  if (!listed.ok()) return Fail(listed.status().WithContext("listing tenant " + c.import_tenant));

  std::vector<Imported> all;
  std::set<std::string> labels;
  for (const auto& s : listed->data) {
    Imported im;
    im.summary = s;
    std::string label = LabelFrom(s.name, s.id);
    for (int n = 2; labels.contains(label); ++n) {
      label = LabelFrom(s.name, s.id).substr(0, 60) + "-" + std::to_string(n);
    }
    labels.insert(label);
    im.label = label;
    auto d = client.GetInstance(s.id, ratelimit::Priority::kPoll);
    if (d.ok()) {
      im.detail = d->data;
    } else {
      im.why = d.status().ToString();
    }
    all.push_back(std::move(im));
  }

  // Nothing is written if any file exists already.
  const fs::path dir = c.import_output_dir.empty() ? fs::path(".") : fs::path(c.import_output_dir);
  std::vector<std::string> exists;
  for (const auto& im : all) {
    const fs::path p = dir / (im.label + ".yaml");
    if (fs::exists(p)) exists.push_back(p.string());
  }
  if (!exists.empty()) {
    std::string files;
    for (const auto& f : exists) files += (files.empty() ? "" : ", ") + f;
    return Fail(base::AlreadyExistsError("import: " + files +
                                         " already exist; nothing written (choose another "
                                         "--output-dir or move them)"));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Fail(
        base::InvalidArgumentError("import: cannot create " + dir.string() + ": " + ec.message()));
  int unreadable = 0;
  for (const auto& im : all) {
    const fs::path p = dir / (im.label + ".yaml");
    std::ofstream out(p);
    out << SpecYaml(im, c.import_namespace, c.import_tenant);
    out.close();
    if (!out) return Fail(base::InternalError("import: cannot write " + p.string()));
    if (!im.detail) ++unreadable;
    std::cout << "wrote " << p.string() << "  (" << im.summary.id << " \"" << im.summary.name
              << "\")\n";
  }
  std::cout << "imported " << all.size() << " instance(s) of tenant " << c.import_tenant << " into "
            << dir.string();
  if (unreadable > 0) std::cout << "; " << unreadable << " could not be read (see the comments)";
  std::cout << ".\nNext: aura-controller plan " << dir.string()
            << "   (adoption as specified: no change to Aura)\n";
  return unreadable > 0 ? kExitError : kExitOk;
}

}  // namespace aura::cmd
