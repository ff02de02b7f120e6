// A small YAML document tree built from yaml-cpp's parser events, with positions and limits.
// Internal to pkg/spec.
//
// Why not YAML::Node: the loader needs (1) every document of a stream even when a later one has a
// syntax error, (2) scalar style (plain `5` vs quoted "5"), (3) exact positions of keys and
// values, (4) duplicate keys kept, and (5) aliases that cost nothing: an alias is one node that
// points at its anchor's node, so an "alias bomb" is a few hundred nodes, never an expansion. The
// tree may contain cycles (`&a [*a]`); readers follow an alias at most once (Resolve) and never
// walk a tree generically.
//
// Thread-safety: values; ParseYaml is reentrant.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/spec/prescan.h"

namespace aura::spec::detail {

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap, kAlias };
  // kPlain: untagged plain scalar (`5`, `true`); kQuoted: untagged quoted or block scalar;
  // kStr: explicitly tagged !!str; kOther: any other tag (kept in `tag`).
  enum class Style { kPlain, kQuoted, kStr, kOther };

  Kind kind = Kind::kNull;
  Style style = Style::kPlain;
  Position pos;
  std::string value;                 // scalar text
  std::string tag;                   // only for Style::kOther
  const YamlNode* target = nullptr;  // kAlias: the anchored node (never itself an alias)
  // kSequence: the items. kMap: key, value, key, value... in document order, duplicates kept.
  std::vector<const YamlNode*> children;
};

// The node an alias stands for, or `n` itself. Null stays null.
const YamlNode* Resolve(const YamlNode* n);

struct YamlDocument {
  std::deque<YamlNode> arena;  // owns every node; deque keeps pointers stable
  const YamlNode* root = nullptr;
  Position start;
};

struct ParseLimits {
  int max_depth = 64;              // nested mappings and sequences
  std::size_t max_nodes = 250000;  // nodes of one document, aliases included (bounds memory)
};

struct ParseError {
  Position pos;
  std::string message;  // complete, with the limit when a limit was hit
};

// Parses `text` (UTF-8 without BOM) and calls `on_document` for each complete document, in
// order. Stops at the first syntax error or exceeded limit and returns it; the documents before
// it were delivered. `on_document` returns false to stop early (no error is returned then).
// yaml-cpp exceptions never escape.
std::optional<ParseError> ParseYaml(std::string_view text, const LineIndex& lines,
                                    const ParseLimits& limits,
                                    const std::function<bool(YamlDocument&)>& on_document);

}  // namespace aura::spec::detail
