#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs dependencies, then for each
# stage configures with warnings as errors, builds and runs the tests with ctest. Exits non-zero
# on the first failing stage. CI runs exactly this command.
#
# Stages (AURA_TEST_STAGES, default "default asan tsan"):
#   asan     AddressSanitizer + UndefinedBehaviorSanitizer: every unit and integration test,
#            the real binaries running instrumented                    in build-asan/
#   tsan     ThreadSanitizer: the unit and integration tests that start threads (test binaries
#            declared SINGLE_THREADED are not built: TSan has nothing to check there), except the
#            long integration suites declared SKIP_TSAN (reliability, chaos, simulator over HTTP,
#            security: they run in the asan stage; e2e, HA and Kubernetes suites run here) in build-tsan/
#   default  the plain build of the two binaries: the packaging checks (Dockerfile, manifests)
#            and the security tests, whose memory goal (peak RSS) is only meaningful without a
#            sanitizer's shadow memory                                  in build-test/
#   all      the plain build of everything and every test (what a developer runs; not in CI:
#            each test already runs in an instrumented build above)    in build-test/
# Builds use -O1 -g1 (assertions on): half the compile time of -O2 -g, same coverage; the asan
# stage -O0 -g1: ASan+UBSan instrumentation at -O1 more than doubles the compile time (14.7 s
# against 6.7 s for pkg/reconcile/controller_test.cc) and -O0 loses no check. CI time: three
# full builds took 35 minutes on 2 cores; these stages build 1 + 0.8 + 0.2 of the project.
# Env: AURA_JOBS (default: number of cores), AURA_TEST_STAGES.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

JOBS="${AURA_JOBS:-$(nproc)}"
STAGES="${AURA_TEST_STAGES:-default asan tsan}"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$(pwd)/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$(pwd)/scripts/tsan.supp"

run_stage() {
  local name=$1 dir=$2 sanitize=$3 opt=$4 ctest_args=$5
  shift 5  # the rest: the targets to build (none: all)
  local start=$SECONDS
  echo "=== stage $name: configure and build in $dir/${*:+ (targets: $*)}"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="$opt -g1" \
    -DAURA_WERROR=ON -DAURA_SANITIZE="$sanitize" -DAURA_BUILD_BENCH=OFF >/dev/null
  cmake --build "$dir" -j "$JOBS" ${*:+--target "$@"}
  echo "=== stage $name: ctest $ctest_args"
  # shellcheck disable=SC2086  # ctest_args is a list of words
  ctest --test-dir "$dir" --output-on-failure -j "$JOBS" --timeout 900 $ctest_args
  echo "=== stage $name: passed in $(( SECONDS - start )) s"
}

for stage in $STAGES; do
  case "$stage" in
    # The tests of targets not built are registered as <target>_NOT_BUILT: excluded.
    default) run_stage default build-test "" -O1 "-E _NOT_BUILT$" \
               aura-controller aura-simulator security_test ;;
    asan) run_stage asan build-asan address -O0 "-L unit|integration" ;;
    tsan) run_stage tsan build-tsan thread -O1 "-L unit|integration" ;;
    all) run_stage all build-test "" -O1 "" ;;
    *) echo "unknown stage '$stage' (default, asan, tsan, all)"; exit 2 ;;
  esac
done
