// Turns one parsed YAML document into an InstanceSpec with defaults, or the reasons it cannot
// be one. Rules that need more than one document (duplicate keys and Aura names) live in the
// loader. Internal to pkg/spec; the rules are listed in docs/SPECS.md.
//
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "pkg/spec/field_reader.h"
#include "pkg/spec/spec.h"
#include "pkg/spec/yaml_tree.h"

namespace aura::spec::detail {

struct DecodedDocument {
  enum class Kind {
    kEmpty,      // no content: skipped
    kOtherKind,  // another kind (a Deployment, a kustomization): skipped
    kInstance,   // an AuraInstance, valid or not
    kKey,        // an AuraCustomerManagedKey, valid or not (key_spec)
    kUnknown,    // unreadable: not known whether it was an AuraInstance
  };
  Kind kind = Kind::kUnknown;
  std::optional<std::string> key;   // namespace/name, when metadata was readable
  SourceLocation key_location;      // metadata.name
  InstanceSpec spec;                // defaulted; meaningful only when `errors` is empty
  CustomerManagedKeySpec key_spec;  // kKey: the same, for a key
  // The (tenant, Aura name) pair this document claims, when both were read.
  bool has_claim = false;
  SourceLocation claim_location;   // spec.name, or metadata.name when the name is defaulted
  std::vector<Diagnostic> errors;  // `key` not yet filled in
  std::size_t suppressed = 0;      // errors beyond the per-document cap, not in `errors`
};

DecodedDocument DecodeDocument(const YamlDocument& doc, const std::string& file);

// spec.source (decode_source.cc) into spec->source, every problem reported through `r`.
// REQUIRES: spec->namespace_name and spec->name already read (a NAME alone is in the spec's
// namespace; a spec may not clone itself).
void ReadSource(FieldReader& r, const Fields& sf, InstanceSpec* spec);

// spec.secondariesCount (decode_secondaries.cc) into spec->secondaries_count. `type_known`:
// spec->type was read and is valid (the field is allowed for enterprise-db only).
void ReadSecondaries(FieldReader& r, const Fields& sf, bool type_known, InstanceSpec* spec);

// spec.customerManagedKeyId (decode_secondaries.cc): 1..256 printable characters without
// spaces; or spec.customerManagedKeyRef: the metadata.name of an AuraCustomerManagedKey of the
// same namespace. At most one of them; enterprise-db and enterprise-ds only.
void ReadCustomerManagedKey(FieldReader& r, const Fields& sf, bool type_known, InstanceSpec* spec);

// The fields of an AuraCustomerManagedKey's spec besides tenantId/projectId, name and region
// (decode_key.cc): cloudProvider, keyId, instanceType, deletionPolicy. `spec_pos`: where missing
// fields are reported.
void ReadKeyFields(FieldReader& r, const Fields& sf, Position spec_pos,
                   CustomerManagedKeySpec* key);

// The fields an AuraCustomerManagedKey's spec may have, in the order messages list them.
const std::vector<std::string>& KeySpecFields();

// The allowed values, in the order messages list them.
const std::vector<std::string>& AllowedTypes();
const std::vector<std::string>& AllowedCloudProviders();
const std::vector<std::string>& AllowedMemorySizes();
const std::vector<std::string>& AllowedVersions();

}  // namespace aura::spec::detail
