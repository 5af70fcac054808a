#!/usr/bin/env bash
# Ratios of dnslb against reference servers from one anchor-benchmark run.
#
# Usage: bench/ratios.sh [RESULTS_TSV] [REFS]
#   RESULTS_TSV  the anchor script's raw results (default /tmp/bench-anchors/results.tsv)
#   REFS         reference servers to divide by (default "knot nsd")
#
# Every target whose name starts with "dnslb" gets one row per (mode, mix), with the
# median over rounds of q/s and of server CPU microseconds per answered query
# (per run: server CPU % * 10^4 / q/s, as the anchor table computes it), and the
# ratios dnslb / reference. q/s ratio > 1: dnslb answered more. us/query ratio > 1:
# dnslb spent more server CPU per answer. Rows of the "ceiling" action are ignored.
set -euo pipefail
TSV=${1:-/tmp/bench-anchors/results.tsv}
REFS=${2:-"knot nsd"}
[[ -r $TSV ]] || { echo "ratios: cannot read $TSV" >&2; exit 1; }

awk -F'\t' -v refs="$REFS" '
function median(list,    n, v, i, j, t) {          # list: space-separated numbers
  n = split(list, v, " ")
  if (n == 0) return ""
  for (i = 2; i <= n; i++) { t = v[i] + 0; for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
  return (n % 2) ? v[(n + 1) / 2] + 0 : (v[n / 2] + v[n / 2 + 1]) / 2
}
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "NA" : sprintf("%.2f", a / b) }
function num(x, fmt) { return (x == "") ? "NA" : sprintf(fmt, x) }
NR == 1 { next }
$1 == "ceiling" { next }
{
  k = $2 SUBSEP $3 SUBSEP $4
  if (!(k in runs)) {
    if (!(($2 SUBSEP $3) in seenmm)) { seenmm[$2 SUBSEP $3] = 1; mm[++nmm] = $2 SUBSEP $3 }
    if ($4 ~ /^dnslb/ && !($4 in seent)) { seent[$4] = 1; tg[++ntg] = $4 }
  }
  runs[k]++
  qps[k] = qps[k] " " $5
  if ($5 > 0) usq[k] = usq[k] " " sprintf("%.4f", 1e4 * $9 / $5)
  lost[k] += $7; sent[k] += $8
}
END {
  nref = split(refs, ref, " ")
  hdr = "| mode | mix | target | runs | q/s |"; sep = "|---|---|---|---:|---:|"
  for (r = 1; r <= nref; r++) { hdr = hdr " " ref[r] " q/s | q/s ratio vs " ref[r] " |"; sep = sep "---:|---:|" }
  hdr = hdr " server us/query |"; sep = sep "---:|"
  for (r = 1; r <= nref; r++) { hdr = hdr " " ref[r] " us/query | us/query ratio vs " ref[r] " |"; sep = sep "---:|---:|" }
  hdr = hdr " loss % |"; sep = sep "---:|"
  print hdr; print sep
  for (m = 1; m <= nmm; m++) {
    split(mm[m], p, SUBSEP)
    for (t = 1; t <= ntg; t++) {
      k = mm[m] SUBSEP tg[t]
      if (!(k in runs)) continue
      q = median(qps[k]); u = median(usq[k])
      line = "| " p[1] " | " p[2] " | " tg[t] " | " runs[k] " | " num(q, "%.0f") " |"
      for (r = 1; r <= nref; r++) {
        rk = mm[m] SUBSEP ref[r]; rq = (rk in runs) ? median(qps[rk]) : ""
        line = line " " num(rq, "%.0f") " | " ratio(q, rq) " |"
      }
      line = line " " num(u, "%.2f") " |"
      for (r = 1; r <= nref; r++) {
        rk = mm[m] SUBSEP ref[r]; ru = (rk in runs) ? median(usq[rk]) : ""
        line = line " " num(ru, "%.2f") " | " ratio(u, ru) " |"
      }
      line = line " " ((sent[k] > 0) ? sprintf("%.3f", 100 * lost[k] / sent[k]) : "NA") " |"
      print line
    }
  }
}' "$TSV"
