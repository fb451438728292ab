#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time on a
# copy of its committed seed corpus; fails on any crash, sanitizer report or broken invariant.
#   tests/fuzz/run.sh [--seconds N (default 60)] [--build DIR (default build-fuzz)]
# A failing input is kept as DIR/crash-<target>-*; reproduce with: DIR/<Target> <that file>.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=60
build="$here/../../build-fuzz"
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v clang++ >/dev/null || { echo "fuzz: clang++ missing: packaging/install-deps.sh --test installs clang" >&2; exit 1; }
cmake -S "$here" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 >/dev/null
work=$(mktemp -d /tmp/ordersystem-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=0
for spec in FuzzRequestHead:head:http FuzzChunkedBody:chunked:http FuzzJson:json:json FuzzRequestFields:fields:fields \
            FuzzStreamQuery:stream:http FuzzRetryAfter:retryafter:http; do
  IFS=: read -r target corpus dict <<<"$spec"
  mkdir -p "$work/$corpus"
  cp "$here/corpus/$corpus/"* "$work/$corpus/"
  log="$work/$target.log"
  if "$build/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -dict="$here/$dict.dict" -artifact_prefix="$build/crash-$target-" "$work/$corpus" >"$log" 2>&1; then
    runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz: $target passed: $runs inputs in ${seconds} s, $cov, corpus $(ls "$work/$corpus" | wc -l) inputs"
  else
    failed=1
    echo "fuzz: $target FAILED (input kept under $build/crash-$target-*):"
    grep -E 'invariant broken|ERROR|SUMMARY|runtime error' "$log" | head -5
  fi
done
exit $failed
