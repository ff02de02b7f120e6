// Load(), LoadString() and SpecLoader: files and folders -> parsed documents (DecodeDocument),
// kept per file with the file's stat signature; the rules that span documents (one key, one
// (tenant, Aura name), one connection Secret, the references between specs) kept in indexes and
// checked again only where a change touches them; then a LoadResult, or a LoadDelta from the
// last load. Load() is a SpecLoader used once.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "pkg/spec/decode.h"
#include "pkg/spec/field_reader.h"
#include "pkg/spec/prescan.h"
#include "pkg/spec/spec.h"
#include "pkg/spec/text.h"
#include "pkg/spec/yaml_tree.h"

namespace aura::spec {
namespace {

namespace fs = std::filesystem;
using detail::DecodedDocument;
using detail::Position;
using Kind = DecodedDocument::Kind;

constexpr int kMaxDepthCeiling = 200;  // keeps the pre-scan guard (2x) below yaml-cpp's own

std::string Where(const SourceLocation& l) {
  return l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
}

bool HasYamlExtension(const std::string& name) {
  auto ends_with = [&name](std::string_view suffix) {
    if (name.size() < suffix.size()) return false;
    for (std::size_t i = 0; i < suffix.size(); ++i) {
      char c = name[name.size() - suffix.size() + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != suffix[i]) return false;
    }
    return true;
  };
  return ends_with(".yaml") || ends_with(".yml");
}

// Tenant ids are UUIDs: "ABC..." and "abc..." name one tenant.
std::string LowerTenant(std::string tenant) {
  for (char& c : tenant) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return tenant;
}

// What identifies a file's content without reading it. A ConfigMap update swaps the `..data`
// symlink to a new folder (new inodes); an edit in place changes the times and usually the size.
struct Signature {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  long long modified_ns = 0;
  long long changed_ns = 0;
  bool operator==(const Signature&) const = default;
};

Signature SignatureOf(const struct stat& st) {
  constexpr long long kNs = 1'000'000'000LL;
  return Signature{st.st_dev, st.st_ino, st.st_size,
                   static_cast<long long>(st.st_mtim.tv_sec) * kNs + st.st_mtim.tv_nsec,
                   static_cast<long long>(st.st_ctim.tv_sec) * kNs + st.st_ctim.tv_nsec};
}

// "cmk/<namespace>/<name>": the key of an AuraCustomerManagedKey. An instance's key has one '/'
// (an instance may live in a namespace named "cmk").
bool IsKeySpecKey(std::string_view key) {
  return key.rfind("cmk/", 0) == 0 && std::count(key.begin(), key.end(), '/') == 2;
}

// The rules that span documents, in the order Load() has always reported them.
enum class Rule {
  kDuplicateKey,
  kDuplicateClaim,
  kDuplicateSecret,
  kSourceReference,
  kKeyReference
};

struct File;

// One document of our kinds, or an unreadable part, as the cache keeps it.
struct Doc {
  Kind kind = Kind::kUnknown;
  std::optional<std::string> key;      // namespace/name ("cmk/..." for keys), when readable
  LineColumn key_at;                   // metadata.name
  std::shared_ptr<InstanceSpec> spec;  // kInstance (valid or not)
  std::shared_ptr<CustomerManagedKeySpec> key_spec;  // kKey (valid or not)
  bool has_claim = false;                            // the (tenant, Aura name) pair was read
  LineColumn claim_at;
  std::vector<Diagnostic> errors;  // the document's own problems; `key` not yet filled in
  std::unique_ptr<Diagnostic> suppressed_note;     // "found N more problems ..."
  std::vector<std::pair<Rule, Diagnostic>> cross;  // from the rules spanning documents
  File* file = nullptr;
  std::size_t index = 0;  // in file->docs

  bool Valid() const { return kind != Kind::kUnknown && errors.empty() && cross.empty(); }
  const std::string& Tenant() const {
    return kind == Kind::kKey ? key_spec->tenant_id : spec->tenant_id.str();
  }
  const std::string& AuraName() const {
    return kind == Kind::kKey ? key_spec->aura_name : spec->aura_name;
  }
  void Clear(Rule r) {
    std::erase_if(cross, [r](const auto& e) { return e.first == r; });
  }
  void Add(Rule r, Diagnostic d) { cross.emplace_back(r, std::move(d)); }
};

// One file as last read (or one problem of the walk, in a File of its own that is never cached).
struct File {
  std::string path;       // as the walk reached it: the name in every message
  std::string canonical;  // the cache key; "" when not cached
  std::optional<Signature> signature;
  std::vector<Doc> docs;  // our kinds and unreadable parts, in order
  int documents = 0;      // YAML documents, all kinds, empty ones included
  int skipped = 0;
  int empty = 0;
  bool cut = false;      // max_documents was reached in this file
  std::size_t rank = 0;  // position in the last load's walk

