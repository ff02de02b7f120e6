#include "pkg/store/state_file.h"

#include "pkg/store/codec.h"

namespace aura::store {

base::StatusOr<std::optional<nlohmann::json>> ReadJsonFile(const std::string& path,
                                                           FileSystem* fs) {
  FileSystem& f = fs != nullptr ? *fs : FileSystem::Default();
  base::StatusOr<std::string> text = f.ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == base::StatusCode::kNotFound) return std::optional<nlohmann::json>();
    return text.status();
  }
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return base::DataLossError(path + " is not a JSON object (remove it; it is rebuilt)");
  }
  return std::optional<nlohmann::json>(std::move(j));
}

base::Status WriteJsonFile(const std::string& path, const nlohmann::json& doc, FileSystem* fs) {
  FileSystem& f = fs != nullptr ? *fs : FileSystem::Default();
  AURA_RETURN_IF_ERROR(f.CreateDirs(DirName(path), 0700));
  return WriteFileAtomic(
      f, path, doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", 0600);
}

std::string AccountFingerprint(std::initializer_list<std::string_view> parts) {
  std::string joined;
  for (std::string_view p : parts) {
    if (!joined.empty()) joined += '\n';
    joined += p;
  }
  base::StatusOr<std::string> hex = detail::Sha256Hex(joined);
  return hex.ok() ? "sha256:" + *hex : "";
}

}  // namespace aura::store
