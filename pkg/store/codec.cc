#include "pkg/store/codec.h"

#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "pkg/store/codec_internal.h"

namespace aura::store::detail {
namespace {

using base::Status;
using base::StatusOr;
using nlohmann::json;

// Every member of JournalEntry must be encoded below. This fires when the struct changes size:
// encode and decode the new member (missing members decode to their defaults, so old files
// stay readable), add it to the round-trip test, then update the number.
#if defined(__GLIBCXX__) && defined(__x86_64__) && !defined(_GLIBCXX_DEBUG)
static_assert(sizeof(JournalEntry) == 504 && sizeof(CreateIntent) == 112,
              "JournalEntry or CreateIntent changed: update pkg/store/codec.cc");
#endif

std::string ToHex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 0xf];
  }
  return out;
}

// SHA-256 fed piece by piece, so that a journal's checksum needs no copy of its text.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    ok_ = ctx_ != nullptr && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1;
  }
  void Update(std::string_view data) {
    if (ok_) ok_ = EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) == 1;
  }
  StatusOr<std::string> HexDigest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) {
      return base::InternalError("SHA-256 failed in OpenSSL");
    }
    return ToHex(md, len);
  }

 private:
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
  bool ok_ = false;
};

StatusOr<std::string> Sha256HexOf(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.HexDigest();
}

using internal::IsString;
using internal::ObjectReader;

json EncodeIntent(const CreateIntent& i) {
  return json{{"aura_name", i.aura_name},
              {"tenant_id", i.tenant_id},
              {"intent_time", FormatTime(i.intent_time)},
              {"attempt", i.attempt},
              {"ambiguous", i.ambiguous},
              {"last_request_id", i.last_request_id}};
}
}  // namespace

namespace internal {

json EncodeEntry(const JournalEntry& e) {
  json j{{"instance_id", e.instance_id},
         {"origin", e.origin == Origin::kAdopted ? "adopted" : "created"},
         {"aura_name", e.aura_name},
         {"tenant_id", e.tenant_id},
         {"credentials_saved", e.credentials_saved},
         {"duplicate_ids", e.duplicate_ids},
         {"delete_on_removal", e.delete_on_removal},
         {"cloud_provider", e.cloud_provider},
         {"region", e.region},
         {"type", e.type},
         {"version", e.version},
         {"updated", FormatTime(e.updated)}};
  if (e.intent) j["intent"] = EncodeIntent(*e.intent);
  if (!e.patches.empty()) {
    json patches = json::object();
    for (const auto& [field, fp] : e.patches) {
      patches[field] = json{{"value", fp.value},
                            {"sent_at", FormatTime(fp.sent_at)},
                            {"repeats", fp.repeats},
                            {"observed_before", fp.observed_before},
                            {"unobservable", fp.unobservable}};
    }
    j["patches"] = std::move(patches);
  }
  if (!e.vanished_ids.empty()) j["vanished_ids"] = e.vanished_ids;
  if (e.paused_here) j["paused_here"] = true;
  if (!e.credentials_note.empty()) j["credentials_note"] = e.credentials_note;
  if (!e.connection_secrets.empty()) j["connection_secrets"] = e.connection_secrets;
  if (e.observation) {
    // Kept as an object (readable in the file); text that is not JSON is not kept at all.
    json instance = json::parse(e.observation->instance_json, nullptr, false);
    if (instance.is_object()) {
      j["observation"] = json{{"instance", std::move(instance)},
                              {"observed_at", FormatTime(e.observation->observed_at)},
                              {"status_since", FormatTime(e.observation->status_since)}};
    }
  }
  return j;
}

Status DecodeEntry(const std::string& key, const json& j, JournalEntry* e) {
  const std::string where = "entries[\"" + key + "\"]";
  if (!j.is_object()) {
    return base::DataLossError(where + ": expected an object, found " + j.type_name());
  }
  e->key = key;
  ObjectReader r(j, where);
  r.Get("instance_id", &e->instance_id);
  r.Get("origin", &e->origin);
  r.Get("aura_name", &e->aura_name);
  r.Get("tenant_id", &e->tenant_id);
  r.Get("credentials_saved", &e->credentials_saved);
  r.Get("duplicate_ids", &e->duplicate_ids);
  r.Get("delete_on_removal", &e->delete_on_removal);
  r.Get("cloud_provider", &e->cloud_provider);
  r.Get("region", &e->region);
  r.Get("type", &e->type);
  r.Get("version", &e->version);
  r.Get("updated", &e->updated);
  r.Get("vanished_ids", &e->vanished_ids);
  r.Get("paused_here", &e->paused_here);
  r.Get("credentials_note", &e->credentials_note);
  r.Get("connection_secrets", &e->connection_secrets);
  AURA_RETURN_IF_ERROR(r.status());
  if (auto o = j.find("observation"); o != j.end() && !o->is_null()) {
    // A cache: one that cannot be read is dropped (the controller GETs the instance again).
    auto instance = o->is_object() ? o->find("instance") : o->end();
    if (o->is_object() && instance != o->end() && instance->is_object()) {
      StoredObservation so;
      so.instance_json = instance->dump();
      ObjectReader orr(*o, where + ".observation");
      orr.Get("observed_at", &so.observed_at);
      orr.Get("status_since", &so.status_since);
      if (orr.status().ok()) e->observation = std::move(so);
    }
  }
  if (auto p = j.find("patches"); p != j.end() && !p->is_null()) {
    if (!p->is_object()) {
      return base::DataLossError(where + ".patches: expected an object, found " + p->type_name());
    }
    for (const auto& [field, v] : p->items()) {
      if (!v.is_object()) {
        return base::DataLossError(where + ".patches." + field + ": expected an object");
      }
      FieldPatch fp;
      ObjectReader pr(v, where + ".patches." + field);
      pr.Get("value", &fp.value);
      pr.Get("sent_at", &fp.sent_at);
      pr.Get("repeats", &fp.repeats);
      pr.Get("observed_before", &fp.observed_before);
      pr.Get("unobservable", &fp.unobservable);
      AURA_RETURN_IF_ERROR(pr.status());
      e->patches[field] = std::move(fp);
    }
  }
  auto it = j.find("intent");
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) {
    return base::DataLossError(where + ".intent: expected an object, found " + it->type_name());
  }
  CreateIntent i;
  ObjectReader ir(*it, where + ".intent");
  ir.Get("aura_name", &i.aura_name);
  ir.Get("tenant_id", &i.tenant_id);
  ir.Require("intent_time");
  ir.Get("intent_time", &i.intent_time);
  ir.Get("attempt", &i.attempt);
  ir.Get("ambiguous", &i.ambiguous);
  ir.Get("last_request_id", &i.last_request_id);
  AURA_RETURN_IF_ERROR(ir.status());
  e->intent = std::move(i);
  return Status::Ok();
}

}  // namespace internal

