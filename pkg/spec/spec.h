// AuraInstance specs: the desired state users write (DESIGN.md "Spec format", docs/SPECS.md).
//
// Load() reads files and folders of YAML, applies defaults and validates everything, reporting
// every problem with file, line, column, field path, what was found and what is allowed. Specs
// with errors are never acted on; valid specs in the same run still are. Nothing here knows HTTP:
// CheckConfigurations() checks specs against tenant configurations the caller fetched.
//
// Hostile input (syntax errors, tabs, alias bombs, deep nesting, huge or binary files, invalid
// UTF-8, wrong types) yields Diagnostics, never a crash, a hang or an exception; the limits are
// in LoadOptions and every limit error states the limit.
//
// Thread-safety: the functions are reentrant; results are plain values.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pkg/base/atom.h"

namespace aura::spec {

enum class DeletionPolicy { kRetain, kDelete };
enum class Adoption { kIfExists, kNever };
// What to do when the instance of a spec disappears (deleted outside the controller, or by Aura
// itself: Free instances are deleted after 30 days paused).
enum class Recreate { kIfMissing, kNever };

// 1-based line and column (columns count characters); 0 when unknown.
struct SourceLocation {
  base::Atom file;  // interned (base::Atom): every spec of a file names it
  int line = 0;
  int column = 0;
  bool operator==(const SourceLocation&) const = default;
};

// A SourceLocation in a file known from elsewhere.
struct LineColumn {
  int line = 0;
  int column = 0;
  bool operator==(const LineColumn&) const = default;
};

// Where each field the user wrote has its value, by field path ("spec.memory"). A small vector
// in write order of 8-byte entries: an interned path's number (the schema's paths, a bounded
// set), the line and the column (columns past 65,535 read as 65,535). A std::map<std::string,
// LineColumn> cost ~1.9 KiB per spec, most of a loaded spec's memory at 100,000 specs; pairs of
// a path view and a LineColumn 24 bytes a field (docs/BENCHMARKS.md). The map-like reads (find,
// count, contains, at) keep the callers' code; iterators give (path, LineColumn) pairs by value.
class FieldLocations {
  struct Entry {
    std::uint16_t path = 0;
    std::uint16_t column = 0;
    std::uint32_t line = 0;
    bool operator==(const Entry&) const = default;
  };

 public:
  using value_type = std::pair<std::string_view, LineColumn>;

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = FieldLocations::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;
    struct Arrow {
      value_type value;
      const value_type* operator->() const { return &value; }
    };

    const_iterator() = default;
    value_type operator*() const;
    Arrow operator->() const { return Arrow{**this}; }
    const_iterator& operator++() {
      ++at_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++at_;
      return before;
    }
    bool operator==(const const_iterator&) const = default;

   private:
    friend class FieldLocations;
    explicit const_iterator(const Entry* at) : at_(at) {}
    const Entry* at_ = nullptr;
  };

  const_iterator begin() const { return const_iterator(entries_.data()); }
  const_iterator end() const { return const_iterator(entries_.data() + entries_.size()); }
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const_iterator find(std::string_view path) const;
  std::size_t count(std::string_view path) const { return find(path) == end() ? 0 : 1; }
  bool contains(std::string_view path) const { return find(path) != end(); }
  // Throws std::out_of_range when `path` is absent, like std::map::at.
  LineColumn at(std::string_view path) const;
  // Records (or moves) the location of `path`.
  void Set(std::string_view path, LineColumn at);
  bool operator==(const FieldLocations&) const = default;

 private:
  std::vector<Entry> entries_;
};

// spec.source: the instance (and optionally its snapshot) a new instance is cloned from. Used
// only at create (source_instance_id / source_snapshot_id of POST /instances); exactly one of
// instance_key and instance_id is set.
struct SourceSpec {
  std::string instance_key;  // spec.source.instance: another spec, "namespace/name"
  std::string instance_id;   // spec.source.instanceId: an Aura instance id
  std::string snapshot_id;   // spec.source.snapshotId; "" = the source's current data
  bool operator==(const SourceSpec&) const = default;
};

