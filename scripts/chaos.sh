#!/usr/bin/env bash
# The exactly-once chaos test, long form: builds aura-controller, aura-simulator and chaos_test
# in their own build folder and runs ITERATIONS kill/restart cycles of the controller (in
# scenarios of AURA_CHAOS_KILLS_PER_SCENARIO kills and AURA_CHAOS_SPECS specs each) against a
# simulator failing committed creates (500, reset, late 202), lagging LIST, 503s and 429s.
# Prints one line per scenario and a summary line `chaos: seed=... iterations=... kills=...
# duplicates=0 lost_passwords=0 wall=...s`; exits non-zero on any violation. ctest runs the
# quick set (8 iterations) of the same binary.
# Usage: scripts/chaos.sh [ITERATIONS] [SEED]     (defaults 200 and 1)
# Env:   AURA_CHAOS_BUILD_DIR (default build-chaos), AURA_JOBS (build jobs, default 2),
#        AURA_CHAOS_KILLS_PER_SCENARIO (default 10), AURA_CHAOS_SPECS (default 20),
#        AURA_CHAOS_SCENARIO (run one scenario only, to reproduce it),
#        AURA_CHAOS_MAX_DELAY_MS (longest run before a kill, default 2500).
set -euo pipefail
cd "$(dirname "$0")/.."

ITERATIONS="${1:-200}"
SEED="${2:-1}"
BUILD="${AURA_CHAOS_BUILD_DIR:-build-chaos}"
JOBS="${AURA_JOBS:-2}"

cmake -S . -B "$BUILD" -G Ninja -DAURA_WERROR=ON >/dev/null
cmake --build "$BUILD" --target aura-controller aura-simulator chaos_test -j "$JOBS"

export AURA_CHAOS_ITERATIONS="$ITERATIONS" AURA_CHAOS_SEED="$SEED"
export AURA_CHAOS_KILLS_PER_SCENARIO="${AURA_CHAOS_KILLS_PER_SCENARIO:-10}"
exec "$BUILD/tests/chaos/chaos_test" --gtest_brief=1
