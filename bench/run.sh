#!/usr/bin/env bash
# Throughput and latency of ordersystem against the bare-Poco ceiling, measured in the same run.
#   bench/run.sh [BUILD_DIR] [--duration SECONDS] [--warmup SECONDS] [--modes standalone,redis,nats] [--soak N]
# Prints, per case: requests/s, p99, non-2xx count, the server's peak RSS and the ratio to the
# ceiling at the same connection count. Every case (the ceiling too) is first run unmeasured for
# --warmup seconds (default 3): a fresh nats-server, for one, needs a few seconds of load
# before it reaches its steady rate (10.4k -> 12.5k creates/s over three 10 s runs here).
# --soak N also creates N orders in total (default 200000) and reports RSS after 100k/200k and
# start-up time to ready with them stored.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
duration=10
warmup=3
modes="standalone"
soak=0
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --soak) soak=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) build=$1; shift ;;
  esac
done
build=$(cd "$build" && pwd)
exe="$build/bin/ordersystem"
ceiling="$build/bench/ceiling_server"
for f in "$exe" "$ceiling"; do [[ -x $f ]] || { echo "missing $f: build with -DORDERSYSTEM_BUILD_BENCH=ON" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "wrk missing: packaging/install-deps.sh --test" >&2; exit 1; }