// One validated, defaulted AuraInstance.
struct InstanceSpec {
  // metadata
  std::string name;  // DNS-1123 label
  // Values of small variety are interned (base::Atom: 8 bytes, one copy per process; at
  // 100,000 specs a std::string each cost ~35 MiB).
  base::Atom namespace_name = "default";
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // spec
  std::string aura_name;      // default: metadata.name; 1..30 chars
  base::Atom tenant_id;       // alias projectId
  base::Atom cloud_provider;  // gcp | aws | azure
  base::Atom region;
  base::Atom type;           // enterprise-db, enterprise-ds, business-critical, ...
  base::Atom version = "5";  // "4" | "5"
  base::Atom memory;         // "4GB"
  base::Atom storage;        // default 2 x memory ("" for free-db)
  bool vector_optimized = false;
  bool graph_analytics_plugin = false;
  std::optional<std::string> cdc_enrichment_mode;  // OFF | DIFF | FULL
  bool paused = false;
  DeletionPolicy deletion_policy = DeletionPolicy::kRetain;
  Adoption adoption = Adoption::kIfExists;
  Recreate recreate = Recreate::kIfMissing;
  bool suspend = false;
  // spec.connectionSecret.name: the Secret (in namespace_name) that --connection-secrets
  // writes. Defaulted to "<metadata.name>-aura"; a DNS-1123 subdomain.
  std::string connection_secret;
  std::optional<SourceSpec> source;  // spec.source: clone at create
  // spec.secondariesCount: 0..15, enterprise-db only; set by PATCH once the instance runs.
  std::optional<int> secondaries_count;
  // spec.customerManagedKeyId: used at create only (Aura cannot change it); "" = none.
  // enterprise-db and enterprise-ds only.
  std::string customer_managed_key_id;
  // spec.customerManagedKeyRef: an AuraCustomerManagedKey spec of the same namespace, as its
  // key ("namespace/name"); "" = none. Exclusive with customer_managed_key_id; the loader checks
  // the key spec was loaded and matches (tenant, cloud, region, instance type). Resolved to the
  // key's Aura id when the instance is created.
  std::string customer_managed_key_ref;

  SourceLocation location;  // where the document starts
  // Where each field the user wrote has its value in location.file, by field path
  // ("spec.memory", "metadata.name", "spec.tenantId" also for projectId). Fields that were
  // defaulted are absent: `field_locations.count("spec.storage") == 0` means storage is
  // 2 x memory by default. (Line and column only: a copy of the file name per field cost
  // ~1 KiB per spec.)
  FieldLocations field_locations;

  // namespace/name: the journal and work-queue key.
  std::string key() const { return namespace_name + "/" + name; }
  bool operator==(const InstanceSpec&) const = default;
};

// One validated, defaulted AuraCustomerManagedKey: a customer-managed encryption key registered
// with Aura (POST /customer-managed-keys). Aura cannot change a key: every field is used at
// create only. Its journal and work-queue key is "cmk/<namespace>/<name>" (journal_key()), apart
// from instances.
struct CustomerManagedKeySpec {
  std::string name;  // metadata.name, DNS-1123 label
  std::string namespace_name = "default";
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string aura_name;       // spec.name, default metadata.name; 1..30 chars
  std::string tenant_id;       // alias projectId
  std::string cloud_provider;  // gcp | aws | azure
  std::string region;
  std::string key_id;         // spec.keyId: the key's id or ARN in the cloud KMS
  std::string instance_type;  // enterprise-db | enterprise-ds
  DeletionPolicy deletion_policy = DeletionPolicy::kRetain;
  SourceLocation location;
  FieldLocations field_locations;

  // namespace/name, what customerManagedKeyRef resolves against.
  std::string key() const { return namespace_name + "/" + name; }
  std::string journal_key() const { return "cmk/" + key(); }
  bool operator==(const CustomerManagedKeySpec&) const = default;
};

// One problem found while loading. Format(): "file:line:col: field: message"; the line and
// column are left out when unknown (0), the field when empty (file-level problems).
struct Diagnostic {
  SourceLocation location;
  std::string field;    // "spec.memory", or "" for file-level problems
  std::string message;  // what was found and what is allowed: `found "3GB"; allowed: 1GB, ...`
  std::string key;      // the spec key when known
  std::string Format() const;
};

struct LoadOptions {
  std::size_t max_file_bytes = 4 * 1024 * 1024;  // larger files are an error
  int max_depth = 64;                            // YAML nesting limit (clamped to 1..200)
  std::size_t max_documents = 100000;            // per Load, all files together
  std::size_t max_nodes = 250000;                // YAML nodes per document (~120 bytes each)
  int max_directory_depth = 32;                  // folder recursion limit
};

struct LoadResult {
  std::vector<InstanceSpec> specs;           // valid specs, in file order
  std::vector<CustomerManagedKeySpec> keys;  // valid AuraCustomerManagedKeys, in file order
  std::vector<Diagnostic> errors;            // every problem found, in file and line order
  // Keys of documents that had errors; "cmk/<namespace>/<name>" for AuraCustomerManagedKeys.
  std::set<std::string> invalid_keys;
  // False when some document could not be read far enough to know its key (syntax error,
  // unreadable file, bad metadata, a limit hit). The reconciler then deletes and forgets
  // nothing in that pass: a spec missing because its file is broken is not a spec removed from
  // git.
  bool complete = true;
  int files = 0;      // files read (each real file once)
  int documents = 0;  // YAML documents, all kinds, empty ones included
  int skipped = 0;    // documents of other kinds
  int empty = 0;      // empty documents (skipped too, counted apart)
  bool ok() const { return errors.empty(); }
  // Documents of our kinds with errors, or not readable as an object at all.
  int invalid() const {
    return documents - skipped - empty - static_cast<int>(specs.size() + keys.size());
  }
};

