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
