// Status and StatusOr<T>: the error values of every fallible function in this project.
//
// A Status is a code, a message and, for errors that came from the Aura API, the HTTP status
// and the X-Request-Id the user quotes to support. Codes are chosen by what the caller should do
// next (see StatusCode). No exceptions cross a component boundary: adapters around yaml-cpp,
// nlohmann/json and cpprestsdk catch them and return a Status with context.
//
// Thread-safety: values; a const Status may be read from any thread.
#pragma once

#include <cassert>
#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace aura::base {

// What went wrong, phrased as what the caller does next.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // The input is wrong: fix it; retrying unchanged will fail the same way.
  kNotFound,            // The thing does not exist (Aura 404).
  kAlreadyExists,       // It exists already; adopt or report, do not create.
  kFailedPrecondition,  // The system is not in a state that allows this (quota, billing, lock).
  kConflict,            // Another operation is in progress (Aura 409): come back later, quietly.
  kUnavailable,         // Transient: retry with backoff (5xx on idempotent calls, connect errors).
  kThrottled,           // Rate limited (429): wait for retry_after() before any request.
  kDeadlineExceeded,    // A deadline passed before an answer; for idempotent calls, retry.
  kAmbiguous,           // A non-idempotent request may or may not have taken effect: re-observe,
                        // never resend blindly.
  kUnauthenticated,     // Credentials were refused: fix them.
  kPermissionDenied,    // The credentials may not do this.
  kCancelled,           // The caller asked to stop.
  kDataLoss,            // Stored state is corrupt or unreadable: stop and ask a human.
  kInternal,            // A bug or a broken invariant.
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Details of an Aura API response, when the error came from one.
  int http_status() const { return http_status_; }
  const std::string& request_id() const { return request_id_; }
  const std::string& reason() const { return reason_; }
  const std::string& field() const { return field_; }
  std::optional<std::chrono::milliseconds> retry_after() const { return retry_after_; }

  Status& SetHttpStatus(int s) { http_status_ = s; return *this; }
  Status& SetRequestId(std::string id) { request_id_ = std::move(id); return *this; }
  Status& SetReason(std::string r) { reason_ = std::move(r); return *this; }
  Status& SetField(std::string f) { field_ = std::move(f); return *this; }
  Status& SetRetryAfter(std::chrono::milliseconds d) { retry_after_ = d; return *this; }

  // Prepends context: "loading journal: <message>". Keeps code and details.
  Status WithContext(std::string_view context) const;

  // "INVALID_ARGUMENT: message (http 400, reason x, field y, request-id z)".
  std::string ToString() const;

  // Predicates for the common decisions.
  bool IsRetryable() const {
    return code_ == StatusCode::kUnavailable || code_ == StatusCode::kThrottled ||
           code_ == StatusCode::kDeadlineExceeded || code_ == StatusCode::kConflict;
  }

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  int http_status_ = 0;
  std::string request_id_;
  std::string reason_;
  std::string field_;
  std::optional<std::chrono::milliseconds> retry_after_;
};

std::ostream& operator<<(std::ostream& os, const Status& s);

// Named factories.
Status InvalidArgumentError(std::string msg);
Status NotFoundError(std::string msg);
Status AlreadyExistsError(std::string msg);
Status FailedPreconditionError(std::string msg);
Status ConflictError(std::string msg);
Status UnavailableError(std::string msg);
Status ThrottledError(std::string msg);
Status DeadlineExceededError(std::string msg);
Status AmbiguousError(std::string msg);
Status UnauthenticatedError(std::string msg);
Status PermissionDeniedError(std::string msg);
Status CancelledError(std::string msg);
Status DataLossError(std::string msg);
Status InternalError(std::string msg);

// Either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "StatusOr needs a value or an error");
    if (std::get<Status>(v_).ok()) v_ = InternalError("StatusOr built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  // REQUIRES: ok().
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace aura::base

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define AURA_RETURN_IF_ERROR(expr)                   \
  do {                                               \
    ::aura::base::Status aura_status_ = (expr);      \
    if (!aura_status_.ok()) return aura_status_;     \
  } while (0)

#define AURA_CONCAT_INNER_(a, b) a##b
#define AURA_CONCAT_(a, b) AURA_CONCAT_INNER_(a, b)
// AURA_ASSIGN_OR_RETURN(auto x, F()): x = value of F(), or return its Status.
#define AURA_ASSIGN_OR_RETURN(lhs, expr) \
  AURA_ASSIGN_OR_RETURN_IMPL_(AURA_CONCAT_(aura_statusor_, __LINE__), lhs, expr)
#define AURA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
