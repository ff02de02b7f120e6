#!/usr/bin/env bash
# Installs every system dependency of aura-controller on Debian 12 (bookworm), idempotently:
# runs `apt-get update` once, and only when a package is missing. Also installs the test-only
# npm tools (Prism, kubernetes-models) into tools/node_modules from the committed lock file.
# Usage: scripts/install-deps.sh [--no-npm]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git ca-certificates
  # libraries (DESIGN.md "The stack")
  libcpprest-dev libssl-dev libyaml-cpp-dev nlohmann-json3-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # clang for the libFuzzer target and its sanitizer runtimes
  clang libclang-rt-14-dev
  # test peers: promtool, etcd (HA backend tests), curl, python3 for test scripts
  prometheus etcd-server etcd-client curl python3 python3-yaml procps iproute2
  # npm for Prism (the OpenAPI contract test)
  nodejs npm
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  # nodejs/npm may come from elsewhere (a newer Node already on PATH): accept that.
  if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# kubectl renders the kustomize manifests in tests; Debian ships it as kubernetes-client.
if ! command -v kubectl >/dev/null; then missing+=(kubernetes-client); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all Debian packages present"
fi

if [ "${1:-}" != "--no-npm" ]; then
  if [ ! -x tools/node_modules/.bin/prism ] || [ ! -d tools/node_modules/kubernetes-models ] ||
     [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
    echo "install-deps: installing npm test tools (Prism, kubernetes-models) into tools/node_modules"
    (cd tools && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi
