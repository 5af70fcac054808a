package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/dnslb/dnslb/internal/record"
)

// Drains: each server reports, for a draining set, until when the answers
// it gave may be held, at PREFIX cluster/served/<set>/<server id> under
// its session lease. The leader finishes the drain at the latest report
// plus the margin, once every live member reported (registry.Served).

// servedMark is one server's report on one drain.
type servedMark struct {
	Started int64 `json:"started"`    // the drain's start, unix ns: which drain
	Held    int64 `json:"held_until"` // unix ns; 0: never served
}

// served is this server's reports on their way to etcd, and every live
// server's, from the watch.
type served struct {
	mu    sync.Mutex
	mine  map[record.Key]servedMark
	dirty map[record.Key]bool // to write (or delete, when not in mine)
	wake  chan struct{}
	seen  map[record.Key]map[string]servedMark // by server id, from the watch
}

func newServed() served {
	return served{mine: map[record.Key]servedMark{}, dirty: map[record.Key]bool{}, wake: make(chan struct{}, 1),
		seen: map[record.Key]map[string]servedMark{}}
}

// Report publishes until when this server's answers with set k may be
// held, for the drain started at started; it never blocks. It implements
// registry.Served.
func (n *Node) Report(k record.Key, started, heldUntil time.Time) {
	m := servedMark{Started: started.UnixNano()}
	if !heldUntil.IsZero() {
		m.Held = heldUntil.UnixNano()
	}
	n.served.mu.Lock()
	n.served.mine[k], n.served.dirty[k] = m, true
	n.served.mu.Unlock()
	poke(n.served.wake)
}

// Forget retracts this server's report on set k.
func (n *Node) Forget(k record.Key) {
	n.served.mu.Lock()
	if _, ok := n.served.mine[k]; ok {
		delete(n.served.mine, k)
		n.served.dirty[k] = true
	}
	n.served.mu.Unlock()
	poke(n.served.wake)
}

// Held returns the latest of the live servers' reports on the drain of k
// started at started, and whether every live server has reported on it.
func (n *Node) Held(k record.Key, started time.Time) (until time.Time, all bool) {
	want := started.UnixNano()
	live := n.Members()
	n.served.mu.Lock()
	defer n.served.mu.Unlock()
	all = len(live) > 0
	for _, m := range live {
		mark, ok := n.served.seen[k][m.ID]
		if !ok || mark.Started != want {
			all = false
			continue
		}
		if t := time.Unix(0, mark.Held); mark.Held != 0 && t.After(until) {
			until = t
		}
	}
	return until, all
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (n *Node) servedPrefix() string { return n.cfg.Prefix + "served/" }

// writeServed writes this server's reports under session s until it
// ends: all of them first, then what changes.
func (n *Node) writeServed(ctx context.Context, s *concurrency.Session) {
	n.served.mu.Lock()
	for k := range n.served.mine {
		n.served.dirty[k] = true
	}
	n.served.mu.Unlock()
	poke(n.served.wake)
	for {
		select {
		case <-n.served.wake:
		case <-ctx.Done():
			return
		case <-s.Done():
			return
		}
		if err := n.flushServed(ctx, s.Lease()); err != nil && ctx.Err() == nil {
			n.log.Warn("publishing drain reports failed; retrying", "err", err)
			sleep(ctx, time.Second)
			poke(n.served.wake)
		}
	}
}

// flushServed writes what is dirty; what fails stays dirty.
func (n *Node) flushServed(ctx context.Context, lease clientv3.LeaseID) error {
	n.served.mu.Lock()
	var ops []clientv3.Op
	var keys []record.Key
	for k := range n.served.dirty {
		key := n.markKey(n.servedPrefix(), k, n.cfg.ID)
		if m, ok := n.served.mine[k]; ok {
			val, _ := json.Marshal(m)
			ops = append(ops, clientv3.OpPut(key, string(val), clientv3.WithLease(lease)))
		} else {
			ops = append(ops, clientv3.OpDelete(key))
		}
		keys = append(keys, k)
	}
	clear(n.served.dirty)
	n.served.mu.Unlock()
	for i := 0; i < len(ops); i += maxTxnOps {
		j := min(i+maxTxnOps, len(ops))
		if _, err := n.cfg.Client.Txn(ctx).Then(ops[i:j]...).Commit(); err != nil {
			n.served.mu.Lock()
			for _, k := range keys[i:] {
				n.served.dirty[k] = true
			}
			n.served.mu.Unlock()
			return fmt.Errorf("write %d drain reports: %w", len(ops)-i, err)
		}
	}
	return nil
}

// followServed keeps n.served.seen current from etcd until ctx ends.
func (n *Node) followServed(ctx context.Context) {
	follow(ctx, n, n.servedPrefix(), "drain reports", func(full bool, kvs []kv) {
		n.served.mu.Lock()
		defer n.served.mu.Unlock()
		if full {
			n.served.seen = map[record.Key]map[string]servedMark{}
		}
		for _, e := range kvs {
			n.seeServed(e)
		}
	})
}

// seeServed applies one report (or its removal). Callers hold
// n.served.mu.
func (n *Node) seeServed(e kv) {
	k, id, ok := n.parseMarkKey(n.servedPrefix(), e.key)
	if !ok {
		return
	}
	var m servedMark
	if e.deleted || json.Unmarshal(e.val, &m) != nil {
		delete(n.served.seen[k], id)
		if len(n.served.seen[k]) == 0 {
			delete(n.served.seen, k)
		}
		return
	}
	if n.served.seen[k] == nil {
		n.served.seen[k] = map[string]servedMark{}
	}
	n.served.seen[k][id] = m
}

// kv is one key's value, or its deletion, from a read or a watch.
type kv struct {
	key     string
	val     []byte
	deleted bool
}

// follow reads everything under prefix, hands it to apply (full), then
// hands it every change from the watch; a watch that fails reads
// everything again. It returns when ctx ends.
func follow(ctx context.Context, n *Node, prefix, what string, apply func(full bool, kvs []kv)) {
	for ctx.Err() == nil {
		resp, err := n.cfg.Client.Get(ctx, prefix, clientv3.WithPrefix())
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("reading "+what+" failed; retrying", "err", err)
			}
			sleep(ctx, time.Second)
			continue
		}
		all := make([]kv, len(resp.Kvs))
		for i, e := range resp.Kvs {
			all[i] = kv{key: string(e.Key), val: e.Value}
		}
		apply(true, all)
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		for wr := range n.cfg.Client.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
			if err := wr.Err(); err != nil {
				if ctx.Err() == nil {
					n.log.Warn("watching "+what+" failed; reading again", "err", err)
				}
				break
			}
			evs := make([]kv, len(wr.Events))
			for i, ev := range wr.Events {
				evs[i] = kv{key: string(ev.Kv.Key), val: ev.Kv.Value, deleted: ev.Type == clientv3.EventTypeDelete}
			}
			apply(false, evs)
		}
		cancel()
	}
}
