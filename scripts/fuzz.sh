#!/usr/bin/env bash
# Builds the spec loader's libFuzzer target with clang in its own build folder and runs it for a
# bounded time, seeded with tests/spec_corpus (and manifests/ examples when present). Exits
# non-zero on any crash, leak, timeout or out-of-memory; the input that caused it is written to
# $BUILD/fuzz-artifacts/.
# Usage: scripts/fuzz.sh [seconds]      (default 60; CI runs exactly this)
# Env:   AURA_FUZZ_BUILD_DIR (default build-fuzz), AURA_JOBS (build jobs, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TO_RUN="${1:-60}"
BUILD="${AURA_FUZZ_BUILD_DIR:-build-fuzz}"
JOBS="${AURA_JOBS:-2}"

CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAURA_BUILD_FUZZ=ON -DAURA_BUILD_TESTS=OFF -DAURA_BUILD_BENCH=OFF -DAURA_WERROR=ON >/dev/null
cmake --build "$BUILD" --target spec_fuzzer -j "$JOBS"

# The first folder collects new interesting inputs across runs; the others only seed.
WORK="$BUILD/fuzz-corpus/spec"
mkdir -p "$WORK" "$BUILD/fuzz-artifacts"
SEEDS=(tests/spec_corpus/valid tests/spec_corpus/invalid)
if [ -d manifests ]; then
  while IFS= read -r dir; do SEEDS+=("$dir"); done < <(find manifests -name '*.yaml' -printf '%h\n' | sort -u)
fi

"$BUILD/tests/fuzz/spec_fuzzer" "$WORK" "${SEEDS[@]}" \
  -dict=tests/fuzz/yaml.dict \
  -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
  -artifact_prefix="$BUILD/fuzz-artifacts/" -print_final_stats=1
