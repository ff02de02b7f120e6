#include "pkg/store/file_credential_store.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "pkg/store/codec.h"

namespace aura::store {

using base::Status;
using base::StatusOr;

namespace {

constexpr std::string_view kSuffix = ".json";
// Not a DNS-1123 label (the underscore): no namespace folder can have this name.
constexpr std::string_view kById = "by_id";
constexpr size_t kMaxPartLength = 253;

bool IsSafePart(std::string_view s) {
  if (s.empty() || s.size() > kMaxPartLength) return false;
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s.front())) return false;  // also rules out "." and ".."
  for (char c : s) {
    if (!alnum(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

// The file name a temp file stands for, if `name` is one.
std::optional<std::string> TempTarget(const std::string& name) {
  const size_t marker = name.rfind(".tmp.");
  if (name.empty() || name[0] != '.' || marker == std::string::npos || marker < 2) {
    return std::nullopt;
  }
  std::string target = name.substr(1, marker - 1);
  if (!IsTempFileOf(name, target)) return std::nullopt;
  return target;
}

}  // namespace

StatusOr<std::pair<std::string, std::string>> FileCredentialStore::SplitKey(
    const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos || !IsSafePart(key.substr(0, slash)) ||
      !IsSafePart(key.substr(slash + 1))) {
    return base::InvalidArgumentError(
        "credentials key \"" + key +
        "\" is not \"namespace/name\" made of letters, digits, '-', '.' and '_'");
  }
  return std::make_pair(key.substr(0, slash), key.substr(slash + 1));
}

StatusOr<std::string> FileCredentialStore::PathFor(const std::string& key) const {
  AURA_ASSIGN_OR_RETURN(auto parts, SplitKey(key));
  return dir_ + "/" + parts.first + "/" + parts.second + std::string(kSuffix);
}

const base::Logger& FileCredentialStore::log() const {
  return options_.logger != nullptr ? *options_.logger : base::DefaultLogger();
}

StatusOr<std::unique_ptr<FileCredentialStore>> FileCredentialStore::Open(
    const std::string& dir, FileCredentialStoreOptions options) {
  if (dir.empty()) return base::InvalidArgumentError("the credentials folder is empty");
  if (options.fs == nullptr) options.fs = &FileSystem::Default();
  if (options.clock == nullptr) options.clock = &base::RealClock();
  std::string root = dir.size() > 1 && dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir;
  Status s = options.fs->CreateDirs(root, 0700);
  if (!s.ok()) return s.WithContext("creating the credentials folder " + root);
  std::unique_ptr<FileCredentialStore> store(new FileCredentialStore(root, options));
  StatusOr<std::vector<std::string>> namespaces = options.fs->ListDir(root);
  if (!namespaces.ok()) return namespaces.status().WithContext("reading the credentials folder");
  for (const std::string& ns : *namespaces) {
    if (IsSafePart(ns)) store->Recover(ns);
  }
  for (const std::string& ns : *namespaces) {
    if (IsSafePart(ns) && ns != kById) store->Migrate(ns);
  }
  return store;
}

void FileCredentialStore::Recover(const std::string& ns) {
  FileSystem& fs = *options_.fs;
  const std::string ns_dir = dir_ + "/" + ns;
  StatusOr<std::vector<std::string>> names = fs.ListDir(ns_dir);
  if (!names.ok()) return;  // not a folder, or unreadable: Load reports problems per key

  // Per target file: the newest complete temp file, and every temp file.
  struct Candidates {
    std::optional<std::pair<base::SystemTime, std::string>> newest;
    std::vector<std::string> all;
  };
  std::map<std::string, Candidates> by_target;
  for (const std::string& name : *names) {
    std::optional<std::string> target = TempTarget(name);
    if (!target || target->size() <= kSuffix.size() ||
        target->compare(target->size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
      continue;
    }
    Candidates& c = by_target[*target];
    c.all.push_back(name);
    const std::string stem = target->substr(0, target->size() - kSuffix.size());
    StatusOr<std::string> bytes = fs.ReadFile(ns_dir + "/" + name);
    if (!bytes.ok()) continue;
    StatusOr<detail::DecodedCredentials> d = detail::DecodeCredentials(*bytes);
    // A key file holds its key; a by-id file its instance.
    if (!d.ok() || (ns == kById ? d->credentials.instance_id != stem : d->key != ns + "/" + stem)) {
      continue;
    }
    base::RegisterSecret(d->credentials.password);
    if (!c.newest || d->saved_at >= c.newest->first) c.newest.emplace(d->saved_at, name);
  }

  for (auto& [target, c] : by_target) {
    const std::string final_path = ns_dir + "/" + target;
    std::optional<std::string> promote;
    if (c.newest) {
      promote = c.newest->second;
      StatusOr<std::string> current = fs.ReadFile(final_path);
      if (current.ok()) {
        StatusOr<detail::DecodedCredentials> d = detail::DecodeCredentials(*current);
        if (d.ok() && d->saved_at > c.newest->first) promote.reset();
      }
    }
    if (promote) {
      Status s = fs.Rename(ns_dir + "/" + *promote, final_path);
      if (s.ok()) s = fs.SyncDir(ns_dir);
      if (s.ok()) {
        log().Warn("recovered credentials from a save interrupted by a crash",
                   {{"path", final_path}});
      } else {
        log().Error("cannot recover credentials from a save interrupted by a crash",
                    base::StatusFields(s));
      }
    }
    for (const std::string& name : c.all) {
      if (promote && name == *promote) continue;
      Status s = fs.RemoveFile(ns_dir + "/" + name);
      if (!s.ok()) {
        log().Warn("cannot remove the temp file of an interrupted credentials save",
                   base::StatusFields(s));
      }
    }
  }
}

void FileCredentialStore::RemoveTemps(const std::string& ns_dir, const std::string& file_name) {
  StatusOr<std::vector<std::string>> names = options_.fs->ListDir(ns_dir);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    if (IsTempFileOf(name, file_name)) (void)options_.fs->RemoveFile(ns_dir + "/" + name);
  }
}

Status FileCredentialStore::WriteRecord(const std::string& dir, const std::string& file_name,
                                        const std::string& key, const Credentials& c) {
  const std::string path = dir + "/" + file_name;
  Status s = options_.fs->CreateDirs(dir, 0700);
  if (!s.ok()) return s;
  // A temp file still here is from a Save that died before this one: older, and superseded.
  RemoveTemps(dir, file_name);
  StatusOr<std::string> bytes = detail::EncodeCredentials(key, c, options_.clock->SystemNow());
  if (!bytes.ok()) return bytes.status();
  return WriteFileAtomic(*options_.fs, path, *bytes, 0600);
}

Status FileCredentialStore::Save(const std::string& key, const Credentials& c) {
  AURA_ASSIGN_OR_RETURN(auto parts, SplitKey(key));
  base::RegisterSecret(c.password);
  const std::string ns_dir = dir_ + "/" + parts.first;
  const std::string file_name = parts.second + std::string(kSuffix);
  const std::string context = "saving the credentials of " + key;
  if (!c.instance_id.empty() && !IsSafePart(c.instance_id)) {
    return base::InvalidArgumentError(context + ": instance id is not a safe file name");
  }

  std::lock_guard<std::mutex> g(save_mu_);
  Status kept;
  if (!c.instance_id.empty()) {
    // 1. The instance's own record: never replaced by another password.
    const std::string by_id = dir_ + "/" + std::string(kById);
    const std::string id_file = c.instance_id + std::string(kSuffix);
    StatusOr<detail::DecodedCredentials> existing =
        ReadRecord(by_id + "/" + id_file, "the record of " + c.instance_id);
    if (existing.ok() && existing->credentials.password != c.password) {
      kept = base::AlreadyExistsError("instance " + c.instance_id +
                                      " already has a saved record with another password; kept it");
      log().Error("refused to replace the saved record of an instance with another password",
                  {{"key", key}, {"instance_id", c.instance_id}});
    } else if (!existing.ok()) {
      Status s = WriteRecord(by_id, id_file, key, c);
      if (!s.ok()) return s.WithContext(context + " to " + by_id + "/" + id_file);
    }
  }
  // 2. The key's current record.
  Status s = WriteRecord(ns_dir, file_name, key, c);
  if (!s.ok()) return s.WithContext(context + " to " + ns_dir + "/" + file_name);
  return kept;
}

base::StatusOr<detail::DecodedCredentials> FileCredentialStore::ReadRecord(
    const std::string& path, const std::string& what) const {
  StatusOr<std::string> bytes = options_.fs->ReadFile(path);
  if (!bytes.ok()) {
    if (bytes.status().code() == base::StatusCode::kNotFound) {
      return base::NotFoundError("no credentials saved for " + what + " (no file " + path + ")");
    }
    return bytes.status().WithContext("reading the credentials of " + what);
  }
  StatusOr<detail::DecodedCredentials> d = detail::DecodeCredentials(*bytes);
  if (!d.ok()) {
    return base::DataLossError("the credentials file " + path +
                               " is damaged: " + d.status().message());
  }
  base::RegisterSecret(d->credentials.password);
  d->credentials.key = d->key;
  d->credentials.saved_at = d->saved_at;
  return d;
}

StatusOr<Credentials> FileCredentialStore::LoadInstance(const std::string& id) const {
  if (!IsSafePart(id)) return base::InvalidArgumentError("instance id is not a safe file name");
  AURA_ASSIGN_OR_RETURN(
      detail::DecodedCredentials d,
      ReadRecord(dir_ + "/" + std::string(kById) + "/" + id + std::string(kSuffix),
                 "instance " + id));
  if (d.credentials.instance_id != id) {
    return base::DataLossError("the record of instance " + id + " says it is for " +
                               d.credentials.instance_id);
  }
  return std::move(d.credentials);
}

StatusOr<std::vector<Credentials>> FileCredentialStore::History(const std::string& key) const {
  AURA_RETURN_IF_ERROR(SplitKey(key).status());
  std::vector<Credentials> out;
  std::set<std::string> ids;
  if (auto current = Load(key); current.ok()) {
    ids.insert(current->instance_id);
    out.push_back(*current);
  } else if (current.status().code() != base::StatusCode::kNotFound) {
    return current.status();
  }
  const std::string by_id = dir_ + "/" + std::string(kById);
  StatusOr<std::vector<std::string>> names = options_.fs->ListDir(by_id);
  if (names.ok()) {
    for (const std::string& name : *names) {
      if (name.size() <= kSuffix.size() || !IsSafePart(name) ||
          name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
        continue;
      }
      auto d = ReadRecord(by_id + "/" + name, name);
      if (!d.ok() || d->key != key || ids.count(d->credentials.instance_id)) continue;
      ids.insert(d->credentials.instance_id);
      out.push_back(d->credentials);
    }
  }
  std::stable_sort(
      out.begin() + (out.empty() ? 0 : 1), out.end(),
      [](const Credentials& a, const Credentials& b) { return a.saved_at > b.saved_at; });
  return out;
}

Status FileCredentialStore::Link(const std::string& key, const std::string& id) {
  AURA_ASSIGN_OR_RETURN(auto parts, SplitKey(key));
  AURA_ASSIGN_OR_RETURN(Credentials c, LoadInstance(id));
  std::lock_guard<std::mutex> g(save_mu_);
  Status s = WriteRecord(dir_ + "/" + parts.first, parts.second + std::string(kSuffix), key, c);
  if (!s.ok()) return s.WithContext("linking the credentials of instance " + id + " to " + key);
  log().Info("credentials of an earlier key linked to this one",
             {{"key", key}, {"instance_id", id}, {"saved_for", c.key}});
  return Status::Ok();
}

void FileCredentialStore::Migrate(const std::string& ns) {
  StatusOr<std::vector<std::string>> names = options_.fs->ListDir(dir_ + "/" + ns);
  if (!names.ok()) return;
  const std::string by_id = dir_ + "/" + std::string(kById);
  for (const std::string& name : *names) {
    if (name.size() <= kSuffix.size() || !IsSafePart(name) ||
        name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
      continue;
    }
    auto d = ReadRecord(dir_ + "/" + ns + "/" + name, ns + "/" + name);
    const std::string& id = d.ok() ? d->credentials.instance_id : "";
    if (id.empty() || !IsSafePart(id)) continue;
    if (ReadRecord(by_id + "/" + id + std::string(kSuffix), id).ok()) continue;
    Status s = WriteRecord(by_id, id + std::string(kSuffix), d->key, d->credentials);
    if (s.ok()) {
      log().Info("credentials record kept by instance id (store migration)",
                 {{"key", d->key}, {"instance_id", id}});
    } else {
      log().Warn("could not copy a credentials record by instance id", base::StatusFields(s));
    }
  }
}

StatusOr<Credentials> FileCredentialStore::Load(const std::string& key) const {
  AURA_ASSIGN_OR_RETURN(std::string path, PathFor(key));
  AURA_ASSIGN_OR_RETURN(detail::DecodedCredentials d, ReadRecord(path, key));
  if (d.key != key) {
    return base::DataLossError("the credentials file " + path + " belongs to another key (" +
                               d.key + ")");
  }
  return std::move(d.credentials);
}

}  // namespace aura::store
