#!/usr/bin/env bash
# Lease churn vs DNS latency (issue #5): does renewing 10,000 leases (2,000 renewals/s) slow
# answers? Fixed-rate dnsperf latency runs, alternating without and with `harness leases`
# running alongside, once for each renewal path in VIAS: UDP heartbeats (what the agent does)
# and HTTP renewals; and a control, udp-closed, in which the harness does all its work but
# sends the heartbeats to a closed port: what it costs dnsperf on the shared client core alone. Target: p99 with churn <= 1.10 x p99 without. Run as root (CPU pinning);
# only 127.0.0.1 is used.
#
# Usage: bench/leases.sh        (from anywhere)
#
# Steps: build dnslb and bench/harness into WORK -> the anchor script's `setup` into WORK/anchors
#        (for its query files) -> start dnslb with the anchor benchmark's data (bench/start-dnslb.sh)
#        -> ROUNDS x (base, then churn-VIA for each VIA): pinned dnsperf at QPS q/s with per-query output (-v), as
#        bench/run.sh's latency runs; in a churn run `harness leases` first registers N leased
#        sets, then renews each every EVERY (on HARNESS_CPU) for the whole run, and
#        deletes them after it -> stop everything (also on failure) -> report.
#        Exit status 1 when the first VIA misses the target or the harness misses its renewal
#        rate (after the report).
#
# Knobs (environment):
#   ROUNDS=3 DURATION=10    alternating rounds; seconds per dnsperf run
#   QPS=50000               dnsperf's fixed rate (-Q)
#   MIX=mix                 the anchors' query file: mix (50% www, 45% hN, 5% NXDOMAIN) or www
#   N=10000 EVERY=5s LEASE=15s WORKERS=32   harness leases
#   VIAS="udp http udp-closed"  renewal paths to measure (harness leases --via); the first decides the exit status
#   UDP_TICK=5ms            harness --udp-tick: heartbeats go out in one batch per tick from one socket, which
#                           costs the shared client core far less than a socket and goroutine per worker
#                           (empty: per worker, as agents do)
#   WARMUP=1                seconds of renewals before dnsperf starts in a churn run
#   SERVER_CPU=1 CLIENT_CPU=0   server pinned to SERVER_CPU (taskset -a -p); dnsperf to CLIENT_CPU
#   HARNESS_CPU=$CLIENT_CPU the harness's CPU. On the client core its own work delays dnsperf: the udp-closed
#                           control, in which the server does nothing, raised p99 1.4-2.8x there. On the server
#                           core (HARNESS_CPU=1) under SCHED_IDLE it runs only when the server idles, and its
#                           sends cost that core the receive processing a network card's traffic would.
#   HARNESS_SCHED=idle      the harness runs under SCHED_IDLE (chrt -i 0), so that on the shared client
#                           core dnsperf always goes first: with a normal-priority harness, renewals sent
#                           to a *second* dnslb on the client core raised the measured server's p99 6x,
#                           which is the client's delay, not the server's. "normal" turns this off.
#   WORK=/tmp/bench-leases  DNS_PORT=5340 (API: DNS_PORT + 80, as bench/start-dnslb.sh has it)
#   ANCHORS=/work/shared/bench-anchors/run.sh   for `install` (only if dnsperf is missing) and `setup`
#   DNSLB_ARGS=             extra `dnslb serve` flags (passed to start-dnslb.sh)
#   REPORT=$WORK/report-<UTC time>.md
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
QPS=${QPS:-50000}
MIX=${MIX:-mix}
N=${N:-10000}
EVERY=${EVERY:-5s}
LEASE=${LEASE:-15s}
WORKERS=${WORKERS:-32}
VIAS=${VIAS:-udp http udp-closed}
UDP_TICK=${UDP_TICK-5ms}
WARMUP=${WARMUP:-1}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
HARNESS_CPU=${HARNESS_CPU:-$CLIENT_CPU}
WORK=${WORK:-/tmp/bench-leases}
DNS_PORT=${DNS_PORT:-5340}
API_PORT=$((DNS_PORT + 80))
CLOSED_PORT=$((DNS_PORT + 81))
ANCHORS=${ANCHORS:-/work/shared/bench-anchors/run.sh}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
REPORT=${REPORT:-$WORK/report-$STAMP.md}
API="http://127.0.0.1:$API_PORT"
HZ=$(getconf CLK_TCK)
ALL_CPUS="0-$(( $(nproc --all) - 1 ))"

SCRIPT=leases.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

require_bench_host
stop_on_exit

