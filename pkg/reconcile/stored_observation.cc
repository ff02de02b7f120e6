#include "pkg/reconcile/stored_observation.h"

#include <nlohmann/json.hpp>

namespace aura::reconcile {
namespace {

using nlohmann::json;

// Every string member with its name: one list for both directions.
template <typename F>
void ForEachString(api::Instance& i, F f) {
  f("id", i.id);
  f("name", i.name);
  f("status", i.status);
  f("connection_url", i.connection_url);
  f("tenant_id", i.tenant_id);
  f("cloud_provider", i.cloud_provider);
  f("region", i.region);
  f("type", i.type);
  f("memory", i.memory);
  f("storage", i.storage);
  f("created_at", i.created_at);
}

template <typename T>
void PutOptional(json& j, const char* name, const std::optional<T>& v) {
  if (v) j[name] = *v;
}

template <typename T>
bool GetOptional(const json& j, const char* name, std::optional<T>* v) {
  auto it = j.find(name);
  if (it == j.end()) return true;
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return false;
  } else if constexpr (std::is_same_v<T, int>) {
    if (!it->is_number_integer()) return false;
  } else {
    if (!it->is_string()) return false;
  }
  *v = it->get<T>();
  return true;
}

}  // namespace

std::string EncodeObservedInstance(const api::Instance& instance) {
  api::Instance i = instance;
  json j = json::object();
  ForEachString(i, [&j](const char* name, const auto& v) {
    if (!v.empty()) j[name] = v;
  });
  PutOptional(j, "vector_optimized", i.vector_optimized);
  PutOptional(j, "graph_analytics_plugin", i.graph_analytics_plugin);
  PutOptional(j, "secondaries_count", i.secondaries_count);
  PutOptional(j, "cdc_enrichment_mode", i.cdc_enrichment_mode);
  PutOptional(j, "customer_managed_key_id", i.customer_managed_key_id);
  return j.dump();
}

std::optional<api::Instance> DecodeObservedInstance(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  api::Instance i;
  bool ok = true;
  ForEachString(i, [&j, &ok](const char* name, auto& v) {
    auto it = j.find(name);
    if (it == j.end()) return;
    if (!it->is_string()) {
      ok = false;
      return;
    }
    v = it->get<std::string>();
  });
  ok = ok && GetOptional(j, "vector_optimized", &i.vector_optimized) &&
       GetOptional(j, "graph_analytics_plugin", &i.graph_analytics_plugin) &&
       GetOptional(j, "secondaries_count", &i.secondaries_count) &&
       GetOptional(j, "cdc_enrichment_mode", &i.cdc_enrichment_mode) &&
       GetOptional(j, "customer_managed_key_id", &i.customer_managed_key_id);
  if (!ok) return std::nullopt;
  return i;
}

}  // namespace aura::reconcile
