// spec.source: clone a new instance from another one (README "Writing specs").
#include <cctype>

#include "pkg/spec/decode.h"
#include "pkg/spec/text.h"

namespace aura::spec::detail {
namespace {

const std::vector<std::string> kSourceFields = {"instance", "instanceId", "snapshotId"};

constexpr std::string_view kSourceRule =
    "a mapping with instance (a spec: [NAMESPACE/]NAME) or instanceId (an Aura instance id), "
    "and optional snapshotId";
constexpr std::string_view kInstanceRefRule =
    "another spec as [NAMESPACE/]NAME (DNS-1123 labels; a NAME alone is in this spec's "
    "namespace)";
constexpr std::string_view kInstanceIdRule =
    "an Aura instance id: 1..64 letters and digits, such as db1d1234";
constexpr std::string_view kSnapshotIdRule =
    "an Aura snapshot id: 1..64 letters, digits and '-', such as "
    "3e5e6e27-bf0a-4898-abb8-5f3050cac418";

bool IsId(std::string_view s, bool dashes) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && !(dashes && c == '-')) return false;
  }
  return true;
}

}  // namespace

void ReadSource(FieldReader& r, const Fields& sf, InstanceSpec* spec) {
  const Field* f = FieldReader::Find(sf, "source");
  const YamlNode* m = f == nullptr ? nullptr : Resolve(f->value);
  if (m == nullptr || m->kind == YamlNode::Kind::kNull) return;
  if (m->kind != YamlNode::Kind::kMap) {
    r.Error(FieldReader::ValuePos(*f), "spec.source",
            "found " + Describe(m) + "; allowed: " + std::string(kSourceRule));
    return;
  }
  const Fields cf = r.ReadMap(m, "spec.source", &kSourceFields);
  SourceSpec source;
  bool ok = true;
  std::string ref;
  Position ref_pos = f->key->pos;
  const Read rr = r.ReadString(cf, "instance", "spec.source.instance", &ref, &ref_pos);
  if (rr == Read::kOk) {
    const auto slash = ref.find('/');
    const std::string ns =
        slash == std::string::npos ? spec->namespace_name.str() : ref.substr(0, slash);
    const std::string name = slash == std::string::npos ? ref : ref.substr(slash + 1);
    if (!IsDns1123Label(ns) || !IsDns1123Label(name)) {
      r.Error(ref_pos, "spec.source.instance",
              "found " + Quote(ref) + "; allowed: " + std::string(kInstanceRefRule));
      ok = false;
    } else if (ns == spec->namespace_name && name == spec->name) {
      r.Error(ref_pos, "spec.source.instance",
              "found " + Quote(ref) + " (this spec itself); allowed: " +
                  std::string(kInstanceRefRule) + ", not the spec itself");
      ok = false;
    } else {
      source.instance_key = ns + "/" + name;
    }
  }
  ok &= rr != Read::kBad;
  std::string id;
  Position id_pos = f->key->pos;
  const Read ri = r.ReadString(cf, "instanceId", "spec.source.instanceId", &id, &id_pos);
  if (ri == Read::kOk) {
    if (!IsId(id, /*dashes=*/false)) {
      r.Error(id_pos, "spec.source.instanceId",
              "found " + Quote(id) + "; allowed: " + std::string(kInstanceIdRule));
      ok = false;
    } else {
      source.instance_id = id;
    }
  }
  ok &= ri != Read::kBad;
  if (rr == Read::kOk && ri == Read::kOk) {
    r.Error(id_pos, "spec.source.instanceId",
            "found both instance " + Quote(ref) + " and instanceId " + Quote(id) +
                "; allowed: one of them");
    ok = false;
  } else if (rr == Read::kAbsent && ri == Read::kAbsent) {
    r.Missing(f->key->pos, "spec.source.instance",
              "instance (" + std::string(kInstanceRefRule) + ") or instanceId (" +
                  std::string(kInstanceIdRule) + ")");
    ok = false;
  }
  std::string snapshot;
  Position snapshot_pos = f->key->pos;
  const Read rs =
      r.ReadString(cf, "snapshotId", "spec.source.snapshotId", &snapshot, &snapshot_pos);
  if (rs == Read::kOk) {
    if (!IsId(snapshot, /*dashes=*/true)) {
      r.Error(snapshot_pos, "spec.source.snapshotId",
              "found " + Quote(snapshot) + "; allowed: " + std::string(kSnapshotIdRule));
      ok = false;
    } else {
      source.snapshot_id = snapshot;
    }
  }
  ok &= rs != Read::kBad;
  if (ok) spec->source = std::move(source);
}

}  // namespace aura::spec::detail
