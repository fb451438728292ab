#!/usr/bin/env bash
# Throughput and latency of ordersystem against the bare-Poco ceiling, measured in the same run.
#   bench/run.sh [BUILD_DIR] [--duration SECONDS] [--warmup SECONDS] [--rounds N]
#                [--modes standalone,redis,nats] [--soak N] [--steal-gap PCT] [--steal-retries N]
#                [--baseline OTHER_BUILD_DIR]
# Prints, per case: requests/s, p99, non-2xx count, the server's peak RSS and the ratio to the
# ceiling at the same connection count. Every case is measured in --rounds rounds (default 3),
# each right after a ceiling run at the same connection count; the ratio is the median of the
# rounds' ratios (listed in the last column), requests/s and p99 are medians too. The machine's
# speed drifts by ±30 % within minutes here, so a ceiling measured once at the start and a case
# measured minutes later gave ratios that moved more than any change we wanted to see.
# Every run (the ceiling's too) is preceded by an unmeasured one of --warmup seconds (default 3):
# a fresh nats-server, for one, needs a few seconds of load before it reaches its steady rate.
# --soak N also creates N orders in total (default 200000) and reports RSS after 100k/200k and
# start-up time to ready with them stored.
# Each case's line ends with the share of CPU time the hypervisor took ("steal", from /proc/stat)
# during each round's ceiling run and case run (ceiling|case). On a shared VM a round whose two
# runs lost shares more than --steal-gap points apart (default 5) compared two different
# machines, so it is measured again, up to --steal-retries times (default 2); the last attempt
# stands, marked with * when still unequal, and the line counts the repeats.
# --baseline OTHER_BUILD_DIR compares two trees in one run: each mode's single-node cases run on
# a node of each build side by side (own data folder, own broker), round by round right after
# the same ceiling run, the two in turn (which goes first alternates), and each line gives
# new/base per round and its median besides both ratios to the ceiling. Pairing the two within a
# round keeps the comparison when the machine's speed drifts; the multi-node cases and --soak are
# left out then.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
duration=10
warmup=3
rounds=3
modes="standalone"
soak=0
steal_gap=5
steal_retries=2
baseline=""
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --soak) soak=$2; shift 2 ;;
    --steal-gap) steal_gap=$2; shift 2 ;;
    --steal-retries) steal_retries=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) build=$1; shift ;;
  esac
done
build=$(cd "$build" && pwd)
exe="$build/bin/ordersystem"
ceiling="$build/bench/ceiling_server"
for f in "$exe" "$ceiling"; do [[ -x $f ]] || { echo "missing $f: build with -DORDERSYSTEM_BUILD_BENCH=ON" >&2; exit 1; }; done
base_exe=""
if [[ -n $baseline ]]; then
  base_exe="$(cd "$baseline" && pwd)/bin/ordersystem"
  [[ -x $base_exe ]] || { echo "missing $base_exe (--baseline)" >&2; exit 1; }
fi
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

# cpu_ticks -> "STEAL TOTAL": jiffies of all CPUs so far (/proc/stat: user..steal)
cpu_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t}' /proc/stat; }
# steal_pct "STEAL TOTAL" -> the percentage of CPU time stolen by the hypervisor since then
steal_pct() {
  awk -v a="$1" -v b="$(cpu_ticks)" 'BEGIN{ split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; printf "%d", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'
}

# median N... (numbers)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
# to_ms WRK_DURATION ("850.00us", "4.45ms", "1.02s") -> milliseconds
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) v=v/1000; else if (v ~ /ms$/) v=v+0; else if (v ~ /s$/) v=v*1000; printf "%.2f", v}'; }

declare -A ceiling_runs  # connections -> every ceiling requests/s of this run
if [[ -n $baseline ]]; then
  printf '%-24s %10s %10s %8s  %s\n' "case" "new req/s" "base req/s" "new/base" \
    "new/base per round; ratio to the ceiling new | base; peak RSS new | base; non-2xx"
else
  printf '%-34s %10s %9s %8s %9s %7s  %s\n' "case" "req/s" "p99" "non-2xx" "peakRSS" "ratio" \
    "ratio per round, read-model lag, steal % per round (ceiling|case)"
fi

# ---- ceiling: a bare Poco server, measured again before every round of every case
cport=$(free_port)
"$ceiling" "$cport" 128 >"$work/ceiling.log" 2>&1 & pids+=($!); cpid=$!
wait_http "$cport" /

# read_model_lag PORT... -> the most events any read model of those nodes has not applied yet
read_model_lag() {
  local p worst=0
  for p in "$@"; do
    worst=$(curl -fs "http://127.0.0.1:$p/metrics" | awk -v w="$worst" '/^ordersystem_projection_lag_events/ {if ($2 > w) w = $2} END {print w + 0}')
  done
  echo "$worst"
}

