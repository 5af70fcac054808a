package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// followMembers keeps n.members current from etcd until ctx ends: a full
// read, then a watch from the revision after it; a watch that fails reads
// everything again.
func (n *Node) followMembers(ctx context.Context) {
	pfx := n.cfg.Prefix + "members/"
	for ctx.Err() == nil {
		rev, err := n.readMembers(ctx, pfx)
		if err != nil {
			if ctx.Err() == nil {
				n.log.Warn("reading the cluster's members failed; retrying", "err", err)
			}
			sleep(ctx, time.Second)
			continue
		}
		n.watchMembers(ctx, pfx, rev)
	}
}

// readMembers replaces the member list with etcd's and returns its
// revision.
func (n *Node) readMembers(ctx context.Context, pfx string) (int64, error) {
	resp, err := n.cfg.Client.Get(ctx, pfx, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("read members: %w", err)
	}
	members := map[string]Member{}
	for _, kv := range resp.Kvs {
		if m, ok := n.parseMember(pfx, kv.Key, kv.Value); ok {
			members[m.ID] = m
		}
	}
	n.mu.Lock()
	n.members = members
	n.mu.Unlock()
	return resp.Header.Revision, nil
}

// watchMembers applies member changes after rev until the watch ends.
func (n *Node) watchMembers(ctx context.Context, pfx string, rev int64) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range n.cfg.Client.Watch(wctx, pfx, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if err := resp.Err(); err != nil {
			if ctx.Err() == nil {
				n.log.Warn("watching the cluster's members failed; reading them again", "err", err)
			}
			return
		}
		n.mu.Lock()
		for _, ev := range resp.Events {
			id := strings.TrimPrefix(string(ev.Kv.Key), pfx)
			if ev.Type == clientv3.EventTypeDelete {
				delete(n.members, id)
			} else if m, ok := n.parseMember(pfx, ev.Kv.Key, ev.Kv.Value); ok {
				n.members[m.ID] = m
			}
		}
		n.mu.Unlock()
	}
}

func (n *Node) parseMember(pfx string, key, val []byte) (Member, bool) {
	var m Member
	if err := json.Unmarshal(val, &m); err != nil || m.ID != strings.TrimPrefix(string(key), pfx) {
		n.log.Warn("ignoring a malformed member entry", "key", string(key))
		return Member{}, false
	}
	return m, true
}

// others returns the live members but this one.
func (n *Node) others() []Member {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Member, 0, len(n.members))
	for id, m := range n.members {
		if id != n.cfg.ID {
			out = append(out, m)
		}
	}
	sortMembers(out)
	return out
}

func sortMembers(ms []Member) {
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
}

// secretBytes is the size of the cluster secret.
const secretBytes = 32

// loadSecret reads the cluster secret, making it first if no server has:
// a create-only transaction, so that every server ends up with the same.
func (n *Node) loadSecret(ctx context.Context) error {
	key := n.cfg.Prefix + "secret"
	fresh := make([]byte, secretBytes)
	rand.Read(fresh)
	resp, err := n.cfg.Client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, hex.EncodeToString(fresh))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return fmt.Errorf("read the cluster secret %s: %w", key, err)
	}
	secret := fresh
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return fmt.Errorf("read the cluster secret %s: gone between compare and read", key)
		}
		if secret, err = hex.DecodeString(string(kvs[0].Value)); err != nil || len(secret) < 16 {
			return fmt.Errorf("the cluster secret %s is not at least 16 bytes of hex; delete it and restart every server", key)
		}
	}
	n.secret.Store(&secret)
	return nil
}
