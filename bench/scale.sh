#!/usr/bin/env bash
# 100,000 record sets (issue #5): memory per record set, and whether dnslb answers as fast over
# 10,000 weighted names as over the anchor benchmark's mix. Target: q/s within 10%. Run as root
# (CPU pinning); only 127.0.0.1 is used.
#
# Usage: bench/scale.sh        (from anywhere)
#
# Steps: build dnslb and bench/harness into WORK -> the anchor script's `setup` into WORK/anchors
#        (for its mix query file) -> start ONE `dnslb serve` with a fresh data dir -> memory with
#        the empty zone -> load the anchor benchmark's data (ns1, www over 10 weighted sets,
#        h0..h999: the same changes as bench/start-dnslb.sh) -> memory -> `harness load` 10,000
#        weighted names w0..w9999 x 10 sets and their query file -> memory, bytes per record set
#        -> ROUNDS x (mix, w10k) pinned dnsperf runs, alternating -> stop the server (also on
#        failure) -> report. Exit status 1 when the target is missed (after the report).
#
# Memory: VmRSS (with its anonymous and file-backed parts: the bbolt file is mmapped) from
# /proc/PID/status, the Go heap in use (go_memstats_heap_inuse_bytes from /metrics) and the
# GC's next heap goal (go_memstats_next_gc_bytes: about twice the heap live after the last GC,
# at the default GOGC=100), each read SETTLE seconds after the step. A GC cannot be forced from
# outside, so RSS and heap in use include garbage the runtime has not collected yet.
#
# Knobs (environment):
#   ROUNDS=3 DURATION=10            dnsperf rounds and seconds per run
#   NAMES=10000 SETS=10             the weighted load (NAMES x SETS record sets)
#   DNSPERF_ARGS="-c 10 -T 1 -q 100 -Q 1000000"   as the anchor script's
#   SERVER_CPU=1 CLIENT_CPU=0       server pinned to SERVER_CPU (taskset -a -p), dnsperf to CLIENT_CPU
#   SETTLE=3                        seconds to wait before each memory reading
#   WORK=/tmp/bench-scale  DNS_PORT=5320 API_PORT=5400
#   ANCHORS=/work/shared/bench-anchors/run.sh   for `install` (only if dnsperf is missing) and `setup`
#   DNSLB_ARGS=                     extra `dnslb serve` flags
#   REPORT=$WORK/report-<UTC time>.md
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
NAMES=${NAMES:-10000}
SETS=${SETS:-10}
DNSPERF_ARGS=${DNSPERF_ARGS:-"-c 10 -T 1 -q 100 -Q 1000000"}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
SETTLE=${SETTLE:-3}
WORK=${WORK:-/tmp/bench-scale}
DNS_PORT=${DNS_PORT:-5320}
API_PORT=${API_PORT:-5400}
ANCHORS=${ANCHORS:-/work/shared/bench-anchors/run.sh}
DNSLB_ARGS=${DNSLB_ARGS:-}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
REPORT=${REPORT:-$WORK/report-$STAMP.md}
API="http://127.0.0.1:$API_PORT"
HZ=$(getconf CLK_TCK)
ALL_CPUS="0-$(( $(nproc --all) - 1 ))"

SCRIPT=scale.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

require_bench_host
stop_on_exit

# ---------------------------------------------------------------- helpers
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }    # status_kb PID VmRSS
metric() { # metric NAME -> integer value from /metrics, or NA
  curl -fsS "$API/metrics" | awk -v m="$1" '$1 == m { printf "%.0f\n", $2; found = 1 } END { if (!found) print "NA" }'
}
MEM_TSV="$WORK/memory.tsv"
memory() { # memory STEP SETS -> a row of MEM_TSV
  sleep "$SETTLE"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(status_kb "$SERVER_PID" VmRSS)" "$(status_kb "$SERVER_PID" RssAnon)" \
    "$(status_kb "$SERVER_PID" RssFile)" "$(metric go_memstats_heap_inuse_bytes)" "$(metric go_memstats_next_gc_bytes)" \
    "$(du -k "$WORK/data/dnslb.db" | cut -f1)" >> "$MEM_TSV"
  log "memory $1: $(tail -1 "$MEM_TSV" | cut -f3-8 | tr '\t' ' ') (VmRSS RssAnon RssFile kB, heap in use B, GC goal B, db kB)"
}
answers() { # answers QUERYFILE PATTERN -> how many answers of the file's queries match
  dig @127.0.0.1 -p "$DNS_PORT" +short +time=1 +tries=1 -f "$1" 2>/dev/null | grep -c "$2" || true
}

