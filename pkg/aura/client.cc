#include "pkg/aura/client.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <utility>

#include "pkg/aura/internal.h"
#include "pkg/aura/model_json.h"
#include "pkg/backoff/retry_after.h"
#include "pkg/http/url.h"

namespace aura::api {
namespace {

using base::Status;

Status RequireId(std::string_view what, std::string_view id) {
  if (id.empty()) return base::InvalidArgumentError(std::string(what) + " must not be empty");
  return Status();
}

std::string Segment(std::string_view s) { return http::PercentEncode(s); }

bool IsSuccess(int code) { return code >= 200 && code < 300; }

// A 403 that refuses the token itself (Aura answers an expired token with 403), as opposed to
// one that refuses a tenant or an action the credentials may not touch.
bool TokenExpired(const http::HttpResponse& resp) {
  const ApiErrorBody e = ParseErrorBody(resp.body);
  std::string text = e.message + " " + e.reason;
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* word : {"expired", "token", "jwt", "unauthori", "authenticat"}) {
    if (text.find(word) != std::string::npos) return true;
  }
  return false;
}

// True when `body` is a JSON object with a "data" member.
bool HasData(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  return j.is_object() && j.contains("data");
}

}  // namespace

Client::Client(ClientOptions options, http::Transport* transport, TokenSource* tokens,
               ratelimit::Limiter* limiter, base::Clock* clock, metrics::Metrics* metrics,
               base::Logger logger, backoff::Random random)
    : options_(std::move(options)),
      api_url_(options_.api_url),
      transport_(transport),
      tokens_(tokens),
      limiter_(limiter),
      clock_(clock),
      metrics_(metrics),
      logger_(logger.With({{"component", "aura-client"}})),
      backoff_(options_.retry, std::move(random)) {
  while (!api_url_.empty() && api_url_.back() == '/') api_url_.pop_back();
}

void Client::Stop() { stop_.request_stop(); }

Status Client::Sleep(base::Duration d, std::stop_token stop) const {
  if (!clock_->SleepFor(d, std::move(stop))) {
    return base::CancelledError("aura client: stopped while backing off");
  }
  return Status();
}