  SourceLocation At(LineColumn lc) const { return SourceLocation{path, lc.line, lc.column}; }
};

SourceLocation KeyLocation(const Doc& d) { return d.file->At(d.key_at); }
SourceLocation ClaimLocation(const Doc& d) { return d.file->At(d.claim_at); }

bool Before(const Doc* a, const Doc* b) {
  return std::pair(a->file->rank, a->index) < std::pair(b->file->rank, b->index);
}

Doc ToDoc(DecodedDocument&& d) {
  Doc out;
  out.kind = d.kind;
  out.key = std::move(d.key);
  out.key_at = LineColumn{d.key_location.line, d.key_location.column};
  out.has_claim = d.has_claim;
  out.claim_at = LineColumn{d.claim_location.line, d.claim_location.column};
  out.errors = std::move(d.errors);
  if (d.suppressed > 0) {
    out.suppressed_note = std::make_unique<Diagnostic>(
        Diagnostic{d.spec.location, "",
                   "found " + std::to_string(d.suppressed) +
                       " more problems in this document; allowed: only the first " +
                       std::to_string(detail::kMaxErrorsPerDocument) + " are listed",
                   ""});
  }
  // Copied, not moved: the copy's strings are allocated now, together, rather than where the
  // decoder made them, among the YAML tree's (freed) nodes, whose pages they would pin.
  if (out.kind == Kind::kInstance) out.spec = std::make_shared<InstanceSpec>(d.spec);
  if (out.kind == Kind::kKey) out.key_spec = std::make_shared<CustomerManagedKeySpec>(d.key_spec);
  return out;
}

// Documents by an id (a key, a claim, a Secret, a reference's target), filed under the id's
// hash: 32 bytes a document, where a map from id strings to vectors of documents cost 110-180
// (~30 MiB at 100,000 specs). Lookups compare the ids themselves (`id_of`), so a collision costs
// a comparison, never a wrong group.
class DocIndex {
 public:
  using Group = std::vector<Doc*>;
  explicit DocIndex(std::string (*id_of)(const Doc&)) : id_of_(id_of) {}

  void Add(const std::string& id, Doc* d) { docs_.emplace(Hash(id), d); }
  void Remove(const std::string& id, Doc* d) {
    auto [first, last] = docs_.equal_range(Hash(id));
    for (auto it = first; it != last; ++it) {
      if (it->second == d) {
        docs_.erase(it);
        return;
      }
    }
  }
  // The documents whose id is `id`, in no particular order.
  Group Of(const std::string& id) const {
    Group out;
    auto [first, last] = docs_.equal_range(Hash(id));
    for (auto it = first; it != last; ++it) {
      if (id_of_(*it->second) == id) out.push_back(it->second);
    }
    return out;
  }
  bool Contains(const std::string& id) const {
    auto [first, last] = docs_.equal_range(Hash(id));
    return std::any_of(first, last, [&](const auto& e) { return id_of_(*e.second) == id; });
  }
  template <typename F>
  void ForEach(F f) const {
    for (const auto& [_, d] : docs_) f(d);
  }

 private:
  static std::size_t Hash(std::string_view id) { return std::hash<std::string_view>{}(id); }
  std::string (*id_of_)(const Doc&);
  std::unordered_multimap<std::size_t, Doc*> docs_;
};

std::string KeyId(const Doc& d) { return *d.key; }
// Instances and keys are named apart in Aura: the kind is part of the claim.
std::string ClaimId(const Doc& d) {
  return std::to_string(static_cast<int>(d.kind)) + '\n' + LowerTenant(d.Tenant()) + '\n' +
         d.AuraName();
}
std::string SecretId(const Doc& d) {
  return d.spec->namespace_name + '\n' + d.spec->connection_secret;
}
std::string SourceId(const Doc& d) { return d.spec->source->instance_key; }
std::string KeyRefId(const Doc& d) { return d.spec->customer_managed_key_ref; }

}  // namespace

struct SpecLoader::State {
  using Group = DocIndex::Group;

  explicit State(const LoadOptions& o) : options(o) {
    options.max_depth = std::clamp(o.max_depth, 1, kMaxDepthCeiling);
  }

  std::vector<std::string> paths;
  LoadOptions options;
  std::chrono::nanoseconds racy_window{0};
  std::optional<std::pair<std::string, std::string>> text;  // LoadString: (text, name)
  bool publish = true;  // keep the published specs for deltas (false: Load(), used once)

  // Files read before, by canonical path; and the files of the last load, in walk order.
  std::unordered_map<std::string, std::unique_ptr<File>> cache;
  std::vector<std::unique_ptr<File>> uncached;  // the last load's walk problems and texts
  std::vector<File*> order;
  int files_read = 0;

