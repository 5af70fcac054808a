#!/usr/bin/env bash
# Server CPU per lease renewal, by renewal path, with no DNS load to hide it in (issue #5):
# dnslb with the anchors' zone pinned to one core, `harness leases` renewing N leases every
# EVERY on the other core for DURATION, and the server's CPU time from /proc divided by the
# renewals. Run as root (CPU pinning); only 127.0.0.1 is used.
#
# Usage: bench/renewcost.sh     (from anywhere)
#
# Modes (MODES, in this order by default):
#   http          POST .../renew over keep-alive HTTP
#   udp-paced     heartbeats, every 5 ms all that are due in one sendmmsg from one socket
#   udp           heartbeats, one socket and goroutine per worker: each arrives alone, as from
#                 agents on separate machines
#   idle          the harness's work with its heartbeats sent to a closed port: the server's
#                 own idle cost (lifecycle tick, runtime), subtracted from the others
#
# Knobs: N=10000 EVERY=5s DURATION=15 WORKERS=32 SERVER_CPU=1 CLIENT_CPU=0 DNS_PORT=5350
#        WORK=/tmp/bench-renewcost
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
N=${N:-10000}
EVERY=${EVERY:-5s}
DURATION=${DURATION:-15}
WORKERS=${WORKERS:-32}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
DNS_PORT=${DNS_PORT:-5350}
API_PORT=$((DNS_PORT + 80))
CLOSED_PORT=$((DNS_PORT + 81))
WORK=${WORK:-/tmp/bench-renewcost}
MODES=${MODES:-idle http udp-paced udp}
ANCHORS=${ANCHORS:-/work/shared/bench-anchors/run.sh}
API="http://127.0.0.1:$API_PORT"
HZ=$(getconf CLK_TCK)

SCRIPT=renewcost.sh
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"
require_bench_host
stop_on_exit

require_free_ports "$DNS_PORT" "$API_PORT" "$CLOSED_PORT"
build_tools "$WORK"
SERVER_PID=$(DNSLB_BIN="$WORK/dnslb" "$BENCH/start-dnslb.sh" "$DNS_PORT" "$WORK/server")
pin "$SERVER_PID" "$SERVER_CPU"

declare -A CPU_US
for mode in $MODES; do
  case $mode in
    http) how=(--via http) ;;
    udp-paced) how=(--via udp --udp-tick 5ms) ;;
    udp) how=(--via udp) ;;
    idle) how=(--via udp --udp-tick 5ms --heartbeat-to "127.0.0.1:$CLOSED_PORT" --min-share 0) ;;
    *) die "MODES: $mode is not one of http udp-paced udp idle" ;;
  esac
  out="$WORK/$mode.txt" ready="$WORK/ready"
  rm -f "$ready"
  taskset -c "$CLIENT_CPU" "$WORK/harness" leases --api "$API" --zone lb.test --n "$N" --every "$EVERY" \
    --workers "$WORKERS" "${how[@]}" --duration "$((DURATION + 2))s" --ready-file "$ready" > "$out" 2>&1 &
  HARNESS_PID=$!
  for _ in $(seq 1 600); do [[ -e $ready ]] && break; kill -0 "$HARNESS_PID" 2>/dev/null || break; sleep 0.1; done
  [[ -e $ready ]] || { cat "$out" >&2; die "harness leases did not start renewing"; }
  sleep 1
  c0=$(ticks "$SERVER_PID"); sleep "$DURATION"; c1=$(ticks "$SERVER_PID")
  wait "$HARNESS_PID" || { cat "$out" >&2; die "harness leases failed ($mode)"; }
  HARNESS_PID=
  CPU_US[$mode]=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v d="$DURATION" 'BEGIN { printf "%.0f", 1e6 * t / hz / d }')
  log "$mode: server CPU ${CPU_US[$mode]} us per second; $(grep '^renewals:' "$out")"
done

RATE=$(awk -v n="$N" -v e="${EVERY%s}" 'BEGIN { printf "%.0f", n / e }')
echo "# server CPU per lease renewal — $(date -u)"
echo
machine_line
echo "- dnslb: $(describe_head); $N leases renewed every $EVERY ($RATE/s) for ${DURATION}s; server on CPU $SERVER_CPU, harness on CPU $CLIENT_CPU"
echo
echo '| mode | server CPU µs per second | µs per renewal (less idle) |'
echo '|---|---:|---:|'
for mode in $MODES; do
  per=$(awk -v c="${CPU_US[$mode]}" -v i="${CPU_US[idle]:-0}" -v r="$RATE" 'BEGIN { printf "%.1f", (c - i) / r }')
  [[ $mode == idle ]] && per="—"
  echo "| $mode | ${CPU_US[$mode]} | $per |"
done
