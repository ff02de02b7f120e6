// EtcdClient: the few etcd v3 operations the HA backend needs (KV range/put/delete, transactions
// with compares, leases), as a small typed interface. GatewayEtcdClient implements it over
// etcd's v3 JSON gateway (POST /v3/kv/range, /v3/kv/put, /v3/kv/txn, /v3/kv/deleterange,
// /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke; keys and values base64, 64-bit
// integers as decimal strings) through an http::Transport, so cpprestsdk stays behind that one
// interface and tests use fakes.
//
// Endpoints: the members of one cluster, tried in turn. A request that certainly did not reach
// a member (connection refused, TLS handshake, DNS: Transport reason "connect"; or the member
// answered "no leader" before applying anything) moves on to the next member; the member that
// answered last is tried first next time. A timeout or a broken connection after sending is
// returned at once (kDeadlineExceeded / kUnavailable with reason "timeout" / "io"): a write may
// or may not have been applied, and the callers' fencing makes that safe (see etcd_journal.h).
//
// Errors: kUnavailable (no member reachable, no quorum, no leader), kDeadlineExceeded (no
// answer in time), kNotFound (LeaseKeepAlive of an expired or revoked lease), kInvalidArgument,
// kPermissionDenied/kUnauthenticated (etcd auth), kDataLoss (an answer that does not parse).
// Messages name the member and the operation, never values (they may be sealed credentials).
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/base/status.h"
#include "pkg/http/transport.h"

namespace aura::etcd {

struct EtcdKeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;  // revision of the put that created this key generation
  std::int64_t mod_revision = 0;     // revision of its last put
  std::int64_t version = 0;          // puts since it was created
  std::int64_t lease = 0;            // attached lease id, 0 for none
};

// One comparison of a transaction: `target` of `key` <result> the given number or value. A key
// that does not exist has create_revision, mod_revision, version and lease 0.
struct EtcdCompare {
  enum class Target { kVersion, kCreate, kMod, kValue, kLease };
  enum class Result { kEqual, kNotEqual, kGreater, kLess };
  std::string key;
  Target target = Target::kVersion;
  Result result = Result::kEqual;
  std::int64_t number = 0;  // for every target but kValue
  std::string value;        // for kValue

  static EtcdCompare CreateRevision(std::string key, std::int64_t revision,
                                    Result r = Result::kEqual) {
    return {std::move(key), Target::kCreate, r, revision, ""};
  }
  static EtcdCompare Lease(std::string key, std::int64_t lease, Result r = Result::kEqual) {
    return {std::move(key), Target::kLease, r, lease, ""};
  }
  static EtcdCompare Version(std::string key, std::int64_t version, Result r = Result::kEqual) {
    return {std::move(key), Target::kVersion, r, version, ""};
  }
  static EtcdCompare Value(std::string key, std::string value, Result r = Result::kEqual) {
    return {std::move(key), Target::kValue, r, 0, std::move(value)};
  }
};

// One operation of a transaction branch.
struct EtcdOp {
  enum class Type { kRange, kPut, kDelete };
  Type type = Type::kRange;
  std::string key;
  std::string value;       // kPut
  std::int64_t lease = 0;  // kPut
  bool prefix = false;     // kRange/kDelete: every key starting with `key`

  static EtcdOp Get(std::string key) { return {Type::kRange, std::move(key), "", 0, false}; }
  static EtcdOp Put(std::string key, std::string value, std::int64_t lease = 0) {
    return {Type::kPut, std::move(key), std::move(value), lease, false};
  }
  static EtcdOp Delete(std::string key) { return {Type::kDelete, std::move(key), "", 0, false}; }
};

struct EtcdRangeResult {
  std::vector<EtcdKeyValue> kvs;  // sorted by key
  std::int64_t revision = 0;      // the store's revision when read
  bool more = false;              // a limit cut the result short
};

struct EtcdTxnResult {
  bool succeeded = false;     // every compare held: the success branch ran
  std::int64_t revision = 0;  // the store's revision after the transaction
  // The results of the range ops of the branch that ran, in order.
  std::vector<EtcdRangeResult> ranges;
};

struct EtcdLease {
  std::int64_t id = 0;
  std::chrono::seconds ttl{0};  // as granted
};

class EtcdClient {
 public:
  virtual ~EtcdClient() = default;

  // The key, or every key with `key` as prefix (sorted), at most `limit` when > 0.
  // Linearizable: fails without quorum.
  virtual base::StatusOr<EtcdRangeResult> Range(const std::string& key, bool prefix = false,
                                                std::int64_t limit = 0) = 0;
  // Returns the revision of the put.
  virtual base::StatusOr<std::int64_t> Put(const std::string& key, const std::string& value,
                                           std::int64_t lease = 0) = 0;
  // Returns how many keys were deleted.
  virtual base::StatusOr<std::int64_t> Delete(const std::string& key, bool prefix = false) = 0;
  // All `compares` hold -> `success` runs, else `failure`; atomically.
  virtual base::StatusOr<EtcdTxnResult> Txn(const std::vector<EtcdCompare>& compares,
                                            const std::vector<EtcdOp>& success,
                                            const std::vector<EtcdOp>& failure) = 0;
  virtual base::StatusOr<EtcdLease> LeaseGrant(std::chrono::seconds ttl) = 0;
  // Renews the lease once; returns its TTL from now. kNotFound when it expired or was revoked.
  virtual base::StatusOr<std::chrono::seconds> LeaseKeepAlive(std::int64_t id) = 0;
  // OK when revoked or already gone.
  virtual base::Status LeaseRevoke(std::int64_t id) = 0;
};

// Where an etcd-backed store lives: from `--state etcd://host:port[,host:port...]/prefix`
// (plain http) or `etcds://...` (https).
struct EtcdTarget {
  std::vector<std::string> endpoints;  // "http://host:port" or "https://host:port"
  std::string prefix;                  // "/aura" from ".../aura"; no trailing slash
};

// True when `state` names etcd (etcd:// or etcds://).
bool IsEtcdUrl(std::string_view state);
// Parses an etcd:// or etcds:// URL; kInvalidArgument naming what is wrong. The prefix must be
// non-empty ("/aura"), without "//", without a trailing '/' beyond the root.
[[nodiscard]] base::StatusOr<EtcdTarget> ParseEtcdUrl(std::string_view url);

struct GatewayEtcdClientOptions {
  std::vector<std::string> endpoints;  // from EtcdTarget; at least one
  std::chrono::milliseconds request_timeout{5000};
};

// REQUIRES: `transport` outlives the client. The Transport's own URL policy applies (plain
// http only to loopback unless it allows insecure http).
std::unique_ptr<EtcdClient> NewGatewayEtcdClient(http::Transport* transport,
                                                 GatewayEtcdClientOptions options);

}  // namespace aura::etcd
