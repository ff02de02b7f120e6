// Small JSON documents kept next to the journal (the status snapshot, the access token cache,
// the account's learned rate limit): written whole through WriteFileAtomic (temp file, fsync,
// rename, fsync folder) with mode 0600, so a reader never sees half a file and nobody else can
// read a token. Symlinks at the path are replaced, not followed.
//
// Thread-safety: functions; concurrent writers of one path each leave a whole file (the last
// rename wins).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "pkg/base/status.h"
#include "pkg/store/file_system.h"

namespace aura::store {

// nullopt when the file does not exist; kDataLoss when it is not a JSON object.
[[nodiscard]] base::StatusOr<std::optional<nlohmann::json>> ReadJsonFile(const std::string& path,
                                                                         FileSystem* fs = nullptr);

// Creates the folder (0700) when missing.
[[nodiscard]] base::Status WriteJsonFile(const std::string& path, const nlohmann::json& doc,
                                         FileSystem* fs = nullptr);

// An opaque, stable identity of an account for files that must not be reused with another:
// "sha256:" + SHA-256 of the parts joined by newlines. Never the parts themselves.
std::string AccountFingerprint(std::initializer_list<std::string_view> parts);

}  // namespace aura::store
