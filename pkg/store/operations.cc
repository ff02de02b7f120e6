#include "pkg/store/operations.h"

#include <nlohmann/json.hpp>

#include "pkg/store/codec.h"

namespace aura::store {

using base::Status;
using base::StatusOr;
using nlohmann::json;

std::string EncodeOperation(const OperationRecord& r) {
  return json{{"key", r.key},
              {"instance_id", r.instance_id},
              {"operation", r.operation},
              {"detail", r.detail},
              {"started", detail::FormatTime(r.started)},
              {"until", detail::FormatTime(r.until)}}
             .dump(2) +
         "\n";
}

StatusOr<OperationRecord> DecodeOperation(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return base::DataLossError("operation record: not a JSON object");
  OperationRecord r;
  auto str = [&j](const char* name, std::string* out) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  std::string started;
  std::string until;
  if (!str("key", &r.key) || !str("instance_id", &r.instance_id) ||
      !str("operation", &r.operation) || !str("started", &started) || !str("until", &until) ||
      r.key.empty()) {
    return base::DataLossError(
        "operation record: key, instance_id, operation, started and until are required strings");
  }
  str("detail", &r.detail);
  AURA_ASSIGN_OR_RETURN(r.started, detail::ParseTime(started));
  AURA_ASSIGN_OR_RETURN(r.until, detail::ParseTime(until));
  return r;
}

FileOperationLog::FileOperationLog(std::string dir, FileSystem& fs)
    : dir_(std::move(dir)), fs_(fs) {}

std::string FileOperationLog::PathOf(const std::string& key) const {
  std::string name = key;
  for (char& c : name) {
    if (c == '/') c = '.';  // namespace.name: DNS-1123 labels hold no '.'
  }
  return dir_ + "/" + name + ".json";
}

Status FileOperationLog::Record(const OperationRecord& r) {
  AURA_RETURN_IF_ERROR(fs_.CreateDirs(dir_, 0700));
  return WriteFileAtomic(fs_, PathOf(r.key), EncodeOperation(r), 0600)
      .WithContext("recording the " + r.operation + " of " + r.key);
}

Status FileOperationLog::Clear(const std::string& key) {
  AURA_RETURN_IF_ERROR(fs_.RemoveFile(PathOf(key)));
  Status s = fs_.SyncDir(dir_);
  return s.code() == base::StatusCode::kNotFound ? Status::Ok() : s;
}

StatusOr<std::vector<OperationRecord>> FileOperationLog::List() const {
  std::vector<OperationRecord> out;
  auto names = fs_.ListDir(dir_);
  if (!names.ok()) {
    if (names.status().code() == base::StatusCode::kNotFound) return out;
    return names.status();
  }
  for (const std::string& name : *names) {
    if (name.size() < 6 || name.compare(name.size() - 5, 5, ".json") != 0) continue;
    auto text = fs_.ReadFile(dir_ + "/" + name);
    if (!text.ok()) continue;  // removed meanwhile, or a temp file
    auto r = DecodeOperation(*text);
    if (r.ok()) out.push_back(std::move(*r));
  }
  return out;
}

std::string OperationsDirOf(const std::string& state_path) {
  const std::string ext = ".json";
  if (state_path.size() > ext.size() &&
      state_path.compare(state_path.size() - ext.size(), ext.size(), ext) == 0) {
    return state_path.substr(0, state_path.size() - ext.size()) + ".operations";
  }
  return state_path + ".operations";
}

}  // namespace aura::store