// Loads files and folders (recursively *.yaml, *.yml), following the `..data` symlinks of
// Kubernetes ConfigMap mounts and reading each real file once. A path named explicitly is read
// whatever its extension. In folders, entries whose name starts with '.' are skipped (hidden
// files, `.git`, and the kubelet's `..data` / `..<timestamp>` entries, whose files are reached
// through the visible symlinks); symlinks to files and folders are followed, each canonical file
// and folder visited once. Entries are visited in byte order of their names.
[[nodiscard]] LoadResult Load(const std::vector<std::string>& paths,
                              const LoadOptions& options = {});

// What changed in the desired state between two loads of the same paths (SpecLoader::Reload).
// The specs are shared with the loader's cache, never copied: a reload of one changed file among
// 100,000 specs costs the walk, the parse of that file and the rules spanning documents for the
// documents it touches (docs/BENCHMARKS.md).
struct LoadDelta {
  // Replace everything: `changed_specs` and `changed_keys` hold every valid spec (the first
  // load, or a source without a cache).
  bool full = false;
  std::vector<std::shared_ptr<const InstanceSpec>> changed_specs;  // new, or different
  std::vector<std::string> removed_specs;  // keys of specs no longer valid or gone
  std::vector<std::shared_ptr<const CustomerManagedKeySpec>> changed_keys;
  std::vector<std::string> removed_keys;  // key() of key specs no longer valid or gone
  // As in LoadResult, for the whole desired state (not only what changed).
  std::vector<Diagnostic> errors;
  std::set<std::string> invalid_keys;
  bool complete = true;
  int files = 0;
  int documents = 0;
  int skipped = 0;
  int empty = 0;
  int parsed_files = 0;  // files read and parsed by this load (the others were unchanged)
};

// Loads the same paths again and again, reading and parsing only the files whose signature
// (device, inode, size, modification and status-change times) changed since the last load; the
// rules that span documents are kept in indexes and checked again only for the documents a
// change touches. Reload() returns what Load(paths) would, as a change from the last Reload().
//
// A file whose modification or status-change time is within `racy_window` of the moment it was
// read is read again at the next load, until it is older: timestamps are coarse (a kernel tick),
// and an edit in place within one tick that keeps the size would keep the signature too.
//
// Thread-safety: not thread-safe; one caller at a time.
class SpecLoader {
 public:
  explicit SpecLoader(std::vector<std::string> paths, LoadOptions options = {},
                      std::chrono::nanoseconds racy_window = std::chrono::seconds(2));
  ~SpecLoader();
  SpecLoader(const SpecLoader&) = delete;
  SpecLoader& operator=(const SpecLoader&) = delete;

  [[nodiscard]] LoadDelta Reload();

  struct State;

 private:
  std::unique_ptr<State> state_;
};

// A LoadResult as a full LoadDelta (its specs moved into shared ones).
[[nodiscard]] LoadDelta FullDelta(LoadResult r);

// Parses YAML text as if it were the file `name` (for tests and the fuzzer).
[[nodiscard]] LoadResult LoadString(const std::string& text, const std::string& name = "<string>",
                                    const LoadOptions& options = {});

std::string_view DeletionPolicyName(DeletionPolicy p);
std::string_view AdoptionName(Adoption a);
std::string_view RecreateName(Recreate r);

// "4GB" -> 4; nothing unless the text is a positive whole number of GB ("NGB", N < 10^6).
std::optional<int> Gigabytes(std::string_view size);

// One (cloud provider, region, type, memory, storage, version) combination a tenant offers: an
// entry of `instance_configurations` from GET /v1/tenants/{id}, converted by the caller.
struct Combination {
  std::string cloud_provider;
  std::string region;
  std::string type;
  std::string memory;
  std::string storage;  // may be empty (free-db)
  std::string version;
};

// The online check used by plan and apply: one Diagnostic (with key set) for each spec whose
// combination its tenant does not offer, naming the first field that fails, in the order
// cloudProvider, region, type, version, memory, storage, and listing the values the tenant
// offers for the fields before it, nearest first. Storage is compared only when both the spec
// and an offered combination have one. Specs whose tenant is absent from `offered` are not
// checked (the caller could not fetch it); a tenant mapped to an empty list offers nothing.
[[nodiscard]] std::vector<Diagnostic> CheckConfigurations(
    const std::vector<InstanceSpec>& specs,
    const std::map<std::string, std::vector<Combination>>& offered);
// The same over specs held elsewhere (the controller's, shared with the loader).
[[nodiscard]] std::vector<Diagnostic> CheckConfigurations(
    const std::vector<const InstanceSpec*>& specs,
    const std::map<std::string, std::vector<Combination>>& offered);

}  // namespace aura::spec