using internal::DecodeEntry;
using internal::EncodeEntry;

StatusOr<std::string> Sha256Hex(std::string_view data) { return Sha256HexOf(data); }

StatusOr<std::string> JournalChecksum(const json& doc) {
  try {
    json rest = doc;
    if (rest.is_object()) rest.erase("checksum");
    AURA_ASSIGN_OR_RETURN(std::string hex, Sha256HexOf(rest.dump()));
    return "sha256:" + hex;
  } catch (const json::exception& e) {
    return base::InvalidArgumentError(std::string("cannot serialize the journal: ") + e.what());
  }
}

// The journal is encoded and decoded one entry at a time: a document object model of the whole
// file cost ~4.5 KiB per entry (49 MiB at 10,000 entries on every write, 41 MiB on open;
// docs/BENCHMARKS.md). The bytes are exactly those of nlohmann's dump(2) of the whole document,
// and the checksum is JournalChecksum's; codec_test.cc checks both against the DOM.

namespace {

// `text` (a dump(2) of a value) with every line after the first indented by `indent` spaces
// more. Dumped strings never hold a raw newline (JSON escapes it), so each '\n' is a line break.
void AppendIndented(std::string* out, const std::string& text, std::size_t indent) {
  for (char c : text) {
    *out += c;
    if (c == '\n') out->append(indent, ' ');
  }
}

// Feeds `h` the compact dump of `doc` without its "checksum" member, where `doc` holds
// "entries" empty and `entries` feeds the members that belong in it.
void HashCompact(const json& doc, Sha256* h, const std::function<void(Sha256*)>& entries) {
  h->Update("{");
  bool first = true;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() == "checksum") continue;
    if (!first) h->Update(",");
    first = false;
    h->Update(json(it.key()).dump());
    h->Update(":");
    if (it.key() == "entries") {
      h->Update("{");
      entries(h);
      h->Update("}");
    } else {
      h->Update(it.value().dump());
    }
  }
  h->Update("}");
}

