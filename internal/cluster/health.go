package cluster

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

// Quorum health: each server's verdicts of the server-side checks live
// at PREFIX cluster/health/<set>/<server id> under its session lease, so
// that a dead observer's votes vanish with it. Every server watches them
// all and hands its registry the same verdict per set: up when more than
// HealthQuorum of the live observers say up.

// DefaultHealthQuorum is a majority: up when more than half the live
// observers say up. Route 53's rule is 0.18 (up when more than 18% of its
// checkers say so).
const DefaultHealthQuorum = 0.5

// maxTxnOps bounds the operations of one etcd transaction (etcd's default
// --max-txn-ops is 128).
const maxTxnOps = 100

// votes is this server's health verdicts on their way to etcd, and the
// tally of every live observer's, from the watch.
type votes struct {
	mu    sync.Mutex
	mine  map[record.Key]bool // this server's verdicts
	dirty map[record.Key]bool // to write (or delete, when not in mine)
	wake  chan struct{}
	tally map[record.Key]map[string]bool // by observer id; the watcher's alone
}

func newVotes() votes {
	return votes{mine: map[record.Key]bool{}, dirty: map[record.Key]bool{}, wake: make(chan struct{}, 1),
		tally: map[record.Key]map[string]bool{}}
}

// Vote publishes this server's verdict of set k; it never blocks. It
// implements registry.Votes.
func (n *Node) Vote(k record.Key, up bool) {
	n.votes.mu.Lock()
	n.votes.mine[k], n.votes.dirty[k] = up, true
	n.votes.mu.Unlock()
	n.pokeVotes()
}

// Withdraw retracts this server's vote on set k.
func (n *Node) Withdraw(k record.Key) {
	n.votes.mu.Lock()
	delete(n.votes.mine, k)
	n.votes.dirty[k] = true
	n.votes.mu.Unlock()
	n.pokeVotes()
}

func (n *Node) pokeVotes() {
	select {
	case n.votes.wake <- struct{}{}:
	default:
	}
}

// healthPrefix is where the votes are.
func (n *Node) healthPrefix() string { return n.cfg.Prefix + "health/" }

// markKey is the etcd key of server id's mark (vote, report) on set k
// under prefix.
func (n *Node) markKey(prefix string, k record.Key, id string) string {
	enc := base64.RawURLEncoding.EncodeToString([]byte(k.Zone + "\x00" + k.Name + "\x00" + string(k.Type) + "\x00" + k.SetID))
	return prefix + enc + "/" + id
}

// parseMarkKey is markKey's inverse.
func (n *Node) parseMarkKey(prefix, key string) (record.Key, string, bool) {
	enc, id, ok := strings.Cut(strings.TrimPrefix(key, prefix), "/")
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	parts := strings.Split(string(raw), "\x00")
	if !ok || err != nil || len(parts) != 4 {
		return record.Key{}, "", false
	}
	return record.Key{Zone: parts[0], Name: parts[1], Type: record.Type(parts[2]), SetID: parts[3]}, id, true
}

// writeVotes writes this server's votes under session s until it ends:
// all of them first (a new session's lease holds none), then what
// changes.
func (n *Node) writeVotes(ctx context.Context, s *concurrency.Session) {
	n.votes.mu.Lock()
	for k := range n.votes.mine {
		n.votes.dirty[k] = true
	}
	n.votes.mu.Unlock()
	n.pokeVotes()
	for {
		select {
		case <-n.votes.wake:
		case <-ctx.Done():
			return
		case <-s.Done():
			return
		}
		if err := n.flushVotes(ctx, s.Lease()); err != nil && ctx.Err() == nil {
			n.log.Warn("publishing health verdicts failed; retrying", "err", err)
			sleep(ctx, time.Second)
			n.pokeVotes()
		}
	}
}

// flushVotes writes what is dirty, maxTxnOps at a time; what fails stays
// dirty.
func (n *Node) flushVotes(ctx context.Context, lease clientv3.LeaseID) error {
	n.votes.mu.Lock()
	var ops []clientv3.Op
	var keys []record.Key
	for k := range n.votes.dirty {
		key := n.markKey(n.healthPrefix(), k, n.cfg.ID)
		if up, ok := n.votes.mine[k]; ok {
			ops = append(ops, clientv3.OpPut(key, healthWord(up), clientv3.WithLease(lease)))
		} else {
			ops = append(ops, clientv3.OpDelete(key))
		}
		keys = append(keys, k)
	}
	clear(n.votes.dirty)
	n.votes.mu.Unlock()
	for i := 0; i < len(ops); i += maxTxnOps {
		j := min(i+maxTxnOps, len(ops))
		if _, err := n.cfg.Client.Txn(ctx).Then(ops[i:j]...).Commit(); err != nil {
			n.redirty(keys[i:])
			return fmt.Errorf("write %d health verdicts: %w", len(ops)-i, err)
		}
	}
	return nil
}

func (n *Node) redirty(keys []record.Key) {
	n.votes.mu.Lock()
	defer n.votes.mu.Unlock()
	for _, k := range keys {
		n.votes.dirty[k] = true
	}
}

func healthWord(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

// followVotes keeps the tally current from etcd and hands each set's
// verdict to the registry, until ctx ends. The tally is its alone.
func (n *Node) followVotes(ctx context.Context) {
	follow(ctx, n, n.healthPrefix(), "health verdicts", func(full bool, kvs []kv) {
		touched := map[record.Key]bool{}
		if full { // sets with votes before the read may have none now
			for k := range n.votes.tally {
				touched[k] = true
			}
			n.votes.tally = map[record.Key]map[string]bool{}
		}
		for _, e := range kvs {
			if k, ok := n.tallyOne(e.key, string(e.val), e.deleted); ok {
				touched[k] = true
			}
		}
		for k := range touched {
			n.verdict(k)
		}
	})
}

// tallyOne records one observer's vote (or its removal).
func (n *Node) tallyOne(key, val string, deleted bool) (record.Key, bool) {
	k, id, ok := n.parseMarkKey(n.healthPrefix(), key)
	if !ok {
		return k, false
	}
	t := n.votes.tally[k]
	if deleted {
		delete(t, id)
		if len(t) == 0 {
			delete(n.votes.tally, k)
		}
		return k, true
	}
	if t == nil {
		t = map[string]bool{}
		n.votes.tally[k] = t
	}
	t[id] = val == "up"
	return k, true
}

// verdict hands the registry the verdict of set k from the tally.
func (n *Node) verdict(k record.Key) {
	b := n.local.Load()
	if b == nil {
		return
	}
	t := n.votes.tally[k]
	if len(t) == 0 {
		b.SetVerdict(k, nil)
		return
	}
	v := registry.Verdict{Observers: len(t)}
	for _, up := range t {
		if up {
			v.UpVotes++
		}
	}
	v.Up = float64(v.UpVotes) > n.cfg.HealthQuorum*float64(v.Observers)
	b.SetVerdict(k, &v)
}
