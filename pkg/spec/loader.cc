// Load() and LoadString(): files and folders -> parsed documents -> DecodeDocument, then the
// rules that span documents (one key, one (tenant, Aura name)), then the LoadResult.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>
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

// Decoded documents in load order, in chunks of kChunk documents: each chunk is one
// allocation (mmap'd at this size), so freeing it returns whole pages. A std::deque of these
// ~1.4 KiB documents made one heap allocation per document; freed, those left ~160 MiB of pages
// pinned by the specs' own strings at 100,000 specs (docs/BENCHMARKS.md).
class DocumentList {
 public:
  static constexpr std::size_t kChunk = 1024;
  using Chunks = std::vector<std::vector<DecodedDocument>>;

  class iterator {
   public:
    iterator(Chunks* chunks, std::size_t chunk) : chunks_(chunks), chunk_(chunk) {}
    DecodedDocument& operator*() const { return (*chunks_)[chunk_][index_]; }
    iterator& operator++() {
      if (++index_ == (*chunks_)[chunk_].size()) {
        ++chunk_;
        index_ = 0;
      }
      return *this;
    }
    bool operator!=(const iterator& o) const { return chunk_ != o.chunk_ || index_ != o.index_; }

   private:
    Chunks* chunks_;
    std::size_t chunk_;
    std::size_t index_ = 0;
  };

  void push_back(DecodedDocument d) {
    if (chunks_.empty() || chunks_.back().size() == kChunk) {
      chunks_.emplace_back().reserve(kChunk);
    }
    chunks_.back().push_back(std::move(d));
    ++size_;
  }
  std::size_t size() const { return size_; }
  iterator begin() { return iterator(&chunks_, 0); }
  iterator end() { return iterator(&chunks_, chunks_.size()); }
  // Calls `f` on each document in order, freeing each chunk once its documents are done.
  template <typename F>
  void Drain(F f) {
    for (auto& chunk : chunks_) {
      for (DecodedDocument& d : chunk) f(d);
      std::vector<DecodedDocument>().swap(chunk);
    }
    chunks_.clear();
    size_ = 0;
  }

 private:
  Chunks chunks_;
  std::size_t size_ = 0;
};