base::StatusOr<http::HttpResponse> Client::Execute(const Call& call) {
  const std::string route(metrics::RouteTemplate(call.path));
  const std::stop_token stop = stop_.get_token();
  http::HttpRequest req;
  req.method = call.method;
  req.url = api_url_ + call.path;
  req.body = call.has_body ? call.body : std::string();
  req.timeout = options_.request_timeout;
  bool token_retried = false;
  for (int attempt = 1;; ++attempt) {
    if (stop.stop_requested()) return base::CancelledError("aura client: stopped");
    base::StatusOr<std::string> token = tokens_->Token(stop);
    if (!token.ok()) {
      return token.status().WithContext(call.method + " " + route + ": getting an access token");
    }
    // Held until this try's answer is handled: the limiter learns the account's tier from it.
    AURA_ASSIGN_OR_RETURN(ratelimit::Permit permit, limiter_->AcquirePermit(call.priority, stop));
    req.headers = {{"Authorization", "Bearer " + *token},
                   {"Accept", "application/json"},
                   {"User-Agent", options_.user_agent}};
    if (call.has_body) req.headers.emplace_back("Content-Type", "application/json");
    if (call.method != "GET" && options_.write_guard) {
      if (Status g = options_.write_guard(); !g.ok()) {
        Status out = base::CancelledError(call.method + " " + route +
                                          ": not sent (write guard): " + g.message());
        out.SetReason("write_guard");
        logger_.Warn("write request not sent: the write guard refused it", base::StatusFields(out));
        return out;
      }
    }

    const base::TimePoint sent_at = clock_->Now();
    base::StatusOr<http::HttpResponse> resp = transport_->Send(req);
    const base::Duration took = clock_->Now() - sent_at;
    if (metrics_ != nullptr) {
      metrics_->ApiRequestDuration(call.method, route).Observe(base::ToSeconds(took));
    }
    nlohmann::json fields = {
        {"method", call.method},
        {"route", route},
        {"attempt", attempt},
        {"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(took).count()}};

    if (!resp.ok()) {
      if (metrics_ != nullptr) metrics_->ApiRequests(call.method, route, "error").Increment();
      const Status& e = resp.status();
      // A failure to connect sent nothing, but POST and PATCH are still not resent here: the
      // reconcile loop decides again (DESIGN.md). Other kinds of Status (a refused URL) are final.
      const bool transport_kind =
          e.reason() == "connect" || e.reason() == "timeout" || e.reason() == "io";
      if (call.idempotent() && transport_kind && backoff_.CanRetry(attempt)) {
        if (metrics_ != nullptr) metrics_->ApiRetries("transport").Increment();
        fields.update(base::StatusFields(e));
        logger_.Warn("request failed; retrying", fields);
        permit = ratelimit::Permit();  // not held while backing off
        AURA_RETURN_IF_ERROR(Sleep(backoff_.Next(attempt), stop));
        continue;
      }
      return TransportError(call, e);
    }

    const int code = resp->status;
    const std::string request_id = resp->Header("X-Request-Id");
    permit.set_outcome(code == 429 ? ratelimit::Permit::Outcome::kThrottled
                                   : ratelimit::Permit::Outcome::kAnswered);
    NoteDeprecation(*resp);
    fields["http_status"] = code;
    fields["request_id"] = request_id;
    if (metrics_ != nullptr) {
      metrics_->ApiRequests(call.method, route, std::to_string(code)).Increment();
    }

    if ((code == 401 || (code == 403 && TokenExpired(*resp))) && !token_retried) {
      // The gateway refused the token: nothing happened, so even a POST may go again, once,
      // with a fresh token. It does not count as an attempt. A 403 that refuses a tenant or an
      // action keeps the token (token requests are rate limited too).
      token_retried = true;
      --attempt;
      tokens_->Invalidate(*token);
      if (metrics_ != nullptr) metrics_->ApiRetries("token").Increment();
      logger_.Info("token refused; retrying with a new one", fields);
      continue;
    }

    std::optional<std::chrono::milliseconds> retry_after;
    if (code == 429 || code >= 500) {
      retry_after = backoff::ParseRetryAfter(resp->Header("Retry-After"), clock_->SystemNow());
    }
    if (code == 429) {
      if (metrics_ != nullptr) metrics_->api_throttled.Increment();
      limiter_->OnThrottled(retry_after, sent_at);
    }
    const bool retryable = code == 429 || code >= 500;
    if (retryable && call.idempotent() && backoff_.CanRetry(attempt) &&
        (!retry_after || *retry_after <= options_.max_retry_wait)) {
      if (metrics_ != nullptr) metrics_->ApiRetries(code == 429 ? "429" : "5xx").Increment();
      logger_.Warn("request failed; retrying", fields);
      permit = ratelimit::Permit();  // not held while backing off
      // After a 429 the limiter holds everyone until Retry-After; the backoff adds jitter.
      AURA_RETURN_IF_ERROR(Sleep(backoff_.Next(attempt, retry_after), stop));
      continue;
    }
    if (IsSuccess(code)) {
      logger_.Debug("request done", fields);
    } else {
      logger_.Warn("request failed", fields);
    }
    return resp;
  }
}

Status Client::TransportError(const Call& call, const Status& e) const {
  const std::string what = call.method + " " + call.path + ": ";
  Status out;
  if (e.reason() == "connect") {
    out = base::UnavailableError(what + e.message() + " (not sent)");
  } else if (e.reason() == "timeout" || e.reason() == "io") {
    if (call.idempotent()) {
      out = e.reason() == "timeout" ? base::DeadlineExceededError(what + e.message())
                                    : base::UnavailableError(what + e.message());
    } else {
      out = base::AmbiguousError(what + e.message() +
                                 " (the request may have been processed: re-observe, do not "
                                 "resend)");
    }
  } else {
    out = Status(e.code(), what + e.message());
  }
  out.SetReason(e.reason()).SetRequestId(e.request_id());
  if (e.http_status() != 0) out.SetHttpStatus(e.http_status());
  logger_.Warn("request failed", base::StatusFields(out));
  return out;
}

Status Client::ErrorFor(const Call& call, const http::HttpResponse& resp) const {
  const int code = resp.status;
  const ApiErrorBody body = ParseErrorBody(resp.body);
  std::string message = call.method + " " + call.path + ": HTTP " + std::to_string(code);
  if (!body.message.empty()) message += ": " + body.message;
  Status s;
  if (code == 400) {
    s = body.reason == "missing-billing-details" ? base::FailedPreconditionError(message)
                                                 : base::InvalidArgumentError(message);
  } else if (code == 401) {
    s = base::UnauthenticatedError(message);
  } else if (code == 403) {
    s = base::PermissionDeniedError(message);
  } else if (code == 404) {
    s = base::NotFoundError(message);
  } else if (code == 409) {
    s = base::ConflictError(message);
  } else if (code == 429) {
    s = base::ThrottledError(message);
  } else if (code == 408) {
    s = base::UnavailableError(message);  // the server gave up waiting for the request
  } else if (code >= 500) {
    s = call.idempotent()
            ? base::UnavailableError(message)
            : base::AmbiguousError(message +
                                   " (the request may have been processed: re-observe, do not "
                                   "resend)");
  } else if (code == 402 || code == 405 || code == 420) {
    s = base::FailedPreconditionError(message);  // quota, billing, tier
  } else if (code >= 300 && code < 400) {
    const std::string location = resp.Header("Location");
    s = base::FailedPreconditionError(
        message + (location.empty() ? "" : " (moved to " + location + ")") + ": check the API URL");
  } else if (code >= 400) {
    s = base::InvalidArgumentError(message);
  } else {
    s = base::InternalError(message + ": unexpected status");
  }
  s.SetHttpStatus(code)
      .SetRequestId(resp.Header("X-Request-Id"))
      .SetReason(body.reason)
      .SetField(body.field);
  if (code == 429 || code >= 500) {
    if (auto ra = backoff::ParseRetryAfter(resp.Header("Retry-After"), clock_->SystemNow())) {
      s.SetRetryAfter(*ra);
    }
  }
  logger_.Warn("request refused", base::StatusFields(s));
  return s;
}

void Client::NoteDeprecation(const http::HttpResponse& resp) {
  const std::string expires = resp.Header("X-Tyk-Api-Expires");
  if (expires.empty()) return;
  {
    std::lock_guard<std::mutex> g(notes_mu_);
    if (expires == deprecation_seen_) return;
    deprecation_seen_ = expires;
  }
  // The Tyk gateway writes Go's RFC 1123 ("Mon, 03 Mar 2025 00:00:00 UTC"); HTTP-dates say GMT.
  std::string as_http_date = expires;
  if (as_http_date.ends_with(" UTC")) as_http_date.replace(as_http_date.size() - 3, 3, "GMT");
  const std::optional<base::SystemTime> when =
      backoff::ParseHttpDate(as_http_date, clock_->SystemNow());
  if (when && metrics_ != nullptr) {
    metrics_->api_deprecation_expiry.Set(
        std::chrono::duration<double>(when->time_since_epoch()).count());
  }
  logger_.Warn(
      "the Aura API version in use is deprecated and expires: plan the upgrade",
      {{"expires", expires}, {"api_url", api_url_}, {"request_id", http::RequestIdOf(resp)}});
}

void Client::LogDecodeNotes(const Call& call, const DecodeNotes& notes) {
  if (notes.empty()) return;
  const std::string route(metrics::RouteTemplate(call.path));
  std::vector<std::string> fresh;
  {
    std::lock_guard<std::mutex> g(notes_mu_);
    for (const std::string& n : notes) {
      if (noted_.insert(route + " " + n).second) fresh.push_back(n);
    }
  }
  for (const std::string& n : fresh) {
    logger_.Debug("response field overlooked (the live API is looser than the OpenAPI)",
                  {{"method", call.method}, {"route", route}, {"field", n}});
  }
}

Status Client::UnreadableBody(const Call& call, const http::HttpResponse& resp,
                              const Status& parse_error) const {
  const std::string what = call.method + " " + call.path + ": HTTP " + std::to_string(resp.status);
  Status s = call.idempotent()
                 ? base::DataLossError(what + ": " + parse_error.message())
                 : base::AmbiguousError(what + " accepted, but " + parse_error.message() +
                                        " (re-observe: the request took effect)");
  s.SetHttpStatus(resp.status).SetRequestId(resp.Header("X-Request-Id"));
  logger_.Error("unreadable response", base::StatusFields(s));
  return s;
}

template <typename T, typename Parse>
StatusOr<Reply<T>> Client::Fetch(const Call& call, Parse parse) {
  AURA_ASSIGN_OR_RETURN(http::HttpResponse resp, Execute(call));
  if (!IsSuccess(resp.status)) return ErrorFor(call, resp);
  DecodeNotes notes;
  StatusOr<T> parsed = parse(resp.body, &notes);
  LogDecodeNotes(call, notes);
  if (!parsed.ok()) return UnreadableBody(call, resp, parsed.status());
  return Reply<T>{std::move(parsed).value(), resp.Header("X-Request-Id")};
}

StatusOr<Reply<std::vector<InstanceSummary>>> Client::ListInstances(std::string_view tenant_id,
                                                                    Priority priority) {
  Call c{"GET", "/instances", "", false, priority};
  if (!tenant_id.empty()) c.path += "?tenantId=" + http::PercentEncode(tenant_id);
  return Fetch<std::vector<InstanceSummary>>(c, ParseInstanceList);
}

StatusOr<Reply<Instance>> Client::GetInstance(std::string_view id, Priority priority) {
  AURA_RETURN_IF_ERROR(RequireId("instance id", id));
  const std::string asked(id);
  return Fetch<Instance>(Call{"GET", "/instances/" + Segment(id), "", false, priority},
                         [&asked](std::string_view body, DecodeNotes* notes) {
                           StatusOr<Instance> i = ParseInstance(body, notes);
                           if (i.ok() && i->id.empty()) i->id = asked;  // lean replies
                           return i;
                         });
}

StatusOr<Reply<CreatedInstance>> Client::CreateInstance(const CreateInstanceRequest& req) {
  Call c{"POST", "/instances", ToJson(req), true, Priority::kWrite};
  AURA_ASSIGN_OR_RETURN(http::HttpResponse resp, Execute(c));
  if (!IsSuccess(resp.status)) return ErrorFor(c, resp);
  // Id and password first; a reply without them, or cut short, still yields what it holds.
  DecodeNotes notes;
  StatusOr<CreatedInstance> created = ParseCreatedInstance(resp.body, &notes);
  if (created.ok() && !created->password.empty()) base::RegisterSecret(created->password);
  LogDecodeNotes(c, notes);
  if (!created.ok()) return UnreadableBody(c, resp, created.status());
  logger_.Info("instance creation accepted", {{"instance_id", created->id},
                                              {"name", created->name},
                                              {"password_received", !created->password.empty()},
                                              {"complete_reply", created->complete},
                                              {"request_id", resp.Header("X-Request-Id")}});
  return Reply<CreatedInstance>{std::move(created).value(), resp.Header("X-Request-Id")};
}

StatusOr<Reply<Instance>> Client::UpdateInstance(std::string_view id,
                                                 const UpdateInstanceRequest& req) {
  AURA_RETURN_IF_ERROR(RequireId("instance id", id));
  if (req.empty()) return base::InvalidArgumentError("PATCH without any field to change");
  Call c{"PATCH", "/instances/" + Segment(id), ToJson(req), true, Priority::kWrite};
  AURA_ASSIGN_OR_RETURN(http::HttpResponse resp, Execute(c));
  if (!IsSuccess(resp.status)) return ErrorFor(c, resp);
  if (resp.status == 202 && !HasData(resp.body)) {
    Instance partial;
    partial.id = std::string(id);
    partial.status = "updating";
    return Reply<Instance>{std::move(partial), resp.Header("X-Request-Id")};
  }
  DecodeNotes notes;
  StatusOr<Instance> inst = ParseInstance(resp.body, &notes);
  LogDecodeNotes(c, notes);
  if (!inst.ok()) return UnreadableBody(c, resp, inst.status());
  return Reply<Instance>{std::move(inst).value(), resp.Header("X-Request-Id")};
}

StatusOr<Reply<DeleteResult>> Client::DeleteInstance(std::string_view id) {
  AURA_RETURN_IF_ERROR(RequireId("instance id", id));
  Call c{"DELETE", "/instances/" + Segment(id), "", false, Priority::kWrite};
  AURA_ASSIGN_OR_RETURN(http::HttpResponse resp, Execute(c));
  // 202 (destroying) and 404 (already gone) both mean done; the body is not needed.
  if (IsSuccess(resp.status)) return Reply<DeleteResult>{{false}, resp.Header("X-Request-Id")};
  if (resp.status == 404) return Reply<DeleteResult>{{true}, resp.Header("X-Request-Id")};
  return ErrorFor(c, resp);
}

StatusOr<Reply<Instance>> Client::PauseInstance(std::string_view id) {
  AURA_RETURN_IF_ERROR(RequireId("instance id", id));
  return Fetch<Instance>(
      Call{"POST", "/instances/" + Segment(id) + "/pause", "{}", true, Priority::kWrite},
      ParseInstance);
}

StatusOr<Reply<Instance>> Client::ResumeInstance(std::string_view id) {
  AURA_RETURN_IF_ERROR(RequireId("instance id", id));
  return Fetch<Instance>(
      Call{"POST", "/instances/" + Segment(id) + "/resume", "{}", true, Priority::kWrite},
      ParseInstance);
}

StatusOr<Reply<Instance>> Client::OverwriteInstance(std::string_view id,
                                                    std::string_view source_instance_id,
                                                    std::string_view source_snapshot_id) {
  AURA_RETURN_IF_ERROR(RequireId("instance id", id));
  AURA_RETURN_IF_ERROR(RequireId("source instance id", source_instance_id));
  nlohmann::json body = {{"source_instance_id", std::string(source_instance_id)}};
  if (!source_snapshot_id.empty()) body["source_snapshot_id"] = std::string(source_snapshot_id);
  return Fetch<Instance>(
      Call{"POST", "/instances/" + Segment(id) + "/overwrite", body.dump(), true, Priority::kWrite},
      ParseInstance);
}

StatusOr<Reply<Instance>> Client::UpgradeInstance(std::string_view id,
                                                  const UpgradeInstanceRequest& req) {
  AURA_RETURN_IF_ERROR(RequireId("instance id", id));
  if (req.memory.has_value() != req.storage.has_value()) {
    return base::InvalidArgumentError("upgrade: memory and storage go together");
  }
  return Fetch<Instance>(
      Call{"POST", "/instances/" + Segment(id) + "/upgrade", ToJson(req), true, Priority::kWrite},
      ParseInstance);
}

StatusOr<Reply<std::vector<Tenant>>> Client::ListTenants(Priority priority) {
  return Fetch<std::vector<Tenant>>(Call{"GET", "/tenants", "", false, priority}, ParseTenantList);
}

StatusOr<Reply<TenantDetail>> Client::GetTenant(std::string_view tenant_id, Priority priority) {
  AURA_RETURN_IF_ERROR(RequireId("tenant id", tenant_id));
  return Fetch<TenantDetail>(Call{"GET", "/tenants/" + Segment(tenant_id), "", false, priority},
                             ParseTenantDetail);
}

StatusOr<Reply<std::vector<CustomerManagedKey>>> Client::ListCustomerManagedKeys(
    std::string_view tenant_id, Priority priority) {
  Call c{"GET", "/customer-managed-keys", "", false, priority};
  if (!tenant_id.empty()) c.path += "?tenantId=" + http::PercentEncode(tenant_id);
  return Fetch<std::vector<CustomerManagedKey>>(c, ParseCustomerManagedKeyList);
}

StatusOr<Reply<CustomerManagedKey>> Client::CreateCustomerManagedKey(
    const CreateCustomerManagedKeyRequest& req) {
  // Like CreateInstance: a POST, never resent; kAmbiguous when its outcome is unknown.
  return Fetch<CustomerManagedKey>(
      Call{"POST", "/customer-managed-keys", ToJson(req), true, Priority::kWrite},
      ParseCustomerManagedKey);
}

StatusOr<Reply<CustomerManagedKey>> Client::GetCustomerManagedKey(std::string_view id,
                                                                  Priority priority) {
  AURA_RETURN_IF_ERROR(RequireId("customer-managed key id", id));
  return Fetch<CustomerManagedKey>(
      Call{"GET", "/customer-managed-keys/" + Segment(id), "", false, priority},
      ParseCustomerManagedKey);
}

StatusOr<Reply<DeleteResult>> Client::DeleteCustomerManagedKey(std::string_view id) {
  AURA_RETURN_IF_ERROR(RequireId("customer-managed key id", id));
  Call c{"DELETE", "/customer-managed-keys/" + Segment(id), "", false, Priority::kWrite};
  AURA_ASSIGN_OR_RETURN(http::HttpResponse resp, Execute(c));
  if (IsSuccess(resp.status)) return Reply<DeleteResult>{{false}, resp.Header("X-Request-Id")};
  if (resp.status == 404) return Reply<DeleteResult>{{true}, resp.Header("X-Request-Id")};
  return ErrorFor(c, resp);
}

StatusOr<Reply<std::vector<Snapshot>>> Client::ListSnapshots(std::string_view instance_id) {
  AURA_RETURN_IF_ERROR(RequireId("instance id", instance_id));
  return Fetch<std::vector<Snapshot>>(
      Call{"GET", "/instances/" + Segment(instance_id) + "/snapshots", "", false, Priority::kPoll},
      ParseSnapshotList);
}

StatusOr<Reply<std::string>> Client::CreateSnapshot(std::string_view instance_id) {
  AURA_RETURN_IF_ERROR(RequireId("instance id", instance_id));
  return Fetch<std::string>(Call{"POST", "/instances/" + Segment(instance_id) + "/snapshots", "{}",
                                 true, Priority::kWrite},
                            ParseSnapshotId);
}

StatusOr<Reply<Snapshot>> Client::GetSnapshot(std::string_view instance_id,
                                              std::string_view snapshot_id) {
  AURA_RETURN_IF_ERROR(RequireId("instance id", instance_id));
  AURA_RETURN_IF_ERROR(RequireId("snapshot id", snapshot_id));
  return Fetch<Snapshot>(
      Call{"GET", "/instances/" + Segment(instance_id) + "/snapshots/" + Segment(snapshot_id), "",
           false, Priority::kPoll},
      ParseSnapshot);
}

StatusOr<Reply<Instance>> Client::RestoreSnapshot(std::string_view instance_id,
                                                  std::string_view snapshot_id) {
  AURA_RETURN_IF_ERROR(RequireId("instance id", instance_id));
  AURA_RETURN_IF_ERROR(RequireId("snapshot id", snapshot_id));
  return Fetch<Instance>(
      Call{"POST",
           "/instances/" + Segment(instance_id) + "/snapshots/" + Segment(snapshot_id) + "/restore",
           "{}", true, Priority::kWrite},
      ParseInstance);
}

}  // namespace aura::api
