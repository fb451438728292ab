#!/usr/bin/env bash
# Installs what building, running and testing ordersystem needs on Debian 12, as root.
# Idempotent and quick when everything is there: apt-get runs only for missing packages.
#   packaging/install-deps.sh          build + run dependencies
#   packaging/install-deps.sh --test   also the servers and tools the tests and benchmarks use
set -euo pipefail

packages=(build-essential cmake pkg-config git libpoco-dev libhiredis-dev libnats-dev libspdlog-dev
          libfmt-dev libsqlite3-dev libjemalloc-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
          ca-certificates curl)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(redis-server nats-server wrk procps python3)
  # The fault tests: network namespaces, veth pairs and blackhole routes (ip), Sentinel queries
  # (redis-cli, from redis-tools).
  packages+=(iproute2 redis-tools)
  # The service tests: cpack's shlibdeps (dpkg-dev), systemd-analyze verify (systemd), a
  # self-signed certificate for the TLS test (openssl), Swagger UI in a real browser (chromium).
  packages+=(dpkg-dev systemd openssl chromium adduser)
  # The fuzzers (tests/fuzz/run.sh): clang with libFuzzer and the sanitizer runtimes; the house
  # style and the static checks (tests/format.sh, tests/tidy.sh).
  packages+=(clang libclang-rt-14-dev clang-format-14 clang-tidy-14)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm bundles Swagger UI at build time; any npm on PATH will do (Debian's or another vendor's).
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's redis-server package may start a system instance; tests use their own on free ports.
fi
echo "install-deps: all ${#packages[@]} packages present"
if [[ "${1:-}" == "--test" ]]; then
  # The three-server JetStream tests need nats-server 2.10 or newer; without it they skip.
  packaging_dir=$(dirname "$0")
  "$packaging_dir/install-nats-server.sh" ||
    echo "install-deps: warning: no nats-server 2.10 or newer; the three-server NATS fault tests will skip" >&2
fi