class Loader {
 public:
  explicit Loader(const LoadOptions& options) : options_(options) {
    options_.max_depth = std::clamp(options_.max_depth, 1, kMaxDepthCeiling);
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

  // `text` is the content of file `name`.
  void AddText(std::string_view text, const std::string& name) {
    if (stopped_) return;
    if (text.size() > options_.max_file_bytes) {
      const std::string n = std::to_string(options_.max_file_bytes);
      FileError(name, detail::LineIndex(text).At(options_.max_file_bytes),
                "found a file larger than " + n + " bytes; allowed: at most " + n +
                    " bytes (max_file_bytes)");
      return;
    }
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
    const detail::LineIndex lines(text);
    if (auto problem = detail::CheckEncoding(text)) {
      FileError(name, lines.At(problem->offset), problem->message);
      return;
    }
    if (auto problem = detail::CheckStructure(text, options_.max_depth)) {
      FileError(name, lines.At(problem->offset), problem->message);
      return;
    }
    const detail::ParseLimits limits{options_.max_depth, options_.max_nodes};
    std::optional<Position> over_limit;
    auto error = detail::ParseYaml(text, lines, limits, [&](detail::YamlDocument& doc) {
      if (static_cast<std::size_t>(result_.documents) >= options_.max_documents) {
        over_limit = doc.start;
        return false;
      }
      ++result_.documents;
      DecodedDocument decoded = detail::DecodeDocument(doc, name);
      if (decoded.kind == DecodedDocument::Kind::kEmpty) {
        ++result_.empty;
      } else if (decoded.kind == DecodedDocument::Kind::kOtherKind) {
        ++result_.skipped;
      } else {
        docs_.push_back(std::move(decoded));
      }
      return true;
    });
    if (over_limit) {
      const std::string n = std::to_string(options_.max_documents);
      FileError(name, *over_limit,
                "found more than " + n + " documents; allowed: at most " + n +
                    " documents in one load (max_documents)");
      stopped_ = true;
    } else if (error) {
      FileError(name, error->pos, error->message);
    }
  }

  LoadResult Finish() {
    CheckDuplicateKeys();
    CheckDuplicateClaims();
    CheckDuplicateSecrets();
    CheckSourceReferences();
    CheckKeyReferences();
    result_.specs.reserve(docs_.size());
    // Each chunk of documents is freed as its specs move out: the specs are never held twice.
    docs_.Drain([this](DecodedDocument& d) {
      std::stable_sort(d.errors.begin(), d.errors.end(),
                       [](const Diagnostic& a, const Diagnostic& b) {
                         return std::pair(a.location.line, a.location.column) <
                                std::pair(b.location.line, b.location.column);
                       });
      if (d.suppressed > 0) {
        d.errors.push_back(
            Diagnostic{d.spec.location, "",
                       "found " + std::to_string(d.suppressed) +
                           " more problems in this document; allowed: only the first " +
                           std::to_string(detail::kMaxErrorsPerDocument) + " are listed",
                       ""});
      }
      for (Diagnostic& e : d.errors) {
        e.key = d.key.value_or("");
        result_.errors.push_back(std::move(e));
      }
      if (d.kind == DecodedDocument::Kind::kUnknown) {
        result_.complete = false;
      } else if (d.errors.empty() && d.kind == DecodedDocument::Kind::kKey) {
        result_.keys.push_back(std::move(d.key_spec));
      } else if (d.errors.empty()) {
        result_.specs.push_back(std::move(d.spec));
      } else if (d.key) {
        result_.invalid_keys.insert(*d.key);
      } else {
        result_.complete = false;
      }
    });
    return std::move(result_);
  }

 private:
  void FileError(const std::string& file, Position pos, std::string message) {
    DecodedDocument d;
    d.kind = DecodedDocument::Kind::kUnknown;
    d.errors.push_back(
        Diagnostic{SourceLocation{file, pos.line, pos.column}, "", std::move(message), ""});
    docs_.push_back(std::move(d));
  }

  void Walk(const std::string& dir, int depth) {
    std::error_code ec;
    const std::string canonical = fs::canonical(dir, ec).string();
    if (ec) {
      FileError(dir, Position{}, "cannot read folder: " + ec.message());
      return;
    }
    if (!seen_dirs_.insert(canonical).second) return;
    if (depth > options_.max_directory_depth) {
      const std::string n = std::to_string(options_.max_directory_depth);
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

  void ReadFile(const std::string& path) {
    std::error_code ec;
    const std::string canonical = fs::canonical(path, ec).string();
    if (ec) {
      FileError(path, Position{}, "cannot read: " + ec.message());
      return;
    }
    if (!seen_files_.insert(canonical).second) return;
    ++result_.files;
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
    std::string text;
    const std::size_t cap = options_.max_file_bytes + 1;
    text.resize(std::min<std::size_t>(cap, static_cast<std::size_t>(st.st_size) + 1));
    std::size_t size = 0;
    while (true) {
      if (size == text.size()) {
        if (text.size() >= cap) break;
        text.resize(std::min(cap, text.size() * 2 + 4096));
      }
      const ssize_t n = ::read(fd, text.data() + size, text.size() - size);
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
    text.resize(size);  // at most max_file_bytes + 1: AddText reports a larger file
    AddText(text, path);
  }

  void CheckDuplicateKeys() {
    std::map<std::string, std::vector<DecodedDocument*>> by_key;
    for (DecodedDocument& d : docs_) {
      if (d.kind != DecodedDocument::Kind::kUnknown && d.key) by_key[*d.key].push_back(&d);
    }
    for (auto& [key, group] : by_key) {
      if (group.size() < 2) continue;
      for (DecodedDocument* d : group) {
        std::vector<std::string> others;
        for (const DecodedDocument* o : group) {
          if (o != d) others.push_back(Where(o->key_location));
        }
        d->errors.push_back(Diagnostic{d->key_location, "metadata.name",
                                       "found key " + detail::Quote(key) + " again (also at " +
                                           detail::Join(others) +
                                           "); allowed: one document per namespace/name",
                                       ""});
      }
    }
  }

  void CheckDuplicateClaims() {
    // Instances and keys are named apart in Aura: the kind is part of the claim.
    std::map<std::tuple<int, std::string, std::string>, std::vector<DecodedDocument*>> by_claim;
    for (DecodedDocument& d : docs_) {
      if (d.kind != DecodedDocument::Kind::kUnknown && d.key && d.has_claim) {
        by_claim[{static_cast<int>(d.kind), LowerTenant(d.spec.tenant_id), d.spec.aura_name}]
            .push_back(&d);
      }
    }
    for (auto& [claim, group] : by_claim) {
      for (DecodedDocument* d : group) {
        std::vector<std::string> others;
        for (const DecodedDocument* o : group) {
          if (*o->key != *d->key) others.push_back(*o->key + " at " + Where(o->claim_location));
        }
        if (others.empty()) continue;  // same key twice: reported by CheckDuplicateKeys
        d->errors.push_back(Diagnostic{d->claim_location, d->claim_field,
                                       "found Aura name " + detail::Quote(std::get<2>(claim)) +
                                           " in tenant " + detail::Quote(d->spec.tenant_id) +
                                           " claimed again (also by " + detail::Join(others) +
                                           "); allowed: one spec per (tenant, Aura name)",
                                       ""});
      }
    }
  }

  // Two specs of one namespace writing one connection Secret would overwrite each other.
  void CheckDuplicateSecrets() {
    std::map<std::pair<std::string, std::string>, std::vector<DecodedDocument*>> by_secret;
    for (DecodedDocument& d : docs_) {
      if (d.kind == DecodedDocument::Kind::kInstance && d.key &&
          !d.spec.connection_secret.empty()) {
        by_secret[{d.spec.namespace_name, d.spec.connection_secret}].push_back(&d);
      }
    }
    auto where = [](const DecodedDocument* d) {
      auto it = d->spec.field_locations.find("spec.connectionSecret.name");
      if (it == d->spec.field_locations.end()) return d->key_location;
      return SourceLocation{d->key_location.file, it->second.line, it->second.column};
    };
    for (auto& [secret, group] : by_secret) {
      for (DecodedDocument* d : group) {
        std::vector<std::string> others;
        for (const DecodedDocument* o : group) {
          if (*o->key != *d->key) others.push_back(*o->key + " at " + Where(where(o)));
        }
        if (others.empty()) continue;  // same key twice: reported by CheckDuplicateKeys
        const bool defaulted = !d->spec.field_locations.contains("spec.connectionSecret.name");
        d->errors.push_back(Diagnostic{
            where(d), "spec.connectionSecret.name",
            "found Secret name " + detail::Quote(secret.second) +
                (defaulted ? " (the default, from metadata.name)" : "") + " in namespace " +
                detail::Quote(secret.first) + " claimed again (also by " + detail::Join(others) +
                "); allowed: one spec per connection Secret (set spec.connectionSecret.name)",
            ""});
      }
    }
  }

  // spec.source.instance names a spec loaded in the same run. Not checked when some document's
  // key could not be read: the source may be the broken one.
  void CheckSourceReferences() {
    std::set<std::string> keys;
    for (const DecodedDocument& d : docs_) {
      const bool instance = d.kind == DecodedDocument::Kind::kInstance;
      if (d.kind == DecodedDocument::Kind::kUnknown || (instance && !d.key)) return;
      if (instance) keys.insert(*d.key);
    }
    for (DecodedDocument& d : docs_) {
      if (d.kind != DecodedDocument::Kind::kInstance || !d.key || !d.spec.source ||
          d.spec.source->instance_key.empty() || keys.contains(d.spec.source->instance_key)) {
        continue;
      }
      auto it = d.spec.field_locations.find("spec.source.instance");
      const SourceLocation at =
          it == d.spec.field_locations.end()
              ? d.key_location
              : SourceLocation{d.key_location.file, it->second.line, it->second.column};
      d.errors.push_back(Diagnostic{
          at, "spec.source.instance",
          "found " + detail::Quote(d.spec.source->instance_key) +
              ", which no spec loaded with this one has as its key; allowed: the "
              "[NAMESPACE/]NAME of another spec in the same files (or spec.source.instanceId)",
          ""});
    }
  }

  // Tenant ids are UUIDs: "ABC..." and "abc..." name one tenant.
  static std::string LowerTenant(std::string tenant) {
    for (char& c : tenant) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return tenant;
  }

  // spec.customerManagedKeyRef names an AuraCustomerManagedKey loaded in the same run, whose
  // tenant, cloud provider, region and instance type are the instance's (a key encrypts only
  // instances of its type in its region). Not checked when some document's key could not be
  // read: the key spec may be the broken one; the match is not checked against a key spec with
  // errors (those are reported there).
  void CheckKeyReferences() {
    std::map<std::string, const DecodedDocument*> keys;  // namespace/name -> key document
    for (const DecodedDocument& d : docs_) {
      if (d.kind == DecodedDocument::Kind::kUnknown || !d.key) return;
      if (d.kind == DecodedDocument::Kind::kKey) keys[d.key_spec.key()] = &d;
    }
    for (DecodedDocument& d : docs_) {
      const InstanceSpec& spec = d.spec;
      if (d.kind != DecodedDocument::Kind::kInstance || spec.customer_managed_key_ref.empty()) {
        continue;
      }
      auto it = spec.field_locations.find("spec.customerManagedKeyRef");
      const SourceLocation at =
          it == spec.field_locations.end()
              ? d.key_location
              : SourceLocation{d.key_location.file, it->second.line, it->second.column};
      const std::string ref = spec.customer_managed_key_ref;
      const std::string name = ref.substr(ref.find('/') + 1);
      const auto found = keys.find(ref);
      if (found == keys.end()) {
        d.errors.push_back(
            Diagnostic{at, "spec.customerManagedKeyRef",
                       "found " + detail::Quote(name) +
                           ", which no AuraCustomerManagedKey loaded with this "
                           "spec has as its metadata.name in namespace " +
                           detail::Quote(spec.namespace_name) +
                           "; allowed: the name of a key spec in the same files and namespace (or "
                           "spec.customerManagedKeyId)",
                       ""});
        continue;
      }
      if (!found->second->errors.empty()) continue;
      const CustomerManagedKeySpec& key = found->second->key_spec;
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
      if (mismatch.empty()) continue;
      d.errors.push_back(Diagnostic{
          at, "spec.customerManagedKeyRef",
          "found " + detail::Quote(name) + ", a key with " + mismatch +
              "; allowed: a key spec of this spec's tenant, cloudProvider, region and type "
              "(instanceType)",
          ""});
    }
  }

  LoadOptions options_;
  LoadResult result_;
  // AuraInstances and unreadable parts, in load order. Chunked: no reallocation (a vector of
  // 10,000 held up to 16,384), and Finish() frees it chunk by chunk.
  DocumentList docs_;
  std::set<std::string> seen_files_;  // canonical paths
  std::set<std::string> seen_dirs_;
  bool stopped_ = false;  // max_documents reached
};

}  // namespace

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

LoadResult Load(const std::vector<std::string>& paths, const LoadOptions& options) {
  Loader loader(options);
  for (const std::string& path : paths) loader.AddPath(path);
  return loader.Finish();
}

LoadResult LoadString(const std::string& text, const std::string& name,
                      const LoadOptions& options) {
  Loader loader(options);
  loader.AddText(text, name);
  return loader.Finish();
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