# ---------------------------------------------------------------- helpers

# ---------------------------------------------------------------- build, queries, server
require_free_ports "$DNS_PORT" "$API_PORT" "$CLOSED_PORT"
mkdir -p "$WORK"
HARNESS_SCHED=${HARNESS_SCHED:-idle}
for via in $VIAS; do [[ $via == udp || $via == http || $via == udp-closed ]] || die "VIAS=$VIAS: each udp, http or udp-closed"; done
case $HARNESS_SCHED in idle) SCHED=(chrt -i 0) ;; normal) SCHED=() ;; *) die "HARNESS_SCHED=$HARNESS_SCHED: idle or normal" ;; esac
build_tools "$WORK"
if ! command -v dnsperf >/dev/null || ! command -v dig >/dev/null; then
  log "dnsperf or dig missing: anchor install"
  "$ANCHORS" install >&2 || { log "install failed; apt-get update and retry"; apt-get update >&2 && "$ANCHORS" install >&2; }
fi
# The anchor script's setup wipes and rewrites its WORK only: ours, not a shared one.
WORK="$WORK/anchors" "$ANCHORS" setup
QUERIES="$WORK/anchors/queries/$MIX.txt"
[[ -s $QUERIES ]] || die "no query file $QUERIES (MIX=www or mix)"

SERVER_PID=$(DNSLB_BIN="$WORK/dnslb" "$BENCH/start-dnslb.sh" "$DNS_PORT" "$WORK/server")
log "started dnslb pid $SERVER_PID (DNS 127.0.0.1:$DNS_PORT, API $API) with the anchor data"

# ---------------------------------------------------------------- runs
LAT_TSV="$WORK/latency.tsv"
printf 'round\tmode\tqps\tavg_us\tp50_us\tp99_us\tp999_us\tmax_us\tlost\tsent\tanswers\tserver_cpu_pct\n' > "$LAT_TSV"
mkdir -p "$WORK/runs"
dnsperf_run() { # dnsperf_run ROUND MODE: one latency run, a row of LAT_TSV (as bench/run.sh's latency_run)
  local out="$WORK/runs/$1-$2.txt" c0 c1 t0 t1 cpu
  c0=$(ticks "$SERVER_PID"); t0=$(date +%s.%N)
  taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$DNS_PORT" -d "$QUERIES" -l "$DURATION" \
    -c 10 -T 1 -q 100 -Q "$QPS" -v > "$out" 2>&1 || true
  c1=$(ticks "$SERVER_PID"); t1=$(date +%s.%N)
  cpu=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 100 * d / hz / (b - a) }')
  printf '%s\t%s\n' "$(latency_row "$out" "$1" "$2")" "$cpu" >> "$LAT_TSV"
  log "run $1 $2: $(tail -1 "$LAT_TSV" | cut -f3- | tr '\t' ' ')"
}
HARNESS_FAILS=0
churn_run() { # churn_run ROUND VIA: harness leases on HARNESS_CPU, dnsperf once its renewals run
  local out="$WORK/runs/$1-churn-$2-harness.txt" ready="$WORK/runs/$1-ready" status=0 how=()
  case $2 in
    http) how=(--via http) ;;
    udp) how=(--via udp --udp-tick "${UDP_TICK:-0}") ;;
    udp-closed) how=(--via udp --udp-tick "${UDP_TICK:-0}" --heartbeat-to "127.0.0.1:$CLOSED_PORT" --min-share 0) ;;
  esac
  rm -f "$ready"
  taskset -c "$HARNESS_CPU" "${SCHED[@]}" "$WORK/harness" leases --api "$API" --zone lb.test --n "$N" --lease "$LEASE" \
    --every "$EVERY" --workers "$WORKERS" "${how[@]}" --duration "$((WARMUP + DURATION + 1))s" --ready-file "$ready" \
    > "$out" 2>&1 &
  HARNESS_PID=$!
  for _ in $(seq 1 600); do
    [[ -e $ready ]] && break
    kill -0 "$HARNESS_PID" 2>/dev/null || break
    sleep 0.1
  done
  [[ -e $ready ]] || { cat "$out" >&2; die "harness leases did not start renewing"; }
  sleep "$WARMUP"
  dnsperf_run "$1" "churn-$2"
  wait "$HARNESS_PID" || status=$?
  HARNESS_PID=
  case $status in
    0) ;;
    1) if grep -q '^target achieved rate' "$out"; then HARNESS_FAILS=$((HARNESS_FAILS + 1)); else cat "$out" >&2; die "harness leases failed"; fi ;;
    *) cat "$out" >&2; die "harness leases failed (exit $status)" ;;
  esac
  log "harness round $1 via $2: $(grep '^renewals:' "$out")"
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
pin "$SERVER_PID" "$SERVER_CPU"
for r in $(seq 1 "$ROUNDS"); do
  dnsperf_run "$r" base
  for via in $VIAS; do churn_run "$r" "$via"; done
