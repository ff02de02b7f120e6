#include "pkg/spec/decode.h"

#include <algorithm>
#include <functional>
#include <map>
#include <string_view>

#include "pkg/spec/field_reader.h"
#include "pkg/spec/text.h"

namespace aura::spec::detail {
namespace {

using Kind = YamlNode::Kind;
using Style = YamlNode::Style;

constexpr std::string_view kApiVersion = "aura.neo4j.io/v1alpha1";
constexpr std::string_view kApiGroupPrefix = "aura.neo4j.io/";
constexpr std::string_view kKind = "AuraInstance";
constexpr std::string_view kKeyKind = "AuraCustomerManagedKey";
constexpr std::string_view kKinds = "AuraInstance, AuraCustomerManagedKey";
constexpr int kValueTypoDistance = 2;

const std::vector<std::string> kTopFields = {"apiVersion", "kind", "metadata", "spec"};
const std::vector<std::string> kMetadataFields = {"name", "namespace", "labels", "annotations"};
const std::vector<std::string> kSpecFields = {"name",
                                              "tenantId",
                                              "projectId",
                                              "cloudProvider",
                                              "region",
                                              "type",
                                              "version",
                                              "memory",
                                              "storage",
                                              "vectorOptimized",
                                              "graphAnalyticsPlugin",
                                              "cdcEnrichmentMode",
                                              "paused",
                                              "deletionPolicy",
                                              "adoption",
                                              "recreate",
                                              "suspend",
                                              "connectionSecret",
                                              "source",
                                              "secondariesCount",
                                              "customerManagedKeyId",
                                              "customerManagedKeyRef"};
const std::vector<std::string> kConnectionSecretFields = {"name"};
const std::vector<std::string> kDeletionPolicies = {"Retain", "Delete"};
const std::vector<std::string> kAdoptions = {"IfExists", "Never"};
const std::vector<std::string> kRecreates = {"IfMissing", "Never"};
const std::vector<std::string> kCdcModes = {"OFF", "DIFF", "FULL"};
const std::vector<std::string> kCdcTypes = {"business-critical", "enterprise-db", "enterprise-ds"};

constexpr std::string_view kDnsLabelRule =
    "a DNS-1123 label: 1..63 lowercase letters, digits and '-', starting and ending with a "
    "letter or digit";
constexpr std::string_view kTenantRule =
    "the Aura tenant (project) id, a UUID such as 6e6bbbe2-5678-5f8a-1234-b1f62f08b98f (letters, "
    "digits and '-', at most 64)";
constexpr std::string_view kRegionRule =
    "a region id of lowercase letters and digits in '-'-separated words, at most 64, such as "
    "europe-west1, us-east-1, westeurope (the online check confirms the tenant offers it)";
constexpr std::string_view kSecretNameRule =
    "a Kubernetes Secret name (a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' "
    "and '.', starting and ending with a letter or digit)";
constexpr std::string_view kAuraNameRule =
    "1..30 characters without leading or trailing whitespace";

bool IsTenantId(std::string_view s) {
  if (s.empty() || s.size() > 64 || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool IsRegion(std::string_view s) {
  if (s.empty() || s.size() > 64 || s.front() == '-' || s.back() == '-') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '-' && s[i - 1] == '-') return false;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool IsWhitespace(char32_t c) {
  return c == ' ' || c == '\t' || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200B) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

// Why `name` is not a valid Aura name, or "" when it is. REQUIRES: IsPrintableText(name).
std::string AuraNameProblem(std::string_view name) {
  const std::size_t length = Utf8Length(name);
  if (length == 0) return "empty";
  if (length > 30) return std::to_string(length) + " characters";
  if (IsWhitespace(DecodeUtf8(name, 0))) return "leading whitespace";
  std::size_t last = name.size() - 1;
  while (last > 0 && (static_cast<unsigned char>(name[last]) & 0xC0) == 0x80) --last;
  if (IsWhitespace(DecodeUtf8(name, last))) return "trailing whitespace";
  return "";
}

// Decodes one document into out_ (kind, key, spec, errors). One Decoder per document.
class Decoder : private FieldReader {
 public:
  Decoder(const std::string& file, DecodedDocument& out)
      : FieldReader(file, &out.errors, &out.suppressed, &out.spec.field_locations), out_(out) {
    SetSpecFields(&kSpecFields);
  }

  void Run(const YamlDocument& doc) {
    const YamlNode* root = Resolve(doc.root);
    // The first key, not the "---" before it.
    out_.spec.location = Loc(root != nullptr && root->pos.line > 0 ? root->pos : doc.start);
    if (root == nullptr || root->kind == Kind::kNull) {
      out_.kind = DecodedDocument::Kind::kEmpty;
      return;
    }
    if (root->kind != Kind::kMap) {
      Error(root->pos, "",
            "found " + Describe(root) +
                " as a document; allowed: a mapping (an object with apiVersion, kind, metadata "
                "and spec)");
      out_.kind = DecodedDocument::Kind::kUnknown;
      return;
    }
    if (!Classify(root)) return;
    out_.kind = is_key_ ? DecodedDocument::Kind::kKey : DecodedDocument::Kind::kInstance;
    if (is_key_) SetSpecFields(&KeySpecFields());
    const Fields top = ReadMap(root, "", &kTopFields);
    std::string api;
    Position api_pos = root->pos;
    switch (ReadString(top, "apiVersion", "apiVersion", &api, &api_pos)) {
      case Read::kAbsent:
        Error(api_pos, "apiVersion", "missing (required); allowed: " + std::string(kApiVersion));
        break;
      case Read::kOk:
        if (api != kApiVersion) {
          Error(api_pos, "apiVersion",
                "found " + Quote(api) + "; allowed: " + std::string(kApiVersion));
        }
        break;
      case Read::kBad:
        break;
    }
    DecodeMetadata(top, root);
    if (is_key_) {
      DecodeKeySpec(top, root);
    } else {
      DecodeSpec(top, root);
    }
  }

 private:
  static const YamlNode* FindValue(const YamlNode* map, std::string_view key) {
    for (std::size_t i = 0; i + 1 < map->children.size(); i += 2) {
      const YamlNode* k = Resolve(map->children[i]);
      if (k != nullptr && k->kind == Kind::kScalar && k->value == key) {
        return map->children[i + 1];
      }
    }
    return nullptr;
  }

  static bool NearKind(std::string_view s, std::string_view kind) {
    return EditDistance(s, kind) <= 3 || Suggest(s, {std::string(kind)}, 0).has_value();
  }
  static bool NearKind(std::string_view s) { return NearKind(s, kKind) || NearKind(s, kKeyKind); }

  // Decides whether the document is (meant to be) an AuraInstance. Other kinds are skipped, but
  // a near miss (`kind: AuraInstances`, a missing kind with an aura.neo4j.io apiVersion) is an
  // invalid AuraInstance: skipping it would make its spec look deleted.
  bool Classify(const YamlNode* root) {
    const YamlNode* kind_raw = FindValue(root, "kind");
    const YamlNode* kind = Resolve(kind_raw);
    const YamlNode* api = Resolve(FindValue(root, "apiVersion"));
    const bool aura_group =
        api != nullptr && api->kind == Kind::kScalar &&
        std::string_view(api->value).substr(0, kApiGroupPrefix.size()) == kApiGroupPrefix;
    if (kind != nullptr && kind->kind != Kind::kNull) {
      if (kind->kind != Kind::kScalar) {
        Error(kind_raw->pos, "kind",
              "found " + Describe(kind) + "; allowed: a string such as " + std::string(kKind));
        out_.kind = DecodedDocument::Kind::kUnknown;
        return false;
      }
      if (kind->value == kKind) return true;
      is_key_ = kind->value == kKeyKind;
      if (is_key_) return true;
      if (NearKind(kind->value)) {
        // The nearer kind is the one the document is decoded as.
        is_key_ = EditDistance(kind->value, kKeyKind) < EditDistance(kind->value, kKind);
        const std::string meant(is_key_ ? kKeyKind : kKind);
        Error(kind_raw->pos, "kind",
              "found " + Quote(kind->value) + " (did you mean \"" + meant +
                  "\"?); allowed: " + std::string(kKinds));
        return true;
      }
      if (aura_group) {
        Error(kind_raw->pos, "kind",
              "found " + Quote(kind->value) + "; allowed: " + std::string(kKinds) +
                  " (the kinds of aura.neo4j.io)");
        return true;
      }
      out_.kind = DecodedDocument::Kind::kOtherKind;
      return false;
    }
    // No kind. A misspelt `kind` key is reported as an unknown field by ReadMap.
    for (std::size_t i = 0; i + 1 < root->children.size(); i += 2) {
      const YamlNode* k = Resolve(root->children[i]);
      const YamlNode* v = Resolve(root->children[i + 1]);
      if (k != nullptr && k->kind == Kind::kScalar && EditDistance(k->value, "kind") <= 1 &&
          v != nullptr && v->kind == Kind::kScalar && NearKind(v->value)) {
        return true;
      }
    }
    const YamlNode* spec = Resolve(FindValue(root, "spec"));
    const bool has_tenant =
        spec != nullptr && spec->kind == Kind::kMap &&
        (FindValue(spec, "tenantId") != nullptr || FindValue(spec, "projectId") != nullptr);
    if (aura_group || has_tenant) {
      Error(root->pos, "kind", "missing (required); allowed: " + std::string(kKinds));
      return true;
    }
    out_.kind = DecodedDocument::Kind::kOtherKind;
    return false;
  }

  void DecodeMetadata(const Fields& top, const YamlNode* root) {
    const Field* f = Find(top, "metadata");
    const YamlNode* m = f == nullptr ? nullptr : Resolve(f->value);
    constexpr std::string_view kRule =
        "a mapping with name and optional namespace, labels, annotations";
    if (m == nullptr || m->kind == Kind::kNull) {
      Missing(f == nullptr ? root->pos : f->key->pos, "metadata", kRule);
      return;
    }
    if (m->kind != Kind::kMap) {
      Error(ValuePos(*f), "metadata", "found " + Describe(m) + "; allowed: " + std::string(kRule));
      return;
    }
    const Fields meta = ReadMap(m, "metadata", &kMetadataFields);
    std::string name;
    Position name_pos = f->key->pos;
    const Read rn = ReadString(meta, "name", "metadata.name", &name, &name_pos);
    if (rn == Read::kAbsent) Missing(name_pos, "metadata.name", kDnsLabelRule);
    if (rn == Read::kOk && !IsDns1123Label(name)) {
      Error(name_pos, "metadata.name",
            "found " + Quote(name) + "; allowed: " + std::string(kDnsLabelRule));
    }
    std::string ns = "default";
    Position ns_pos = f->key->pos;
    const Read rns = ReadString(meta, "namespace", "metadata.namespace", &ns, &ns_pos);
    if (rns == Read::kAbsent) ns = "default";
    if (rns == Read::kOk && !IsDns1123Label(ns)) {
      Error(ns_pos, "metadata.namespace",
            "found " + Quote(ns) + "; allowed: " + std::string(kDnsLabelRule));
    }
    if (rn == Read::kOk && rns != Read::kBad) {
      out_.key = ns + "/" + name;
      out_.key_location = Loc(name_pos);
      out_.spec.name = name;
      out_.spec.namespace_name = ns;
    }
    ReadStringMap(meta, "labels", "metadata.labels", /*label_values=*/true, &out_.spec.labels);
    ReadStringMap(meta, "annotations", "metadata.annotations", /*label_values=*/false,
                  &out_.spec.annotations);
  }

  // What DecodeSpec read, for the rules that span fields. A rule runs only when every field it
  // reads is kOk, so one mistake is reported once.
  struct SpecReads {
    Position spec_pos;
    Read provider = Read::kAbsent, region = Read::kAbsent, type = Read::kAbsent,
         memory = Read::kAbsent, storage = Read::kAbsent, vector = Read::kAbsent,
         paused = Read::kAbsent, cdc = Read::kAbsent, analytics = Read::kAbsent;
    Position provider_pos, region_pos, type_pos, memory_pos, storage_pos, vector_pos, paused_pos,
        cdc_pos, analytics_pos;
    std::string storage_text, cdc_text;
    int memory_gb = 0;  // 0 unless memory is kOk
    bool tenant_ok = false;
  };

  void DecodeSpec(const Fields& top, const YamlNode* root) {
    const Field* f = Find(top, "spec");
    const YamlNode* s = f == nullptr ? nullptr : Resolve(f->value);
    constexpr std::string_view kRule =
        "a mapping with tenantId, cloudProvider, region, type, memory and optional fields";
    if (s == nullptr || s->kind == Kind::kNull) {
      Missing(f == nullptr ? root->pos : f->key->pos, "spec", kRule);
      return;
    }
    if (s->kind != Kind::kMap) {
      Error(ValuePos(*f), "spec", "found " + Describe(s) + "; allowed: " + std::string(kRule));
      return;
    }
    const Fields sf = ReadMap(s, "spec", &kSpecFields);
    SpecReads r;
    r.spec_pos = f->key->pos;
    r.tenant_ok = ReadTenant(sf, r.spec_pos);
    ReadPlacement(sf, r);
    ReadAuraName(sf, r);
    ReadOptions(sf, r);
    ReadConnectionSecret(sf);
    ReadSource(*this, sf, &out_.spec);
    if (r.type == Read::kOk && out_.spec.type == "free-db") {
      CheckFreeDb(r);
    } else {
      CheckStorage(r);
    }
    CheckFeatures(r);
    ReadSecondaries(*this, sf, r.type == Read::kOk, &out_.spec);
    ReadCustomerManagedKey(*this, sf, r.type == Read::kOk, &out_.spec);
  }

  // An AuraCustomerManagedKey: tenantId, name and region with the instance rules, the rest in
  // decode_key.cc; then the InstanceSpec fields read so far move to key_spec.
  void DecodeKeySpec(const Fields& top, const YamlNode* root) {
    const Field* f = Find(top, "spec");
    const YamlNode* s = f == nullptr ? nullptr : Resolve(f->value);
    constexpr std::string_view kRule =
        "a mapping with tenantId, cloudProvider, region, keyId, instanceType and optional name, "
        "deletionPolicy";
    if (s == nullptr || s->kind == Kind::kNull) {
      Missing(f == nullptr ? root->pos : f->key->pos, "spec", kRule);
    } else if (s->kind != Kind::kMap) {
      Error(ValuePos(*f), "spec", "found " + Describe(s) + "; allowed: " + std::string(kRule));
    } else {
      const Fields sf = ReadMap(s, "spec", &KeySpecFields());
      SpecReads r;
      r.spec_pos = f->key->pos;
      r.tenant_ok = ReadTenant(sf, r.spec_pos);
      ReadAuraName(sf, r);
      Position pos = r.spec_pos;
      std::string region;
      const Read rr = ReadString(sf, "region", "spec.region", &region, &pos);
      if (rr == Read::kAbsent) Missing(pos, "spec.region", kRegionRule);
      if (rr == Read::kOk && !IsRegion(region)) {
        Error(pos, "spec.region",
              "found " + Quote(region) + "; allowed: " + std::string(kRegionRule));
      }
      out_.key_spec.region = region;
      ReadKeyFields(*this, sf, r.spec_pos, &out_.key_spec);
    }
    CustomerManagedKeySpec& key = out_.key_spec;
    InstanceSpec& spec = out_.spec;
    key.name = spec.name;
    key.namespace_name = spec.namespace_name;
    key.labels = std::move(spec.labels);
    key.annotations = std::move(spec.annotations);
    key.aura_name = spec.aura_name;
    key.tenant_id = spec.tenant_id;
    key.location = spec.location;
    key.field_locations = std::move(spec.field_locations);
    if (out_.key) out_.key = key.journal_key();
  }

  // tenantId, or its alias projectId. True when the tenant is known and valid.
  bool ReadTenant(const Fields& sf, Position spec_pos) {
    std::string tenant, project;
    Position tenant_pos = spec_pos, project_pos = spec_pos;
    const Read rt = ReadString(sf, "tenantId", "spec.tenantId", &tenant, &tenant_pos);
    const Read rp = ReadString(sf, "projectId", "spec.projectId", &project, &project_pos);
    const bool tenant_ok = CheckTenant(rt, tenant, tenant_pos, "spec.tenantId");
    const bool project_ok = CheckTenant(rp, project, project_pos, "spec.projectId");
    if (rt == Read::kAbsent && rp == Read::kAbsent) {
      Missing(tenant_pos, "spec.tenantId",
              std::string(kTenantRule) + "; projectId is accepted as an alias");
      return false;
    }
    if (tenant_ok && project_ok && tenant != project) {
      Error(project_pos, "spec.projectId",
            "found " + Quote(project) + ", which differs from tenantId " + Quote(tenant) +
                "; allowed: projectId is an alias of tenantId: set one of them, or both alike");
      return false;
    }
    if (tenant_ok) {
      out_.spec.tenant_id = tenant;
      return rp != Read::kBad;
    }
    if (project_ok && rt == Read::kAbsent) {
      out_.spec.tenant_id = project;
      out_.spec.field_locations.Set("spec.tenantId",
                                    LineColumn{project_pos.line, project_pos.column});
      return true;
    }
    return false;
  }

  // cloudProvider, region, type, version, memory, storage: what the online check compares.
  void ReadPlacement(const Fields& sf, SpecReads& r) {
    InstanceSpec& spec = out_.spec;
    r.provider_pos = r.region_pos = r.type_pos = r.memory_pos = r.storage_pos = r.spec_pos;
    r.provider = ReadEnum(sf, "cloudProvider", "spec.cloudProvider", AllowedCloudProviders(),
                          kValueTypoDistance, &spec.cloud_provider, &r.provider_pos);
    if (r.provider == Read::kAbsent) {
      Missing(r.provider_pos, "spec.cloudProvider", Join(AllowedCloudProviders()));
    }
    r.region = ReadString(sf, "region", "spec.region", &spec.region, &r.region_pos);
    if (r.region == Read::kAbsent) Missing(r.region_pos, "spec.region", kRegionRule);
    if (r.region == Read::kOk && !IsRegion(spec.region)) {
      Error(r.region_pos, "spec.region",
            "found " + Quote(spec.region) + "; allowed: " + std::string(kRegionRule));
      r.region = Read::kBad;
    }
    r.type = ReadEnum(sf, "type", "spec.type", AllowedTypes(), kValueTypoDistance, &spec.type,
                      &r.type_pos);
    if (r.type == Read::kAbsent) Missing(r.type_pos, "spec.type", Join(AllowedTypes()));
    Position version_pos = r.spec_pos;
    ReadEnum(sf, "version", "spec.version", AllowedVersions(), 0, &spec.version, &version_pos);
    r.memory =
        ReadEnum(sf, "memory", "spec.memory", AllowedMemorySizes(), 0, &spec.memory, &r.memory_pos);
    if (r.memory == Read::kAbsent) Missing(r.memory_pos, "spec.memory", Join(AllowedMemorySizes()));
    if (r.memory == Read::kOk) r.memory_gb = Gigabytes(spec.memory).value_or(0);
    r.storage = ReadString(sf, "storage", "spec.storage", &r.storage_text, &r.storage_pos);
  }

  // spec.name, or metadata.name by default; the (tenant, Aura name) claim.
  void ReadAuraName(const Fields& sf, const SpecReads& r) {
    InstanceSpec& spec = out_.spec;
    std::string name;
    Position name_pos = r.spec_pos;
    const Read rn = ReadString(sf, "name", "spec.name", &name, &name_pos);
    if (rn == Read::kOk) {
      const std::string problem = AuraNameProblem(name);
      if (!problem.empty()) {
        Error(
            name_pos, "spec.name",
            "found " + Quote(name) + " (" + problem + "); allowed: " + std::string(kAuraNameRule));
        return;
      }
      spec.aura_name = name;
      out_.claim_location = Loc(name_pos);
    } else if (rn == Read::kAbsent && out_.key) {
      const std::string problem = AuraNameProblem(spec.name);
      if (!problem.empty()) {
        Error(Position{out_.key_location.line, out_.key_location.column}, "spec.name",
              "found " + Quote(spec.name) + " from metadata.name (" + problem +
                  "); allowed: " + std::string(kAuraNameRule) + ": set spec.name");
        return;
      }
      spec.aura_name = spec.name;
      out_.claim_location = out_.key_location;
    } else {
      return;
    }
    out_.has_claim = r.tenant_ok;
  }

  // The flags and policies.
  void ReadOptions(const Fields& sf, SpecReads& r) {
    InstanceSpec& spec = out_.spec;
    Position pos = r.spec_pos;
    r.vector_pos = r.paused_pos = r.cdc_pos = r.analytics_pos = r.spec_pos;
    r.vector = ReadBool(sf, "vectorOptimized", "spec.vectorOptimized", &spec.vector_optimized,
                        &r.vector_pos);
    r.analytics = ReadBool(sf, "graphAnalyticsPlugin", "spec.graphAnalyticsPlugin",
                           &spec.graph_analytics_plugin, &r.analytics_pos);
    r.paused = ReadBool(sf, "paused", "spec.paused", &spec.paused, &r.paused_pos);
    ReadBool(sf, "suspend", "spec.suspend", &spec.suspend, &pos);
    r.cdc = ReadEnum(sf, "cdcEnrichmentMode", "spec.cdcEnrichmentMode", kCdcModes,
                     kValueTypoDistance, &r.cdc_text, &r.cdc_pos);
    if (r.cdc == Read::kOk) spec.cdc_enrichment_mode = r.cdc_text;
    std::string policy;
    if (ReadEnum(sf, "deletionPolicy", "spec.deletionPolicy", kDeletionPolicies, kValueTypoDistance,
                 &policy, &pos) == Read::kOk) {
      spec.deletion_policy = policy == "Delete" ? DeletionPolicy::kDelete : DeletionPolicy::kRetain;
    }
    std::string adoption;
    if (ReadEnum(sf, "adoption", "spec.adoption", kAdoptions, kValueTypoDistance, &adoption,
                 &pos) == Read::kOk) {
      spec.adoption = adoption == "Never" ? Adoption::kNever : Adoption::kIfExists;
    }
    std::string recreate;
    if (ReadEnum(sf, "recreate", "spec.recreate", kRecreates, kValueTypoDistance, &recreate,
                 &pos) == Read::kOk) {
      spec.recreate = recreate == "Never" ? Recreate::kNever : Recreate::kIfMissing;
    }
  }

  // spec.connectionSecret: {name}; the namespace is always the spec's own.
  void ReadConnectionSecret(const Fields& sf) {
    InstanceSpec& spec = out_.spec;
    if (!spec.name.empty()) spec.connection_secret = spec.name + "-aura";
    const Field* f = Find(sf, "connectionSecret");
    const YamlNode* m = f == nullptr ? nullptr : Resolve(f->value);
    if (m == nullptr || m->kind == Kind::kNull) return;
    if (m->kind != Kind::kMap) {
      Error(ValuePos(*f), "spec.connectionSecret",
            "found " + Describe(m) + "; allowed: a mapping with name (default: " +
                (spec.name.empty() ? std::string("<metadata.name>") : spec.name) + "-aura)");
      return;
    }
    // Unknown fields are checked here: `namespace` gets its own reason.
    const Fields cf = ReadMap(m, "spec.connectionSecret", nullptr);
    for (const auto& [field, entry] : cf) {
      if (field == "name") continue;
      if (field == "namespace") {
        Error(ValuePos(entry), "spec.connectionSecret.namespace",
              "found " + Describe(Resolve(entry.value)) +
                  "; allowed: no namespace: the Secret is always written in the spec's own "
                  "namespace (metadata.namespace)");
        continue;
      }
      const auto suggestion = Suggest(field, kConnectionSecretFields, 2);
      const bool printable = IsPrintableText(field) && field.size() <= 64;
      Error(entry.key->pos, "spec.connectionSecret." + (printable ? field : std::string("?")),
            "found unknown field " + Quote(field) +
                (suggestion ? " (did you mean \"" + *suggestion + "\"?)" : "") + "; allowed: name");
    }
    std::string name;
    Position pos = f->key->pos;
    if (ReadString(cf, "name", "spec.connectionSecret.name", &name, &pos) != Read::kOk) return;
    if (!IsDns1123Subdomain(name)) {
      Error(pos, "spec.connectionSecret.name",
            "found " + Quote(name) + "; allowed: " + std::string(kSecretNameRule));
      return;
    }
    spec.connection_secret = name;
  }

  // free-db: 1GB on gcp europe-west1, never paused, no storage.
  void CheckFreeDb(const SpecReads& r) {
    const InstanceSpec& spec = out_.spec;
    if (r.memory == Read::kOk && spec.memory != "1GB") {
      Error(r.memory_pos, "spec.memory",
            "found " + Quote(spec.memory) + "; allowed for free-db: 1GB");
    }
    if (r.provider == Read::kOk && spec.cloud_provider != "gcp") {
      Error(r.provider_pos, "spec.cloudProvider",
            "found " + Quote(spec.cloud_provider) + "; allowed for free-db: gcp");
    }
    if (r.region == Read::kOk && spec.region != "europe-west1") {
      Error(r.region_pos, "spec.region",
            "found " + Quote(spec.region) + "; allowed for free-db: europe-west1");
    }
    if (r.paused == Read::kOk && spec.paused) {
      Error(r.paused_pos, "spec.paused",
            "found true; allowed for free-db: false (free-db instances cannot be paused)");
    }
    if (r.storage == Read::kOk) {
      Error(r.storage_pos, "spec.storage",
            "found " + Quote(r.storage_text) +
                "; allowed for free-db: no storage field (free-db instances have none)");
    }
  }

  // storage: "NGB", at least the memory; default 2 x memory.
  void CheckStorage(const SpecReads& r) {
    InstanceSpec& spec = out_.spec;
    if (r.storage == Read::kAbsent) {
      if (r.type == Read::kOk && r.memory_gb > 0) {
        spec.storage = std::to_string(2 * r.memory_gb) + "GB";
      }
      return;
    }
    if (r.storage != Read::kOk) return;
    const std::string& storage = r.storage_text;
    const int storage_gb = Gigabytes(storage).value_or(0);
    if (storage_gb == 0) {
      std::string fixed;
      for (char c : storage) {
        if (c != ' ') fixed.push_back(c == 'g' ? 'G' : c == 'b' ? 'B' : c);
      }
      const bool fixable = Gigabytes(fixed).has_value();
      Error(r.storage_pos, "spec.storage",
            "found " + Quote(storage) + (fixable ? " (did you mean \"" + fixed + "\"?)" : "") +
                "; allowed: a whole number of GB such as 8GB, at least the memory");
    } else if (r.memory_gb > 0 && storage_gb < r.memory_gb) {
      Error(r.storage_pos, "spec.storage",
            "found " + Quote(storage) + ", below memory " + spec.memory +
                "; allowed: at least the memory (" + spec.memory + "); default 2 x memory (" +
                std::to_string(2 * r.memory_gb) + "GB)");
    } else {
      spec.storage = storage;
    }
  }

  // CDC only on some types; the Graph Analytics plugin only on professional-db; vector
  // optimization needs 4GB.
  void CheckFeatures(const SpecReads& r) {
    const InstanceSpec& spec = out_.spec;
    if (r.cdc == Read::kOk && r.type == Read::kOk &&
        std::find(kCdcTypes.begin(), kCdcTypes.end(), spec.type) == kCdcTypes.end()) {
      Error(r.cdc_pos, "spec.cdcEnrichmentMode",
            "found " + Quote(r.cdc_text) + " on type " + spec.type + "; allowed only on " +
                Join(kCdcTypes));
    }
    // Aura accepts the plugin only on professional-db (Neo4j's aura-cli and Terraform provider
    // refuse it elsewhere; docs/AURA_API_DIFFERENCES.md).
    if (r.analytics == Read::kOk && spec.graph_analytics_plugin && r.type == Read::kOk &&
        spec.type != "professional-db") {
      Error(r.analytics_pos, "spec.graphAnalyticsPlugin",
            "found true on type " + spec.type + "; allowed: true only on professional-db");
    }
    if (r.vector == Read::kOk && spec.vector_optimized && r.memory_gb > 0 && r.memory_gb < 4) {
      Error(r.vector_pos, "spec.vectorOptimized",
            "found true with memory " + spec.memory +
                "; allowed: true only with memory of at least 4GB");
    }
  }

  // Checks the format of a tenant id that was read; false when absent or invalid.
  bool CheckTenant(Read r, const std::string& id, Position pos, const std::string& path) {
    if (r != Read::kOk) return false;
    if (IsTenantId(id)) return true;
    Error(pos, path, "found " + Quote(id) + "; allowed: " + std::string(kTenantRule));
    return false;
  }

  DecodedDocument& out_;
  bool is_key_ = false;  // an AuraCustomerManagedKey
};

}  // namespace

const std::vector<std::string>& AllowedTypes() {
  static const std::vector<std::string> v = {"enterprise-db",     "enterprise-ds",
                                             "business-critical", "professional-db",
                                             "professional-ds",   "free-db"};
  return v;
}

const std::vector<std::string>& AllowedCloudProviders() {
  static const std::vector<std::string> v = {"gcp", "aws", "azure"};
  return v;
}

const std::vector<std::string>& AllowedMemorySizes() {
  static const std::vector<std::string> v = {"1GB",   "2GB",   "4GB",   "8GB",  "16GB",
                                             "24GB",  "32GB",  "48GB",  "64GB", "128GB",
                                             "192GB", "256GB", "384GB", "512GB"};
  return v;
}

const std::vector<std::string>& AllowedVersions() {
  static const std::vector<std::string> v = {"4", "5"};
  return v;
}

DecodedDocument DecodeDocument(const YamlDocument& doc, const std::string& file) {
  DecodedDocument out;
  Decoder(file, out).Run(doc);
  return out;
}

}  // namespace aura::spec::detail
