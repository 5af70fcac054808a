#!/usr/bin/env bash
# dnslb side by side with reference authoritative servers (Knot DNS and NSD by default)
# in ONE dnsperf run of the shared anchor benchmark: same zone, same query files, same
# dnsperf settings, servers interleaved run by run. Run as root; only 127.0.0.1 is queried.
#
# Usage: bench/run.sh        (from anywhere; installs the servers and dnsperf via the anchor script)
#
# Steps: build dnslb -> anchor install, setup, start (SERVERS) -> start dnslb (bench/start-dnslb.sh)
#        -> anchor verify, bench with EXTRA_TARGETS=dnslb=PORT=PID -> fixed-rate latency runs
#        -> stop everything this script started (also on failure) -> report (stdout and REPORT file).
#
# Knobs (environment):
#   SERVERS="knot nsd"     reference servers, by the anchor script's names
#   DURATION=20 ROUNDS=2 MODES="pinned unpinned" MIXES="www mix"
#   DNSPERF_ARGS SERVER_CPU CLIENT_CPU WORK     all passed through to the anchor script
#   ANCHORS=/work/shared/bench-anchors/run.sh   the shared anchor script
#   INSTALL=1              0: skip apt-get (servers and dnsperf already installed)
#   DNSLB_PORT=5310        dnslb's DNS port (its API: port + 80)
#   DNSLB_CPUS=            start dnslb inside this CPU list (bench/start-dnslb.sh), e.g. $SERVER_CPU:
#                          it then runs as many UDP loops as it has CPUs; empty: started on all CPUs
#                          (two loops here) and pinned for the pinned runs, like the reference servers
#   DNSLB_WORK=/tmp/bench-dnslb
#   DNSLB_REF=             empty: build the working tree as it is; else build that git ref
#                          from a clean `git archive` (uncommitted edits left out)
#   RRL_CONTROL=1          dnslb runs with response rate limiting on and the benchmark client
#                          (127.0.0.0/8) exempt, so every answer is still classified and counted
#                          (DNSLB_RRL_ARGS overrides that, see bench/lib.sh); with 1 a second
#                          dnslb with `--rrl off`, "dnslb-rrl-off" on DNSLB_PORT+2, is benched in
#                          the same run: the difference is RRL's cost; 0 skips it
#   BASELINE_REF=          also build this git ref and bench it as "dnslb-base" on DNSLB_PORT+1,
#                          e.g. the commit before a change, so both are in the same run
#   LATENCY_QPS=50000      then, per mix, a pinned dnsperf run at this fixed rate with per-query
#                          output (-v) against every dnslb target and LATENCY_REFS, giving
#                          p50/p99/p99.9 latency; 0 skips it
#   LATENCY_REFS=knot  LATENCY_DURATION=$DURATION
#   LATENCY_ROUNDS=5       latency runs per target and mix, targets interleaved in each round;
#                          the report gives every run and the median of each column over rounds
#   RATIO_REFS="knot nsd"  what the ratio table divides by (default: SERVERS)
#   REPORT=$DNSLB_WORK/report-<UTC time>.md
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
ANCHORS=${ANCHORS:-/work/shared/bench-anchors/run.sh}
export SERVERS=${SERVERS:-"knot nsd"}
export DURATION=${DURATION:-20} ROUNDS=${ROUNDS:-2}
export MODES=${MODES:-"pinned unpinned"} MIXES=${MIXES:-"www mix"}
export DNSPERF_ARGS=${DNSPERF_ARGS:-"-c 10 -T 1 -q 100 -Q 1000000"}
export SERVER_CPU=${SERVER_CPU:-1} CLIENT_CPU=${CLIENT_CPU:-0}
export WORK=${WORK:-/tmp/bench-anchors}
INSTALL=${INSTALL:-1}
DNSLB_PORT=${DNSLB_PORT:-5310}
DNSLB_WORK=${DNSLB_WORK:-/tmp/bench-dnslb}
DNSLB_REF=${DNSLB_REF:-}
BASELINE_REF=${BASELINE_REF:-}
RRL_CONTROL=${RRL_CONTROL:-1}
LATENCY_QPS=${LATENCY_QPS:-50000}
LATENCY_REFS=${LATENCY_REFS:-knot}
LATENCY_DURATION=${LATENCY_DURATION:-$DURATION}
LATENCY_ROUNDS=${LATENCY_ROUNDS:-5}
RATIO_REFS=${RATIO_REFS:-$SERVERS}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
REPORT=${REPORT:-$DNSLB_WORK/report-$STAMP.md}

