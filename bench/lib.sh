# Shared helpers of the bench/ scripts; source it after setting SCRIPT (the name in log lines).
# Nothing here starts or stops anything by itself.

log() { printf '%s bench/%s: %s\n' "$(date +%T)" "$SCRIPT" "$*" >&2; }
die() { log "$*"; exit 1; }

# stop_pid PID NAME: SIGTERM, up to 10 s to exit, then SIGKILL; only the pid given.
stop_pid() {
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then kill -KILL "$1" 2>/dev/null || true; fi
  log "stopped $2 pid $1"
}

# tree_pids PID: PID and all its descendants.
tree_pids() { echo "$1"; local c; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree_pids "$c"; done; }

# pin PID CPUS: every thread of PID and its descendants onto CPUS.
pin() { local p; for p in $(tree_pids "$1"); do taskset -a -p -c "$2" "$p" >/dev/null 2>&1 || true; done; }

# ticks PID: its utime+stime in clock ticks (the comm field may hold spaces).
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# tree_ticks PID: ticks of PID and its descendants.
tree_ticks() { local p t=0; for p in $(tree_pids "$1"); do t=$((t + $(ticks "$p" 2>/dev/null || echo 0))); done; echo "$t"; }

# describe_head: the commit of $REPO's working tree for reports, "abc1234" or
# "abc1234 + uncommitted changes outside bench/ (N paths)".
describe_head() {
  local head n
  head=$(git -C "$REPO" rev-parse --short HEAD)
  n=$(git -C "$REPO" status --porcelain --untracked-files=normal -- . ':!bench' | wc -l)
  if [[ $n -gt 0 ]]; then echo "$head + uncommitted changes outside bench/ ($n paths)"; else echo "$head"; fi
}

# machine_line: the report line naming this machine.
machine_line() {
  echo "- machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
}

# require_free_ports PORT...: die when anything listens on one of them, over UDP or TCP.
require_free_ports() {
  local p
  for p in "$@"; do
    if ss -Hlnu "sport = :$p" | grep -q . || ss -Hlnt "sport = :$p" | grep -q .; then
      die "port $p is already in use (set DNS_PORT=)"
    fi
  done
}

# build_tools DIR: build dnslb and bench/harness from $REPO into DIR.
build_tools() {
  mkdir -p "$1"
  log "building dnslb and the harness from $REPO into $1"
  (cd "$REPO" && go build -o "$1/dnslb" ./cmd/dnslb && go build -o "$1/harness" ./bench/harness)
}

# require_bench_host: root (CPU pinning), the anchor script ($ANCHORS) and go.
require_bench_host() {
  [[ $(id -u) == 0 ]] || die "run as root (CPU pinning; the anchor script installs packages)"
  [[ -x $ANCHORS ]] || die "anchor script $ANCHORS not found (set ANCHORS=)"
  command -v go >/dev/null || die "go not found in PATH"
}

# stop_on_exit: on exit, interrupt or failure, stop $HARNESS_PID and $SERVER_PID (whichever
# is set) and keep the exit status. MISSED=1 marks a finished run whose target was missed.
SERVER_PID= HARNESS_PID= MISSED=0
stop_on_exit() {
  trap _cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $HARNESS_PID ]]; then stop_pid "$HARNESS_PID" harness; fi
  if [[ -n $SERVER_PID ]]; then stop_pid "$SERVER_PID" dnslb; fi
  if [[ $rc != 0 && $MISSED == 0 ]]; then log "failed (exit $rc); everything this script started is stopped"; fi
  exit "$rc"
}

