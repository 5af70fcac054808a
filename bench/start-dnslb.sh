#!/usr/bin/env bash
# Start dnslb serving the anchor benchmark's zone and print its pid.
#
# The zone is the one ../shared/bench-anchors serves from every reference
# server: lb.test with www load-balanced over 127.0.1.1..10 (here as ten
# weighted sets, weights 10,10,20,20,30,30,40,40,50,50, as gdnsd and the
# PowerDNS LUA record have them) and 1,000 ordinary names h0..h999.
#
# Usage: bench/start-dnslb.sh [PORT] [WORKDIR]   (defaults 5310, /tmp/bench-dnslb)
# Env:   DNSLB_BIN (default: build ./cmd/dnslb into WORKDIR), DNSLB_ARGS (extra serve flags)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-5310}
WORK=${2:-/tmp/bench-dnslb}
API_PORT=$((PORT + 80))
mkdir -p "$WORK"
BIN=${DNSLB_BIN:-$WORK/dnslb}
if [[ -z ${DNSLB_BIN:-} ]]; then
  go build -o "$BIN" ./cmd/dnslb
fi
rm -rf "$WORK/data"
# shellcheck disable=SC2086
"$BIN" serve --dns "127.0.0.1:$PORT" --api "127.0.0.1:$API_PORT" --data "$WORK/data" \
  --zone lb.test --log-level warn ${DNSLB_ARGS:-} >"$WORK/serve.log" 2>&1 &
PID=$!
API="http://127.0.0.1:$API_PORT"
for _ in $(seq 1 100); do
  curl -fs "$API/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
# The anchors' SOA: ns1 with an address, a 300 s negative TTL like theirs.
weights=(10 10 20 20 30 30 40 40 50 50)
post() { curl -fsS -X POST --data-binary @- "$API/v1/zones/lb.test/changes" >/dev/null; }
{
  printf '{"changes":['
  printf '{"action":"UPSERT","rrset":{"name":"ns1","type":"A","ttl":300,"values":["127.0.0.1"]}}'
  for i in $(seq 1 10); do
    printf ',{"action":"UPSERT","rrset":{"name":"www","type":"A","set_id":"w%d","weight":%d,"ttl":300,"values":["127.0.1.%d"]}}' \
      "$i" "${weights[$((i - 1))]}" "$i"
  done
  printf ']}'
} | post
{
  printf '{"changes":['
  for i in $(seq 0 999); do
    [[ $i -gt 0 ]] && printf ','
    printf '{"action":"UPSERT","rrset":{"name":"h%d","type":"A","ttl":300,"values":["10.1.%d.%d"]}}' "$i" $((i / 256)) $((i % 256))
  done
  printf ']}'
} | post
echo "$PID"
