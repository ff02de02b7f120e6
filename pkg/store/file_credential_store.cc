#include "pkg/store/file_credential_store.h"

#include <map>
#include <optional>
#include <vector>

#include "pkg/store/codec.h"

namespace aura::store {

using base::Status;
using base::StatusOr;

namespace {

constexpr std::string_view kSuffix = ".json";
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
    const std::string key = ns + "/" + target->substr(0, target->size() - kSuffix.size());
    StatusOr<std::string> bytes = fs.ReadFile(ns_dir + "/" + name);
    if (!bytes.ok()) continue;
    StatusOr<detail::DecodedCredentials> d = detail::DecodeCredentials(*bytes);
    if (!d.ok() || d->key != key) continue;
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

Status FileCredentialStore::Save(const std::string& key, const Credentials& c) {
  AURA_ASSIGN_OR_RETURN(auto parts, SplitKey(key));
  base::RegisterSecret(c.password);
  const std::string ns_dir = dir_ + "/" + parts.first;
  const std::string file_name = parts.second + std::string(kSuffix);
  const std::string path = ns_dir + "/" + file_name;
  const std::string context = "saving the credentials of " + key + " to " + path;

  std::lock_guard<std::mutex> g(save_mu_);
  Status s = options_.fs->CreateDirs(ns_dir, 0700);
  if (!s.ok()) return s.WithContext(context);
  // A temp file still here is from a Save that died before this one: older, and superseded.
  RemoveTemps(ns_dir, file_name);
  StatusOr<std::string> bytes = detail::EncodeCredentials(key, c, options_.clock->SystemNow());
  if (!bytes.ok()) return bytes.status().WithContext(context);
  s = WriteFileAtomic(*options_.fs, path, *bytes, 0600);
  if (!s.ok()) return s.WithContext(context);
  return Status::Ok();
}

StatusOr<Credentials> FileCredentialStore::Load(const std::string& key) const {
  AURA_ASSIGN_OR_RETURN(std::string path, PathFor(key));
  StatusOr<std::string> bytes = options_.fs->ReadFile(path);
  if (!bytes.ok()) {
    if (bytes.status().code() == base::StatusCode::kNotFound) {
      return base::NotFoundError("no credentials saved for " + key + " (no file " + path + ")");
    }
    return bytes.status().WithContext("reading the credentials of " + key);
  }
  StatusOr<detail::DecodedCredentials> d = detail::DecodeCredentials(*bytes);
  if (!d.ok()) {
    return base::DataLossError("the credentials file " + path +
                               " is damaged: " + d.status().message());
  }
  base::RegisterSecret(d->credentials.password);
  if (d->key != key) {
    return base::DataLossError("the credentials file " + path + " belongs to another key (" +
                               d->key + ")");
  }
  return std::move(d->credentials);
}

}  // namespace aura::store