  // The indexes of the rules spanning documents, over the docs of `order`.
  DocIndex by_key{&KeyId};          // key -> docs (kinds known)
  DocIndex by_claim{&ClaimId};      // kind, tenant (lower case), Aura name -> docs
  DocIndex by_secret{&SecretId};    // namespace, Secret name -> instance docs
  DocIndex source_refs{&SourceId};  // spec.source.instance -> instance docs naming it
  DocIndex key_refs{&KeyRefId};     // spec.customerManagedKeyRef (namespace/name) -> instance docs
  int unknown_docs = 0;
  int keyless_instances = 0;
  int keyless_keys = 0;
  bool loaded = false;
  bool source_checkable = false;
  bool key_refs_checkable = false;

  // The valid specs as the last delta left them, by key (keys: by "cmk/..." key).
  std::unordered_map<std::string, std::shared_ptr<InstanceSpec>> published_specs;
  std::unordered_map<std::string, std::shared_ptr<CustomerManagedKeySpec>> published_keys;

  // One load's walk.
  std::set<std::string> seen_files;  // canonical paths
  std::set<std::string> seen_dirs;
  std::vector<std::unique_ptr<File>> fresh;  // read by this load
  int documents_total = 0;
  bool stopped = false;                   // max_documents reached
  std::vector<DecodedDocument> decoded_;  // the file being parsed
  int parsed = 0;

  // One load's changes.
  std::unordered_set<std::string> dirty_keys, dirty_claims, dirty_secrets;
  std::vector<Doc*> added;
  std::set<std::string> affected;  // keys whose published spec may change

  // ---- the walk ----

  File* NewFile(const std::string& path) {
    fresh.push_back(std::make_unique<File>());
    fresh.back()->path = path;
    order.push_back(fresh.back().get());
    return fresh.back().get();
  }

  void FileError(const std::string& path, Position pos, std::string message) {
    AddError(NewFile(path), path, pos, std::move(message));
  }

  static void AddError(File* f, const std::string& path, Position pos, std::string message) {
    Doc d;
    d.errors.push_back(
        Diagnostic{SourceLocation{path, pos.line, pos.column}, "", std::move(message), ""});
    f->docs.push_back(std::move(d));
  }

  void AddPath(const std::string& path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      FileError(path, Position{}, "cannot read: " + (ec ? ec.message() : "no such file"));
      return;
    }
    if (fs::is_directory(st)) {
      Walk(path, 0);
    } else {
      ReadFile(path);
    }
  }

