#include "pkg/metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include <array>
#include <sstream>
#include <utility>

namespace aura::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

const Histogram::BucketBoundaries& ApiBuckets() {
  static const auto* b =
      new Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return *b;
}
const Histogram::BucketBoundaries& WaitBuckets() {
  static const auto* b =
      new Histogram::BucketBoundaries{0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120};
  return *b;
}

}  // namespace

std::string_view RouteTemplate(std::string_view path) {
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (path == kRouteToken || path.ends_with("/oauth/token")) return kRouteToken;
  if (path.starts_with("/v1")) path.remove_prefix(3);
  // Split into segments.
  std::array<std::string_view, 8> seg{};
  size_t n = 0;
  while (!path.empty() && n < seg.size()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    size_t slash = path.find('/');
    seg[n++] = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  if (!path.empty()) return kRouteOther;
  if (n >= 1 && seg[0] == "tenants") {
    if (n == 1) return kRouteTenants;
    if (n == 2) return kRouteTenant;
  }
  if (n == 1 && seg[0] == "customer-managed-keys") return kRouteKeys;
  if (n == 2 && seg[0] == "customer-managed-keys") return kRouteKey;
  if (n >= 1 && seg[0] == "instances") {
    if (n == 1) return kRouteInstances;
    if (n == 2) return kRouteInstance;
    if (n == 3 && seg[2] == "pause") return kRoutePause;
    if (n == 3 && seg[2] == "resume") return kRouteResume;
    if (n == 3 && seg[2] == "snapshots") return kRouteSnapshots;
    if (n == 4 && seg[2] == "snapshots") return kRouteSnapshot;
    if (n == 5 && seg[2] == "snapshots" && seg[4] == "restore") return kRouteRestore;
  }
  return kRouteOther;
}

Metrics::Metrics(std::string_view version)
    : registry_(std::make_shared<prometheus::Registry>()),
      api_throttled(BuildCounter()
                        .Name("aura_api_throttled_total")
                        .Help("Responses with HTTP 429 received from the Aura API.")
                        .Register(*registry_)
                        .Add({})),
      token_refreshes(BuildCounter()
                          .Name("aura_token_refreshes_total")
                          .Help("OAuth token fetches (each counts against the rate limit).")
                          .Register(*registry_)
                          .Add({})),
      api_deprecation_expiry(BuildGauge()
                                 .Name("aura_api_deprecation_expiry_timestamp_seconds")
                                 .Help("Unix time at which the API version in use expires "
                                       "(X-Tyk-Api-Expires); 0 when none was announced.")
                                 .Register(*registry_)
                                 .Add({})),
      ratelimit_wait(BuildHistogram()
                         .Name("aura_ratelimit_wait_seconds")
                         .Help("Time requests waited in the shared rate limiter.")
                         .Register(*registry_)
                         .Add({}, WaitBuckets())),
      ratelimit_in_window(BuildGauge()
                              .Name("aura_ratelimit_requests_in_window")
                              .Help("Requests sent in the current sliding window.")
                              .Register(*registry_)
                              .Add({})),
      ratelimit_paused(BuildGauge()
                           .Name("aura_ratelimit_paused")
                           .Help("1 while every request is paused after a 429, else 0.")
                           .Register(*registry_)
                           .Add({})),
      rate_limit_requests(
          BuildGauge()
              .Name("aura_rate_limit_requests")
              .Help("Requests per window in force: --rate-limit, the default 125, or the limit "
                    "learned from the account (25 for Free and unbilled trial accounts).")
              .Register(*registry_)
              .Add({})),
      reconcile_duration(BuildHistogram()
                             .Name("aura_reconcile_duration_seconds")
                             .Help("Duration of one reconcile of one spec key.")
                             .Register(*registry_)
                             .Add({}, ApiBuckets())),
      workqueue_depth(BuildGauge()
                          .Name("aura_workqueue_depth")
                          .Help("Spec keys waiting in the work queue.")
                          .Register(*registry_)
                          .Add({})),
      adoptions(BuildCounter()
                    .Name("aura_adoptions_total")
                    .Help("Existing Aura instances taken over by a spec.")
                    .Register(*registry_)
                    .Add({})),
      duplicate_instances(BuildGauge()
                              .Name("aura_duplicate_instances")
                              .Help("Extra same-named instances found after ambiguous creates "
                                    "(never deleted automatically).")
                              .Register(*registry_)
                              .Add({})),
      observation_staleness(BuildGauge()
                                .Name("aura_observation_staleness_seconds")
                                .Help("Age of the oldest detail observation of a managed "
                                      "instance.")
                                .Register(*registry_)
                                .Add({})),
      leader(BuildGauge()
                 .Name("aura_leader")
                 .Help("1 when this process is the leader that reconciles, else 0.")
                 .Register(*registry_)
                 .Add({})),
      instances_vanished(
          BuildCounter()
              .Name("aura_instances_vanished_total")
              .Help("Managed instances that disappeared (a GET 404 and a LIST without them).")
              .Register(*registry_)
              .Add({})),
      instances_repaused(
          BuildCounter()
              .Name("aura_instances_repaused_total")
              .Help("Instances paused again after Aura resumed them against a paused: true spec.")
              .Register(*registry_)
              .Add({})),
      credentials_unsaved(BuildGauge()
                              .Name("aura_credentials_unsaved")
                              .Help("Spec keys whose one-time password is only in memory because "
                                    "saving it failed (retried with backoff).")
                              .Register(*registry_)
                              .Add({})),
      connection_secrets_pending(
          BuildGauge()
              .Name("aura_connection_secrets_pending")
              .Help("Spec keys whose connection Secret should be written or deleted now but is "
                    "not yet (retried with backoff; conflicts and RBAC refusals included).")
              .Register(*registry_)
              .Add({})),
      api_requests_(BuildCounter()
                        .Name("aura_api_requests_total")
                        .Help("Requests sent to the Aura API, by method, route template and "
                              "HTTP status (\"error\" when no response arrived).")
                        .Register(*registry_)),
      api_duration_(BuildHistogram()
                        .Name("aura_api_request_duration_seconds")
                        .Help("Aura API request latency, by method and route template.")
                        .Register(*registry_)),
      api_retries_(BuildCounter()
                       .Name("aura_api_retries_total")
                       .Help("Transport-level retries of idempotent requests, by reason.")
                       .Register(*registry_)),
      reconcile_total_(BuildCounter()
                           .Name("aura_reconcile_total")
                           .Help("Reconciles of one spec key, by result.")
                           .Register(*registry_)),
      instances_(BuildGauge()
                     .Name("aura_instances")
                     .Help("Spec keys by state: desired, observed, in_sync, drifted, "
                           "pending_create, conflict, failed, unknown_status, stalled, vanished, "
                           "credentials_unknown, credentials_unsaved.")
                     .Register(*registry_)),
      creates_(BuildCounter()
                   .Name("aura_creates_total")
                   .Help("POST /instances outcomes: accepted (202), rejected (definite "
                         "refusal), ambiguous (outcome unknown; resolved from a later LIST).")
                   .Register(*registry_)),
      token_requests_(BuildCounter()
                          .Name("aura_token_requests_total")
                          .Help("Requests to the OAuth token endpoint, by result: ok, refused, "
                                "throttled, error.")
                          .Register(*registry_)),
      secret_writes_(BuildCounter()
                         .Name("aura_connection_secret_writes_total")
                         .Help("Connection Secret writes, by result: created, updated, deleted, "
                               "conflict, forbidden, error.")
                         .Register(*registry_)),
      kube_requests_(BuildCounter()
                         .Name("aura_kube_requests_total")
                         .Help("Requests to the Kubernetes API, by verb and HTTP status "
                               "(\"error\" when no response arrived).")
                         .Register(*registry_)) {
  BuildGauge()
      .Name("aura_build_info")
      .Help("Build information; the value is always 1.")
      .Register(*registry_)
      .Add({{"version", std::string(version)}})
      .Set(1);
  // Pre-set series so dashboards and alerts see zeros from start-up.
  const std::pair<std::string_view, std::string_view> routes[] = {
      {"POST", kRouteToken},   {"GET", kRouteInstances},  {"POST", kRouteInstances},
      {"GET", kRouteInstance}, {"PATCH", kRouteInstance}, {"DELETE", kRouteInstance},
      {"POST", kRoutePause},   {"POST", kRouteResume},    {"GET", kRouteTenants},
      {"GET", kRouteTenant}};
  for (const auto& [method, route] : routes) {
    ApiRequestDuration(method, route);
    const bool async = (method == "POST" && route != kRouteToken) || method == "DELETE";
    ApiRequests(method, route, async ? "202" : "200");
  }
  for (auto reason : {"5xx", "429", "transport", "token"}) ApiRetries(reason);
  for (auto result : {"success", "error", "requeue", "terminal", "skipped"}) {
    ReconcileTotal(result);
  }
  for (auto state :
       {"desired", "observed", "in_sync", "drifted", "pending_create", "conflict", "failed",
        "unknown_status", "stalled", "vanished", "credentials_unknown", "credentials_unsaved"}) {
    Instances(state);
  }
  for (auto result : {"ok", "refused", "throttled", "error"}) TokenRequests(result);
  for (auto outcome : {"accepted", "rejected", "ambiguous"}) Creates(outcome);
  for (auto result : {"created", "updated", "deleted", "conflict", "forbidden", "error"}) {
    ConnectionSecretWrites(result);
  }
  for (auto verb : {"get", "create", "update", "delete"}) KubeRequests(verb, "200");
}

prometheus::Counter& Metrics::ApiRequests(std::string_view method, std::string_view route,
                                          std::string_view code) {
  return api_requests_.Add({{"method", std::string(method)},
                            {"route", std::string(route)},
                            {"code", std::string(code)}});
}

prometheus::Histogram& Metrics::ApiRequestDuration(std::string_view method,
                                                   std::string_view route) {
  return api_duration_.Add({{"method", std::string(method)}, {"route", std::string(route)}},
                           ApiBuckets());
}

prometheus::Counter& Metrics::ApiRetries(std::string_view reason) {
  return api_retries_.Add({{"reason", std::string(reason)}});
}

prometheus::Counter& Metrics::ReconcileTotal(std::string_view result) {
  return reconcile_total_.Add({{"result", std::string(result)}});
}

prometheus::Gauge& Metrics::Instances(std::string_view state) {
  return instances_.Add({{"state", std::string(state)}});
}

prometheus::Counter& Metrics::TokenRequests(std::string_view result) {
  return token_requests_.Add({{"result", std::string(result)}});
}

prometheus::Counter& Metrics::Creates(std::string_view outcome) {
  return creates_.Add({{"outcome", std::string(outcome)}});
}

prometheus::Counter& Metrics::ConnectionSecretWrites(std::string_view result) {
  return secret_writes_.Add({{"result", std::string(result)}});
}

prometheus::Counter& Metrics::KubeRequests(std::string_view verb, std::string_view code) {
  return kube_requests_.Add({{"verb", std::string(verb)}, {"code", std::string(code)}});
}

std::string Metrics::Serialize() const {
  prometheus::TextSerializer serializer;
  std::ostringstream out;
  serializer.Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace aura::metrics
