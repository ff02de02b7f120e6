// Serialization of the journal and credential files (formats: file_journal.h and
// file_credential_store.h). Internal to pkg/store; exposed for tests and repair tools.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "pkg/base/clock.h"
#include "pkg/base/status.h"
#include "pkg/store/journal.h"

namespace aura::store::detail {

inline constexpr int kJournalSchemaVersion = 1;
inline constexpr std::string_view kJournalFormat = "aura-controller journal";
inline constexpr int kCredentialsVersion = 1;
inline constexpr std::string_view kCredentialsFormat = "aura-controller credentials";

struct JournalImage {
  std::map<std::string, JournalEntry> entries;
  std::uint64_t generation = 0;  // grows with every write since the file was first created
  StateBinding binding;          // the "binding" member: {"api_url", "client"}; absent if empty
};

// The bytes of a journal file. kInvalidArgument when a string is not valid UTF-8.
[[nodiscard]] base::StatusOr<std::string> EncodeJournal(const JournalImage& image);
[[nodiscard]] base::StatusOr<std::string> EncodeJournal(
    const std::map<std::string, JournalEntry>& entries, std::uint64_t generation,
    const StateBinding& binding = {});
// Parses and verifies a journal file. kDataLoss naming what is wrong (never the content).
[[nodiscard]] base::StatusOr<JournalImage> DecodeJournal(std::string_view bytes);
// "sha256:<hex>" over the compact dump of `doc` without its "checksum" member.
// kInvalidArgument when a string is not valid UTF-8.
[[nodiscard]] base::StatusOr<std::string> JournalChecksum(const nlohmann::json& doc);

// One journal entry on its own, as the etcd backend stores it (etcd_journal.h):
//   {"format": "aura-controller journal entry", "schema_version": 1, "key": "ns/name",
//    "entry": {<the members of an entry of the journal file>}}
inline constexpr std::string_view kJournalEntryFormat = "aura-controller journal entry";
[[nodiscard]] base::StatusOr<std::string> EncodeJournalEntry(const JournalEntry& e);
// kDataLoss naming what is wrong (never the content).
[[nodiscard]] base::StatusOr<JournalEntry> DecodeJournalEntry(std::string_view bytes);

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
