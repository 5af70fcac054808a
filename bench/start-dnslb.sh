#!/usr/bin/env bash
# Start dnslb serving the anchor benchmark's zone and print its pid.
#
# The zone is the one ../shared/bench-anchors serves from every reference
# server: lb.test with www load-balanced over 127.0.1.1..10 (here as ten
# weighted sets, weights 10,10,20,20,30,30,40,40,50,50, as gdnsd and the
# PowerDNS LUA record have them) and 1,000 ordinary names h0..h999.
#
# Usage: bench/start-dnslb.sh [PORT] [WORKDIR]   (defaults 5310, /tmp/bench-dnslb)
# Env:   DNSLB_BIN (default: build ./cmd/dnslb into WORKDIR), DNSLB_ARGS (extra serve flags),
#        DNSLB_RRL_ARGS (RRL flags; default: RRL on with 127.0.0.0/8 exempt, see rrl_args in lib.sh),
#        DNSLB_CPUS (start dnslb inside this CPU list, `taskset -c`, so that it sizes itself to
#        it as under systemd's CPUAffinity= or a container's cpuset: GOMAXPROCS and the number of
#        UDP loops; empty: all CPUs, and the benchmarks pin it only after it started)
# Out:   the server's pid on stdout (also in WORKDIR/pid); its log in WORKDIR/serve.log.
#        Checks that www and all of h0..h999 answer. On any failure the server it started
#        is stopped again and the exit status is non-zero.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
SCRIPT=start-dnslb.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
PORT=${1:-5310}
WORK=${2:-/tmp/bench-dnslb}
API_PORT=$((PORT + 80))
mkdir -p "$WORK"
BIN=${DNSLB_BIN:-$WORK/dnslb}
if [[ -z ${DNSLB_BIN:-} ]]; then
  go build -o "$BIN" ./cmd/dnslb
fi
for p in "$PORT" "$API_PORT"; do
  if ss -Hlnu "sport = :$p" | grep -q . || ss -Hlnt "sport = :$p" | grep -q .; then
    echo "start-dnslb: port $p on this machine is already in use" >&2
    exit 1
  fi
done
rm -rf "$WORK/data"
LAUNCH=()
if [[ -n ${DNSLB_CPUS:-} ]]; then LAUNCH=(taskset -c "$DNSLB_CPUS"); fi
# shellcheck disable=SC2086
"${LAUNCH[@]}" "$BIN" serve --dns "127.0.0.1:$PORT" --api "127.0.0.1:$API_PORT" --data "$WORK/data" \
  --zone lb.test --log-level warn $(rrl_args "$BIN") ${DNSLB_ARGS:-} >"$WORK/serve.log" 2>&1 &
PID=$!
# Until the zone is loaded and answering, a failure stops the server we just started.
fail() {
  echo "start-dnslb: $*; last lines of $WORK/serve.log:" >&2
  tail -20 "$WORK/serve.log" >&2 || true
  kill -TERM "$PID" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$PID" 2>/dev/null || true
  exit 1
}
trap 'fail "interrupted or a command failed"' ERR INT TERM
API="http://127.0.0.1:$API_PORT"
ready=0
for _ in $(seq 1 100); do
  kill -0 "$PID" 2>/dev/null || fail "dnslb (pid $PID) exited"
  if curl -fs "$API/readyz" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
[[ $ready == 1 ]] || fail "API on $API not ready after 10 s"
load_anchor_data "$API"
# The API returns once the change is in answers; check it all the same, so the benchmark
# never measures NXDOMAINs: www and all of h0..h999 must answer.
for i in $(seq 0 999); do echo "h$i.lb.test A"; done > "$WORK/hnames.txt"
n=$(dig @127.0.0.1 -p "$PORT" +short +time=1 +tries=1 -f "$WORK/hnames.txt" 2>/dev/null | grep -c '^10\.1\.' || true)
w=$(dig @127.0.0.1 -p "$PORT" +short +time=1 +tries=1 www.lb.test A 2>/dev/null | grep -c '^127\.0\.1\.' || true)
[[ $n == 1000 && $w -gt 0 ]] || fail "DNS on 127.0.0.1:$PORT answers $n of h0..h999 and www $w times right after the API write"
trap - ERR INT TERM
echo "$PID" > "$WORK/pid"
echo "$PID"
