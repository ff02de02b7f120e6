// AuraInstance specs: the desired state users write (DESIGN.md "Spec format").
//
// Load() reads files and folders of YAML, applies defaults and validates everything, reporting
// every problem with file, line, column, field path, what was found and what is allowed. Specs
// with errors are never acted on; valid specs in the same run still are.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace aura::spec {

enum class DeletionPolicy { kRetain, kDelete };
enum class Adoption { kIfExists, kNever };

// 1-based line and column; 0 when unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

// One validated, defaulted AuraInstance.
struct InstanceSpec {
  // metadata
  std::string name;                    // DNS-1123 label
  std::string namespace_name = "default";
  std::map<std::string, std::string> labels;
  // spec
  std::string aura_name;               // default: metadata.name; 1..30 chars
  std::string tenant_id;               // alias projectId
  std::string cloud_provider;          // gcp | aws | azure
  std::string region;
  std::string type;                    // enterprise-db, enterprise-ds, business-critical, ...
  std::string version = "5";           // "4" | "5"
  std::string memory;                  // "4GB"
  std::string storage;                 // default 2 x memory ("" for free-db)
  bool vector_optimized = false;
  bool graph_analytics_plugin = false;
  std::optional<std::string> cdc_enrichment_mode;  // OFF | DIFF | FULL
  bool paused = false;
  DeletionPolicy deletion_policy = DeletionPolicy::kRetain;
  Adoption adoption = Adoption::kIfExists;
  bool suspend = false;

  SourceLocation location;             // where the document starts

  // namespace/name: the journal and work-queue key.
  std::string key() const { return namespace_name + "/" + name; }
};

// One problem found while loading. Format(): "file:line:col: field: message".
struct Diagnostic {
  SourceLocation location;
  std::string field;    // "spec.memory", or "" for file-level problems
  std::string message;  // what was found and what is allowed
  std::string key;      // the spec key when known
  std::string Format() const;
};

struct LoadOptions {
  std::size_t max_file_bytes = 4 * 1024 * 1024;  // larger files are an error
  int max_depth = 32;                             // YAML nesting limit
  std::size_t max_documents = 100000;
};

struct LoadResult {
  std::vector<InstanceSpec> specs;      // valid specs, in file order
  std::vector<Diagnostic> errors;       // every problem found
  std::set<std::string> invalid_keys;   // keys of documents that had errors
  // False when some document could not be read far enough to know its key (syntax error,
  // unreadable file). The reconciler then deletes and forgets nothing in that pass: a spec
  // missing because its file is broken is not a spec removed from git.
  bool complete = true;
  int files = 0;
  int documents = 0;
  int skipped = 0;                      // documents of other kinds
  bool ok() const { return errors.empty(); }
};

// Loads files and folders (recursively *.yaml, *.yml), following the `..data` symlinks of
// Kubernetes ConfigMap mounts and reading each real file once.
LoadResult Load(const std::vector<std::string>& paths, const LoadOptions& options = {});

// Parses YAML text as if it were the file `name` (for tests and the fuzzer).
LoadResult LoadString(const std::string& text, const std::string& name = "<string>",
                      const LoadOptions& options = {});

std::string_view DeletionPolicyName(DeletionPolicy p);
std::string_view AdoptionName(Adoption a);

}  // namespace aura::spec
