#!/usr/bin/env bash
# The long set of the reliability suite (issue 9; docs/RELIABILITY.md records its figures):
# the same tests/reliability binary that ctest runs in CI, with the sizes of the issue: 1,000
# specs in the rate-limit soak, 300 sharing the budget with 429 bursts, bigger outage, token,
# journal, hostile and secrets runs, 2,000 resync passes of the resources run. Builds aura-controller, aura-simulator and
# reliability_test in their own build folder, runs every test once and prints each test's
# "reliability: ..." figures line, also appended to FIGURES_FILE.
# Usage: scripts/reliability.sh [FIGURES_FILE]        (default reliability-figures.txt)
# Env:   AURA_REL_BUILD_DIR (default build-reliability), AURA_JOBS (build jobs, default 2),
#        AURA_SANITIZE=address|thread to run the long set under a sanitizer, and any
#        AURA_REL_* size the tests read (the defaults below apply only when it is unset).
set -euo pipefail
cd "$(dirname "$0")/.."

FIGURES="${1:-reliability-figures.txt}"
BUILD="${AURA_REL_BUILD_DIR:-build-reliability}"
JOBS="${AURA_JOBS:-2}"

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAURA_WERROR=ON \
  -DAURA_SANITIZE="${AURA_SANITIZE:-}" -DAURA_TSAN_ALL_TESTS=ON -DAURA_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" --target aura-controller aura-simulator reliability_test -j "$JOBS"

export AURA_REL_SOAK_SPECS="${AURA_REL_SOAK_SPECS:-1000}"
export AURA_REL_SHARED_SPECS="${AURA_REL_SHARED_SPECS:-300}"
export AURA_REL_OUTAGE_SPECS="${AURA_REL_OUTAGE_SPECS:-200}"
export AURA_REL_OUTAGE_SECONDS="${AURA_REL_OUTAGE_SECONDS:-15}"
export AURA_REL_TOKEN_SPECS="${AURA_REL_TOKEN_SPECS:-100}"
export AURA_REL_JOURNAL_SPECS="${AURA_REL_JOURNAL_SPECS:-150}"
export AURA_REL_HOSTILE_SPECS="${AURA_REL_HOSTILE_SPECS:-100}"
export AURA_REL_SECRETS_SPECS="${AURA_REL_SECRETS_SPECS:-60}"
export AURA_REL_RESOURCE_PASSES="${AURA_REL_RESOURCE_PASSES:-2000}"
export AURA_REL_RESOURCE_SPECS="${AURA_REL_RESOURCE_SPECS:-200}"
export AURA_RELIABILITY_FIGURES="$(realpath -m "$FIGURES")"
echo "reliability: figures go to $AURA_RELIABILITY_FIGURES"
start=$SECONDS
status=0
"$BUILD/tests/reliability/reliability_test" --gtest_brief=1 || status=$?
echo "reliability: long set finished in $(( SECONDS - start )) s (exit $status)"
exit "$status"