SCRIPT=run.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

require_bench_host

# ---------------------------------------------------------------- cleanup
DNSLB_PIDS=()       # dnslb servers this script started
ANCHORS_STARTED=0   # 1 once `anchor start` ran: its stop kills exactly the pids it recorded
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for i in "${!DNSLB_PIDS[@]}"; do stop_pid "${DNSLB_PIDS[$i]}" "dnslb#$i"; done
  if [[ $ANCHORS_STARTED == 1 ]]; then "$ANCHORS" stop || true; fi
  [[ $rc == 0 ]] || log "failed (exit $rc); everything this script started is stopped"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- preflight
# Refuse to clobber another run: the anchor `setup` wipes $WORK, including its pid files.
for f in "$WORK"/pids/*.pid; do
  [[ -e $f ]] || continue
  if kill -0 "$(cat "$f")" 2>/dev/null; then
    die "$(basename "$f" .pid) from an earlier anchor run is still running (pid $(cat "$f")); stop it first: WORK=$WORK $ANCHORS stop"
  fi
done
mkdir -p "$DNSLB_WORK"

# ---------------------------------------------------------------- build
build() { # build REF OUTBIN   (REF empty: working tree)
  if [[ -z $1 ]]; then
    log "building dnslb from the working tree $REPO -> $2"
    (cd "$REPO" && go build -o "$2" ./cmd/dnslb)
  else
    local src
    src="$DNSLB_WORK/src-$(git -C "$REPO" rev-parse --short "$1^{commit}")"
    log "building dnslb at $1 (git archive into $src) -> $2"
    rm -rf "$src"; mkdir -p "$src"
    git -C "$REPO" archive "$1^{commit}" | tar -x -C "$src"
    (cd "$src" && go build -o "$2" ./cmd/dnslb)
  fi
}
describe() { # describe REF   -> "abc1234", or for the working tree what describe_head says
  if [[ -n $1 ]]; then git -C "$REPO" rev-parse --short "$1^{commit}"; return; fi
  describe_head
}
build "$DNSLB_REF" "$DNSLB_WORK/dnslb"
DNSLB_DESC=$(describe "$DNSLB_REF")
if [[ -n $BASELINE_REF ]]; then
  build "$BASELINE_REF" "$DNSLB_WORK/dnslb-base"
  BASE_DESC="$(describe "$BASELINE_REF") ($BASELINE_REF)"
fi

# ---------------------------------------------------------------- anchors + dnslb
if [[ $INSTALL == 1 ]]; then
  # On a fresh machine apt's package lists may be missing: update once and retry.
  # (apt's chatter goes to stderr: stdout is the verify output and the report.)
  "$ANCHORS" install >&2 || { log "install failed; apt-get update and retry"; apt-get update >&2 && "$ANCHORS" install >&2; }
fi
"$ANCHORS" setup
ANCHORS_STARTED=1
"$ANCHORS" start

start_dnslb() { # start_dnslb NAME BIN PORT WORKDIR [RRL_ARGS]  -> appends NAME=PORT=PID to EXTRA
  local pid
  if [[ $# -ge 5 ]]; then
    pid=$(DNSLB_BIN=$2 DNSLB_RRL_ARGS=$5 "$BENCH/start-dnslb.sh" "$3" "$4")
  else
    pid=$(DNSLB_BIN=$2 "$BENCH/start-dnslb.sh" "$3" "$4")
  fi
  DNSLB_PIDS+=("$pid")
  EXTRA="${EXTRA:+$EXTRA }$1=$3=$pid"
  log "started $1 pid $pid port $3"
  if [[ -s $4/warnings.txt ]]; then WARNINGS+=$(sed "s/^/- $1: /" "$4/warnings.txt")$'\n'; fi
}
EXTRA=
WARNINGS=
start_dnslb dnslb "$DNSLB_WORK/dnslb" "$DNSLB_PORT" "$DNSLB_WORK/run"
if [[ -n $BASELINE_REF ]]; then
  start_dnslb dnslb-base "$DNSLB_WORK/dnslb-base" $((DNSLB_PORT + 1)) "$DNSLB_WORK/run-base"
fi
if [[ $RRL_CONTROL == 1 ]]; then
  start_dnslb dnslb-rrl-off "$DNSLB_WORK/dnslb" $((DNSLB_PORT + 2)) "$DNSLB_WORK/run-rrl-off" "--rrl off"
fi
export EXTRA_TARGETS=$EXTRA

VERIFY_OUT="$DNSLB_WORK/verify-$STAMP.txt"
"$ANCHORS" verify | tee "$VERIFY_OUT"
"$ANCHORS" bench

# ---------------------------------------------------------------- latency at a fixed rate
LAT_TSV="$WORK/latency.tsv"
latency_run() { # latency_run NAME PORT PID MIX ROUND
  local out="$WORK/runs/latency-$4-$1-$5.txt" all t0 t1
  all="0-$(( $(nproc --all) - 1 ))"
  pin "$3" "$SERVER_CPU"
  t0=$(tree_ticks "$3")
  taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$2" -d "$WORK/queries/$4.txt" -l "$LATENCY_DURATION" \
    -c 10 -T 1 -q 100 -Q "$LATENCY_QPS" -v > "$out" 2>&1 || true
  t1=$(tree_ticks "$3")
  pin "$3" "$all"
  printf '%s\t%s\t%s\n' "$(latency_row "$out" "$1" "$4" "$LATENCY_QPS")" \
    "$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v d="$LATENCY_DURATION" 'BEGIN { printf "%.1f", 100 * t / hz / d }')" "$5" >> "$LAT_TSV"
  log "latency $1 $4: $(tail -1 "$LAT_TSV")"
}
if [[ $LATENCY_QPS != 0 ]]; then
  printf 'server\tmix\ttarget_qps\tqps\tavg_us\tp50_us\tp99_us\tp999_us\tmax_us\tlost\tsent\tanswers\tserver_cpu_pct\tround\n' > "$LAT_TSV"
  for round in $(seq 1 "$LATENCY_ROUNDS"); do
    for mix in $MIXES; do
      for s in $LATENCY_REFS; do
        case $s in knot) port=5301 ;; nsd) port=5302 ;; *) log "latency: skip $s (port unknown here)"; continue ;; esac
        [[ -r $WORK/pids/$s.pid ]] || { log "latency: skip $s (not started)"; continue; }
        latency_run "$s" "$port" "$(cat "$WORK/pids/$s.pid")" "$mix" "$round"
      done
      for t in $EXTRA_TARGETS; do
        name=${t%%=*}; rest=${t#*=}
        latency_run "$name" "${rest%%=*}" "${t##*=}" "$mix" "$round"
      done
    done
  done
fi

# ---------------------------------------------------------------- report
{
  echo "# dnslb vs reference servers — $(date -u)"
  echo
  echo "- load average (1/5/15 min) before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  machine_line
  echo "- dnslb: $DNSLB_DESC${BASELINE_REF:+; dnslb-base: $BASE_DESC}"
  echo "- $(go version | sed 's/^go version //'), dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }'), $(knotd -V 2>/dev/null | head -1 || true), NSD $(nsd -v 2>&1 | awk 'NR == 1 { print $3 }' || true)"
  echo "- dnsperf: \`-l $DURATION $DNSPERF_ARGS\`, rounds $ROUNDS, modes $MODES, mixes $MIXES; pinned: server CPU $SERVER_CPU, dnsperf CPU $CLIENT_CPU"
  echo "- dnslb started on CPUs: ${DNSLB_CPUS:-all (pinned after start)}"
  echo "- dnslb RRL flags: \`$(rrl_args "$DNSLB_WORK/dnslb")\`$([[ $RRL_CONTROL == 1 ]] && echo "; dnslb-rrl-off: \`--rrl off\`, so RRL's cost is dnslb against dnslb-rrl-off")"
  echo "- targets: $SERVERS $(for t in $EXTRA_TARGETS; do printf '%s ' "${t%%=*}"; done)"
  echo
  echo "## Anchor table (medians over rounds)"
  echo
  "$ANCHORS" table
  echo
  echo "## Ratios"
  echo
  "$BENCH/ratios.sh" "$WORK/results.tsv" "$RATIO_REFS"
  if [[ $LATENCY_QPS != 0 && -s $LAT_TSV ]]; then
    echo
    echo "## Latency at a fixed $LATENCY_QPS q/s (pinned, dnsperf -v per-query times, -l $LATENCY_DURATION -c 10 -T 1 -q 100)"
    echo
    echo "Medians over $LATENCY_ROUNDS rounds (targets interleaved in each round); ratios against the first of LATENCY_REFS ($(set -- $LATENCY_REFS; echo "$1")), where above 1 means dnslb was slower."
    echo
    echo '| server | mix | runs | q/s | avg us | p50 us | p99 us | p99.9 us | server cpu % | avg ratio | p99 ratio | cpu ratio |'
    echo '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
    awk -F'\t' -v ref="$(set -- $LATENCY_REFS; echo "$1")" '
      function median(list,   a, n, i, j, t) {
        n = split(list, a, " ")
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      }
      NR > 1 && $5 != "NA" {
        k = $1 SUBSEP $2; if (!(k in runs)) order[++n] = k
        runs[k]++; q[k] = q[k] " " $4; avg[k] = avg[k] " " $5; p50[k] = p50[k] " " $6; p99[k] = p99[k] " " $7; p999[k] = p999[k] " " $8; cpu[k] = cpu[k] " " $13
      }
      END {
        for (i = 1; i <= n; i++) { k = order[i]; split(k, f, SUBSEP); r = ref SUBSEP f[2]
          ra = (r in runs) ? sprintf("%.2f", median(avg[k]) / median(avg[r])) : "-"
          rp = (r in runs) ? sprintf("%.2f", median(p99[k]) / median(p99[r])) : "-"
          rc = (r in runs && median(cpu[r]) > 0) ? sprintf("%.2f", median(cpu[k]) / median(cpu[r])) : "-"
          printf "| %s | %s | %d | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %s | %s | %s |\n", f[1], f[2], runs[k], median(q[k]), median(avg[k]), median(p50[k]), median(p99[k]), median(p999[k]), median(cpu[k]), ra, rp, rc }
      }' "$LAT_TSV"
    echo
    echo "Every run:"
    echo
    echo '| round | server | mix | q/s | avg us | p50 us | p99 us | p99.9 us | max us | server cpu % | lost / sent |'
    echo '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|'
    awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |\n", $14, $1, $2, $4, $5, $6, $7, $8, $9, $13, $10, $11 }' "$LAT_TSV"
  fi
  echo
  echo "## Response codes (dnsperf, per run)"
  echo
  echo '| round | mode | mix | server | lost / sent | response codes |'
  echo '|---|---|---|---|---:|---|'
  awk -F'\t' 'NR > 1 && $1 != "ceiling" { printf "| %s | %s | %s | %s | %s / %s | %s |\n", $1, $2, $3, $4, $7, $8, $12 }' "$WORK/results.tsv"
  if [[ -n $WARNINGS ]]; then
    echo
    echo "## Warnings"
    echo
    printf '%s' "$WARNINGS"
  fi
  echo
  echo "## verify"
  echo
  echo '```'
  cat "$VERIFY_OUT"
  echo '```'
} > "$REPORT"
cat "$REPORT"
log "report: $REPORT; raw runs: $WORK/results.tsv, $WORK/runs/"