# ---------------------------------------------------------------- build, queries, server
require_free_ports "$DNS_PORT" "$API_PORT"
build_tools "$WORK"
if ! command -v dnsperf >/dev/null || ! command -v dig >/dev/null; then
  log "dnsperf or dig missing: anchor install"
  "$ANCHORS" install >&2 || { log "install failed; apt-get update and retry"; apt-get update >&2 && "$ANCHORS" install >&2; }
fi
# The anchor script's setup wipes and rewrites its WORK only: ours, not a shared one.
WORK="$WORK/anchors" "$ANCHORS" setup
MIX="$WORK/anchors/queries/mix.txt"
W10K="$WORK/queries-w$NAMES.txt"

printf 'step\tsets\tvmrss_kb\trss_anon_kb\trss_file_kb\theap_inuse_b\tnext_gc_b\tdb_kb\n' > "$MEM_TSV"
serve_empty "$WORK/dnslb"
memory empty 0

# The anchor benchmark's data, as bench/start-dnslb.sh loads it (12 + 1,000 sets).
load_anchor_data "$API"
for i in $(seq 0 999); do echo "h$i.lb.test A"; done > "$WORK/hnames.txt"
n=$(answers "$WORK/hnames.txt" '^10\.1\.')
[[ $n == 1000 ]] || die "after loading the anchor data, $n of h0..h999 answer"
memory anchor 1011

t0=$(date +%s.%N)
"$WORK/harness" load --api "$API" --zone lb.test --names "$NAMES" --sets "$SETS" --queries "$W10K" | tee "$WORK/load.txt" >&2
LOAD_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
head -n "$NAMES" "$W10K" > "$WORK/wnames.txt" # the query file's first pass names each name once
n=$(answers "$WORK/wnames.txt" '^10\.')
[[ $n == "$NAMES" ]] || die "after harness load, $n of the $NAMES weighted names answer"
memory "w$NAMES" $((1011 + NAMES * SETS))

