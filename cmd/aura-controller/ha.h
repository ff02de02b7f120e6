// High availability: aura-controller with an etcd --state (docs/OPERATIONS.md "High
// availability (etcd)").
//
// `run` campaigns for `<prefix>/leader` (etcd::LeaderElection). Only the leader reconciles: each
// time it is elected it builds a fresh Controller over an EtcdJournal and EtcdCredentialStore
// fenced by that term, and an Aura client whose write guard is the term's local-clock check;
// when the term ends (lease not renewed in time, expired, key replaced) that controller is
// stopped at once (its client cancels every wait; the request on the wire, if any, ends within
// --request-timeout) and the process campaigns again. Standbys serve /metrics, /healthz and
// /readyz; readiness names the role and is false without an etcd quorum.
//
// status, plan and credentials get read etcd without campaigning.
//
// Thread-safety: functions are called from main's thread.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "cmd/aura-controller/common.h"
#include "cmd/aura-controller/config.h"
#include "pkg/etcd/etcd_client.h"
#include "pkg/etcd/etcd_credential_store.h"
#include "pkg/etcd/etcd_journal.h"
#include "pkg/http/transport.h"
#include "pkg/reconcile/report.h"
#include "pkg/store/sealing.h"

namespace aura::cmd {

// An etcd client for the --state URL, with its own transport (TLS material, --insecure-http-etcd).
struct EtcdConnection {
  etcd::EtcdTarget target;
  std::unique_ptr<http::Transport> transport;
  std::unique_ptr<etcd::EtcdClient> etcd;
};

// The per-request timeout of etcd calls: a third of the lease, between 500ms and 5s, so a
// renewal that hangs still leaves time for another before the lease runs out.
std::chrono::milliseconds EtcdRequestTimeout(const Config& c);

// REQUIRES: IsEtcdState(c). kInvalidArgument for a plain-http endpoint that is not loopback
// (without --insecure-http-etcd) or unreadable TLS files.
[[nodiscard]] base::StatusOr<EtcdConnection> ConnectEtcd(const Config& c);

// The --credentials-key-file keys; kInvalidArgument when none is given.
[[nodiscard]] base::StatusOr<std::vector<store::SealingKey>> LoadCredentialKeys(const Config& c);

// Read-only views (no campaign, no fence) for status, plan and credentials get.
[[nodiscard]] base::StatusOr<std::unique_ptr<etcd::EtcdJournal>> OpenEtcdJournalReadOnly(
    EtcdConnection& conn, const base::Clock* clock);
[[nodiscard]] base::StatusOr<std::unique_ptr<etcd::EtcdCredentialStore>>
OpenEtcdCredentialsReadOnly(const Config& c, EtcdConnection& conn, const base::Clock* clock);
// The status snapshot the leader keeps at `<prefix>/status`; kNotFound when none yet.
[[nodiscard]] base::StatusOr<reconcile::StatusFile> LoadEtcdStatus(EtcdConnection& conn);

// `aura-controller run` with an etcd --state. Returns the exit code.
int RunHa(const Config& c, SignalWaiter& signals);

}  // namespace aura::cmd