  void Walk(const std::string& dir, int depth) {
    std::error_code ec;
    const std::string canonical = fs::canonical(dir, ec).string();
    if (ec) {
      FileError(dir, Position{}, "cannot read folder: " + ec.message());
      return;
    }
    if (!seen_dirs.insert(canonical).second) return;
    if (depth > options.max_directory_depth) {
      const std::string n = std::to_string(options.max_directory_depth);
      FileError(dir, Position{},
                "found folders nested deeper than " + n + " levels; allowed: at most " + n +
                    " (max_directory_depth)");
      return;
    }
    std::vector<std::string> names;
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) names.push_back(it->path().filename().string());
    if (ec) {
      FileError(dir, Position{}, "cannot read folder: " + ec.message());
      return;
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (name.empty() || name[0] == '.') continue;  // hidden, ..data, ..<timestamp>
      const std::string path = (fs::path(dir) / name).string();
      const fs::file_status st = fs::status(path, ec);  // follows symlinks
      if (ec || !fs::exists(st)) {
        if (HasYamlExtension(name)) {
          FileError(path, Position{},
                    "cannot read: " + (ec ? ec.message() : std::string("no such file")) +
                        " (a dangling symlink?)");
        }
        continue;
      }
      if (fs::is_directory(st)) {
        Walk(path, depth + 1);
      } else if (HasYamlExtension(name)) {
        ReadFile(path);
      }
    }
  }

  // The cached reading of `canonical`, when its file is unchanged and fits the budget.
  File* Unchanged(const std::string& path, const std::string& canonical) {
    if (stopped) return nullptr;
    auto it = cache.find(canonical);
    if (it == cache.end()) return nullptr;
    File* f = it->second.get();
    struct stat st {};
    if (f->cut || f->path != path || !f->signature || ::stat(path.c_str(), &st) != 0 ||
        !S_ISREG(st.st_mode) || SignatureOf(st) != *f->signature ||
        static_cast<std::size_t>(documents_total + f->documents) > options.max_documents) {
      return nullptr;
    }
    return f;
  }

  void ReadFile(const std::string& path) {
    std::error_code ec;
    const std::string canonical = fs::canonical(path, ec).string();
    if (ec) {
      FileError(path, Position{}, "cannot read: " + ec.message());
      return;
    }
    if (!seen_files.insert(canonical).second) return;
    ++files_read;
    if (File* f = Unchanged(path, canonical)) {
      order.push_back(f);
      documents_total += f->documents;
      return;
    }
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    const long long read_ns = static_cast<long long>(now.tv_sec) * 1'000'000'000LL + now.tv_nsec;
    // O_NONBLOCK: a FIFO named *.yaml must not hang the loader; it is refused below.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
      FileError(path, Position{}, std::string("cannot read: ") + std::strerror(errno));
      return;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      FileError(path, Position{}, "found a special file; allowed: regular files");
      return;
    }
    std::string content;
    const std::size_t cap = options.max_file_bytes + 1;
    content.resize(std::min<std::size_t>(cap, static_cast<std::size_t>(st.st_size) + 1));
    std::size_t size = 0;
    while (true) {
      if (size == content.size()) {
        if (content.size() >= cap) break;
        content.resize(std::min(cap, content.size() * 2 + 4096));
      }
      const ssize_t n = ::read(fd, content.data() + size, content.size() - size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        FileError(path, Position{}, std::string("cannot read: ") + std::strerror(err));
        return;
      }
      if (n == 0) break;
      size += static_cast<std::size_t>(n);
    }
    ::close(fd);
    content.resize(size);  // at most max_file_bytes + 1: AddText reports a larger file
    File* f = NewFile(path);
    if (!stopped) {  // what a file past the document limit holds is not known: not cached
      f->canonical = canonical;
      // A file changed within the timestamps' granularity of this read may change again with
      // the same signature (git's "racily clean" files): read again until it is older.
      const Signature sig = SignatureOf(st);
      if (std::max(sig.modified_ns, sig.changed_ns) < read_ns - racy_window.count()) {
        f->signature = sig;
      }
    }
    AddText(content, path, f);
  }

  // `content` is the content of file `name`; its documents go to `f`.
  void AddText(std::string_view content, const std::string& name, File* f) {
    if (stopped) return;
    ++parsed;
    if (content.size() > options.max_file_bytes) {
      const std::string n = std::to_string(options.max_file_bytes);
      AddError(f, name, detail::LineIndex(content).At(options.max_file_bytes),
               "found a file larger than " + n + " bytes; allowed: at most " + n +
                   " bytes (max_file_bytes)");
      return;
    }
    if (content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);  // UTF-8 BOM
    const detail::LineIndex lines(content);
    if (auto problem = detail::CheckEncoding(content)) {
      AddError(f, name, lines.At(problem->offset), problem->message);
      return;
    }
    if (auto problem = detail::CheckStructure(content, options.max_depth)) {
      AddError(f, name, lines.At(problem->offset), problem->message);
      return;
    }
    const detail::ParseLimits limits{options.max_depth, options.max_nodes};
    std::optional<Position> over_limit;
    auto error = detail::ParseYaml(content, lines, limits, [&](detail::YamlDocument& doc) {
      if (static_cast<std::size_t>(documents_total) >= options.max_documents) {
        over_limit = doc.start;
        return false;
      }
      ++documents_total;
      ++f->documents;
      DecodedDocument decoded = detail::DecodeDocument(doc, name);
      if (decoded.kind == Kind::kEmpty) {
        ++f->empty;
      } else if (decoded.kind == Kind::kOtherKind) {
        ++f->skipped;
      } else {
        decoded_.push_back(std::move(decoded));
      }
      return true;
    });
    // Kept once the file's parse is over (its tree freed), so that what stays is allocated
    // together (docs/BENCHMARKS.md, 100,000 specs).
    f->docs.reserve(decoded_.size());
    for (DecodedDocument& d : decoded_) f->docs.push_back(ToDoc(std::move(d)));
    decoded_.clear();
    decoded_.shrink_to_fit();
    if (over_limit) {
      const std::string n = std::to_string(options.max_documents);
      AddError(f, name, *over_limit,
               "found more than " + n + " documents; allowed: at most " + n +
                   " documents in one load (max_documents)");
      stopped = true;
      f->cut = true;
    } else if (error) {
      AddError(f, name, error->pos, error->message);
    }
  }

  // ---- the indexes ----

  // Adds (`add`) or removes `d` from every index, marking what its presence changes.
  void Enter(Doc* d, bool add) {
    const int step = add ? 1 : -1;
    if (d->kind == Kind::kUnknown) unknown_docs += step;
    if (d->kind == Kind::kInstance && !d->key) keyless_instances += step;
    if (d->kind == Kind::kKey && !d->key) keyless_keys += step;
    Touched(d);
    auto put = [&](DocIndex& index, const std::string& id, std::unordered_set<std::string>* dirty) {
      if (add) {
        index.Add(id, d);
      } else {
        index.Remove(id, d);
      }
      if (dirty != nullptr) dirty->insert(id);
    };
    if (d->kind == Kind::kUnknown || !d->key) return;
    put(by_key, *d->key, &dirty_keys);
    if (d->has_claim) put(by_claim, ClaimId(*d), &dirty_claims);
    if (d->kind != Kind::kInstance) return;
    const InstanceSpec& s = *d->spec;
    if (!s.connection_secret.empty()) {
      put(by_secret, SecretId(*d), &dirty_secrets);
    }
    if (s.source && !s.source->instance_key.empty()) {
      put(source_refs, s.source->instance_key, nullptr);
    }
    if (!s.customer_managed_key_ref.empty()) put(key_refs, s.customer_managed_key_ref, nullptr);
  }

  // Key references are read from documents with or without a key.
  void EnterKeyless(Doc* d, bool add) {
    if (d->kind != Kind::kInstance || d->key || d->spec->customer_managed_key_ref.empty()) return;
    if (add) {
      key_refs.Add(d->spec->customer_managed_key_ref, d);
    } else {
      key_refs.Remove(d->spec->customer_managed_key_ref, d);
    }
  }

  static Group Sorted(const Group& g) {
    Group out = g;
    std::sort(out.begin(), out.end(), Before);
    return out;
  }

  void Touched(const Doc* d) {
    if (publish && d->key) affected.insert(*d->key);
  }

  void CheckDuplicateKey(const std::string& key) {
    const Group group = Sorted(by_key.Of(key));
    for (Doc* d : group) {
      d->Clear(Rule::kDuplicateKey);
      Touched(d);
      if (group.size() < 2) continue;
      std::vector<std::string> others;
      for (const Doc* o : group) {
        if (o != d) others.push_back(Where(KeyLocation(*o)));
      }
      d->Add(Rule::kDuplicateKey,
             Diagnostic{KeyLocation(*d), "metadata.name",
                        "found key " + detail::Quote(key) + " again (also at " +
                            detail::Join(others) + "); allowed: one document per namespace/name",
                        ""});
    }
  }

  void CheckDuplicateClaim(const std::string& id) {
    const Group group = Sorted(by_claim.Of(id));
    for (Doc* d : group) {
      d->Clear(Rule::kDuplicateClaim);
      Touched(d);
      std::vector<std::string> others;
      for (const Doc* o : group) {
        if (*o->key != *d->key) others.push_back(*o->key + " at " + Where(ClaimLocation(*o)));
      }
      if (others.empty()) continue;  // same key twice: reported as a duplicate key
      d->Add(Rule::kDuplicateClaim,
             Diagnostic{ClaimLocation(*d), "spec.name",
                        "found Aura name " + detail::Quote(d->AuraName()) + " in tenant " +
                            detail::Quote(d->Tenant()) + " claimed again (also by " +
                            detail::Join(others) + "); allowed: one spec per (tenant, Aura name)",
                        ""});
    }
  }

  static SourceLocation FieldLocation(const Doc& d, std::string_view field) {
    auto it = d.spec->field_locations.find(field);
    if (it == d.spec->field_locations.end()) return KeyLocation(d);
    return d.file->At(it->second);
  }

  // Two specs of one namespace writing one connection Secret would overwrite each other.
  void CheckDuplicateSecret(const std::string& id) {
    const Group group = Sorted(by_secret.Of(id));
    for (Doc* d : group) {
      d->Clear(Rule::kDuplicateSecret);
      Touched(d);
      std::vector<std::string> others;
      for (const Doc* o : group) {
        if (*o->key != *d->key) {
          others.push_back(*o->key + " at " +
                           Where(FieldLocation(*o, "spec.connectionSecret.name")));
        }
      }
      if (others.empty()) continue;  // same key twice: reported as a duplicate key
      const InstanceSpec& s = *d->spec;
      const bool defaulted = !s.field_locations.contains("spec.connectionSecret.name");
      d->Add(
          Rule::kDuplicateSecret,
          Diagnostic{FieldLocation(*d, "spec.connectionSecret.name"), "spec.connectionSecret.name",
                     "found Secret name " + detail::Quote(s.connection_secret) +
                         (defaulted ? " (the default, from metadata.name)" : "") +
                         " in namespace " + detail::Quote(s.namespace_name) +
                         " claimed again (also by " + detail::Join(others) +
                         "); allowed: one spec per connection Secret (set "
                         "spec.connectionSecret.name)",
                     ""});
    }
  }

  // spec.source.instance names a spec loaded in the same run. Not checked when some document's
  // key could not be read: the source may be the broken one.
  void CheckSourceReference(Doc* d) {
    d->Clear(Rule::kSourceReference);
    Touched(d);
    if (!source_checkable) return;
    const std::string& target = d->spec->source->instance_key;
    if (by_key.Contains(target)) return;
    d->Add(Rule::kSourceReference,
           Diagnostic{FieldLocation(*d, "spec.source.instance"), "spec.source.instance",
                      "found " + detail::Quote(target) +
                          ", which no spec loaded with this one has as its key; allowed: the "
                          "[NAMESPACE/]NAME of another spec in the same files (or "
                          "spec.source.instanceId)",
                      ""});
  }

  // spec.customerManagedKeyRef names an AuraCustomerManagedKey loaded in the same run, whose
  // tenant, cloud provider, region and instance type are the instance's (a key encrypts only
  // instances of its type in its region). Not checked when some document's key could not be
  // read: the key spec may be the broken one; the match is not checked against a key spec with
  // errors (those are reported there). Of two key documents with one key, the last counts.
  void CheckKeyReference(Doc* d) {
    d->Clear(Rule::kKeyReference);
    Touched(d);
    if (!key_refs_checkable) return;
    const InstanceSpec& spec = *d->spec;
    const SourceLocation at = FieldLocation(*d, "spec.customerManagedKeyRef");
    const std::string& ref = spec.customer_managed_key_ref;
    const std::string name = ref.substr(ref.find('/') + 1);
    const Group found = by_key.Of("cmk/" + ref);
    if (found.empty()) {
      d->Add(Rule::kKeyReference,
             Diagnostic{at, "spec.customerManagedKeyRef",
                        "found " + detail::Quote(name) +
                            ", which no AuraCustomerManagedKey loaded with this "
                            "spec has as its metadata.name in namespace " +
                            detail::Quote(spec.namespace_name) +
                            "; allowed: the name of a key spec in the same files and namespace "
                            "(or spec.customerManagedKeyId)",
                        ""});
      return;
    }
    const Doc* last = *std::max_element(found.begin(), found.end(), Before);
    if (!last->errors.empty() || !last->cross.empty()) return;
    const CustomerManagedKeySpec& key = *last->key_spec;
    std::string mismatch;
    if (LowerTenant(key.tenant_id) != LowerTenant(spec.tenant_id)) {
      mismatch =
          "tenant " + detail::Quote(key.tenant_id) + ", not " + detail::Quote(spec.tenant_id);
    } else if (key.cloud_provider != spec.cloud_provider) {
      mismatch = "cloudProvider " + key.cloud_provider + ", not " + spec.cloud_provider;
    } else if (key.region != spec.region) {
      mismatch = "region " + key.region + ", not " + spec.region;
    } else if (key.instance_type != spec.type) {
      mismatch = "instanceType " + key.instance_type + ", not " + spec.type;
    }
    if (mismatch.empty()) return;
    d->Add(Rule::kKeyReference,
           Diagnostic{at, "spec.customerManagedKeyRef",
                      "found " + detail::Quote(name) + ", a key with " + mismatch +
                          "; allowed: a key spec of this spec's tenant, cloudProvider, region "
                          "and type (instanceType)",
                      ""});
  }

  // ---- one load ----

  void Walk() {
    seen_files.clear();
    seen_dirs.clear();
    fresh.clear();
    order.clear();
    files_read = 0;
    documents_total = 0;
    stopped = false;
    parsed = 0;
    if (text) {
      File* f = NewFile(text->second);
      AddText(text->first, text->second, f);
      return;
    }
    for (const std::string& path : paths) AddPath(path);
  }

  // Brings the indexes and every document's cross-document problems up to date with `order`,
  // given the files of the load before.
  void Update(const std::vector<File*>& before) {
    dirty_keys.clear();
    dirty_claims.clear();
    dirty_secrets.clear();
    added.clear();
    affected.clear();
    for (std::size_t i = 0; i < order.size(); ++i) order[i]->rank = i;
    const std::unordered_set<File*> now(order.begin(), order.end());
    std::vector<std::string> gone;  // cache entries no longer read
    for (File* f : before) {
      if (now.contains(f)) continue;
      for (Doc& d : f->docs) {
        Enter(&d, false);
        EnterKeyless(&d, false);
      }
      if (!f->canonical.empty()) gone.push_back(f->canonical);
    }
    for (const std::string& c : gone) cache.erase(c);
    uncached.clear();  // walk problems and texts: always read again
    for (auto& f : fresh) {
      f->docs.shrink_to_fit();  // before any pointer to a document is kept; ~5% of the cache
      for (std::size_t i = 0; i < f->docs.size(); ++i) {
        Doc& d = f->docs[i];
        d.file = f.get();
        d.index = i;
        Enter(&d, true);
        EnterKeyless(&d, true);
        added.push_back(&d);
      }
      if (f->canonical.empty()) {
        uncached.push_back(std::move(f));
      } else {
        const std::string c = f->canonical;
        cache[c] = std::move(f);
      }
    }
    fresh.clear();

    for (const std::string& k : dirty_keys) CheckDuplicateKey(k);
    for (const std::string& c : dirty_claims) CheckDuplicateClaim(c);
    for (const std::string& s : dirty_secrets) CheckDuplicateSecret(s);

    const bool source_now = unknown_docs == 0 && keyless_instances == 0;
    const bool key_refs_now = source_now && keyless_keys == 0;
    const bool recheck_sources = !loaded || source_now != source_checkable;
    const bool recheck_key_refs = !loaded || key_refs_now != key_refs_checkable;
    source_checkable = source_now;
    key_refs_checkable = key_refs_now;

    std::set<Doc*> sources, key_users;
    auto collect = [](const DocIndex& index, const std::string& id, std::set<Doc*>* out) {
      for (Doc* d : index.Of(id)) out->insert(d);
    };
    if (recheck_sources) {
      source_refs.ForEach([&sources](Doc* d) { sources.insert(d); });
    } else {
      for (const std::string& k : dirty_keys) collect(source_refs, k, &sources);
    }
    if (recheck_key_refs) {
      key_refs.ForEach([&key_users](Doc* d) { key_users.insert(d); });
    } else {
      // A key document's validity moves with its key group and its claim group.
      std::set<std::string> refs;
      for (const std::string& k : dirty_keys) {
        if (IsKeySpecKey(k)) refs.insert(k.substr(4));
      }
      for (const std::string& c : dirty_claims) {
        for (const Doc* d : by_claim.Of(c)) {
          if (d->kind == Kind::kKey) refs.insert(d->key_spec->key());
        }
      }
      for (const std::string& r : refs) collect(key_refs, r, &key_users);
    }
    for (Doc* d : added) {
      if (d->kind != Kind::kInstance) continue;
      if (d->key && d->spec->source && !d->spec->source->instance_key.empty()) sources.insert(d);
      if (!d->spec->customer_managed_key_ref.empty()) key_users.insert(d);
    }
    for (Doc* d : sources) CheckSourceReference(d);
    for (Doc* d : key_users) CheckKeyReference(d);
    loaded = true;
    // Freed, not only cleared: after the first load they name every key, claim and Secret
    // (~28 MiB at 100,000 specs, kept until the next reload before).
    std::unordered_set<std::string>().swap(dirty_keys);
    std::unordered_set<std::string>().swap(dirty_claims);
    std::unordered_set<std::string>().swap(dirty_secrets);
    std::vector<Doc*>().swap(added);
  }

  // The valid document of `key`, if any (two documents of one key are both invalid).
  Doc* ValidDoc(const std::string& key) const {
    for (Doc* d : by_key.Of(key)) {
      if (d->Valid()) return d;
    }
    return nullptr;
  }

  // Publishes the valid spec of `key` (`now`, or none) in `published`, reporting a change in
  // `changed`/`removed`. A spec read again with the same content keeps the published object
  // (the document takes it): an edit of one document reports that document alone.
  template <typename T>
  static void Publish(const std::string& key, std::shared_ptr<T>* now,
                      std::unordered_map<std::string, std::shared_ptr<T>>* published,
                      std::vector<std::shared_ptr<const T>>* changed,
                      std::vector<std::string>* removed) {
    auto it = published->find(key);
    if (it == published->end()) {
      if (*now) {
        published->emplace(key, *now);
        changed->push_back(*now);
      }
      return;
    }
    if (*now && (*now == it->second || **now == *it->second)) {
      *now = it->second;
      return;
    }
    if (*now) {
      it->second = *now;
      changed->push_back(*now);
    } else {
      removed->push_back(it->second->key());
      published->erase(it);
    }
  }

  LoadDelta Delta() {
    LoadDelta delta;
    delta.full = published_specs.empty() && published_keys.empty();
    std::shared_ptr<InstanceSpec> no_spec;
    std::shared_ptr<CustomerManagedKeySpec> no_key;
    for (const std::string& key : affected) {
      Doc* d = ValidDoc(key);
      if (IsKeySpecKey(key)) {
        Publish(key, d != nullptr ? &d->key_spec : &no_key, &published_keys, &delta.changed_keys,
                &delta.removed_keys);
      } else {
        Publish(key, d != nullptr ? &d->spec : &no_spec, &published_specs, &delta.changed_specs,
                &delta.removed_specs);
      }
    }
    Summarize(&delta);
    delta.parsed_files = parsed;
    affected = {};  // freed: at the first load it names every key
    return delta;
  }

  // Every problem, in file and document order; and what LoadResult says beside the specs.
  template <typename Out>
  void Summarize(Out* out) const {
    for (const File* f : order) {
      out->documents += f->documents;
      out->skipped += f->skipped;
      out->empty += f->empty;
      for (const Doc& d : f->docs) {
        if (d.kind == Kind::kUnknown) out->complete = false;
        if (d.Valid()) continue;
        std::vector<Diagnostic> errors = d.errors;
        std::vector<std::pair<Rule, Diagnostic>> cross = d.cross;
        std::stable_sort(cross.begin(), cross.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        for (auto& [_, e] : cross) errors.push_back(std::move(e));
        std::stable_sort(errors.begin(), errors.end(),
                         [](const Diagnostic& a, const Diagnostic& b) {
                           return std::pair(a.location.line, a.location.column) <
                                  std::pair(b.location.line, b.location.column);
                         });
        if (d.suppressed_note) errors.push_back(*d.suppressed_note);
        for (Diagnostic& e : errors) {
          e.key = d.key.value_or("");
          out->errors.push_back(std::move(e));
        }
        if (d.kind == Kind::kUnknown) continue;
        if (d.key) {
          out->invalid_keys.insert(*d.key);
        } else {
          out->complete = false;
        }
      }
    }
    out->files = files_read;
  }

  // Load(): the specs moved out of the cache, which is not used again.
  LoadResult Result() {
    LoadResult r;
    Summarize(&r);
    std::size_t valid = 0;
    for (const File* f : order) {
      for (const Doc& d : f->docs) valid += d.Valid() && d.kind == Kind::kInstance;
    }
    r.specs.reserve(valid);
    for (File* f : order) {
      for (Doc& d : f->docs) {
        if (!d.Valid()) continue;
        if (d.kind == Kind::kKey) {
          r.keys.push_back(std::move(*d.key_spec));
        } else {
          r.specs.push_back(std::move(*d.spec));
        }
        d.spec.reset();
        d.key_spec.reset();
      }
    }
    return r;
  }
};