done
pin "$SERVER_PID" "$ALL_CPUS"
stop_pid "$SERVER_PID" dnslb
SERVER_PID=

# ---------------------------------------------------------------- report
median() { { grep -E '^[0-9.eE+-]+$' || true; } | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "NA"; exit } print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -F'\t' -v m="$1" -v c="$2" 'NR > 1 && $2 == m { print $c }' "$LAT_TSV"; } # col MODE COLUMN
B50=$(col base 5 | median); B99=$(col base 6 | median)
declare -A C50 C99 RATIO VERDICT
for via in $VIAS; do
  C50[$via]=$(col "churn-$via" 5 | median); C99[$via]=$(col "churn-$via" 6 | median)
  RATIO[$via]=$(awk -v c="${C99[$via]}" -v b="$B99" 'BEGIN { printf "%.3f", (b > 0) ? c / b : 0 }')
  VERDICT[$via]=$(awk -v r="${RATIO[$via]}" 'BEGIN { print (r > 0 && r <= 1.10) ? "met" : "MISSED" }')
done
FIRST=${VIAS%% *}
{
  echo "# dnslb DNS latency with and without lease churn — $(date -u)"
  echo
  machine_line
  echo "- load average (1/5/15 min) before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- dnslb: $(describe_head); $(go version | sed 's/^go version //'); dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')"
  echo "- data: the anchor zone (bench/start-dnslb.sh); queries: the anchors' $MIX file"
  echo "- dnsperf: \`-l $DURATION -c 10 -T 1 -q 100 -Q $QPS -v\`; server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU, the harness (scheduling: $HARNESS_SCHED) on CPU $HARNESS_CPU"
  echo "- churn: \`harness leases --n $N --lease $LEASE --every $EVERY --workers $WORKERS --via VIA\` renewing from ${WARMUP}s before dnsperf starts until after it ends"
  echo "- $ROUNDS rounds, each base then churn-VIA for VIA in: $VIAS"
  echo
  echo '| round | mode | q/s | avg us | p50 us | p99 us | p99.9 us | max us | lost / sent | server CPU % |'
  echo '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|'
  awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12 }' "$LAT_TSV"
  echo
  echo "- median p50: base $B50 us; median p99: base $B99 us"
  for via in $VIAS; do
    echo "- churn via $via: median p50 ${C50[$via]} us, p99 ${C99[$via]} us; p99 ratio churn / base = ${RATIO[$via]}; target <= 1.10: ${VERDICT[$via]}"
  done
  if [[ -n ${C99[udp-closed]:-} ]]; then
    for via in udp http; do
      [[ -n ${C99[$via]:-} ]] || continue
      echo "- the server's share: p99 via $via / p99 of the udp-closed control (same client work, no server work) =" \
        "$(awk -v c="${C99[$via]}" -v b="${C99[udp-closed]}" 'BEGIN { printf "%.3f", (b > 0) ? c / b : 0 }')"
    done
  fi
  echo "- harness runs below 90% of the renewal rate: $HARNESS_FAILS of $((ROUNDS * $(wc -w <<< "$VIAS")))"
  echo "- dnsperf runs below 95% of $QPS q/s (client or machine saturated; compare with care):" \
    "$(awk -F'\t' -v q="$QPS" 'NR > 1 && $3 < 0.95 * q { printf "%s%s/%s", n++ ? ", " : "", $1, $2 } END { if (!n) printf "none" }' "$LAT_TSV")"
  for r in $(seq 1 "$ROUNDS"); do
    for via in $VIAS; do
      echo
      echo "### harness, round $r, via $via"
      echo
      echo '```'
      cat "$WORK/runs/$r-churn-$via-harness.txt"
      echo '```'
    done
  done
} > "$REPORT"
cat "$REPORT"
log "report: $REPORT; raw: $LAT_TSV, $WORK/runs/"
if [[ ${VERDICT[$FIRST]} == MISSED || $HARNESS_FAILS -gt 0 ]]; then
  MISSED=1
  log "target missed: p99 ratio via $FIRST ${RATIO[$FIRST]} (target <= 1.10), harness rate misses $HARNESS_FAILS"
  exit 1
fi
