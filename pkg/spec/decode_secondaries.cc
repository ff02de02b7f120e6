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
  constexpr std::string_view kIdRule =
      "the id of an Aura customer-managed key (1..256 characters, no spaces), as GET "
      "/customer-managed-keys lists it";
  constexpr std::string_view kRefRule =
      "the metadata.name of an AuraCustomerManagedKey spec in this spec's namespace (a DNS-1123 "
      "label)";
  std::string key, ref;
  Position pos, ref_pos;
  const Read rk = r.ReadString(sf, "customerManagedKeyId", "spec.customerManagedKeyId", &key, &pos);
  const Read rr =
      r.ReadString(sf, "customerManagedKeyRef", "spec.customerManagedKeyRef", &ref, &ref_pos);
  if (rk == Read::kOk && rr == Read::kOk) {
    r.Error(ref_pos, "spec.customerManagedKeyRef",
            "found " + Quote(ref) + " and customerManagedKeyId " + Quote(key) +
                "; allowed: one of customerManagedKeyId (an Aura key id) and "
                "customerManagedKeyRef (a key spec), not both");
    return;
  }
  const bool is_ref = rr == Read::kOk;
  if (!is_ref && rk != Read::kOk) return;
  const std::string field = is_ref ? "spec.customerManagedKeyRef" : "spec.customerManagedKeyId";
  const std::string& value = is_ref ? ref : key;
  const Position at = is_ref ? ref_pos : pos;
  bool ok = !value.empty() && value.size() <= 256;
  for (char c : value) ok = ok && c != ' ';
  if (is_ref) ok = IsDns1123Label(value);
  if (!ok) {
    r.Error(at, field,
            "found " + Quote(value) + "; allowed: " + std::string(is_ref ? kRefRule : kIdRule));
    return;
  }
  if (type_known && spec->type != "enterprise-db" && spec->type != "enterprise-ds") {
    r.Error(at, field,
            "found " + Quote(value) + " for type " + Quote(spec->type) +
                "; allowed only for type enterprise-db or enterprise-ds");
    return;
  }
  if (is_ref) {
    spec->customer_managed_key_ref = spec->namespace_name + "/" + value;
  } else {
    spec->customer_managed_key_id = key;
  }
}

}  // namespace aura::spec::detail