# ---------------------------------------------------------------- dnsperf, alternating
RUNS_TSV="$WORK/runs.tsv"
printf 'round\tqueries\tqps\tlost\tsent\tserver_cpu_pct\trcodes\n' > "$RUNS_TSV"
mkdir -p "$WORK/runs"
one_run() { # one_run ROUND NAME QUERYFILE
  local out="$WORK/runs/$1-$2.txt" c0 c1 t0 t1
  c0=$(ticks "$SERVER_PID"); t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$DNS_PORT" -d "$3" -l "$DURATION" $DNSPERF_ARGS > "$out" 2>&1 || true
  c1=$(ticks "$SERVER_PID"); t1=$(date +%s.%N)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" \
    "$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$out")" \
    "$(awk '/Queries lost:/ { print $3 }' "$out")" "$(awk '/Queries sent:/ { print $3 }' "$out")" \
    "$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 100 * d / hz / (b - a) }')" \
    "$(awk '/Response codes:/ { sub(/.*Response codes: */, ""); gsub(/ /, ""); print }' "$out")" >> "$RUNS_TSV"
  log "run $1 $2: $(tail -1 "$RUNS_TSV" | cut -f3- | tr '\t' ' ')  (qps lost sent server-cpu% rcodes)"
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
pin "$SERVER_PID" "$SERVER_CPU"
for r in $(seq 1 "$ROUNDS"); do
  one_run "$r" mix "$MIX"
  one_run "$r" "w$NAMES" "$W10K"
done
pin "$SERVER_PID" "$ALL_CPUS"
memory after-dnsperf $((1011 + NAMES * SETS))
stop_pid "$SERVER_PID" dnslb
SERVER_PID=

# ---------------------------------------------------------------- report
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "NA"; exit } print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -F'\t' -v q="$1" -v c="$2" 'NR > 1 && $2 == q { print $c }' "$RUNS_TSV"; } # col QUERIES COLUMN
MIX_QPS=$(col mix 3 | median)
W_QPS=$(col "w$NAMES" 3 | median)
RATIO=$(awk -v a="$W_QPS" -v b="$MIX_QPS" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
VERDICT=$(awk -v r="$RATIO" 'BEGIN { print (r >= 0.9 && r <= 1.1) ? "met" : (r > 1.1 ? "met (faster)" : "MISSED") }')
mem() { awk -F'\t' -v s="$1" -v c="$2" '$1 == s { print $c }' "$MEM_TSV"; } # mem STEP COLUMN
per_set() { # per_set COLUMN SCALE: growth from the anchor step to the weighted step, bytes per set
  awk -v a="$(mem anchor "$1")" -v b="$(mem "w$NAMES" "$1")" -v n=$((NAMES * SETS)) -v s="$2" \
    'BEGIN { if (a == "NA" || b == "NA") print "NA"; else printf "%.0f", (b - a) * s / n }'
}
{
  echo "# dnslb with $((NAMES * SETS)) record sets — $(date -u)"
  echo
  machine_line
  echo "- load average (1/5/15 min) before dnsperf: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- dnslb: $(describe_head); $(go version | sed 's/^go version //'); dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')"
  echo "- data: anchor zone (1,011 sets) + $NAMES weighted names x $SETS sets, loaded in ${LOAD_S}s ($(head -1 "$WORK/load.txt"))"
  echo "- dnsperf: \`-l $DURATION $DNSPERF_ARGS\`, $ROUNDS rounds alternating mix / w$NAMES; server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU"
  echo "- query files: mix = the anchors' (50% www, 45% h0..h999, 5% NXDOMAIN): $MIX; w$NAMES = uniform over w0..w$((NAMES - 1)): $W10K"
  echo
  echo "## Throughput"
  echo
  echo '| round | queries | q/s | lost / sent | server CPU % | response codes |'
  echo '|---:|---|---:|---:|---:|---|'
  awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s / %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$RUNS_TSV"
  echo
  echo "- median q/s: mix $MIX_QPS, w$NAMES $W_QPS; ratio w$NAMES / mix = $RATIO"
  echo "- median server CPU %: mix $(col mix 6 | median), w$NAMES $(col "w$NAMES" 6 | median)"
  echo "- target: w$NAMES within 10% of mix (ratio >= 0.90): $VERDICT"
  echo
  echo "## Memory (read ${SETTLE}s after each step)"
  echo
  echo '| step | record sets | VmRSS MiB | RssAnon MiB | RssFile MiB | Go heap in use MiB | GC goal MiB | bbolt file MiB |'
  echo '|---|---:|---:|---:|---:|---:|---:|---:|'
  awk -F'\t' 'function mib(v, s) { return (v == "NA") ? "NA" : sprintf("%.1f", v / s) }
    NR > 1 { printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, mib($3, 1024), mib($4, 1024), mib($5, 1024),
             mib($6, 1048576), mib($7, 1048576), mib($8, 1024) }' "$MEM_TSV"
  echo
  echo "- per record set, from the anchor step to the w$NAMES step ($((NAMES * SETS)) sets): VmRSS $(per_set 3 1024) B," \
    "RssAnon $(per_set 4 1024) B, Go heap in use $(per_set 6 1) B, live heap after the last GC ≈ GC goal / 2: $(per_set 7 0.5) B," \
    "bbolt file $(per_set 8 1024) B"
} > "$REPORT"
cat "$REPORT"
log "report: $REPORT; raw: $RUNS_TSV, $MEM_TSV, $WORK/runs/"
if [[ $VERDICT == MISSED ]]; then MISSED=1; log "target missed: w$NAMES q/s ratio $RATIO < 0.90"; exit 1; fi
