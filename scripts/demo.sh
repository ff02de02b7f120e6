#!/usr/bin/env bash
# The quick-start demo, one command on a fresh Debian 12 machine: installs dependencies, builds
# the two binaries, starts aura-simulator on 127.0.0.1, runs aura-controller on
# manifests/examples/ until every instance is converged (showing progress), prints `status` and
# a few metrics, then stops everything it started.
# Usage: scripts/demo.sh        Env: AURA_BUILD_DIR (default build), AURA_DEMO_TIMEOUT (s, 300)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --no-npm

BUILD="${AURA_BUILD_DIR:-build}"
echo "demo: building aura-controller and aura-simulator in $BUILD/"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target aura-controller aura-simulator

BUILD_ABS=$(cd "$BUILD" && pwd)
CTL="$BUILD_ABS/cmd/aura-controller/aura-controller"
SIM="$BUILD_ABS/cmd/aura-simulator/aura-simulator"
WORK=$(mktemp -d /tmp/aura-demo.XXXXXX)
SIM_PID=""
CTL_PID=""
cleanup() {
  [ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null || true
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
  echo "demo: stopped the controller and the simulator; files kept in $WORK"
}
trap cleanup EXIT

# The simulator: instances take 5 s to create, the API allows 125 requests per minute.
"$SIM" --listen 127.0.0.1:0 --create-seconds 5 --pause-seconds 3 --resume-seconds 3 \
  --update-seconds 3 --state "$WORK/simulator-state.json" >"$WORK/simulator.out" \
  2>"$WORK/simulator.log" &
SIM_PID=$!
for _ in $(seq 1 100); do
  grep -q "^listening on" "$WORK/simulator.out" 2>/dev/null && break
  sleep 0.1
done
SIM_URL=$(awk '/^listening on/ {print $3; exit}' "$WORK/simulator.out")
[ -n "$SIM_URL" ] || { echo "demo: the simulator did not start; see $WORK/simulator.log"; exit 1; }
echo "demo: aura-simulator listening on $SIM_URL"

METRICS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AURA_CLIENT_ID=sim-client AURA_CLIENT_SECRET=sim-secret
FLAGS=(--api-url "$SIM_URL/v1" --token-url "$SIM_URL/oauth/token"
       --state "$WORK/state/journal.json" --credentials-dir "$WORK/credentials"
       --poll-interval 2s --resync 15s --settle-window 10s)

echo; echo "demo: what the controller would do (aura-controller plan):"; echo
"$CTL" plan "${FLAGS[@]}" --log-level warn manifests/examples || [ $? -eq 2 ]

echo; echo "demo: aura-controller run (logs in $WORK/controller.log); metrics on 127.0.0.1:$METRICS_PORT"
"$CTL" run "${FLAGS[@]}" --metrics-addr "127.0.0.1:$METRICS_PORT" --log-format human \
  manifests/examples 2>"$WORK/controller.log" &
CTL_PID=$!

# Progress until every spec is Ready.
cat >"$WORK/progress.py" <<'PY'
import json, sys
try:
    specs = json.load(sys.stdin).get("specs", [])
except Exception:
    specs = []
ready = sum(1 for s in specs
            if any(c["type"] == "Ready" and c["status"] for c in s["conditions"]))
phases = ", ".join("%s=%s" % (s["key"], s["phase"]) for s in specs)
print("%d/%d ready: %s" % (ready, len(specs), phases) if specs
      else "waiting for the controller's first status")
sys.exit(0 if specs and ready == len(specs) else 3)
PY
deadline=$(( $(date +%s) + ${AURA_DEMO_TIMEOUT:-300} ))
start=$(date +%s)
last=""
while true; do
  json=$("$CTL" status --output json --state "$WORK/state/journal.json" 2>/dev/null || true)
  done=0
  line=$(printf '%s' "$json" | python3 "$WORK/progress.py") || done=$?
  if [ "$line" != "$last" ]; then
    echo "  [$(( $(date +%s) - start ))s] $line"
    last="$line"
  fi
  [ "$done" -eq 0 ] && break
  if ! kill -0 "$CTL_PID" 2>/dev/null; then
    echo "demo: the controller exited; see $WORK/controller.log"; exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "demo: not converged in time; see $WORK/controller.log"; exit 1
  fi
  sleep 1
done

echo; echo "demo: converged in $(( $(date +%s) - start )) s. aura-controller status:"; echo
"$CTL" status --state "$WORK/state/journal.json"
# The instance gauges are refreshed every --spec-poll (5 s) and at each pass, so they can trail
# `status` by a few seconds: wait (at most 15 s) until they count every spec in sync.
want=$(printf '%s' "$json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["specs"]))')
for _ in $(seq 1 30); do
  curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
    grep -qx "aura_instances{state=\"in_sync\"} $want" && break
  sleep 0.5
done
echo; echo "demo: a few metrics (curl http://127.0.0.1:$METRICS_PORT/metrics):"; echo
curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | grep -E \
  '^aura_(instances|creates_total|api_requests_total\{code="20[02]",method="(POST|GET)",route="/instances"|ratelimit_requests_in_window|token_refreshes_total|duplicate_instances)' || true
echo; echo "demo: one-time passwords were saved (0600) under $WORK/credentials:"
find "$WORK/credentials" -name '*.json' | sort | sed 's/^/  /'
echo "demo: read one with: $CTL credentials get shop/orders --credentials-dir $WORK/credentials"
