#!/usr/bin/env bash
# Failover times of the HA mode (docs/OPERATIONS.md "High availability (etcd)"): builds
# aura-controller, aura-simulator and ha_test in their own build folder, starts a real
# 3-member etcd cluster on loopback (/usr/bin/etcd from etcd-server), the simulator and two
# controllers with
# --lease-ttl LEASE_TTL_SECONDS --resync 1s, then RUNS times: SIGKILL the leader, time until the standby's
# /readyz says "role: leader" (elected) and until it answers 200 (its first LIST done), restart
# the killed one as the standby; then the same RUNS times with SIGTERM (a graceful handover:
# the leader revokes its lease). Prints, per signal:
#   [ HA ] failover after SIGKILL, 20 runs, lease 2s, resync 1s: standby elected median ...s
#   worst ...s; ready (first LIST done) median ...s worst ...s
# docs/RELIABILITY.md "High availability (etcd)" records the figures.
# Usage: scripts/failover.sh [RUNS] [LEASE_TTL_SECONDS]     (defaults 20 and 2)
# Env:   AURA_HA_BUILD_DIR (default build-ha), AURA_JOBS (build jobs, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${1:-20}"
BUILD="${AURA_HA_BUILD_DIR:-build-ha}"
JOBS="${AURA_JOBS:-2}"

for bin in /usr/bin/etcd /usr/bin/etcdctl; do
  if [ ! -x "$bin" ]; then
    echo "failover: $bin missing: scripts/install-deps.sh installs etcd-server and etcd-client" >&2
    exit 1
  fi
done
cmake -S . -B "$BUILD" -G Ninja -DAURA_WERROR=ON >/dev/null
cmake --build "$BUILD" --target aura-controller aura-simulator ha_test -j "$JOBS"

export AURA_HA_FAILOVER_RUNS="$RUNS" AURA_HA_LEASE_TTL="${2:-2}"
exec "$BUILD/tests/ha/ha_test" --gtest_filter=HaFailover.Times --gtest_brief=1
