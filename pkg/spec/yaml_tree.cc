#include "pkg/spec/yaml_tree.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <istream>
#include <map>
#include <streambuf>

namespace aura::spec::detail {

const YamlNode* Resolve(const YamlNode* n) {
  if (n != nullptr && n->kind == YamlNode::Kind::kAlias) return n->target;
  return n;
}

namespace {

// Read-only std::streambuf over a string_view, so yaml-cpp reads the text without a copy.
class ViewBuffer : public std::streambuf {
 public:
  explicit ViewBuffer(std::string_view text) {
    char* begin = const_cast<char*>(text.data());  // never written: no put area, no putback
    setg(begin, begin, begin + text.size());
  }
};

// Thrown from event callbacks to stop yaml-cpp when a limit is hit; caught in ParseYaml.
struct LimitExceeded {
  YAML::Mark mark;
  std::string message;
};
// Thrown when on_document asks to stop.
struct StopRequested {};

class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(const LineIndex& lines, const ParseLimits& limits,
              const std::function<bool(YamlDocument&)>& on_document)
      : lines_(lines), limits_(limits), on_document_(on_document) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    doc_ = YamlDocument();
    doc_.start = At(mark);
    nodes_ = 0;
    stack_.clear();
    anchors_.clear();
  }

  void OnDocumentEnd() override {
    if (!on_document_(doc_)) throw StopRequested{};
    doc_ = YamlDocument();
  }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Add(mark, YamlNode::Kind::kNull, anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    YamlNode* n = Add(mark, YamlNode::Kind::kAlias, 0);
    auto it = anchors_.find(anchor);
    n->target = it == anchors_.end() ? nullptr : it->second;
    if (n->target == nullptr) n->kind = YamlNode::Kind::kNull;
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    YamlNode* n = Add(mark, YamlNode::Kind::kScalar, anchor);
    n->value = value;
    SetStyle(n, tag);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(Add(mark, YamlNode::Kind::kSequence, anchor), mark, tag);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(Add(mark, YamlNode::Kind::kMap, anchor), mark, tag);
  }
  void OnMapEnd() override { Close(); }

  Position At(const YAML::Mark& mark) const {
    if (mark.is_null() || mark.pos < 0) return Position{};
    return lines_.At(static_cast<std::size_t>(mark.pos));
  }

 private:
  static void SetStyle(YamlNode* n, const std::string& tag) {
    if (tag == "?" || tag.empty()) {
      n->style = YamlNode::Style::kPlain;
    } else if (tag == "!") {
      n->style = YamlNode::Style::kQuoted;
    } else if (tag == "tag:yaml.org,2002:str") {
      n->style = YamlNode::Style::kStr;
    } else {
      n->style = YamlNode::Style::kOther;
      n->tag = tag;
    }
  }

  YamlNode* Add(const YAML::Mark& mark, YamlNode::Kind kind, YAML::anchor_t anchor) {
    if (++nodes_ > limits_.max_nodes) {
      throw LimitExceeded{mark, "found more than " + std::to_string(limits_.max_nodes) +
                                    " YAML nodes in one document; allowed: at most " +
                                    std::to_string(limits_.max_nodes) + " (max_nodes)"};
    }
    YamlNode& n = doc_.arena.emplace_back();
    n.kind = kind;
    n.pos = At(mark);
    if (stack_.empty()) {
      if (doc_.root == nullptr) doc_.root = &n;
    } else {
      stack_.back()->children.push_back(&n);
    }
    if (anchor != 0) anchors_[anchor] = &n;
    return &n;
  }

  void Open(YamlNode* n, const YAML::Mark& mark, const std::string& tag) {
    if (tag != "?" && tag != "!" && !tag.empty()) {
      n->style = YamlNode::Style::kOther;
      n->tag = tag;
    }
    stack_.push_back(n);
    if (static_cast<int>(stack_.size()) > limits_.max_depth) {
      throw LimitExceeded{mark, "found nesting deeper than " + std::to_string(limits_.max_depth) +
                                    " levels; allowed: at most " +
                                    std::to_string(limits_.max_depth) +
                                    " levels of nested mappings and sequences (max_depth)"};
    }
  }

  void Close() {
    if (!stack_.empty()) stack_.pop_back();
  }

  const LineIndex& lines_;
  const ParseLimits& limits_;
  const std::function<bool(YamlDocument&)>& on_document_;
  YamlDocument doc_;
  std::vector<YamlNode*> stack_;
  std::map<YAML::anchor_t, const YamlNode*> anchors_;
  std::size_t nodes_ = 0;
};

}  // namespace

std::optional<ParseError> ParseYaml(std::string_view text, const LineIndex& lines,
                                    const ParseLimits& limits,
                                    const std::function<bool(YamlDocument&)>& on_document) {
  ViewBuffer buffer(text);
  std::istream in(&buffer);
  TreeBuilder builder(lines, limits, on_document);
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const StopRequested&) {
    return std::nullopt;
  } catch (const LimitExceeded& e) {
    return ParseError{builder.At(e.mark), e.message};
  } catch (const YAML::DeepRecursion& e) {
    return ParseError{builder.At(e.mark),
                      "found nesting too deep for the YAML parser; allowed: at most " +
                          std::to_string(limits.max_depth) +
                          " levels of nested mappings and sequences (max_depth)"};
  } catch (const YAML::Exception& e) {
    std::string msg = "invalid YAML: " + e.msg;
    // The usual cause, in plain words.
    for (const char* indentation :
         {"illegal map value", "end of map not found", "end of sequence not found",
          "bad indentation", "block sequence entries are not allowed"}) {
      if (e.msg.find(indentation) != std::string::npos) {
        msg +=
            " (check the indentation of this line and of the line above: fields of one map "
            "start in the same column, with spaces, not tabs)";
        break;
      }
    }
    return ParseError{builder.At(e.mark), msg};
  } catch (const std::bad_alloc&) {
    return ParseError{Position{}, "invalid YAML: out of memory while parsing"};
  } catch (const std::exception& e) {
    return ParseError{Position{}, std::string("invalid YAML: ") + e.what()};
  }
  return std::nullopt;
}

}  // namespace aura::spec::detail
