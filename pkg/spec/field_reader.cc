#include "pkg/spec/field_reader.h"

#include <algorithm>
#include <utility>

#include "pkg/spec/text.h"

namespace aura::spec::detail {
namespace {

using Kind = YamlNode::Kind;
using Style = YamlNode::Style;

constexpr int kFieldTypoDistance = 2;

}  // namespace

std::string Describe(const YamlNode* n) {
  if (n == nullptr || n->kind == Kind::kNull) return "null";
  if (n->kind == Kind::kSequence) return "a sequence";
  if (n->kind == Kind::kMap) return "a mapping";
  return Quote(n->value);
}

void FieldReader::Error(Position p, std::string field, std::string message) {
  if (Full()) {
    ++*suppressed_;
    return;
  }
  errors_->push_back(Diagnostic{Loc(p), std::move(field), std::move(message), ""});
}

Fields FieldReader::ReadMap(const YamlNode* map, const std::string& path,
                            const std::vector<std::string>* allowed) {
  Fields fields;
  const std::string prefix = path.empty() ? "" : path + ".";
  for (std::size_t i = 0; i + 1 < map->children.size(); i += 2) {
    const YamlNode* key_raw = map->children[i];
    const YamlNode* key = Resolve(key_raw);
    if (key == nullptr || key->kind != Kind::kScalar) {
      Error(key_raw->pos, path,
            "found " + Describe(key) + " as a field name; allowed: field names (strings)");
      continue;
    }
    const std::string& name = key->value;
    auto [it, inserted] = fields.try_emplace(name, Field{key_raw, map->children[i + 1]});
    if (!inserted) {
      const Position first = it->second.key->pos;
      Error(key_raw->pos, prefix + name,
            "found field " + Quote(name) + " a second time (first at line " +
                std::to_string(first.line) + ", column " + std::to_string(first.column) +
                "); allowed: each field once");
      continue;
    }
    if (allowed == nullptr || std::find(allowed->begin(), allowed->end(), name) != allowed->end()) {
      continue;
    }
    fields.erase(it);
    if (Full()) {  // spare the suggestion's cost
      ++*suppressed_;
      continue;
    }
    if (name == "<<") {
      Error(key_raw->pos, prefix + name,
            "found a YAML merge key \"<<\"; allowed: the fields written out (merge keys are "
            "not supported)");
      continue;
    }
    const auto suggestion = Suggest(name, *allowed, kFieldTypoDistance);
    std::string hint;
    if (suggestion) {
      hint = " (did you mean \"" + *suggestion + "\"?)";
    } else if (spec_fields_ != nullptr && path != "spec" &&
               std::find(spec_fields_->begin(), spec_fields_->end(), name) != spec_fields_->end()) {
      hint = " (did you mean spec." + name +
             "? check its indentation: spec fields go under `spec:`, indented like the others)";
    }
    Error(key_raw->pos, prefix + (IsPrintableText(name) && name.size() <= 64 ? name : "?"),
          "found unknown field " + Quote(name) + hint + "; allowed: " + Join(*allowed));
  }
  return fields;
}

Position FieldReader::ValuePos(const Field& f) {
  if (f.value != nullptr && f.value->kind != Kind::kNull && f.value->pos.line > 0) {
    return f.value->pos;
  }
  return f.key->pos;
}

Read FieldReader::ReadString(const Fields& fields, std::string_view name, const std::string& path,
                             std::string* out, Position* where) {
  const auto it = fields.find(name);
  if (it == fields.end()) return Read::kAbsent;
  const Field& f = it->second;
  const YamlNode* v = Resolve(f.value);
  *where = ValuePos(f);
  if (v == nullptr || v->kind == Kind::kNull) return Read::kAbsent;
  if (v->kind != Kind::kScalar) {
    Error(*where, path, "found " + Describe(v) + "; allowed: a string");
    return Read::kBad;
  }
  if (v->style == Style::kOther) {
    Error(*where, path, "found a value tagged " + Quote(v->tag) + "; allowed: a string");
    return Read::kBad;
  }
  if (!IsPrintableText(v->value)) {
    Error(*where, path,
          "found " + Quote(v->value) + ", which holds control characters; allowed: printable text");
    return Read::kBad;
  }
  *out = v->value;
  Note(path, *where);
  return Read::kOk;
}

Read FieldReader::ReadEnum(const Fields& fields, std::string_view name, const std::string& path,
                           const std::vector<std::string>& allowed, int typo_distance,
                           std::string* out, Position* where) {
  std::string value;
  const Read r = ReadString(fields, name, path, &value, where);
  if (r != Read::kOk) return r;
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) {
    *out = value;
    return Read::kOk;
  }
  const auto suggestion = Suggest(value, allowed, typo_distance);
  Error(*where, path,
        "found " + Quote(value) + (suggestion ? " (did you mean \"" + *suggestion + "\"?)" : "") +
            "; allowed: " + Join(allowed));
  return Read::kBad;
}

