// JSON (de)serialization of the Aura API v1 model (model.h) with nlohmann/json.
//
// Decoding is lenient where the real service is loose (docs/AURA_API_DIFFERENCES.md): only what
// an operation truly needs is required (a LIST item: id and name; a create reply: id and
// password, see ParseCreatedInstance; a snapshot: its id; a token: access_token). Every other
// field may be missing, null, of another type or unknown: it is then left at its empty value
// and described in `notes` ("data.created_at: missing"; list indices as "[]"), which the client
// logs once per field at debug level. Convertible values are converted: a number where a
// string is expected becomes its decimal text ("graph_nodes": 17 -> "17"), "true"/"false"
// strings where a boolean is expected and numeric strings where a number is expected are read.
// A body that is not JSON, not an object, lacks "data" or a required field is a kDataLoss Status
// naming the field, never an exception. Messages and notes never quote values (they may be a
// password or a token). Serializers write only the fields that are set, never JSON null.
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

// What a lenient parse overlooked, one line per field.
using DecodeNotes = std::vector<std::string>;

// Success bodies, wrapped in {"data": ...}. `notes` may be null.
StatusOr<std::vector<InstanceSummary>> ParseInstanceList(std::string_view body,
                                                         DecodeNotes* notes = nullptr);
StatusOr<Instance> ParseInstance(std::string_view body, DecodeNotes* notes = nullptr);
// The create reply, id and password first: when the body is whole JSON they are read before
// anything else; when it is not (cut short, garbled), they are salvaged from its text if they
// can be read there (`complete` false). Succeeds when at least one of them was read: an empty
// `password` means the reply carried none, an empty `id` that the instance must be found by
// its name. kDataLoss when neither can be read.
StatusOr<CreatedInstance> ParseCreatedInstance(std::string_view body, DecodeNotes* notes = nullptr);
StatusOr<std::vector<Tenant>> ParseTenantList(std::string_view body, DecodeNotes* notes = nullptr);
// Configuration entries that lack a field the spec check needs (provider, region, type,
// memory, version) are skipped, with a note.
StatusOr<TenantDetail> ParseTenantDetail(std::string_view body, DecodeNotes* notes = nullptr);
StatusOr<std::vector<Snapshot>> ParseSnapshotList(std::string_view body,
                                                  DecodeNotes* notes = nullptr);
StatusOr<Snapshot> ParseSnapshot(std::string_view body, DecodeNotes* notes = nullptr);
// POST /instances/{id}/snapshots: {"data": {"snapshot_id": "..."}}.
StatusOr<std::string> ParseSnapshotId(std::string_view body, DecodeNotes* notes = nullptr);

// Customer-managed keys: a LIST item needs id and name; one key needs its id.
StatusOr<std::vector<CustomerManagedKey>> ParseCustomerManagedKeyList(std::string_view body,
                                                                      DecodeNotes* notes = nullptr);
StatusOr<CustomerManagedKey> ParseCustomerManagedKey(std::string_view body,
                                                     DecodeNotes* notes = nullptr);

// Request bodies.
std::string ToJson(const CreateInstanceRequest& req);
std::string ToJson(const UpdateInstanceRequest& req);
std::string ToJson(const UpgradeInstanceRequest& req);
std::string ToJson(const CreateCustomerManagedKeyRequest& req);

// The OAuth token endpoint's 200 body (not wrapped).
struct TokenResponse {
  std::string access_token;
  std::chrono::seconds expires_in{0};
  std::string token_type;  // as sent; compare case-insensitively
};
// access_token is required; a missing expires_in is taken as 3600 s and a missing token_type
// as "bearer" (with a note).
StatusOr<TokenResponse> ParseTokenResponse(std::string_view body, DecodeNotes* notes = nullptr);

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
