#include "bench/fixtures.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace aura::bench {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench fixtures: %s\n", what.c_str());
  std::abort();
}

}  // namespace

std::string SpecName(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "db-%05d", i);
  return buf;
}

std::string SpecKey(int i) { return "bench/" + SpecName(i); }

std::string InstanceId(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "b%07x", i);
  return buf;
}

std::string SpecYaml(int i, const std::string& memory) {
  return "---\n"
         "apiVersion: aura.neo4j.io/v1alpha1\n"
         "kind: AuraInstance\n"
         "metadata:\n"
         "  name: " +
         SpecName(i) +
         "\n"
         "  namespace: bench\n"
         "  labels: {team: bench}\n"
         "spec:\n"
         "  tenantId: " +
         std::string(kTenant) +
         "\n"
         "  cloudProvider: gcp\n"
         "  region: europe-west1\n"
         "  type: professional-db\n"
         "  version: \"5\"\n"
         "  memory: " +
         memory + "\n";
}

void WriteSpecTree(const std::string& dir, int files, int docs_per_file) {
  std::filesystem::create_directories(dir);
  int n = 0;
  for (int f = 0; f < files; ++f) {
    char name[64];
    std::snprintf(name, sizeof name, "/specs-%05d.yaml", f);
    std::ofstream out(dir + name);
    for (int d = 0; d < docs_per_file; ++d) out << SpecYaml(n++);
    if (!out) Die("cannot write " + dir + name);
  }
}

std::vector<spec::InstanceSpec> LoadSpecs(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) text += SpecYaml(i);
  spec::LoadOptions o;
  o.max_file_bytes = text.size() + 1;
  spec::LoadResult r = spec::LoadString(text, "bench.yaml", o);
  if (!r.ok() || static_cast<int>(r.specs.size()) != n) {
    Die("specs did not load: " + (r.errors.empty() ? std::string("count") : r.errors[0].Format()));
  }
  return std::move(r.specs);
}

store::JournalEntry CreatedEntry(int i, base::SystemTime when) {
  store::JournalEntry e;
  e.key = SpecKey(i);
  e.instance_id = InstanceId(i);
  e.origin = store::Origin::kCreated;
  e.aura_name = SpecName(i);
  // std::string temporaries: GCC 12's -Wrestrict misfires on assign(const char*) here.
  e.tenant_id = std::string(kTenant);
  e.credentials_saved = true;
  e.cloud_provider = std::string("gcp");
  e.region = std::string("europe-west1");
  e.type = std::string("professional-db");
  e.version = std::string("5");
  e.updated = when;
  return e;
}

std::map<std::string, store::JournalEntry> Journal(int n, base::SystemTime when) {
  std::map<std::string, store::JournalEntry> j;
  for (int i = 0; i < n; ++i) j.emplace(SpecKey(i), CreatedEntry(i, when));
  return j;
}

reconcile::Observed ObservedAccount(int n, bool details, base::SystemTime when) {
  reconcile::Observed o;
  reconcile::TenantListing& l = o.listings[kTenant];
  l.fetched_at = when;
  l.request_id = "list";
  l.instances.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    l.instances.push_back({InstanceId(i), SpecName(i), kTenant, "gcp", "2027-01-01T00:00:00Z"});
    if (!details) continue;
    reconcile::InstanceObservation& obs = o.instances[InstanceId(i)];
    obs.found = true;
    obs.observed_at = when;
    // As Aura's X-Request-Id: a UUID (36 characters, a heap block in every copy).
    char rid[40];
    std::snprintf(rid, sizeof rid, "5e0c7a9e-1b2d-4c3f-8a4b-%012d", i);
    obs.request_id = rid;
    api::Instance& in = obs.instance;
    in.id = InstanceId(i);
    in.name = SpecName(i);
    in.status = "running";
    in.connection_url = "neo4j+s://" + in.id + ".databases.neo4j.io";
    in.tenant_id = kTenant;
    in.cloud_provider = "gcp";
    in.region = "europe-west1";
    in.type = "professional-db";
    in.memory = "4GB";
    in.storage = "8GB";
    in.created_at = "2027-01-01T00:00:00Z";
    in.vector_optimized = false;
    in.graph_analytics_plugin = false;
  }
  l.Index();  // as the controller does for every LIST it stores
  return o;
}

long StatusKib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  }
  return -1;
}

std::string MakeTempDir(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/aura-bench-" + tag + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp " + tmpl);
  return tmpl;
}

void RemoveTree(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace aura::bench
