#!/usr/bin/env bash
# Write-to-answer propagation (issue #5): how long after an API write starts does dnslb's DNS
# answer carry the new value? Target: write-to-answer p99 <= 50 ms. Only 127.0.0.1 is used.
#
# Usage: bench/propagation.sh        (from anywhere)
#
# Steps: build dnslb and bench/harness into WORK -> start `dnslb serve` on free loopback ports with
#        a fresh data dir -> wait for /readyz -> optionally `harness load` PRELOAD_NAMES weighted names
#        x 10 sets, so that writes land in a large zone -> `harness propagate` (N writes of one simple A record
#        through the API, each followed by UDP queries until the answer carries it) -> stop the
#        server (also on failure) -> report: date, machine, commit, data-dir filesystem, results.
#        Exit status 1 when the target is missed (after the report).
#
# Knobs (environment):
#   N=2000                timed writes
#   VIA=changes           the API call: changes (POST .../changes, one UPSERT) or put (PUT .../rrsets)
#   PRELOAD_NAMES=0       first load this many weighted names w0.. x 10 sets (10000: 100,000 sets)
#   TARGET_P99=50ms       write-to-answer p99 target
#   WORK=/tmp/bench-prop  binaries, data dir, server log, report
#   DNS_PORT=5330 API_PORT=5410
#   DNSLB_ARGS=           extra `dnslb serve` flags
#   REPORT=$WORK/report-<UTC time>.txt
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
N=${N:-2000}
VIA=${VIA:-changes}
PRELOAD_NAMES=${PRELOAD_NAMES:-0}
TARGET_P99=${TARGET_P99:-50ms}
WORK=${WORK:-/tmp/bench-prop}
DNS_PORT=${DNS_PORT:-5330}
API_PORT=${API_PORT:-5410}
DNSLB_ARGS=${DNSLB_ARGS:-}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
REPORT=${REPORT:-$WORK/report-$STAMP.txt}
API="http://127.0.0.1:$API_PORT"

SCRIPT=propagation.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

stop_on_exit

# ---------------------------------------------------------------- build and start
command -v go >/dev/null || die "go not found in PATH"
require_free_ports "$DNS_PORT" "$API_PORT"
build_tools "$WORK"
serve_empty "$WORK/dnslb"

# ---------------------------------------------------------------- measure
ZONE_DESC="an empty zone"
if [[ $PRELOAD_NAMES -gt 0 ]]; then
  "$WORK/harness" load --api "$API" --zone lb.test --names "$PRELOAD_NAMES" --sets 10 > "$WORK/preload.txt"
  ZONE_DESC="a zone preloaded with $((PRELOAD_NAMES * 10)) weighted sets ($(head -1 "$WORK/preload.txt"))"
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
status=0
"$WORK/harness" propagate --api "$API" --dns "127.0.0.1:$DNS_PORT" --zone lb.test --n "$N" --via "$VIA" \
  --target-p99 "$TARGET_P99" > "$WORK/result.txt" 2> "$WORK/harness.err" || status=$?
[[ $status == 0 || $status == 1 ]] || { cat "$WORK/harness.err" >&2; die "harness propagate failed (exit $status)"; }
# A missed target is exit 1 with a complete report; anything else on stderr is worth showing.
grep -v '^harness propagate: target missed' "$WORK/harness.err" >&2 || true
stop_pid "$SERVER_PID" dnslb
SERVER_PID=

# ---------------------------------------------------------------- report
{
  echo "# dnslb write-to-answer propagation — $(date -u)"
  echo
  machine_line
  echo "- load average (1/5/15 min) before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- dnslb: $(describe_head); $(go version | sed 's/^go version //')"
  echo "- data dir: $WORK/data on $(findmnt -n -o FSTYPE,SOURCE -T "$WORK" | tr -s ' ' ' ') (every write is fsynced: the disk's flush time counts)"
  echo "- harness propagate --n $N --via $VIA into $ZONE_DESC; server unpinned, default flags${DNSLB_ARGS:+ plus $DNSLB_ARGS}"
  echo
  cat "$WORK/result.txt"
} > "$REPORT"
cat "$REPORT"
log "report: $REPORT"
if [[ $status != 0 ]]; then MISSED=1; log "target missed: write-to-answer p99 above $TARGET_P99"; exit 1; fi