// Feeds `h` one member of "entries" in the compact dump: `"key":{...}`, after a ',' unless it is
// the first.
void HashEntry(Sha256* h, bool* first, std::string_view quoted_key, std::string_view compact) {
  if (!*first) h->Update(",");
  *first = false;
  h->Update(quoted_key);
  h->Update(":");
  h->Update(compact);
}

}  // namespace

StatusOr<std::string> EncodeJournal(const JournalImage& image) {
  return EncodeJournal(image.entries, image.generation, image.binding);
}

namespace {

// The skeleton of a journal file (its dump(2) with "entries" empty and the checksum `sum`) and
// where the entries go: before skeleton[open], the '}' of the empty "entries".
struct Skeleton {
  json doc;
  std::string text;
  std::size_t open = 0;
  std::size_t sum_at = 0;  // of the checksum's hex digits
};

StatusOr<Skeleton> MakeSkeleton(std::uint64_t generation, const StateBinding& binding) {
  Skeleton s;
  s.doc = json{{"format", std::string(kJournalFormat)},
               {"schema_version", kJournalSchemaVersion},
               {"generation", generation},
               {"entries", json::object()}};
  if (!binding.empty()) {
    s.doc["binding"] = json{{"api_url", binding.api_url}, {"client", binding.client}};
  }
  static constexpr std::string_view kSum = "sha256:";
  s.doc["checksum"] = std::string(kSum) + std::string(64, '0');
  s.text = s.doc.dump(2) + "\n";
  s.doc.erase("checksum");
  // "checksum" sorts first and holds only hex digits, so these are the two members.
  static constexpr std::string_view kChecksum = "\n  \"checksum\": \"";
  static constexpr std::string_view kEmpty = "\n  \"entries\": {}";
  const std::size_t sum_at = s.text.find(kChecksum);
  const std::size_t at = s.text.find(kEmpty);
  if (sum_at == std::string::npos || at == std::string::npos) {
    return base::InternalError("journal skeleton without checksum or entries");
  }
  s.open = at + kEmpty.size() - 1;
  s.sum_at = sum_at + kChecksum.size();
  return s;
}

}  // namespace

StatusOr<std::string> EncodeJournal(const std::map<std::string, JournalEntry>& entries,
                                    std::uint64_t generation, const StateBinding& binding) {
  AURA_ASSIGN_OR_RETURN(std::string checksum, JournalFileChecksum(entries, generation, binding));
  std::string out;
  AURA_RETURN_IF_ERROR(
      WriteJournal(entries, generation, binding, checksum, [&out](std::string_view part) {
        out += part;
        return Status::Ok();
      }));
  return out;
}

StatusOr<std::string> JournalFileChecksum(const std::map<std::string, JournalEntry>& entries,
                                          std::uint64_t generation, const StateBinding& binding) {
  try {
    AURA_ASSIGN_OR_RETURN(Skeleton skeleton, MakeSkeleton(generation, binding));
    Sha256 h;
    HashCompact(skeleton.doc, &h, [&](Sha256* hash) {
      bool first = true;
      for (const auto& [key, e] : entries) {
        HashEntry(hash, &first, json(key).dump(), EncodeEntry(e).dump());
      }
    });
    AURA_ASSIGN_OR_RETURN(std::string hex, h.HexDigest());
    return "sha256:" + hex;
  } catch (const json::exception& e) {
    return base::InvalidArgumentError(std::string("cannot serialize the journal: ") + e.what());
  }
}

Status WriteJournal(const std::map<std::string, JournalEntry>& entries, std::uint64_t generation,
                    const StateBinding& binding, std::string_view checksum,
                    const JournalSink& sink) {
  // The text is the skeleton's dump(2) with the entries spliced into its empty "entries".
  constexpr std::size_t kPiece = 1 << 20;  // pieces of about this size go to the sink
  try {
    AURA_ASSIGN_OR_RETURN(Skeleton skeleton, MakeSkeleton(generation, binding));
    if (checksum.size() != std::string_view("sha256:").size() + 64) {
      return base::InvalidArgumentError("not a journal checksum: " + std::string(checksum));
    }
    skeleton.text.replace(skeleton.sum_at, checksum.size(), checksum);
    std::string out(skeleton.text, 0, skeleton.open);
    bool first = true;
    for (const auto& [key, e] : entries) {
      if (!first) out += ",";
      first = false;
      out += "\n    ";
      out += json(key).dump();
      out += ": ";
      AppendIndented(&out, EncodeEntry(e).dump(2), 4);
      if (out.size() >= kPiece) {
        AURA_RETURN_IF_ERROR(sink(out));
        out.clear();
      }
    }
    if (!entries.empty()) out += "\n  ";
    out.append(skeleton.text, skeleton.open, std::string::npos);
    return sink(out);
  } catch (const json::exception& e) {
    return base::InvalidArgumentError(std::string("cannot serialize the journal: ") + e.what());
  }
}

