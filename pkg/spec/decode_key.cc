// AuraCustomerManagedKey: the fields of a key spec that instances do not have (docs/SPECS.md
// "AuraCustomerManagedKey"). tenantId, name and region are read by the document decoder with the
// instance rules.
#include "pkg/spec/decode.h"
#include "pkg/spec/text.h"

namespace aura::spec::detail {
namespace {

constexpr int kValueTypoDistance = 2;
const std::vector<std::string> kInstanceTypes = {"enterprise-db", "enterprise-ds"};
const std::vector<std::string> kDeletionPolicies = {"Retain", "Delete"};

constexpr std::string_view kKeyIdRule =
    "the key's id or ARN in the cloud provider's KMS, such as "
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab (1..2048 "
    "characters, no whitespace)";

bool IsKeyId(std::string_view s) {
  if (s.empty() || s.size() > 2048) return false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return false;
  }
  return true;
}

}  // namespace

const std::vector<std::string>& KeySpecFields() {
  static const std::vector<std::string> v = {"name",          "tenantId",      "projectId",
                                             "cloudProvider", "region",        "keyId",
                                             "instanceType",  "deletionPolicy"};
  return v;
}

void ReadKeyFields(FieldReader& r, const Fields& sf, Position spec_pos,
                   CustomerManagedKeySpec* key) {
  Position pos = spec_pos;
  if (r.ReadEnum(sf, "cloudProvider", "spec.cloudProvider", AllowedCloudProviders(),
                 kValueTypoDistance, &key->cloud_provider, &pos) == Read::kAbsent) {
    r.Missing(pos, "spec.cloudProvider", Join(AllowedCloudProviders()));
  }
  pos = spec_pos;
  std::string id;
  const Read rk = r.ReadString(sf, "keyId", "spec.keyId", &id, &pos);
  if (rk == Read::kAbsent) r.Missing(pos, "spec.keyId", kKeyIdRule);
  if (rk == Read::kOk) {
    if (IsKeyId(id)) {
      key->key_id = id;
    } else {
      r.Error(pos, "spec.keyId", "found " + Quote(id) + "; allowed: " + std::string(kKeyIdRule));
    }
  }
  pos = spec_pos;
  if (r.ReadEnum(sf, "instanceType", "spec.instanceType", kInstanceTypes, kValueTypoDistance,
                 &key->instance_type, &pos) == Read::kAbsent) {
    r.Missing(pos, "spec.instanceType",
              Join(kInstanceTypes) + " (the type of the instances the key encrypts)");
  }
  pos = spec_pos;
  std::string policy;
  if (r.ReadEnum(sf, "deletionPolicy", "spec.deletionPolicy", kDeletionPolicies, kValueTypoDistance,
                 &policy, &pos) == Read::kOk) {
    key->deletion_policy = policy == "Delete" ? DeletionPolicy::kDelete : DeletionPolicy::kRetain;
  }
}

}  // namespace aura::spec::detail
