#include "pkg/spec/prescan.h"

#include <algorithm>
#include <cstdio>

#include "pkg/spec/text.h"

namespace aura::spec::detail {

LineIndex::LineIndex(std::string_view text) : text_(text) {
  starts_.push_back(0);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      starts_.push_back(i + 1);
    } else if (text[i] == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n')) {
      starts_.push_back(i + 1);
    }
  }
}

Position LineIndex::At(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  const std::size_t line =
      static_cast<std::size_t>(std::upper_bound(starts_.begin(), starts_.end(), offset) -
                               starts_.begin()) -
      1;
  std::size_t from = starts_[line];
  int column = 1;
  if (line == cache_line_ && offset >= cache_offset_ && cache_offset_ >= from) {
    from = cache_offset_;
    column = cache_column_;
  }
  for (std::size_t i = from; i < offset;) {
    const std::size_t n = Utf8SequenceLength(text_, i);
    i += n == 0 ? 1 : n;
    ++column;
  }
  cache_line_ = line;
  cache_offset_ = offset;
  cache_column_ = column;
  return Position{static_cast<int>(line) + 1, column};
}

std::optional<TextProblem> CheckEncoding(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = Utf8SequenceLength(text, i);
    char buf[160];
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "found invalid UTF-8 (byte 0x%02x); allowed: UTF-8 text",
                    static_cast<unsigned>(static_cast<unsigned char>(text[i])));
      return TextProblem{i, buf};
    }
    const char32_t c = DecodeUtf8(text, i);
    if (c == 0) {
      return TextProblem{i, "found a NUL byte (binary data?); allowed: UTF-8 text"};
    }
    if (IsForbiddenCodePoint(c)) {
      std::snprintf(buf, sizeof buf,
                    "found control character U+%04X; allowed: UTF-8 text without control "
                    "characters other than tab and line breaks",
                    static_cast<unsigned>(c));
      return TextProblem{i, buf};
    }
    i += n;
  }
  return std::nullopt;
}

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }
bool IsFlowIndicator(char c) { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'; }

// Line-by-line scanner. It knows just enough YAML to find indentation, flow brackets, quoted
// scalars (which may span lines) and block scalars (whose content is text, not structure).
// When unsure it over-estimates depth, which can only refuse, never let a deep document through
// unseen; yaml-cpp's own recursion guard remains as a last resort behind it.
class StructureScanner {
 public:
  StructureScanner(std::string_view text, int max_depth)
      : t_(text), max_depth_(max_depth), limit_(2 * max_depth) {}

  std::optional<TextProblem> Run() {
    std::size_t s = 0;
    while (s <= t_.size() && !problem_) {
      std::size_t e = s;
      while (e < t_.size() && t_[e] != '\n' && t_[e] != '\r') ++e;
      Line(s, e);
      if (e >= t_.size()) break;
      s = e + ((t_[e] == '\r' && e + 1 < t_.size() && t_[e + 1] == '\n') ? 2 : 1);
    }
    // yaml-cpp accepts a quote left open up to the end of the stream, which would silently turn
    // the rest of the file (later documents included) into one string.
    if (quote_ != 0) Unterminated("the end of the file");
    return problem_;
  }

 private:
  bool IsDocumentMarker(std::size_t s, std::size_t e) const {
    if (e - s < 3) return false;
    const std::string_view head = t_.substr(s, 3);
    if (head != "---" && head != "...") return false;
    return e - s == 3 || IsSpace(t_[s + 3]);
  }

  void Line(std::size_t s, std::size_t e) {
    std::size_t p = s;
    while (p < e && t_[p] == ' ') ++p;
    const int indent = static_cast<int>(p - s);
    std::size_t q = p;
    while (q < e && IsSpace(t_[q])) ++q;
    const bool blank = q == e;
    if (in_block_scalar_) {
      if (blank) return;
      if (!IsDocumentMarker(s, e)) {
        if (block_indent_ < 0 && indent > block_threshold_) block_indent_ = indent;
        if (block_indent_ >= 0 && indent >= block_indent_) return;
      }
      in_block_scalar_ = false;
    }
    if (quote_ != 0) {  // a quoted scalar continues from the previous line
      if (IsDocumentMarker(s, e)) {
        Unterminated("the next document marker");
        return;
      }
      const std::size_t after = SkipQuoted(s, e);
      if (quote_ != 0) return;
      Content(after, e, /*line_start=*/false);
      return;
    }
    if (blank || t_[q] == '#') return;
    if (flow_ == 0 && q != p) {
      Fail(p,
           "found a tab character in indentation; allowed: spaces only (YAML forbids tabs "
           "for indentation)");
      return;
    }
    if (IsDocumentMarker(s, e)) {
      indents_.clear();
      Content(s + 3, e, /*line_start=*/true);
      return;
    }
    if (indent == 0 && t_[p] == '%') return;  // directive
    if (flow_ == 0) {
      while (!indents_.empty() && indents_.back() >= indent) indents_.pop_back();
      indents_.push_back(indent);
      Check(0, p);
    }
    Content(p, e, /*line_start=*/true);
  }

  // Scans a quoted scalar body from `j` (after the opening quote, or the start of a
  // continuation line). Returns the offset after the closing quote; quote_ stays set when the
  // line ends first.
  std::size_t SkipQuoted(std::size_t j, std::size_t e) {
    while (j < e) {
      const char c = t_[j];
      if (quote_ == '"' && c == '\\') {
        j += 2;
        continue;
      }
      if (c == quote_) {
        if (quote_ == '\'' && j + 1 < e && t_[j + 1] == '\'') {
          j += 2;
          continue;
        }
        quote_ = 0;
        return j + 1;
      }
      ++j;
    }
    return e;
  }

  void Content(std::size_t j, std::size_t e, bool line_start) {
    int leading = 0;              // "- ", "? ", ": " before the first token of the line
    int last_indicator_col = -1;  // column of the last of those
    int content_col = -1;         // column of the first token that is not an indicator
    bool token_start = true;      // the next character starts a node
    const std::size_t line_begin = LineBegin(j);
    auto col = [&](std::size_t k) { return static_cast<int>(k - line_begin); };
    while (j < e && !problem_) {
      const char c = t_[j];
      const bool next_blank = j + 1 >= e || IsSpace(t_[j + 1]);
      if (IsSpace(c)) {
        ++j;
        continue;
      }
      if (c == '#' && (j == line_begin || IsSpace(t_[j - 1]))) return;  // comment
      if (token_start) {
        if ((c == '-' || c == '?' || c == ':') &&
            (next_blank || (flow_ > 0 && IsFlowIndicator(t_[j + 1])))) {
          if (content_col < 0 && flow_ == 0 && line_start) {
            ++leading;
            last_indicator_col = col(j);
            Check(leading, j);
          }
          ++j;
          continue;
        }
        if (c == '&' || c == '!' || c == '*') {
          if (content_col < 0) content_col = col(j);
          while (j < e && !IsSpace(t_[j]) && !IsFlowIndicator(t_[j])) ++j;
          token_start = c != '*';
          continue;
        }
        if (c == '"' || c == '\'') {
          if (content_col < 0) content_col = col(j);
          quote_ = c;
          quote_start_ = j;
          j = SkipQuoted(j + 1, e);
          if (quote_ != 0) return;
          token_start = false;
          continue;
        }
        if ((c == '|' || c == '>') && flow_ == 0 && IsBlockScalarHeader(j + 1, e)) {
          in_block_scalar_ = true;
          block_threshold_ = content_col >= 0 ? content_col : last_indicator_col;
          block_indent_ = -1;
          return;
        }
      }
      // Brackets open flow collections where a node starts; inside a plain scalar of block
      // context they are text. Inside flow context they are counted either way (over-estimate).
      if ((c == '[' || c == '{') && (token_start || flow_ > 0)) {
        if (content_col < 0) content_col = col(j);
        ++flow_;
        Check(leading, j);
        token_start = true;
        ++j;
        continue;
      }
      if ((c == ']' || c == '}') && flow_ > 0) {
        flow_ = std::max(0, flow_ - 1);
        token_start = false;
        ++j;
        continue;
      }
      if (c == ',' && flow_ > 0) {
        token_start = true;
        ++j;
        continue;
      }
      if (c == ':' && (next_blank || (flow_ > 0 && IsFlowIndicator(t_[j + 1])))) {
        token_start = true;
        ++j;
        continue;
      }
      if (content_col < 0) content_col = col(j);
      token_start = false;  // a plain scalar: quotes inside it are ordinary characters
      ++j;
    }
  }

  // After '|' or '>': optional indentation and chomping indicators, then blank or a comment.
  bool IsBlockScalarHeader(std::size_t j, std::size_t e) const {
    while (j < e && (t_[j] == '+' || t_[j] == '-' || (t_[j] >= '1' && t_[j] <= '9'))) ++j;
    if (j < e && !IsSpace(t_[j])) return false;
    while (j < e && IsSpace(t_[j])) ++j;
    return j == e || t_[j] == '#';
  }

  std::size_t LineBegin(std::size_t j) const {
    while (j > 0 && t_[j - 1] != '\n' && t_[j - 1] != '\r') --j;
    return j;
  }

  void Check(int leading, std::size_t at) {
    const int estimate = static_cast<int>(indents_.size()) + leading + flow_;
    if (estimate > limit_ && !problem_) {
      Fail(at, "found nesting about " + std::to_string(estimate) +
                   " levels deep; allowed: at most " + std::to_string(max_depth_) +
                   " levels of nested mappings and sequences (max_depth)");
    }
  }

  void Unterminated(const std::string& where) {
    const std::string q(1, quote_);
    Fail(quote_start_, "found a quoted string with no closing " + q + " before " + where +
                           "; allowed: a closing " + q);
  }

  void Fail(std::size_t at, std::string message) {
    if (!problem_) problem_ = TextProblem{at, std::move(message)};
  }

  std::string_view t_;
  int max_depth_;
  int limit_;
  std::vector<int> indents_;  // indentation of the enclosing block lines
  int flow_ = 0;              // open '[' and '{'
  char quote_ = 0;            // '"' or '\'' while inside a quoted scalar
  std::size_t quote_start_ = 0;
  bool in_block_scalar_ = false;
  int block_threshold_ = -1;  // content must be indented more than this
  int block_indent_ = -1;     // indentation of the content, once seen
  std::optional<TextProblem> problem_;
};

}  // namespace

std::optional<TextProblem> CheckStructure(std::string_view text, int max_depth) {
  return StructureScanner(text, max_depth).Run();
}

}  // namespace aura::spec::detail