namespace {

// DecodeJournal's parse. With `stream`, the checksum is computed while the entries are parsed,
// each entry's compact dump fed to the hash and dropped (the dumps of 100,000 entries cost
// ~55 MiB): possible when the entries come in increasing key order after every other member
// that sorts before "entries", as this code writes them. *streamed says whether that held; when
// it did not, nothing is returned and the caller parses again without `stream`, keeping the
// dumps to hash them in key order.
StatusOr<JournalImage> DecodeJournalWith(std::string_view bytes, bool stream, bool* streamed) {
  *streamed = stream;
  // The members of the top-level "entries" object are decoded as the parser completes each and
  // then dropped from the document, so only one entry's tree exists at a time. Their compact
  // dumps, by key, make the checksum; their decoding errors are reported only once the
  // document's version, format and checksum are known to be right, the first by key order, as
  // a whole-document decode would.
  JournalImage image;
  // Without `stream`: the compact dumps, one after the other in `dumps`, and where each is, in
  // file order. Files this code writes list the keys in increasing order; only other files need
  // a sort at the end (a map of 100,000 dumps cost ~10% of an open of that size).
  std::string dumps;
  struct Dumped {
    std::string key;
    std::size_t at, size;
  };
  std::vector<Dumped> dumped;
  // With `stream`: the hash so far, and the compact dumps of the top-level members read before
  // "entries" began (checked against the whole document at the end).
  Sha256 streaming;
  bool first_entry = true;
  std::string last_key;
  std::map<std::string, std::string> before_entries;
  int entries_members = 0;
  std::map<std::string, Status> entry_errors;
  std::string top_key, entry_key;
  bool in_entries = false;
  const auto take_entry = [&](json& value) {
    if (stream) {
      if (!first_entry && !(last_key < entry_key)) *streamed = false;
      last_key = entry_key;
      if (*streamed) HashEntry(&streaming, &first_entry, json(entry_key).dump(), value.dump());
    } else {
      const std::size_t at = dumps.size();
      dumps += value.dump();
      dumped.push_back({entry_key, at, dumps.size() - at});
    }
    JournalEntry e;
    Status s = DecodeEntry(entry_key, value, &e);
    if (s.ok()) {
      entry_errors.erase(entry_key);
      image.entries.insert_or_assign(image.entries.end(), entry_key, std::move(e));
    } else {
      image.entries.erase(entry_key);
      entry_errors.insert_or_assign(entry_key, std::move(s));
    }
  };
  const json::parser_callback_t callback = [&](int depth, json::parse_event_t event, json& parsed) {
    using E = json::parse_event_t;
    if (depth == 1) {
      if (event == E::key) top_key = parsed.get<std::string>();
      if (event == E::object_start && top_key == "entries") {
        in_entries = true;  // a repeated "entries" member replaces the earlier one
        if (++entries_members > 1) *streamed = false;
        if (stream && *streamed) {
          streaming.Update("{");
          for (const auto& [k, dump] : before_entries) {
            streaming.Update(json(k).dump());
            streaming.Update(":");
            streaming.Update(dump);
            streaming.Update(",");
          }
          streaming.Update("\"entries\":{");
        }
        image.entries.clear();
        dumps.clear();
        dumped.clear();
        entry_errors.clear();
        return true;
      }
      if (event == E::object_end && in_entries) {
        in_entries = false;
        return true;
      }
      if (stream && entries_members == 0 && top_key != "checksum" &&
          (event == E::value || event == E::object_end || event == E::array_end)) {
        before_entries[top_key] = parsed.dump();
      }
      return true;
    }
    if (depth != 2 || !in_entries) return true;
    if (event == E::key) {
      entry_key = parsed.get<std::string>();
      return true;
    }
    if (event == E::object_end || event == E::array_end || event == E::value) {
      take_entry(parsed);
      return false;  // dropped from the document
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(bytes, callback);
  } catch (const json::exception& e) {
    return base::DataLossError(std::string("not valid JSON (truncated or damaged): ") + e.what());
  }
  if (!doc.is_object()) {
    return base::DataLossError(std::string("expected a JSON object, found ") + doc.type_name());
  }
  auto version = doc.find("schema_version");
  if (version == doc.end()) {
    return base::DataLossError("no schema_version member: this is not an aura-controller journal");
  }
  if (!version->is_number_integer()) {
    return base::DataLossError(std::string("schema_version: expected an integer, found ") +
                               version->type_name());
  }
  if (*version < kJournalOldestSchemaVersion || *version > kJournalSchemaVersion) {
    return base::DataLossError("schema_version " + version->dump() +
                               " is not supported by this aura-controller, which reads versions " +
                               std::to_string(kJournalOldestSchemaVersion) + " to " +
                               std::to_string(kJournalSchemaVersion) +
                               " (was it written by a newer release?)");
  }
  image.schema_version = version->get<int>();
  if (!IsString(doc, "format", kJournalFormat)) {
    return base::DataLossError("format: expected \"" + std::string(kJournalFormat) + "\"");
  }
  auto checksum = doc.find("checksum");
  if (checksum == doc.end() || !checksum->is_string()) {
    return base::DataLossError("no checksum string: the file was not written by aura-controller");
  }
  auto entries = doc.find("entries");
  std::string actual;
  try {
    if (entries != doc.end() && entries->is_object() && stream) {
      // The members hashed before the entries must be exactly the document's that sort before
      // "entries" (another order, or a member repeated later, is hashed in a second parse).
      std::map<std::string, std::string> expected;
      for (auto it = doc.begin(); it != doc.end() && it.key() < "entries"; ++it) {
        if (it.key() != "checksum") expected[it.key()] = it.value().dump();
      }
      if (!*streamed || expected != before_entries) {
        *streamed = false;
        return base::InternalError("not streamable");
      }
      streaming.Update("}");
      for (auto it = doc.find("entries"); ++it != doc.end();) {
        streaming.Update(",");
        streaming.Update(json(it.key()).dump());
        streaming.Update(":");
        streaming.Update(it.value().dump());
      }
      streaming.Update("}");
      StatusOr<std::string> hex = streaming.HexDigest();
      if (!hex.ok()) return base::DataLossError(hex.status().message());
      actual = "sha256:" + *hex;
    } else if (entries != doc.end() && entries->is_object()) {
      Sha256 h;
      bool increasing = true;
      for (std::size_t i = 1; i < dumped.size() && increasing; ++i) {
        increasing = dumped[i - 1].key < dumped[i].key;
      }
      HashCompact(doc, &h, [&](Sha256* hash) {
        bool first = true;
        const auto feed = [&](const Dumped& d) {
          HashEntry(hash, &first, json(d.key).dump(), std::string_view(dumps).substr(d.at, d.size));
        };
        if (increasing) {
          for (const Dumped& d : dumped) feed(d);
          return;
        }
        std::map<std::string_view, const Dumped*> by_key;  // a repeated key: the last counts
        for (const Dumped& d : dumped) by_key.insert_or_assign(d.key, &d);
        for (const auto& [_, d] : by_key) feed(*d);
      });
      StatusOr<std::string> hex = h.HexDigest();
      if (!hex.ok()) return base::DataLossError(hex.status().message());
      actual = "sha256:" + *hex;
    } else {
      StatusOr<std::string> sum = JournalChecksum(doc);
      if (!sum.ok()) return base::DataLossError(sum.status().message());
      actual = *sum;
    }
  } catch (const json::exception& e) {
    return base::DataLossError(std::string("cannot hash the journal: ") + e.what());
  }
  if (actual != checksum->get_ref<const std::string&>()) {
    return base::DataLossError("checksum mismatch: the file says " + checksum->dump() +
                               " but its content hashes to \"" + actual +
                               "\" (edited by hand or damaged)");
  }
  ObjectReader r(doc, "journal");
  r.Require("generation");
  r.Get("generation", &image.generation);
  AURA_RETURN_IF_ERROR(r.status());
  if (auto b = doc.find("binding"); b != doc.end() && !b->is_null()) {
    if (!b->is_object()) return base::DataLossError("binding: expected an object");
    ObjectReader br(*b, "journal.binding");
    br.Get("api_url", &image.binding.api_url);
    br.Get("client", &image.binding.client);
    AURA_RETURN_IF_ERROR(br.status());
  }
  if (entries == doc.end() || !entries->is_object()) {
    return base::DataLossError("entries: expected an object");
  }
  if (!entry_errors.empty()) return entry_errors.begin()->second;
  return image;
}

}  // namespace

StatusOr<JournalImage> DecodeJournal(std::string_view bytes) {
  if (bytes.empty()) return base::DataLossError("the file is empty (an interrupted copy?)");
  bool streamed = false;
  StatusOr<JournalImage> image = DecodeJournalWith(bytes, /*stream=*/true, &streamed);
  if (streamed) return image;
  return DecodeJournalWith(bytes, /*stream=*/false, &streamed);
}

StatusOr<std::string> EncodeJournalEntry(const JournalEntry& e) {
  try {
    json doc{{"format", std::string(kJournalEntryFormat)},
             {"schema_version", kJournalEntrySchemaVersion},
             {"key", e.key},
             {"entry", EncodeEntry(e)}};
    return doc.dump();
  } catch (const json::exception& ex) {
    return base::InvalidArgumentError(std::string("cannot serialize the journal entry: ") +
                                      ex.what());
  }
}

StatusOr<JournalEntry> DecodeJournalEntry(std::string_view bytes) {
  json doc = json::parse(bytes, nullptr, false);
  if (!doc.is_object()) return base::DataLossError("a journal entry is not a JSON object");
  if (!IsString(doc, "format", kJournalEntryFormat)) {
    return base::DataLossError("format: expected \"" + std::string(kJournalEntryFormat) + "\"");
  }
  auto version = doc.find("schema_version");
  if (version == doc.end() || !version->is_number_integer() ||
      *version != kJournalEntrySchemaVersion) {
    return base::DataLossError("schema_version is not " +
                               std::to_string(kJournalEntrySchemaVersion) +
                               " (written by a newer release?)");
  }
  auto key = doc.find("key");
  auto entry = doc.find("entry");
  if (key == doc.end() || !key->is_string() || key->get_ref<const std::string&>().empty()) {
    return base::DataLossError("a journal entry without a key");
  }
  if (entry == doc.end()) return base::DataLossError("a journal entry without \"entry\"");
  JournalEntry e;
  AURA_RETURN_IF_ERROR(DecodeEntry(key->get<std::string>(), *entry, &e));
  return e;
}

std::string FormatTime(base::SystemTime t) {
  using namespace std::chrono;
  const auto ns = duration_cast<nanoseconds>(t.time_since_epoch());
  const sys_days day = floor<days>(sys_time<nanoseconds>(ns));
  const year_month_day ymd(day);
  const hh_mm_ss hms(ns - duration_cast<nanoseconds>(day.time_since_epoch()));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%09lldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<long long>(hms.subseconds().count()));
  return buf;
}

