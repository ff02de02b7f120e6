#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs dependencies, configures with
# warnings as errors, builds, and runs every test with ctest. Exits non-zero on any failure.
# Usage: scripts/test.sh            (the README's test command; CI runs exactly this)
# Env:   AURA_BUILD_DIR (default build), AURA_JOBS (default: number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

BUILD="${AURA_BUILD_DIR:-build}"
JOBS="${AURA_JOBS:-$(nproc)}"

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAURA_WERROR=ON >/dev/null
cmake --build "$BUILD" -j "$JOBS"
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" --timeout 600
