#!/usr/bin/env bash
# run.sh: a dnslb cluster on one machine, on loopback: a 3-member etcd
# cluster (Debian's /usr/bin/etcd) and 3 dnslb servers sharing it. For
# trying clusters out and for tests; a real cluster runs each piece on its
# own machine (see README "Running a cluster").
#
#   deploy/cluster/run.sh            # builds dnslb, starts everything, Ctrl-C stops it
#
# Environment:
#   DNSLB        the dnslb binary (default: built with `go build` into the work dir)
#   ETCD         the etcd binary (default /usr/bin/etcd)
#   CLUSTER_NET  the first three bytes of the loopback addresses (default 127.0.53):
#                etcd members on .1-.3, dnslb servers on .11-.13
#   CLUSTER_DIR  where data and logs go (default: a new temporary directory, kept)
#   DNS_PORT, API_PORT  the dnslb servers' ports (default 5300, 5380)
set -euo pipefail

NET=${CLUSTER_NET:-127.0.53}
ETCD=${ETCD:-/usr/bin/etcd}
DNS_PORT=${DNS_PORT:-5300}
API_PORT=${API_PORT:-5380}
DIR=${CLUSTER_DIR:-$(mktemp -d -t dnslb-cluster.XXXXXX)}
mkdir -p "$DIR"

pids=()
stop() {
	trap - INT TERM EXIT
	echo "stopping: ${pids[*]:-nothing}"
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	echo "stopped; data and logs are in $DIR"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z ${DNSLB:-} ]]; then
	DNSLB=$DIR/dnslb
	(cd "$(dirname "$0")/../.." && go build -o "$DNSLB" ./cmd/dnslb)
fi

members=() cluster="" store=""
for i in 1 2 3; do
	members+=("$NET.$i")
	cluster+="${cluster:+,}m$i=http://$NET.$i:2380"
	store+="${store:+,}$NET.$i:2379"
done

# --max-txn-ops: a Route 53 change batch of 1,000 changes is one etcd
# transaction of ~1,001 operations (etcd's default allows 128).
# Auto-compaction keeps etcd's history (and database) from growing forever.
for i in 1 2 3; do
	ip=$NET.$i
	"$ETCD" --name "m$i" --data-dir "$DIR/etcd-m$i" \
		--listen-client-urls "http://$ip:2379" --advertise-client-urls "http://$ip:2379" \
		--listen-peer-urls "http://$ip:2380" --initial-advertise-peer-urls "http://$ip:2380" \
		--initial-cluster "$cluster" --initial-cluster-token dnslb-cluster --initial-cluster-state new \
		--max-txn-ops 1100 --auto-compaction-mode revision --auto-compaction-retention 10000 \
		>"$DIR/etcd-m$i.log" 2>&1 &
	pids+=($!)
done
for _ in $(seq 100); do
	ETCDCTL_API=3 etcdctl --endpoints "$store" endpoint health >/dev/null 2>&1 && break
	sleep 0.2
done
ETCDCTL_API=3 etcdctl --endpoints "$store" endpoint health

for i in 1 2 3; do
	ip=$NET.1$i
	"$DNSLB" serve --store "etcd://$store" --dns "$ip:$DNS_PORT" --api "$ip:$API_PORT" \
		--server-id "dnslb-$i" --data "$DIR/dnslb-$i" --zone lb.test >"$DIR/dnslb-$i.log" 2>&1 &
	pids+=($!)
done
for i in 1 2 3; do
	ip=$NET.1$i
	for _ in $(seq 150); do
		curl -fs "http://$ip:$API_PORT/readyz" >/dev/null 2>&1 && break
		sleep 0.2
	done
	curl -fs "http://$ip:$API_PORT/readyz" >/dev/null || { echo "dnslb server $i did not become ready; see $DIR/dnslb-$i.log" >&2; exit 1; }
done

cat <<EOF
cluster ready: etcd on ${members[*]} (port 2379), dnslb on $NET.11, $NET.12, $NET.13
pids: ${pids[*]}
data and logs: $DIR

Write through any server, read from every one:
  $DNSLB --server http://$NET.11:$API_PORT record set lb.test www A --set-id i-1 --weight 10 --value 192.0.2.1
  dig @$NET.12 -p $DNS_PORT www.lb.test A +short
  dig @$NET.13 -p $DNS_PORT www.lb.test A +short
  ETCDCTL_API=3 etcdctl --endpoints $store endpoint status -w table
Stop: Ctrl-C
EOF
wait
