// Typed reads of the fields of one YAML document, each problem reported once as a Diagnostic
// ("found ...; allowed: ..."). The AuraInstance decoder (decode.cc) is built on it. Internal to
// pkg/spec.
//
// Conventions: a read returns kAbsent when the field is not written or is null (`memory:`,
// `memory: ~`), kBad after reporting why the value is unusable, kOk with the value. Positions
// point at the value, or at the key when the value is empty.
//
// Thread-safety: one FieldReader per document, used by one thread.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/spec/spec.h"
#include "pkg/spec/yaml_tree.h"

namespace aura::spec::detail {

// At most this many errors are kept per document; the rest are only counted.
inline constexpr std::size_t kMaxErrorsPerDocument = 100;

enum class Read { kAbsent, kOk, kBad };

struct Field {
  const YamlNode* key = nullptr;
  const YamlNode* value = nullptr;  // as written: may be an alias
};
using Fields = std::map<std::string, Field, std::less<>>;

// "null", "a sequence", "a mapping", or the quoted scalar.
std::string Describe(const YamlNode* n);

class FieldReader {
 public:
  // Errors go to `errors` (beyond kMaxErrorsPerDocument, counted in `suppressed`); the position
  // of every value read successfully goes to `locations` under its field path.
  FieldReader(const std::string& file, std::vector<Diagnostic>* errors, std::size_t* suppressed,
              FieldLocations* locations)
      : file_(file), errors_(errors), suppressed_(suppressed), locations_(locations) {}

  SourceLocation Loc(Position p) const { return SourceLocation{file_, p.line, p.column}; }
  void Error(Position p, std::string field, std::string message);
  // "missing (required); allowed: <allowed>".
  void Missing(Position p, const std::string& path, std::string_view allowed);
  bool Full() const { return errors_->size() >= kMaxErrorsPerDocument; }

  // The fields of `map`, first occurrence of each. Reports keys that are not strings, repeated
  // keys, and (when `allowed` is set) unknown keys with a "did you mean", which are left out.
  // `path` prefixes field paths in messages ("spec"; "" at the top).
  Fields ReadMap(const YamlNode* map, const std::string& path,
                 const std::vector<std::string>* allowed);
  // Fields of `spec`: an unknown field elsewhere that is one of these gets "did you mean
  // spec.<field>?" (a mis-indented spec field).
  void SetSpecFields(const std::vector<std::string>* fields) { spec_fields_ = fields; }

  // A string: any scalar (`5` reads as "5") of printable text, untagged or tagged !!str.
  Read ReadString(const Fields& fields, std::string_view name, const std::string& path,
                  std::string* out, Position* where);
  // A string that must be one of `allowed`; suggests the nearest within `typo_distance` edits
  // (0: only case, space, '-' and '_' differences).
  Read ReadEnum(const Fields& fields, std::string_view name, const std::string& path,
                const std::vector<std::string>& allowed, int typo_distance, std::string* out,
                Position* where);
  // The same two into an interned value (base::Atom), left as it is when the field is absent.
  Read ReadString(const Fields& fields, std::string_view name, const std::string& path,
                  base::Atom* out, Position* where) {
    std::string v = *out;
    const Read r = ReadString(fields, name, path, &v, where);
    *out = v;
    return r;
  }
  Read ReadEnum(const Fields& fields, std::string_view name, const std::string& path,
                const std::vector<std::string>& allowed, int typo_distance, base::Atom* out,
                Position* where) {
    std::string v = *out;
    const Read r = ReadEnum(fields, name, path, allowed, typo_distance, &v, where);
    *out = v;
    return r;
  }
  // true/True/TRUE or false/False/FALSE, unquoted (or tagged !!bool).
  Read ReadBool(const Fields& fields, std::string_view name, const std::string& path, bool* out,
                Position* where);
  // A mapping of names to strings (metadata.labels, metadata.annotations): keys must be
  // Kubernetes qualified names; values label values when `label_values`, else any UTF-8 text.
  void ReadStringMap(const Fields& fields, std::string_view name, const std::string& path,
                     bool label_values, std::map<std::string, std::string>* out);

  // Where a value's problem is reported: at the value, or at its key when the value is empty.
  static Position ValuePos(const Field& f);
  // The Field of a map entry, or nullptr.
  static const Field* Find(const Fields& fields, std::string_view name);

 private:
  const std::vector<std::string>* spec_fields_ = nullptr;
  void Note(const std::string& path, Position p) {
    locations_->Set(path, LineColumn{p.line, p.column});
  }

  const std::string& file_;
  std::vector<Diagnostic>* errors_;
  std::size_t* suppressed_;
  FieldLocations* locations_;
};

}  // namespace aura::spec::detail