work=$(mktemp -d /tmp/ordersystem-bench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# wait_http PORT PATH [SECONDS (default 10)]
wait_http() { for _ in $(seq 1 $((${3:-10} * 20))); do curl -fs "http://127.0.0.1:$1$2" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }
peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# run_wrk PORT CONNECTIONS SCRIPT [PATH] -> sets rps p99 non2xx errors
run_wrk() {
  local out
  if ((warmup > 0)); then wrk -t2 -c"$2" -d"${warmup}s" -s "$3" "http://127.0.0.1:$1${4:-/}" >/dev/null 2>&1; fi
  out=$(wrk -t2 -c"$2" -d"${duration}s" --latency -s "$3" "http://127.0.0.1:$1${4:-/}" 2>&1)
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out"); non2xx=${non2xx:-0}
  errors=$(awk '/Socket errors/ {print $0}' <<<"$out")
}

declare -A ceiling_rps
printf '%-34s %10s %9s %8s %9s %7s\n' "case" "req/s" "p99" "non-2xx" "peakRSS" "ratio"
report() { # name conns
  local ratio; ratio=$(awk -v a="$rps" -v b="${ceiling_rps[$2]}" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "-"}')
  printf '%-34s %10s %9s %8s %8sM %7s %s\n' "$1" "$rps" "$p99" "$non2xx" "${rss:--}" "$ratio" "${errors:-}"
}

# ---- ceiling
cport=$(free_port)
"$ceiling" "$cport" 128 >"$work/ceiling.log" 2>&1 & pids+=($!); cpid=$!
wait_http "$cport" /
for c in 16 64; do
  run_wrk "$cport" "$c" "$here/get.lua"; rss=$(peak_rss_mib "$cpid")
  ceiling_rps[$c]=$rps
  report "ceiling (bare Poco) c=$c" "$c"
done
kill "$cpid"; wait "$cpid" 2>/dev/null || true

# start_node NAME TRANSPORT URL -> sets nport npid
start_node() {
  local dir="$work/$1"; mkdir -p "$dir"
  nport=$(free_port)
  local section=""
  [[ $2 == transport-redis ]] && section=$'[transport.redis]\nurl = '"$3"
  [[ $2 == transport-nats ]] && section=$'[transport.nats]\nurl = '"$3"
  cat >"$dir/ordersystem.ini" <<INI
[node]
id = $1
data_dir = data
durability = full
[http]
host = 127.0.0.1
port = $nport
[plugins]
load = orders, $2, analytics
[log]
level = warn
$section
INI
  "$exe" --config="$dir/ordersystem.ini" >"$dir/node.log" 2>&1 & pids+=($!); npid=$!
  # A node joining a stream that earlier cases filled is not ready until its read models caught
  # up with it (~30k events/s here): hundreds of thousands of events take more than 10 s.
  wait_http "$nport" /health/ready 180 || { echo "node $1 did not get ready within 180 s:"; tail -20 "$dir/node.log"; exit 1; }
}

create_one() { curl -fs -X POST -H 'Content-Type: application/json' -d @- "http://127.0.0.1:$1/api/orders" <<<'{"customerName":"Probe","items":[{"productName":"P","quantity":1,"price":1}]}' | sed -E 's/.*"orderId":([0-9]+).*/\1/'; }

bench_mode() { # mode transport url
  start_node "$1-node" "$2" "$3"
  local first last
  first=$(create_one "$nport")
  for c in 16 64; do
    run_wrk "$nport" "$c" "$here/create.lua" /api/orders; rss=$(peak_rss_mib "$npid"); report "$1 create c=$c" "$c"
  done
  last=$(create_one "$nport")
  for c in 16 64; do
    BENCH_MIN_ID=$first BENCH_MAX_ID=$last run_wrk "$nport" "$c" "$here/get.lua"; rss=$(peak_rss_mib "$npid"); report "$1 get c=$c" "$c"
  done
  if ((soak > 0)) && [[ $1 == standalone ]]; then soak_test; fi
  kill "$npid"; wait "$npid" 2>/dev/null || true
}

soak_test() {
  local have target
  have=$(create_one "$nport")
  echo "soak: creating up to $soak orders (have ~$have)"
  local saved=$duration saved_warmup=$warmup; duration=5; warmup=0
  local rss_half=""
  # The create cases may already have stored more than half (or all) of the target.
  if ((have >= soak / 2)); then rss_half=$(rss_mib "$npid"); echo "soak: $have orders, RSS ${rss_half} MiB"; fi
  while ((have < soak)); do
    run_wrk "$nport" 64 "$here/create.lua" /api/orders
    have=$(create_one "$nport")
    if [[ -z $rss_half ]] && ((have >= soak / 2)); then rss_half=$(rss_mib "$npid"); echo "soak: $have orders, RSS ${rss_half} MiB"; fi
    echo "soak: $have orders stored"
  done
  duration=$saved; warmup=$saved_warmup
  echo "soak: $have orders, RSS $(rss_mib "$npid") MiB, peak $(peak_rss_mib "$npid") MiB"
  kill "$npid"; wait "$npid" 2>/dev/null || true
  local t0 t1; t0=$(date +%s%N)
  "$exe" --config="$work/standalone-node/ordersystem.ini" >>"$work/standalone-node/node.log" 2>&1 & pids+=($!); npid=$!
  wait_http "$nport" /health/ready
  t1=$(date +%s%N)
  echo "soak: start-up to ready with $have orders: $(( (t1 - t0) / 1000000 )) ms"
}

# bench_multi MODE TRANSPORT URL NODES: creates spread over NODES nodes (one wrk per node,
# connections split evenly), reported as the sum of their requests/s and the worst p99.
bench_multi() {
  local ports=() npids=() i
  for ((i = 1; i <= $4; i++)); do start_node "$1-$4n-node$i" "$2" "$3"; ports+=("$nport"); npids+=("$npid"); done
  for c in 16 64; do
    local per=$((c / $4)) outs=() total=0 worst=0
    if ((warmup > 0)); then
      for p in "${ports[@]}"; do
        wrk -t1 -c"$per" -d"${warmup}s" -s "$here/create.lua" "http://127.0.0.1:$p/api/orders" >/dev/null 2>&1 &
        outs+=($!)
      done
      wait "${outs[@]}"
      outs=()
    fi
    for p in "${ports[@]}"; do
      wrk -t1 -c"$per" -d"${duration}s" --latency -s "$here/create.lua" "http://127.0.0.1:$p/api/orders" >"$work/wrk-$p.out" 2>&1 &
      outs+=($!)
    done
    wait "${outs[@]}"
    non2xx=0
    for p in "${ports[@]}"; do
      total=$(awk -v t="$total" '/Requests\/sec/ {printf "%.2f", t + $2}' "$work/wrk-$p.out")
      worst=$(awk -v w="$worst" '$1=="99%" {v=$2; if (v ~ /ms$/) v=v+0; else if (v ~ /us$/) v=v/1000; else if (v ~ /s$/) v=v*1000; if (v > w) w=v} END {print w}' "$work/wrk-$p.out")
      n=$(awk '/Non-2xx/ {print $5}' "$work/wrk-$p.out"); non2xx=$((non2xx + ${n:-0}))
    done
    rps=$total; p99="${worst}ms"; errors=""
    rss=$(peak_rss_mib "${npids[0]}")
    report "$1 create $4 nodes c=$c" "$c"
  done
  for p in "${npids[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
}

IFS=, read -ra mode_list <<<"$modes"
for m in "${mode_list[@]}"; do
  case "$m" in
    standalone) bench_mode standalone transport-inmemory "" ;;
    redis)
      rport=$(free_port); mkdir -p "$work/redis"
      redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes --save "" --auto-aof-rewrite-percentage 0 >"$work/redis.log" 2>&1 & pids+=($!)
      sleep 0.5
      bench_mode redis transport-redis "redis://127.0.0.1:$rport"
      bench_multi redis transport-redis "redis://127.0.0.1:$rport" 2 ;;
    nats)
      nport_srv=$(free_port)
      nats-server -js -a 127.0.0.1 -p "$nport_srv" -sd "$work/nats" >"$work/nats.log" 2>&1 & pids+=($!)
      sleep 0.5
      bench_mode nats transport-nats "nats://127.0.0.1:$nport_srv"
      bench_multi nats transport-nats "nats://127.0.0.1:$nport_srv" 3 ;;
    *) echo "unknown mode $m" >&2; exit 1 ;;
  esac
done
