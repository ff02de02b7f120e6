// Operations an operator started on an instance (restore, overwrite) while a controller may be
// running (issue 22): recorded so that the controller leaves the instance alone until they end,
// instead of "correcting" what the operation is doing.
//
// The journal has a single writer (the running controller, or the HA leader), so a command
// cannot write to it beside a running controller. Operation records live next to it instead: a
// folder of small files (FileOperationLog, `<state>.operations/`) or keys under
// `<prefix>/operations/` in etcd (pkg/etcd). Each record names when it stops counting (`until`):
// a command killed before it clears its record blocks nothing for longer than its own timeout.
//
// Thread-safety: implementations are safe for concurrent use.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pkg/base/clock.h"
#include "pkg/base/status.h"
#include "pkg/store/file_system.h"

namespace aura::store {

struct OperationRecord {
  std::string key;          // namespace/name of the spec
  std::string instance_id;  // the instance operated on
  std::string operation;    // "restore", "overwrite"
  std::string detail;       // "to snapshot ID", "from ID"
  base::SystemTime started{};
  base::SystemTime until{};  // ignored from then on
  bool operator==(const OperationRecord&) const = default;
};

class OperationLog {
 public:
  virtual ~OperationLog() = default;
  // Durable before it returns (a command sends nothing until it is).
  [[nodiscard]] virtual base::Status Record(const OperationRecord& r) = 0;
  // OK when absent.
  [[nodiscard]] virtual base::Status Clear(const std::string& key) = 0;
  // Every record, expired ones included (the reader decides); unreadable ones are skipped.
  virtual base::StatusOr<std::vector<OperationRecord>> List() const = 0;
};

// The text of a record (JSON), and back; DecodeOperation fails on anything else.
std::string EncodeOperation(const OperationRecord& r);
base::StatusOr<OperationRecord> DecodeOperation(std::string_view text);

// One file per key in `dir` ("<namespace>.<name>.json", 0600, written atomically).
class FileOperationLog final : public OperationLog {
 public:
  explicit FileOperationLog(std::string dir, FileSystem& fs = FileSystem::Default());
  [[nodiscard]] base::Status Record(const OperationRecord& r) override;
  [[nodiscard]] base::Status Clear(const std::string& key) override;
  base::StatusOr<std::vector<OperationRecord>> List() const override;

 private:
  std::string PathOf(const std::string& key) const;
  std::string dir_;
  FileSystem& fs_;
};

// The folder of a file state's operation records: `<state>.operations` (the journal's path
// without ".json", like its other side files).
std::string OperationsDirOf(const std::string& state_path);

}  // namespace aura::store
