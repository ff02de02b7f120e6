// JSON (de)serialization of the Aura API v1 model (model.h) with nlohmann/json.
//
// Parsers accept a whole response body, are tolerant of unknown fields and strict about the
// required ones and about every field's type: a malformed, truncated or wrong-typed body is a
// kDataLoss Status whose message names the field ("data.memory: expected a string, got
// number"), never an exception. Messages never quote the body (it may hold a password or a
// token). Serializers write only the fields that are set, never JSON null.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/aura/model.h"
#include "pkg/base/status.h"

namespace aura::api {

using base::Status;
using base::StatusOr;

// Success bodies, wrapped in {"data": ...}.
StatusOr<std::vector<InstanceSummary>> ParseInstanceList(std::string_view body);
StatusOr<Instance> ParseInstance(std::string_view body);
StatusOr<CreatedInstance> ParseCreatedInstance(std::string_view body);
StatusOr<std::vector<Tenant>> ParseTenantList(std::string_view body);
StatusOr<TenantDetail> ParseTenantDetail(std::string_view body);
StatusOr<std::vector<Snapshot>> ParseSnapshotList(std::string_view body);
StatusOr<Snapshot> ParseSnapshot(std::string_view body);
// POST /instances/{id}/snapshots: {"data": {"snapshot_id": "..."}}.
StatusOr<std::string> ParseSnapshotId(std::string_view body);

// Request bodies.
std::string ToJson(const CreateInstanceRequest& req);
std::string ToJson(const UpdateInstanceRequest& req);

// The OAuth token endpoint's 200 body (not wrapped).
struct TokenResponse {
  std::string access_token;
  std::chrono::seconds expires_in{0};
  std::string token_type;  // as sent; compare case-insensitively
};
StatusOr<TokenResponse> ParseTokenResponse(std::string_view body);

// What an error body says. Understands {"errors":[{message,reason,field}]} (several errors are
// joined with "; "; reason and field come from the first), the gateway's {"error":"..."} and
// OAuth's {"error":"code","error_description":"..."} (reason = code). Anything else yields a
// short, redacted description of the body. Never fails.
struct ApiErrorBody {
  std::string message;
  std::string reason;
  std::string field;
};
ApiErrorBody ParseErrorBody(std::string_view body);

}  // namespace aura::api
