// Helpers shared by the pkg/store tests: a scratch folder, raw file access, forked children.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "pkg/store/journal.h"

namespace aura::store::testutil {

// An entry with every member set to a non-default value.
inline JournalEntry FullEntry(const std::string& key, const std::string& id = "abcd1234") {
  JournalEntry e;
  e.key = key;
  e.intent = CreateIntent{
      "aura-" + id, "tenant-1", base::SystemTime(std::chrono::nanoseconds(1798761600123456789)), 3,
      true,         "req-" + id};
  e.instance_id = id;
  e.origin = Origin::kAdopted;
  e.aura_name = "aura-" + id;
  e.tenant_id = "tenant-1";
  e.credentials_saved = true;
  e.duplicate_ids = {"dup1", "dup2"};
  e.delete_on_removal = true;
  e.cloud_provider = "gcp";
  e.region = "europe-west1";
  e.type = "professional-db";
  e.version = "5";
  e.patches["cdcEnrichmentMode"] =
      FieldPatch{"FULL", base::SystemTime(std::chrono::seconds(1798761602)), 2, "OFF", true};
  e.patches["memory"] =
      FieldPatch{"8GB", base::SystemTime(std::chrono::seconds(1798761603)), 1, "", false};
  e.vanished_ids = {"old1"};
  e.paused_here = true;
  e.credentials_note = "reply-without-password";
  e.connection_secrets = {"orders-aura"};
  e.observation =
      StoredObservation{nlohmann::json{{"id", id}, {"status", "running"}, {"memory", "8GB"}}.dump(),
                        base::SystemTime(std::chrono::seconds(1798761604)),
                        base::SystemTime(std::chrono::seconds(1798761500))};
  e.updated = base::SystemTime(std::chrono::seconds(1798761601));
  return e;
}

inline bool SameIntent(const CreateIntent& a, const CreateIntent& b) {
  return a.aura_name == b.aura_name && a.tenant_id == b.tenant_id &&
         a.intent_time == b.intent_time && a.attempt == b.attempt && a.ambiguous == b.ambiguous &&
         a.last_request_id == b.last_request_id;
}

inline bool SamePatches(const std::map<std::string, FieldPatch>& a,
                        const std::map<std::string, FieldPatch>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, x] : a) {
    auto it = b.find(k);
    if (it == b.end()) return false;
    const FieldPatch& y = it->second;
    if (x.value != y.value || x.sent_at != y.sent_at || x.repeats != y.repeats ||
        x.observed_before != y.observed_before || x.unobservable != y.unobservable) {
      return false;
    }
  }
  return true;
}

// Equal in every member; `updated` only when `compare_updated`.
inline bool SameEntry(const JournalEntry& a, const JournalEntry& b, bool compare_updated = true) {
  if (a.intent.has_value() != b.intent.has_value()) return false;
  if (a.intent && !SameIntent(*a.intent, *b.intent)) return false;
  if (!SamePatches(a.patches, b.patches) || a.vanished_ids != b.vanished_ids ||
      a.paused_here != b.paused_here || a.credentials_note != b.credentials_note ||
      a.connection_secrets != b.connection_secrets ||
      a.observation.has_value() != b.observation.has_value() ||
      (a.observation && (nlohmann::json::parse(a.observation->instance_json) !=
                             nlohmann::json::parse(b.observation->instance_json) ||
                         a.observation->observed_at != b.observation->observed_at ||
                         a.observation->status_since != b.observation->status_since))) {
    return false;
  }
  return a.key == b.key && a.instance_id == b.instance_id && a.origin == b.origin &&
         a.aura_name == b.aura_name && a.tenant_id == b.tenant_id &&
         a.credentials_saved == b.credentials_saved && a.duplicate_ids == b.duplicate_ids &&
         a.delete_on_removal == b.delete_on_removal && a.cloud_provider == b.cloud_provider &&
         a.region == b.region && a.type == b.type && a.version == b.version &&
         (!compare_updated || a.updated == b.updated);
}

// A fresh folder, removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/aura-store-test.XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    path_ = p != nullptr ? p : "";
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline std::string ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void WriteRaw(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

inline bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Permission bits of `path`, or -1 when it does not exist.
inline int ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

inline std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.insert(e.path().filename().string());
  }
  return out;
}

// Runs `body` in a forked child and returns its exit code (128 + signal when killed).
// The child never returns into the test framework: it _exit()s with body's result.
inline int RunInChild(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  if (pid < 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace aura::store::testutil
