// Checks run on a file's bytes before yaml-cpp sees them, and the byte-offset -> line/column map
// every diagnostic of that file uses. Internal to pkg/spec.
//
// Why a pre-scan: yaml-cpp's parser is recursive and accepts bytes YAML forbids. CheckEncoding
// rejects what is not UTF-8 text; CheckStructure rejects tabs in indentation and estimates the
// nesting depth from brackets, indentation and "- " indicators so that a document nested
// thousands deep is refused before the recursive parser runs. The estimate is a guard, not the
// user-facing limit: the exact depth is checked again while parsing (yaml_tree.h).
//
// Thread-safety: LineIndex is not thread-safe (it caches the last lookup); the functions are pure.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aura::spec::detail {

// 1-based line and column (columns count code points, as editors do).
struct Position {
  int line = 0;
  int column = 0;
};

// Maps byte offsets of one text to positions. Line breaks are LF, CRLF and a lone CR.
class LineIndex {
 public:
  // REQUIRES: `text` outlives the index.
  explicit LineIndex(std::string_view text);

  // Offsets past the end map to the end of the text. Consecutive lookups at increasing offsets
  // on one line cost only the distance between them.
  Position At(std::size_t offset) const;

 private:
  std::string_view text_;
  std::vector<std::size_t> starts_;  // offset of the first byte of each line
  mutable std::size_t cache_offset_ = 0;
  mutable std::size_t cache_line_ = 0;
  mutable int cache_column_ = 1;
};

struct TextProblem {
  std::size_t offset = 0;  // byte offset of the offending character
  std::string message;     // "found ...; allowed: ..."
};

// The first byte sequence that is not UTF-8 or is a character YAML forbids (NUL and other
// control characters). Nothing when the text is clean.
std::optional<TextProblem> CheckEncoding(std::string_view text);

// The first tab used for indentation, or the first place where the estimated nesting depth
// exceeds 2 x max_depth. REQUIRES: CheckEncoding(text) found nothing.
std::optional<TextProblem> CheckStructure(std::string_view text, int max_depth);

}  // namespace aura::spec::detail