# measure NAME CONNECTIONS COMMAND... : --rounds times, a ceiling run at CONNECTIONS, then
# COMMAND (which sets rps p99 non2xx errors, like run_wrk); reports the medians and sets rss
# from $npid (the node under test, when set). With lag_ports set (the nodes taking writes) it
# also shows how far their read models were behind right after each round: creates/s that
# leave the read models further behind every second are not a rate a node can keep up.
measure() {
  local name=$1 c=$2; shift 2
  local ratios=() rpss=() p99s=() lags=() steals=() bad=0 errs="" r attempt crps t0 csteal xsteal unequal repeated=0
  for ((r = 1; r <= rounds; r++)); do
    for ((attempt = 1; attempt <= steal_retries + 1; attempt++)); do
      t0=$(cpu_ticks)
      run_wrk "$cport" "$c" "$here/get.lua"; crps=$rps
      csteal=$(steal_pct "$t0")
      t0=$(cpu_ticks)
      "$@"
      xsteal=$(steal_pct "$t0")
      # Every attempt's failures count, also those of a round measured again.
      bad=$((bad + ${non2xx:-0})); [[ -n $errors ]] && errs=$errors
      # A round whose two runs lost very different shares to the hypervisor compared two
      # machines: measure it again (the last attempt stands, marked with *).
      unequal=$(( xsteal - csteal > steal_gap || csteal - xsteal > steal_gap ))
      ((unequal)) || break
      ((attempt <= steal_retries)) && repeated=$((repeated + 1))
    done
    ceiling_runs[$c]+=" $crps"
    ((unequal)) && xsteal="$xsteal*"
    steals+=("$csteal|$xsteal")
    [[ -n ${lag_ports:-} ]] && lags+=("$(read_model_lag $lag_ports)")
    rpss+=("$rps"); p99s+=("$(to_ms "$p99")")
    ratios+=("$(awk -v a="$rps" -v b="$crps" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print 0}')")
  done
  rss=$( [[ -n ${npid:-} ]] && peak_rss_mib "$npid" || echo -)
  local lag="" again=""
  ((${#lags[@]})) && lag=", lag $(IFS=/; echo "${lags[*]}") events"
  ((repeated)) && again=" ($repeated repeats)"
  printf '%-34s %10s %8sms %8s %8sM %7s  %s%s, steal %% %s%s %s\n' "$name" "$(median "${rpss[@]}")" "$(median "${p99s[@]}")" \
    "$bad" "$rss" "$(median "${ratios[@]}")" "$(IFS=/; echo "${ratios[*]}")" "$lag" "$(IFS=/; echo "${steals[*]}")" "$again" "$errs"
}

report_ceiling() {
  local c runs
  for c in 16 64; do
    [[ -n ${ceiling_runs[$c]:-} ]] || continue
    read -ra runs <<<"${ceiling_runs[$c]}"
    printf '%-34s %10s   (%d runs: %s to %s req/s)\n' "ceiling (bare Poco) c=$c" "$(median "${runs[@]}")" "${#runs[@]}" \
      "$(printf '%s\n' "${runs[@]}" | sort -g | head -1)" "$(printf '%s\n' "${runs[@]}" | sort -g | tail -1)"
  done
  echo "ceiling peak RSS: $(peak_rss_mib "$cpid") MiB"
}

# start_node NAME TRANSPORT URL [EXE] -> sets nport npid
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
  "${4:-$exe}" --config="$dir/ordersystem.ini" >"$dir/node.log" 2>&1 & pids+=($!); npid=$!
  # A node joining a stream that earlier cases filled is not ready until its read models caught
  # up with it (~30k events/s here): hundreds of thousands of events take more than 10 s.
  wait_http "$nport" /health/ready 180 || { echo "node $1 did not get ready within 180 s:"; tail -20 "$dir/node.log"; exit 1; }
}

create_one() { curl -fs -X POST -H 'Content-Type: application/json' -d @- "http://127.0.0.1:$1/api/orders" <<<'{"customerName":"Probe","items":[{"productName":"P","quantity":1,"price":1}]}' | sed -E 's/.*"orderId":([0-9]+).*/\1/'; }

# run_case PORT KIND CONNECTIONS FIRST LAST: creates, or gets of ids FIRST..LAST -> like run_wrk
run_case() {
  if [[ $2 == create ]]; then run_wrk "$1" "$3" "$here/create.lua" /api/orders; return; fi
  export BENCH_MIN_ID=$4 BENCH_MAX_ID=$5
  run_wrk "$1" "$3" "$here/get.lua"
  unset BENCH_MIN_ID BENCH_MAX_ID
}

# measure_ab NAME CONNECTIONS KIND: --rounds rounds of a ceiling run, then the case on the
# baseline's node (bport, bpid, bfirst..blast) and on this tree's (tport, tpid, tfirst..tlast)
# in turn, the first of the two alternating by round.
measure_ab() {
  local name=$1 c=$2 kind=$3 r side crps brps trps bad=0
  local abs=() tratios=() bratios=() trpss=() brpss=()
  for ((r = 1; r <= rounds; r++)); do
    run_wrk "$cport" "$c" "$here/get.lua"; crps=$rps
    ceiling_runs[$c]+=" $crps"
    for side in $( ((r % 2)) && echo "base new" || echo "new base"); do
      if [[ $side == base ]]; then run_case "$bport" "$kind" "$c" "$bfirst" "$blast"; brps=$rps
      else run_case "$tport" "$kind" "$c" "$tfirst" "$tlast"; trps=$rps; fi
      bad=$((bad + ${non2xx:-0}))
    done
    trpss+=("$trps"); brpss+=("$brps")
    abs+=("$(awk -v a="$trps" -v b="$brps" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print 0}')")
    tratios+=("$(awk -v a="$trps" -v b="$crps" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print 0}')")
    bratios+=("$(awk -v a="$brps" -v b="$crps" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print 0}')")
  done
  printf '%-24s %10s %10s %8s  %s; %s | %s; %sM | %sM; %s\n' "$name" "$(median "${trpss[@]}")" "$(median "${brpss[@]}")" \
    "$(median "${abs[@]}")" "$(IFS=/; echo "${abs[*]}")" "$(median "${tratios[@]}")" "$(median "${bratios[@]}")" \
    "$(peak_rss_mib "$tpid")" "$(peak_rss_mib "$bpid")" "$bad"
}

# bench_mode_ab MODE TRANSPORT URL_BASE URL_NEW: the single-node cases on both builds.
bench_mode_ab() {
  start_node "$1-base" "$2" "$3" "$base_exe"; bport=$nport; bpid=$npid
  start_node "$1-node" "$2" "$4"; tport=$nport; tpid=$npid
  bfirst=$(create_one "$bport"); tfirst=$(create_one "$tport"); blast=0; tlast=0
  for c in 16 64; do measure_ab "$1 create c=$c" "$c" create; done
  blast=$(create_one "$bport"); tlast=$(create_one "$tport")
  for c in 16 64; do measure_ab "$1 get c=$c" "$c" get; done
  for p in "$bpid" "$tpid"; do kill "$p"; wait "$p" 2>/dev/null || true; done
}

bench_mode() { # mode transport url
  start_node "$1-node" "$2" "$3"
  first=$(create_one "$nport")
  lag_ports=$nport
  for c in 16 64; do
    measure "$1 create c=$c" "$c" run_wrk "$nport" "$c" "$here/create.lua" /api/orders
  done
  lag_ports=""
  last=$(create_one "$nport")
  export BENCH_MIN_ID=$first BENCH_MAX_ID=$last
  for c in 16 64; do
    measure "$1 get c=$c" "$c" run_wrk "$nport" "$c" "$here/get.lua"
  done
  unset BENCH_MIN_ID BENCH_MAX_ID
  kill "$npid"; wait "$npid" 2>/dev/null || true
  npid=""
  if ((soak > 0)) && [[ $1 == standalone ]]; then
    timed_start "$1-node" "$(( last - first + 2 )) orders (what the cases above stored)"
    kill "$npid"; wait "$npid" 2>/dev/null || true
    npid=""
    soak_test
  fi
}

# timed_start NAME WHAT: starts the stopped node NAME again (same folder, same port) and
# prints the time to /health/ready; sets npid.
timed_start() {
  local t0 t1; t0=$(date +%s%N)
  "$exe" --config="$work/$1/ordersystem.ini" >>"$work/$1/node.log" 2>&1 & pids+=($!); npid=$!
  wait_http "$nport" /health/ready 60 || { echo "node $1 did not get ready again"; tail -20 "$work/$1/node.log"; exit 1; }
  t1=$(date +%s%N)
  echo "start-up to ready with $2: $(( (t1 - t0) / 1000000 )) ms"
}

# soak_test: a fresh standalone node creates --soak orders (64 connections, 5 s at a time);
# RSS at half and at the end, then the start-up time with them stored.
soak_test() {
  start_node standalone-soak transport-inmemory ""
  local have rss_half="" saved=$duration saved_warmup=$warmup
  have=$(create_one "$nport")
  echo "soak: a fresh node creates $soak orders"
  duration=5; warmup=0
  while ((have < soak)); do
    run_wrk "$nport" 64 "$here/create.lua" /api/orders
    have=$(create_one "$nport")
    if [[ -z $rss_half ]] && ((have >= soak / 2)); then rss_half=$(rss_mib "$npid"); echo "soak: $have orders, RSS ${rss_half} MiB"; fi
    echo "soak: $have orders stored"
  done
  duration=$saved; warmup=$saved_warmup
  echo "soak: $have orders, RSS $(rss_mib "$npid") MiB, peak $(peak_rss_mib "$npid") MiB"
  kill "$npid"; wait "$npid" 2>/dev/null || true
  timed_start standalone-soak "$have orders"
  kill "$npid"; wait "$npid" 2>/dev/null || true
  npid=""
}

# run_multi_wrk CONNECTIONS PORT... : creates spread over the nodes at PORTs (one wrk each,
# connections split evenly); sets rps (their sum), p99 (the worst), non2xx, errors.
run_multi_wrk() {
  local c=$1; shift
  local per=$((c / $#)) outs=() total=0 worst=0 p n
  if ((warmup > 0)); then
    for p in "$@"; do
      wrk -t1 -c"$per" -d"${warmup}s" -s "$here/create.lua" "http://127.0.0.1:$p/api/orders" >/dev/null 2>&1 &
      outs+=($!)
    done
    wait "${outs[@]}"
    outs=()
  fi
  for p in "$@"; do
    wrk -t1 -c"$per" -d"${duration}s" --latency -s "$here/create.lua" "http://127.0.0.1:$p/api/orders" >"$work/wrk-$p.out" 2>&1 &
    outs+=($!)
  done
  wait "${outs[@]}"
  non2xx=0
  for p in "$@"; do
    total=$(awk -v t="$total" '/Requests\/sec/ {printf "%.2f", t + $2}' "$work/wrk-$p.out")
    worst=$(awk -v w="$worst" -v v="$(to_ms "$(awk '$1=="99%" {print $2}' "$work/wrk-$p.out")")" 'BEGIN{print (v > w) ? v : w}')
    n=$(awk '/Non-2xx/ {print $5}' "$work/wrk-$p.out"); non2xx=$((non2xx + ${n:-0}))
  done
  rps=$total; p99="${worst}ms"; errors=""
}

# bench_multi MODE TRANSPORT URL NODES: creates spread over NODES fresh nodes, reported as the
# sum of their requests/s and the worst p99 (the URL should be a fresh server: a node joining a
# stream that earlier cases filled has to catch up first).
bench_multi() {
  local ports=() npids=() i
  for ((i = 1; i <= $4; i++)); do start_node "$1-$4n-node$i" "$2" "$3"; ports+=("$nport"); npids+=("$npid"); done
  npid=${npids[0]}
  lag_ports="${ports[*]}"
  for c in 16 64; do
    measure "$1 create $4 nodes c=$c" "$c" run_multi_wrk "$c" "${ports[@]}"
  done
  lag_ports=""
  for p in "${npids[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
  npid=""
}

# start_redis / start_nats -> sets url (a fresh server in its own folder)
start_redis() {
  local port dir; port=$(free_port); dir="$work/redis-$port"; mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly yes --save "" --auto-aof-rewrite-percentage 0 >"$dir/log" 2>&1 & pids+=($!)
  url="redis://127.0.0.1:$port"
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
}
start_nats() {
  local port; port=$(free_port)
  nats-server -js -a 127.0.0.1 -p "$port" -sd "$work/nats-$port" >"$work/nats-$port.log" 2>&1 & pids+=($!)
  url="nats://127.0.0.1:$port"
  sleep 0.5
}

IFS=, read -ra mode_list <<<"$modes"
for m in "${mode_list[@]}"; do
  if [[ -n $baseline ]]; then
    case "$m" in
      standalone) bench_mode_ab standalone transport-inmemory "" "" ;;
      redis) start_redis; u=$url; start_redis; bench_mode_ab redis transport-redis "$u" "$url" ;;
      nats) start_nats; u=$url; start_nats; bench_mode_ab nats transport-nats "$u" "$url" ;;
      *) echo "unknown mode $m" >&2; exit 1 ;;
    esac
    continue
  fi
  case "$m" in
    standalone) bench_mode standalone transport-inmemory "" ;;
    redis)
      start_redis; bench_mode redis transport-redis "$url"
      start_redis; bench_multi redis transport-redis "$url" 2 ;;
    nats)
      start_nats; bench_mode nats transport-nats "$url"
      start_nats; bench_multi nats transport-nats "$url" 3 ;;
    *) echo "unknown mode $m" >&2; exit 1 ;;
  esac
done
report_ceiling