# load_anchor_data API: the anchor benchmark's zone through dnslb's API, in two batches:
# ns1 (the anchors' SOA names it), www as ten weighted sets (weights 10,10,20,...,50,50), and
# the plain names h0..h999 (12 + 1,000 sets).
load_anchor_data() {
  local weights=(10 10 20 20 30 30 40 40 50 50) i
  post() { curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @- "$1/v1/zones/lb.test/changes" >/dev/null; }
  {
    printf '{"changes":['
    printf '{"action":"UPSERT","rrset":{"name":"ns1","type":"A","ttl":300,"values":["127.0.0.1"]}}'
    for i in $(seq 1 10); do
      printf ',{"action":"UPSERT","rrset":{"name":"www","type":"A","set_id":"w%d","weight":%d,"ttl":300,"values":["127.0.1.%d"]}}' \
        "$i" "${weights[$((i - 1))]}" "$i"
    done
    printf ']}'
  } | post "$1"
  {
    printf '{"changes":['
    for i in $(seq 0 999); do
      [[ $i -gt 0 ]] && printf ','
      printf '{"action":"UPSERT","rrset":{"name":"h%d","type":"A","ttl":300,"values":["10.1.%d.%d"]}}' "$i" $((i / 256)) $((i % 256))
    done
    printf ']}'
  } | post "$1"
}

# latency_row OUT FIELDS...: dnsperf -v output OUT as one TSV row: FIELDS (tab-joined), then
# q/s, avg, p50, p99, p99.9 and max latency in µs, lost, sent, answers. dnsperf prints a line
# "> RCODE NAME TYPE LATENCY_S" per answer; lost queries have none (counted apart).
latency_row() {
  local out=$1 prefix
  shift
  prefix=$(IFS=$'\t'; echo "$*")
  awk '/^> / { print $NF }' "$out" | sort -g | awk -v prefix="$prefix" \
    -v qps="$(awk '/Queries per second:/ { print $4 }' "$out")" \
    -v lost="$(awk '/Queries lost:/ { print $3 }' "$out")" \
    -v sent="$(awk '/Queries sent:/ { print $3 }' "$out")" '
    { v[NR] = $1; s += $1 }
    function pct(p,   i) { i = int(p * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; return v[i] * 1e6 }
    END {
      if (NR == 0) { printf "%s\t%s\tNA\tNA\tNA\tNA\tNA\t%s\t%s\t0\n", prefix, qps, lost, sent; exit }
      printf "%s\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%s\t%d\n", prefix, qps,
        1e6 * s / NR, pct(0.50), pct(0.99), pct(0.999), v[NR] * 1e6, lost, sent, NR
    }'
}

# rrl_args BIN: the RRL flags a benchmark's dnslb runs with. dnslb rate-limits UDP answers by
# default and exempts nobody, loopback included, so a benchmark client on 127.0.0.1 would be
# limited to 100 answers a second per name: by default RRL stays on with loopback on the exempt
# list (every answer is still classified and counted: the cost of RRL is measured, and nothing
# is limited). DNSLB_RRL_ARGS overrides it ("--rrl off" for a control without RRL). A binary
# older than RRL (BASELINE_REF) gets none.
rrl_args() {
  if [[ -n ${DNSLB_RRL_ARGS+set} ]]; then echo "$DNSLB_RRL_ARGS"; return; fi
  if "$1" serve --help 2>/dev/null | grep -q -- '--rrl-exempt'; then echo "--rrl-exempt 127.0.0.0/8"; fi
}

# serve_empty BIN: start `BIN serve` with a fresh data dir in $WORK and zone lb.test on
# $DNS_PORT/$API_PORT (plus $DNSLB_ARGS), set SERVER_PID, and wait for /readyz.
serve_empty() {
  rm -rf "$WORK/data"
  # shellcheck disable=SC2086
  "$1" serve --dns "127.0.0.1:$DNS_PORT" --api "127.0.0.1:$API_PORT" --data "$WORK/data" \
    --zone lb.test --log-level warn $(rrl_args "$1") ${DNSLB_ARGS:-} >"$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  local api="http://127.0.0.1:$API_PORT"
  for _ in $(seq 1 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/serve.log" >&2; die "dnslb exited; log: $WORK/serve.log"; }
    if curl -fs "$api/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  curl -fs "$api/readyz" >/dev/null || die "API on $api not ready after 10 s"
  log "started dnslb pid $SERVER_PID (DNS 127.0.0.1:$DNS_PORT, API $api)"
}
