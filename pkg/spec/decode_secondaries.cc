// spec.secondariesCount: read replicas of an enterprise-db (Virtual Dedicated Cloud) instance,
// set by PATCH once it runs; spec.customerManagedKeyId: encryption with the customer's key,
// chosen at create (README "Writing specs").
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

void ReadCustomerManagedKey(FieldReader& r, const Fields& sf, bool type_known, InstanceSpec* spec) {
  std::string key;
  Position pos;
  if (r.ReadString(sf, "customerManagedKeyId", "spec.customerManagedKeyId", &key, &pos) !=
      Read::kOk) {
    return;
  }
  bool ok = !key.empty() && key.size() <= 256;
  for (char c : key) ok = ok && c != ' ';
  if (!ok) {
    r.Error(pos, "spec.customerManagedKeyId",
            "found " + Quote(key) +
                "; allowed: the id of an Aura customer-managed key (1..256 characters, no "
                "spaces), as GET /customer-managed-keys lists it");
    return;
  }
  if (type_known && spec->type != "enterprise-db" && spec->type != "enterprise-ds") {
    r.Error(pos, "spec.customerManagedKeyId",
            "found " + Quote(key) + " for type " + Quote(spec->type) +
                "; allowed only for type enterprise-db or enterprise-ds");
    return;
  }
  spec->customer_managed_key_id = key;
}

}  // namespace aura::spec::detail
