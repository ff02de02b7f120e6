// FileCredentialStore: the one-time Aura credentials as files, the default CredentialStore.
//
// Layout: `<dir>/by_id/<instance id>.json` holds the record of each instance, written once per
// instance and never by another; `<dir>/<namespace>/<name>.json` holds the current record of
// key "namespace/name" (a copy of its instance's, or a password waiting for its id). Files are
// 0600; folders this store creates are 0700 (an existing `<dir>`, e.g. a mounted volume, keeps
// its mode). A store written before by-id records existed is migrated on Open: each key file's
// record is copied to by_id (the key files stay as they are). Format of both:
//   {"connection_url": "neo4j+s://...", "format": "aura-controller credentials",
//    "instance_id": "...", "key": "shop/orders", "password": "...",
//    "saved_at": "<RFC 3339, ns>", "username": "neo4j", "version": 1}
// Keys must be "namespace/name" where both parts start with a letter or digit and hold only
// letters, digits, '-', '.', '_' (at most 253 characters): no key can name a path outside <dir>.
//
// Save writes through WriteFileAtomic (temp file created 0600 with O_EXCL, fsync, rename, fsync
// folder). A Save cut short by a crash after its temp file was complete holds the only copy of
// a password Aura will not show again, so Open() moves such a temp file into place when it is
// newer than the file it would replace, and deletes incomplete ones.
//
// Passwords are registered with base::RegisterSecret on Save and Load, so no log line shows
// them; no error message of this store quotes file content.
//
// Thread-safety: safe for concurrent use (Saves are serialized). One controller per folder.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "pkg/base/clock.h"
#include "pkg/base/log.h"
#include "pkg/base/status.h"
#include "pkg/store/codec.h"
#include "pkg/store/file_system.h"
#include "pkg/store/journal.h"

namespace aura::store {

struct FileCredentialStoreOptions {
  FileSystem* fs = nullptr;              // nullptr: FileSystem::Default()
  const base::Clock* clock = nullptr;    // for saved_at; nullptr: base::RealClock()
  const base::Logger* logger = nullptr;  // nullptr: base::DefaultLogger()
};

class FileCredentialStore final : public CredentialStore {
 public:
  // Creates `dir` (0700) when missing and recovers interrupted Saves (above).
  // REQUIRES: the options' pointees outlive the store.
  [[nodiscard]] static base::StatusOr<std::unique_ptr<FileCredentialStore>> Open(
      const std::string& dir, FileCredentialStoreOptions options = {});

  FileCredentialStore(const FileCredentialStore&) = delete;
  FileCredentialStore& operator=(const FileCredentialStore&) = delete;

  // Durable when OK. kInvalidArgument for a bad key or instance id; file-system errors as in
  // file_system.h. A record of the same instance with another password is never replaced
  // (kAlreadyExists; the key's current record is written all the same).
  [[nodiscard]] base::Status Save(const std::string& key, const Credentials& c) override;
  // kNotFound when nothing was saved for `key`; kDataLoss when the file is damaged.
  base::StatusOr<Credentials> Load(const std::string& key) const override;
  base::StatusOr<Credentials> LoadInstance(const std::string& id) const override;
  base::StatusOr<std::vector<Credentials>> History(const std::string& key) const override;
  [[nodiscard]] base::Status Link(const std::string& key, const std::string& id) override;

  // "<dir>/<namespace>/<name>.json"; kInvalidArgument when `key` is not a safe
  // "namespace/name".
  [[nodiscard]] base::StatusOr<std::string> PathFor(const std::string& key) const;
  // Splits and checks a key (rules above).
  [[nodiscard]] static base::StatusOr<std::pair<std::string, std::string>> SplitKey(
      const std::string& key);

 private:
  FileCredentialStore(std::string dir, FileCredentialStoreOptions options)
      : dir_(std::move(dir)), options_(options) {}
  // Handles the temp files left in one namespace folder by interrupted Saves.
  void Recover(const std::string& ns);
  // Copies key files' records to by-id where missing (stores from before by-id records).
  void Migrate(const std::string& ns);
  // Reads and decodes one file; `what` names it in errors.
  base::StatusOr<detail::DecodedCredentials> ReadRecord(const std::string& path,
                                                        const std::string& what) const;
  base::Status WriteRecord(const std::string& dir, const std::string& file_name,
                           const std::string& key, const Credentials& c);
  // Deletes leftover temp files of `file_name` in `ns_dir` (best effort).
  void RemoveTemps(const std::string& ns_dir, const std::string& file_name);
  const base::Logger& log() const;

  const std::string dir_;
  const FileCredentialStoreOptions options_;
  std::mutex save_mu_;  // serializes Saves
};

}  // namespace aura::store