SpecLoader::SpecLoader(std::vector<std::string> paths, LoadOptions options,
                       std::chrono::nanoseconds racy_window)
    : state_(std::make_unique<State>(options)) {
  state_->paths = std::move(paths);
  state_->racy_window = racy_window;
}

SpecLoader::~SpecLoader() = default;

LoadDelta SpecLoader::Reload() {
  const std::vector<File*> before = state_->order;
  state_->Walk();
  state_->Update(before);
  return state_->Delta();
}

LoadDelta FullDelta(LoadResult r) {
  LoadDelta d;
  d.full = true;
  d.changed_specs.reserve(r.specs.size());
  for (auto& s : r.specs) d.changed_specs.push_back(std::make_shared<InstanceSpec>(std::move(s)));
  for (auto& k : r.keys) {
    d.changed_keys.push_back(std::make_shared<CustomerManagedKeySpec>(std::move(k)));
  }
  d.errors = std::move(r.errors);
  d.invalid_keys = std::move(r.invalid_keys);
  d.complete = r.complete;
  d.files = r.files;
  d.documents = r.documents;
  d.skipped = r.skipped;
  d.empty = r.empty;
  d.parsed_files = r.files;
  return d;
}

std::string Diagnostic::Format() const {
  std::string out = location.file;
  if (location.line > 0) {
    out += ":" + std::to_string(location.line) + ":" + std::to_string(location.column);
  }
  out += ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

namespace {

LoadResult LoadOnce(SpecLoader::State* s) {
  s->publish = false;
  s->Walk();
  s->Update({});
  return s->Result();
}

}  // namespace

LoadResult Load(const std::vector<std::string>& paths, const LoadOptions& options) {
  SpecLoader::State s(options);
  s.paths = paths;
  return LoadOnce(&s);
}

LoadResult LoadString(const std::string& text, const std::string& name,
                      const LoadOptions& options) {
  SpecLoader::State s(options);
  s.text = std::pair(text, name);
  return LoadOnce(&s);
}

std::string_view DeletionPolicyName(DeletionPolicy p) {
  return p == DeletionPolicy::kDelete ? "Delete" : "Retain";
}

std::string_view AdoptionName(Adoption a) { return a == Adoption::kNever ? "Never" : "IfExists"; }
std::string_view RecreateName(Recreate r) { return r == Recreate::kNever ? "Never" : "IfMissing"; }

std::optional<int> Gigabytes(std::string_view size) {
  if (size.size() < 3 || size.size() > 8 || size.substr(size.size() - 2) != "GB") {
    return std::nullopt;
  }
  const std::string_view digits = size.substr(0, size.size() - 2);
  if (digits[0] < '1' || digits[0] > '9') return std::nullopt;
  int n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace aura::spec
