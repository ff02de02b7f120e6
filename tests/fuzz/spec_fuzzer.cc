// libFuzzer target for the spec loader: any bytes, as one file. The loader must return
// diagnostics, never crash, hang, leak or throw; the invariants below must hold for every input.
// Build and run: scripts/fuzz.sh.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "pkg/spec/spec.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  aura::spec::LoadOptions options;
  options.max_file_bytes = 1 << 20;
  const aura::spec::LoadResult r = aura::spec::LoadString(text, "fuzz.yaml", options);

  // Valid specs carry no errors and are defaulted.
  for (const aura::spec::InstanceSpec& s : r.specs) {
    Check(r.invalid_keys.count(s.key()) == 0);
    Check(!s.tenant_id.empty() && !s.memory.empty() && !s.aura_name.empty());
    Check(s.aura_name.size() <= 4 * 30);
    Check(s.type == "free-db" ? s.storage.empty() : !s.storage.empty());
  }
  // Every diagnostic is complete and printable.
  for (const aura::spec::Diagnostic& d : r.errors) {
    Check(!d.message.empty());
    Check(d.location.file == "fuzz.yaml");
    Check(d.location.line >= 0 && d.location.column >= 0);
    Check(!d.Format().empty());
  }
  Check(r.ok() || !r.specs.empty() || !r.invalid_keys.empty() || !r.complete ||
        r.errors.size() > 0);
  Check(r.documents >= r.skipped + r.empty);

  // The online check must cope with whatever the loader accepted.
  const std::map<std::string, std::vector<aura::spec::Combination>> offered = {
      {"5f1c0a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
       {{"gcp", "europe-west1", "professional-db", "4GB", "8GB", "5"},
        {"gcp", "europe-west1", "free-db", "1GB", "", "5"}}}};
  for (const aura::spec::Diagnostic& d : aura::spec::CheckConfigurations(r.specs, offered)) {
    Check(!d.key.empty() && !d.field.empty());
  }
  return 0;
}
