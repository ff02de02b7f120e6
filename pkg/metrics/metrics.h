// Every Prometheus metric family of aura-controller, in one place (DESIGN.md "Metrics").
//
// One Metrics object per process (tests make their own). Components receive a reference and
// update the families below; label values are bounded: routes are templates, never ids.
// Every family's expected label sets are created at construction, so series exist (at zero)
// from start-up.
//
// Thread-safety: prometheus-cpp metrics are thread-safe; Metrics itself is immutable after
// construction apart from the metric values.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <string_view>

namespace aura::metrics {

// Route templates used as the `route` label (DESIGN.md: never ids).
inline constexpr std::string_view kRouteToken = "/oauth/token";
inline constexpr std::string_view kRouteInstances = "/instances";
inline constexpr std::string_view kRouteInstance = "/instances/{id}";
inline constexpr std::string_view kRoutePause = "/instances/{id}/pause";
inline constexpr std::string_view kRouteResume = "/instances/{id}/resume";
inline constexpr std::string_view kRouteSnapshots = "/instances/{id}/snapshots";
inline constexpr std::string_view kRouteSnapshot = "/instances/{id}/snapshots/{snapshot_id}";
inline constexpr std::string_view kRouteRestore = "/instances/{id}/snapshots/{snapshot_id}/restore";
inline constexpr std::string_view kRouteTenants = "/tenants";
inline constexpr std::string_view kRouteTenant = "/tenants/{id}";
inline constexpr std::string_view kRouteKeys = "/customer-managed-keys";
inline constexpr std::string_view kRouteKey = "/customer-managed-keys/{id}";
inline constexpr std::string_view kRouteOther = "other";

// Maps a request path (with or without the /v1 prefix or a query string) to its template.
std::string_view RouteTemplate(std::string_view path);

class Metrics {
 private:
  // Declared first: every family below registers with it during construction.
  std::shared_ptr<prometheus::Registry> registry_;

 public:
  explicit Metrics(std::string_view version = AURA_VERSION);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The Prometheus text exposition format (version 0.0.4) of every family.
  std::string Serialize() const;
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // --- API client ---
  // aura_api_requests_total{method,route,code}; code is the HTTP status or "error" when no
  // response arrived.
  prometheus::Counter& ApiRequests(std::string_view method, std::string_view route,
                                   std::string_view code);
  // aura_api_request_duration_seconds{method,route}
  prometheus::Histogram& ApiRequestDuration(std::string_view method, std::string_view route);
  // aura_api_retries_total{reason}: reason in {5xx, 429, transport, token}.
  prometheus::Counter& ApiRetries(std::string_view reason);
  prometheus::Counter& api_throttled;    // aura_api_throttled_total (429s received)
  prometheus::Counter& token_refreshes;  // aura_token_refreshes_total
  // aura_token_requests_total{result}: ok, refused (401/400/403), throttled (429), error (5xx,
  // transport).
  prometheus::Counter& TokenRequests(std::string_view result);
  // aura_api_deprecation_expiry_timestamp_seconds: the date an X-Tyk-Api-Expires header gave
  // for the API version in use (0 until one arrives).
  prometheus::Gauge& api_deprecation_expiry;
  // --- Rate limiter ---
  prometheus::Histogram& ratelimit_wait;   // aura_ratelimit_wait_seconds
  prometheus::Gauge& ratelimit_in_window;  // aura_ratelimit_requests_in_window
  prometheus::Gauge& ratelimit_paused;     // aura_ratelimit_paused (1 while paused by 429)
  // aura_rate_limit_requests: requests per window in force (flag, default, or learned from the
  // account's first 429).
  prometheus::Gauge& rate_limit_requests;
  // --- Reconciler ---
  // aura_reconcile_total{result}: result in {success, error, requeue, terminal, skipped}.
  prometheus::Counter& ReconcileTotal(std::string_view result);
  prometheus::Histogram& reconcile_duration;  // aura_reconcile_duration_seconds
  prometheus::Gauge& workqueue_depth;         // aura_workqueue_depth
  // aura_instances{state}: desired, observed, in_sync, drifted, pending_create, conflict,
  // failed (Aura reports suspended / loading failed), unknown_status, stalled (a PATCH that does
  // not take effect), vanished, credentials_unknown (created or adopted without a known
  // password), credentials_unsaved (a password only in memory: its save failed).
  prometheus::Gauge& Instances(std::string_view state);
  // aura_creates_total{outcome}: accepted, rejected, ambiguous.
  prometheus::Counter& Creates(std::string_view outcome);
  prometheus::Counter& adoptions;            // aura_adoptions_total
  prometheus::Gauge& duplicate_instances;    // aura_duplicate_instances
  prometheus::Gauge& observation_staleness;  // aura_observation_staleness_seconds
  prometheus::Gauge& leader;                 // aura_leader (1 on the leader, HA mode)
  prometheus::Counter& instances_vanished;   // aura_instances_vanished_total
  prometheus::Counter& instances_repaused;   // aura_instances_repaused_total
  // aura_credentials_unsaved: keys whose one-time password is only in memory.
  prometheus::Gauge& credentials_unsaved;
  // --- Connection Secrets (--connection-secrets) ---
  // aura_connection_secrets_pending: spec keys whose connection Secret should be written (or
  // deleted) now but is not yet: failures being retried, conflicts, RBAC refusals.
  prometheus::Gauge& connection_secrets_pending;
  // aura_connection_secret_writes_total{result}: created, updated, deleted, conflict (a Secret
  // this controller does not manage is in the way), forbidden (RBAC), error.
  prometheus::Counter& ConnectionSecretWrites(std::string_view result);
  // aura_kube_requests_total{verb,code}: requests to the Kubernetes API; verb in {get, create,
  // update, delete}, code the HTTP status or "error" when no response arrived.
  prometheus::Counter& KubeRequests(std::string_view verb, std::string_view code);

 private:
  prometheus::Family<prometheus::Counter>& api_requests_;
  prometheus::Family<prometheus::Histogram>& api_duration_;
  prometheus::Family<prometheus::Counter>& api_retries_;
  prometheus::Family<prometheus::Counter>& reconcile_total_;
  prometheus::Family<prometheus::Gauge>& instances_;
  prometheus::Family<prometheus::Counter>& creates_;
  prometheus::Family<prometheus::Counter>& token_requests_;
  prometheus::Family<prometheus::Counter>& secret_writes_;
  prometheus::Family<prometheus::Counter>& kube_requests_;
};

}  // namespace aura::metrics
