// Serialization of the journal and credential files (formats: file_journal.h and
// file_credential_store.h). Internal to pkg/store; exposed for tests and repair tools.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "pkg/base/clock.h"
#include "pkg/base/status.h"
#include "pkg/store/journal.h"

namespace aura::store::detail {

// The journal file (snapshot). Version 2 has a record log beside it (file_journal.h); version
// 1 files (no log) are read too and migrated by the next writer's Open. Older releases refuse
// version 2, so none of them can read a snapshot while ignoring the records of its log.
inline constexpr int kJournalSchemaVersion = 2;
inline constexpr int kJournalOldestSchemaVersion = 1;
inline constexpr std::string_view kJournalFormat = "aura-controller journal";
inline constexpr int kCredentialsVersion = 1;
inline constexpr std::string_view kCredentialsFormat = "aura-controller credentials";

struct JournalImage {
  std::map<std::string, JournalEntry> entries;
  std::uint64_t generation = 0;  // grows with every write since the file was first created
  StateBinding binding;          // the "binding" member: {"api_url", "client"}; absent if empty
  int schema_version = kJournalSchemaVersion;  // as read (DecodeJournal); written: the current
};

// The bytes of a journal file. kInvalidArgument when a string is not valid UTF-8.
[[nodiscard]] base::StatusOr<std::string> EncodeJournal(const JournalImage& image);
[[nodiscard]] base::StatusOr<std::string> EncodeJournal(
    const std::map<std::string, JournalEntry>& entries, std::uint64_t generation,
    const StateBinding& binding = {});
// The same bytes without holding them whole (~110 MB at 100,000 entries): the checksum, which
// comes first in the file, is computed in a pass of its own (kInvalidArgument when a string is
// not valid UTF-8); then WriteJournal gives the text with it to `sink` in pieces of about 1 MiB.
// A sink error stops the write and is returned.
using JournalSink = std::function<base::Status(std::string_view)>;
[[nodiscard]] base::StatusOr<std::string> JournalFileChecksum(
    const std::map<std::string, JournalEntry>& entries, std::uint64_t generation,
    const StateBinding& binding);
[[nodiscard]] base::Status WriteJournal(const std::map<std::string, JournalEntry>& entries,
                                        std::uint64_t generation, const StateBinding& binding,
                                        std::string_view checksum, const JournalSink& sink);
// Parses and verifies a journal file. kDataLoss naming what is wrong (never the content).
[[nodiscard]] base::StatusOr<JournalImage> DecodeJournal(std::string_view bytes);
// "sha256:<hex>" over the compact dump of `doc` without its "checksum" member.
// kInvalidArgument when a string is not valid UTF-8.
[[nodiscard]] base::StatusOr<std::string> JournalChecksum(const nlohmann::json& doc);

// One journal entry on its own, as the etcd backend stores it (etcd_journal.h):
//   {"format": "aura-controller journal entry", "schema_version": 1, "key": "ns/name",
//    "entry": {<the members of an entry of the journal file>}}
inline constexpr std::string_view kJournalEntryFormat = "aura-controller journal entry";
inline constexpr int kJournalEntrySchemaVersion = 1;
[[nodiscard]] base::StatusOr<std::string> EncodeJournalEntry(const JournalEntry& e);
// kDataLoss naming what is wrong (never the content).
[[nodiscard]] base::StatusOr<JournalEntry> DecodeJournalEntry(std::string_view bytes);

// The journal's record log (file_journal.h): one line per record,
//   <64 hex: SHA-256 of the payload> ' ' <payload: compact JSON> '\n'
// The first line is the header {"format": "aura-controller journal log", "schema_version": 1,
// "base_generation": G}; each later line one write:
//   {"generation": N, "op": "put", "key": "ns/name", "entry": {<members of an entry>}}
//   {"generation": N, "op": "remove", "key": "ns/name"}
//   {"generation": N, "op": "binding", "binding": {"api_url": "...", "client": "..."}}
inline constexpr std::string_view kJournalLogFormat = "aura-controller journal log";
inline constexpr int kJournalLogSchemaVersion = 1;

struct LogRecord {
  enum class Op { kPut, kRemove, kBinding };
  std::uint64_t generation = 0;
  Op op = Op::kPut;
  std::string key;       // kPut, kRemove
  JournalEntry entry;    // kPut (its key is `key`)
  StateBinding binding;  // kBinding
};

// The header line of a log whose records continue the snapshot of generation `base`.
std::string EncodeLogHeader(std::uint64_t base_generation);
// One record line. kInvalidArgument when a string is not valid UTF-8.
[[nodiscard]] base::StatusOr<std::string> EncodeLogRecord(const LogRecord& r);

// What ReplayLog found.
struct LogReplay {
  std::uint64_t base_generation = 0;
  std::uint64_t applied = 0;   // records newer than the snapshot, applied to it
  std::uint64_t skipped = 0;   // records the snapshot already holds (a compaction interrupted
                               // between writing the snapshot and replacing the log)
  std::size_t torn_bytes = 0;  // a damaged last record (a write interrupted by a crash),
                               // ignored; its offset is torn_at
  std::size_t torn_at = 0;
};

// Applies the records of `log` newer than `image` (the decoded snapshot) to it, in order, and
// sets image->generation to the last one's. The last line may be damaged (incomplete, or its
// checksum does not match): a record being appended when the process or the machine died,
// which no caller was told was durable; it is ignored (reported in `replay`). Anything else is
// kDataLoss naming the byte offset (never the content): a damaged line followed by another
// line, a header that is missing or damaged, a record whose checksum matches but whose content
// does not decode, generations that are not consecutive, a log that starts after the snapshot
// (base_generation > image->generation) or a stale log holding records the snapshot lacks.
[[nodiscard]] base::Status ReplayLog(std::string_view log, JournalImage* image, LogReplay* replay);

// The bytes of a credentials file for `key`. kInvalidArgument when a string is not UTF-8.
[[nodiscard]] base::StatusOr<std::string> EncodeCredentials(const std::string& key,
                                                            const Credentials& c,
                                                            base::SystemTime saved_at);
struct DecodedCredentials {
  std::string key;
  Credentials credentials;
  base::SystemTime saved_at{};
};
// kDataLoss when the bytes are not a complete credentials file. The message never quotes the
// content (it holds a password).
[[nodiscard]] base::StatusOr<DecodedCredentials> DecodeCredentials(std::string_view bytes);

// RFC 3339 in UTC with nanoseconds: "2027-01-01T00:00:00.000000000Z". Parse is exact inverse.
std::string FormatTime(base::SystemTime t);

// SHA-256 of `data`, 64 lower-case hex digits (OpenSSL EVP).
base::StatusOr<std::string> Sha256Hex(std::string_view data);
[[nodiscard]] base::StatusOr<base::SystemTime> ParseTime(std::string_view s);

}  // namespace aura::store::detail