StatusOr<base::SystemTime> ParseTime(std::string_view s) {
  using namespace std::chrono;
  const auto bad = [&] {
    return base::InvalidArgumentError("not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SS[.f]Z): \"" +
                                      std::string(s) + "\"");
  };
  const auto digits = [&](size_t pos, size_t n, long long* out) {
    if (pos + n > s.size()) return false;
    long long v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  long long y, mo, d, h, mi, sec;
  if (s.size() < 20 || !digits(0, 4, &y) || s[4] != '-' || !digits(5, 2, &mo) || s[7] != '-' ||
      !digits(8, 2, &d) || s[10] != 'T' || !digits(11, 2, &h) || s[13] != ':' ||
      !digits(14, 2, &mi) || s[16] != ':' || !digits(17, 2, &sec)) {
    return bad();
  }
  long long frac_ns = 0;
  size_t pos = 19;
  if (s[pos] == '.') {
    size_t n = 0;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++n) {
      if (n < 9) frac_ns = frac_ns * 10 + (s[pos] - '0');
    }
    if (n == 0 || n > 9) return bad();
    for (; n < 9; ++n) frac_ns *= 10;
  }
  if (pos + 1 != s.size() || s[pos] != 'Z') return bad();
  const year_month_day ymd{year(static_cast<int>(y)), month(static_cast<unsigned>(mo)),
                           day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return bad();
  const long long secs = static_cast<long long>(sys_days(ymd).time_since_epoch().count()) * 86400 +
                         h * 3600 + mi * 60 + sec;
  constexpr long long kMaxSecs = std::numeric_limits<long long>::max() / 1000000000 - 1;
  if (secs > kMaxSecs || secs < -kMaxSecs) return bad();
  return base::SystemTime(
      duration_cast<base::SystemTime::duration>(nanoseconds(secs * 1000000000 + frac_ns)));
}

}  // namespace aura::store::detail
