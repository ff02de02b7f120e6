// spec.secondariesCount: read replicas of an enterprise-db (Virtual Dedicated Cloud) instance,
// set by PATCH once it runs (README "Writing specs").
#include "pkg/spec/decode.h"
#include "pkg/spec/text.h"

namespace aura::spec::detail {

inline constexpr int kMaxSecondaries = 15;

void ReadSecondaries(FieldReader& r, const Fields& sf, bool type_known, InstanceSpec* spec) {
  const Field* f = FieldReader::Find(sf, "secondariesCount");
  const YamlNode* v = f == nullptr ? nullptr : Resolve(f->value);
  if (v == nullptr || v->kind == YamlNode::Kind::kNull) return;
  const std::string rule =
      "a whole number from 0 to " + std::to_string(kMaxSecondaries) + ", unquoted";
  std::string text;
  Position pos = f->key->pos;
  if (r.ReadString(sf, "secondariesCount", "spec.secondariesCount", &text, &pos) != Read::kOk) {
    return;
  }
  bool digits = !text.empty() && text.size() <= 2 && v->style == YamlNode::Style::kPlain;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  const int n = digits ? std::stoi(text) : -1;
  if (n < 0 || n > kMaxSecondaries || (text.size() > 1 && text[0] == '0')) {
    r.Error(pos, "spec.secondariesCount",
            "found " + (v->style == YamlNode::Style::kPlain ? Quote(text) : Describe(v)) +
                (v->style == YamlNode::Style::kPlain ? "" : " (quoted)") + "; allowed: " + rule);
    return;
  }
  if (type_known && spec->type != "enterprise-db") {
    r.Error(pos, "spec.secondariesCount",
            "found " + Quote(text) + " for type " + Quote(spec->type) +
                "; allowed only for type enterprise-db (secondaries are a Virtual Dedicated "
                "Cloud feature)");
    return;
  }
  spec->secondaries_count = n;
}

}  // namespace aura::spec::detail
