// The journal's record log (codec.h): framing, checksums, replay onto a snapshot.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "pkg/store/codec.h"
#include "pkg/store/codec_internal.h"

namespace aura::store::detail {

using base::Status;
using base::StatusOr;
using internal::DecodeEntry;
using internal::EncodeEntry;
using internal::IsString;
using internal::ObjectReader;
using nlohmann::json;

// The record log. Each line is self-checking, so a reader can tell a record from a torn one
// without a length prefix: JSON escapes every newline, so '\n' only ends a line.

namespace {

constexpr std::size_t kLineSumSize = 64;

StatusOr<std::string> FramedLine(const json& payload) {
  std::string body = payload.dump();
  AURA_ASSIGN_OR_RETURN(std::string hex, Sha256Hex(body));
  std::string line;
  line.reserve(hex.size() + 1 + body.size() + 1);
  line += hex;
  line += ' ';
  line += body;
  line += '\n';
  return line;
}

// The payload of a complete line (with its '\n'), or nullopt when its checksum does not match.
std::optional<std::string_view> VerifiedPayload(std::string_view line) {
  if (line.size() < kLineSumSize + 2 || line.back() != '\n' || line[kLineSumSize] != ' ') {
    return std::nullopt;
  }
  const std::string_view body = line.substr(kLineSumSize + 1, line.size() - kLineSumSize - 2);
  StatusOr<std::string> hex = Sha256Hex(body);
  if (!hex.ok() || *hex != line.substr(0, kLineSumSize)) return std::nullopt;
  return body;
}

Status DecodeRecord(const json& doc, std::size_t at, LogRecord* r) {
  const std::string where = "the journal log's record at byte " + std::to_string(at);
  if (!doc.is_object()) return base::DataLossError(where + " is not a JSON object");
  std::string op;
  ObjectReader reader(doc, where);
  reader.Require("generation");
  reader.Get("generation", &r->generation);
  reader.Require("op");
  reader.Get("op", &op);
  if (op == "put" || op == "remove") {
    reader.Require("key");
    reader.Get("key", &r->key);
  }
  AURA_RETURN_IF_ERROR(reader.status());
  if (op == "put") {
    r->op = LogRecord::Op::kPut;
    auto entry = doc.find("entry");
    if (entry == doc.end()) return base::DataLossError(where + " has no entry");
    if (r->key.empty()) return base::DataLossError(where + " has an empty key");
    return DecodeEntry(r->key, *entry, &r->entry);
  }
  if (op == "remove") {
    r->op = LogRecord::Op::kRemove;
    return Status::Ok();
  }
  if (op == "binding") {
    r->op = LogRecord::Op::kBinding;
    auto b = doc.find("binding");
    if (b == doc.end() || !b->is_object()) return base::DataLossError(where + " has no binding");
    ObjectReader br(*b, where + ".binding");
    br.Get("api_url", &r->binding.api_url);
    br.Get("client", &r->binding.client);
    return br.status();
  }
  return base::DataLossError(where + " has an unknown op (written by a newer release?)");
}

}  // namespace

std::string EncodeLogHeader(std::uint64_t base_generation) {
  const json header{{"format", std::string(kJournalLogFormat)},
                    {"schema_version", kJournalLogSchemaVersion},
                    {"base_generation", base_generation}};
  StatusOr<std::string> line = FramedLine(header);
  return line.ok() ? *line : std::string();  // ASCII only: cannot fail but for OpenSSL
}

StatusOr<std::string> EncodeLogRecord(const LogRecord& r) {
  try {
    json doc{{"generation", r.generation}};
    switch (r.op) {
      case LogRecord::Op::kPut:
        doc["op"] = "put";
        doc["key"] = r.key;
        doc["entry"] = EncodeEntry(r.entry);
        break;
      case LogRecord::Op::kRemove:
        doc["op"] = "remove";
        doc["key"] = r.key;
        break;
      case LogRecord::Op::kBinding:
        doc["op"] = "binding";
        doc["binding"] = json{{"api_url", r.binding.api_url}, {"client", r.binding.client}};
        break;
    }
    return FramedLine(doc);
  } catch (const json::exception& e) {
    return base::InvalidArgumentError(std::string("cannot serialize the journal record: ") +
                                      e.what());
  }
}

Status ReplayLog(std::string_view log, JournalImage* image, LogReplay* replay) {
  *replay = LogReplay{};
  const std::size_t header_end = log.find('\n');
  const std::optional<std::string_view> header =
      header_end == std::string_view::npos ? std::nullopt
                                           : VerifiedPayload(log.substr(0, header_end + 1));
  if (!header) {
    return base::DataLossError(
        "the journal log has no valid header line (it is always written whole: the log was "
        "damaged or replaced)");
  }
  {
    const json doc = json::parse(*header, nullptr, false);
    if (!IsString(doc, "format", kJournalLogFormat)) {
      return base::DataLossError("the journal log's header: format is not \"" +
                                 std::string(kJournalLogFormat) + "\"");
    }
    auto version = doc.find("schema_version");
    if (version == doc.end() || !version->is_number_integer() ||
        *version != kJournalLogSchemaVersion) {
      return base::DataLossError("the journal log's schema_version is not " +
                                 std::to_string(kJournalLogSchemaVersion) +
                                 " (written by a newer release?)");
    }
    ObjectReader r(doc, "the journal log's header");
    r.Require("base_generation");
    r.Get("base_generation", &replay->base_generation);
    AURA_RETURN_IF_ERROR(r.status());
  }
  const std::uint64_t snapshot = image->generation;
  if (replay->base_generation > snapshot) {
    return base::DataLossError(
        "the journal log continues generation " + std::to_string(replay->base_generation) +
        " but the journal file holds generation " + std::to_string(snapshot) +
        " (was the journal file restored from an older copy without its log?)");
  }
  std::uint64_t expect = replay->base_generation + 1;
  std::size_t at = header_end + 1;
  while (at < log.size()) {
    const std::size_t nl = log.find('\n', at);
    const std::size_t end = nl == std::string_view::npos ? log.size() : nl + 1;
    const std::optional<std::string_view> body = VerifiedPayload(log.substr(at, end - at));
    if (!body) {
      if (end == log.size()) {  // the torn tail
        replay->torn_at = at;
        replay->torn_bytes = end - at;
        break;
      }
      return base::DataLossError("the journal log's record at byte " + std::to_string(at) +
                                 " is damaged (checksum mismatch) and is not the last one");
    }
    json doc = json::parse(*body, nullptr, false);
    LogRecord r;
    AURA_RETURN_IF_ERROR(DecodeRecord(doc, at, &r));
    if (r.generation != expect) {
      return base::DataLossError("the journal log's record at byte " + std::to_string(at) +
                                 " has generation " + std::to_string(r.generation) + " where " +
                                 std::to_string(expect) + " was expected (records are missing)");
    }
    ++expect;
    if (r.generation <= snapshot) {
      ++replay->skipped;
    } else if (replay->base_generation < snapshot) {
      return base::DataLossError(
          "the journal log was replaced by a compaction that did not finish, yet holds "
          "generation " +
          std::to_string(r.generation) + ", newer than the journal file's " +
          std::to_string(snapshot));
    } else {
      ++replay->applied;
      image->generation = r.generation;
      switch (r.op) {
        case LogRecord::Op::kPut:
          r.entry.key = r.key;
          image->entries.insert_or_assign(r.key, std::move(r.entry));
          break;
        case LogRecord::Op::kRemove:
          image->entries.erase(r.key);
          break;
        case LogRecord::Op::kBinding:
          image->binding = r.binding;
          break;
      }
    }
    at = end;
  }
  return Status::Ok();
}

}  // namespace aura::store::detail
