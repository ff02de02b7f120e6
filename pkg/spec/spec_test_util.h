// Helpers for the pkg/spec tests: documents built from a valid base, and diagnostics compared
// by position, field and message fragment.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "pkg/spec/spec.h"

namespace aura::spec::testing {

inline constexpr char kTenant[] = "6e6bbbe2-5678-5f8a-1234-b1f62f08b98f";

// Lines 1..6 of every generated document.
inline std::string Head(const std::string& name = "orders", const std::string& ns = "shop") {
  return "apiVersion: aura.neo4j.io/v1alpha1\n"
         "kind: AuraInstance\n"
         "metadata:\n"
         "  name: " +
         name +
         "\n"
         "  namespace: " +
         ns +
         "\n"
         "spec:\n";
}

// A valid document (lines 1..11); `overrides` replace the value of a base field on its own line
// (tenantId line 7, cloudProvider 8, region 9, type 10, memory 11; values start at column 13,
// 18, 11, 9, 11), and the other entries are appended from line 12 in order (`  field: value`).
inline std::string Doc(const std::vector<std::pair<std::string, std::string>>& overrides = {},
                       const std::string& name = "orders") {
  std::vector<std::pair<std::string, std::string>> base = {{"tenantId", kTenant},
                                                           {"cloudProvider", "gcp"},
                                                           {"region", "europe-west1"},
                                                           {"type", "professional-db"},
                                                           {"memory", "4GB"}};
  std::vector<std::pair<std::string, std::string>> extra;
  for (const auto& [k, v] : overrides) {
    bool replaced = false;
    for (auto& [bk, bv] : base) {
      if (bk == k) {
        bv = v;
        replaced = true;
      }
    }
    if (!replaced) extra.emplace_back(k, v);
  }
  std::string out = Head(name);
  for (const auto& [k, v] : base) out += "  " + k + ": " + v + "\n";
  for (const auto& [k, v] : extra) out += "  " + k + ": " + v + "\n";
  return out;
}

// A valid key document (lines 1..12): tenantId line 7, cloudProvider 8, region 9, keyId 10,
// instanceType 11, name (`aura_name`) 12; `extra` lines follow from 13.
inline std::string KeyDoc(const std::string& extra = "", const std::string& name = "prod-key",
                          const std::string& type = "enterprise-db",
                          const std::string& aura_name = "Production Key") {
  return "apiVersion: aura.neo4j.io/v1alpha1\n"
         "kind: AuraCustomerManagedKey\n"
         "metadata:\n"
         "  name: " +
         name +
         "\n"
         "  namespace: shop\n"
         "spec:\n"
         "  tenantId: " +
         std::string(kTenant) +
         "\n"
         "  cloudProvider: gcp\n"
         "  region: europe-west1\n"
         "  keyId: projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k\n"
         "  instanceType: " +
         type +
         "\n"
         "  name: " +
         aura_name + "\n" + extra;
}

struct Expect {
  int line;
  int column;
  std::string field;
  std::string fragment;  // must occur in the message
};

inline std::string Dump(const LoadResult& r) {
  std::string out;
  for (const Diagnostic& d : r.errors) out += "  " + d.Format() + "\n";
  return out;
}

// Exactly `expected`, in order.
inline void ExpectDiagnostics(const LoadResult& r, const std::vector<Expect>& expected) {
  ASSERT_EQ(r.errors.size(), expected.size()) << Dump(r);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Diagnostic& d = r.errors[i];
    const Expect& e = expected[i];
    EXPECT_EQ(d.location.line, e.line) << d.Format();
    EXPECT_EQ(d.location.column, e.column) << d.Format();
    EXPECT_EQ(d.field, e.field) << d.Format();
    EXPECT_NE(d.message.find(e.fragment), std::string::npos) << "fragment: " << e.fragment << "\n"
                                                             << d.Format();
  }
}

}  // namespace aura::spec::testing