Read FieldReader::ReadBool(const Fields& fields, std::string_view name, const std::string& path,
                           bool* out, Position* where) {
  const auto it = fields.find(name);
  if (it == fields.end()) return Read::kAbsent;
  const YamlNode* v = Resolve(it->second.value);
  *where = ValuePos(it->second);
  if (v == nullptr || v->kind == Kind::kNull) return Read::kAbsent;
  if (v->kind == Kind::kScalar) {
    if (v->style == Style::kOther && v->tag != "tag:yaml.org,2002:bool") {
      Error(*where, path, "found a value tagged " + Quote(v->tag) + "; allowed: true, false");
      return Read::kBad;
    }
    const std::string& s = v->value;
    const bool is_true = s == "true" || s == "True" || s == "TRUE";
    const bool is_false = s == "false" || s == "False" || s == "FALSE";
    const bool bool_tag = v->style == Style::kOther && v->tag == "tag:yaml.org,2002:bool";
    if ((is_true || is_false) && (v->style == Style::kPlain || bool_tag)) {
      *out = is_true;
      Note(path, *where);
      return Read::kOk;
    }
    if (is_true || is_false) {
      Error(*where, path, "found the string " + Quote(s) + "; allowed: true, false (unquoted)");
      return Read::kBad;
    }
  }
  Error(*where, path, "found " + Describe(v) + "; allowed: true, false");
  return Read::kBad;
}

void FieldReader::Missing(Position p, const std::string& path, std::string_view allowed) {
  Error(p, path, "missing (required); allowed: " + std::string(allowed));
}

const Field* FieldReader::Find(const Fields& fields, std::string_view name) {
  const auto it = fields.find(name);
  return it == fields.end() ? nullptr : &it->second;
}

void FieldReader::ReadStringMap(const Fields& fields, std::string_view name,
                                const std::string& path, bool label_values,
                                std::map<std::string, std::string>* out) {
  const Field* f = Find(fields, name);
  const YamlNode* m = f == nullptr ? nullptr : Resolve(f->value);
  if (m == nullptr || m->kind == Kind::kNull) return;
  if (m->kind != Kind::kMap) {
    Error(ValuePos(*f), path, "found " + Describe(m) + "; allowed: a mapping of names to strings");
    return;
  }
  constexpr std::string_view kKeyRule =
      "[prefix/]name, the name 1..63 letters, digits, '-', '_' or '.', starting and ending "
      "with a letter or digit, the prefix a DNS subdomain";
  constexpr std::string_view kValueRule =
      "empty, or 1..63 letters, digits, '-', '_' or '.', starting and ending with a letter or "
      "digit";
  for (const auto& [key, entry] : ReadMap(m, path, nullptr)) {
    const std::string entry_path =
        path + "." + (IsPrintableText(key) && key.size() <= 64 ? key : "?");
    if (!IsQualifiedName(key)) {
      Error(entry.key->pos, entry_path,
            "found key " + Quote(key) + "; allowed: " + std::string(kKeyRule));
      continue;
    }
    const YamlNode* v = Resolve(entry.value);
    std::string value;
    if (v != nullptr && v->kind == Kind::kScalar) {
      value = v->value;
    } else if (v != nullptr && v->kind != Kind::kNull) {
      Error(ValuePos(entry), entry_path, "found " + Describe(v) + "; allowed: a string");
      continue;
    }
    if (label_values ? !IsLabelValue(value) : !IsValidUtf8(value)) {
      Error(ValuePos(entry), entry_path,
            "found " + Quote(value) + "; allowed: " +
                (label_values ? std::string(kValueRule) : std::string("UTF-8 text")));
      continue;
    }
    (*out)[key] = value;
  }
}

}  // namespace aura::spec::detail
