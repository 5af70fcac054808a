package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// maxCompares is how many per-key compares a commit carries at most;
// beyond it the log-key compare alone guards what fn read. It stays well
// under etcd's default --max-txn-ops (128).
const maxCompares = 100

// View runs fn on one etcd revision and returns it.
func (s *Store) View(ctx context.Context, fn func(store.ReadTx) error) (int64, error) {
	exit, err := s.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer exit()
	t := newTx(s, ctx)
	t.ro = true
	if err := fn(t); err != nil {
		return 0, err
	}
	if t.err != nil {
		return 0, t.err
	}
	if t.rev == 0 { // fn read nothing: the revision is now
		if _, err := t.get(s.keys.log(), clientv3.WithKeysOnly()); err != nil {
			return 0, err
		}
	}
	return t.rev, nil
}

// Update runs fn and commits its writes as one etcd Txn, running fn again
// on a newer revision when another write changed what it read.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) (int64, error) {
	exit, err := s.enter(ctx)
	if err != nil {
		return 0, err
	}
	defer exit()
	if err := s.av.refuse(); err != nil {
		return 0, fmt.Errorf("write refused, nothing written: %w", err)
	}
	for try := 0; ; try++ {
		rev, done, err := s.try(ctx, fn)
		if done || err != nil {
			return rev, err
		}
		if err := backoff(ctx, try); err != nil {
			return 0, err
		}
	}
}

// try runs fn once and commits; done is false when the commit's compares
// failed (a conflicting write) and fn must run again.
func (s *Store) try(ctx context.Context, fn func(store.Tx) error) (rev int64, done bool, err error) {
	t := newTx(s, ctx)
	if err := fn(t); err != nil {
		if errors.Is(t.err, rpctypes.ErrCompacted) {
			return 0, false, nil
		}
		return 0, true, err
	}
	if errors.Is(t.err, rpctypes.ErrCompacted) {
		return 0, false, nil // etcd dropped the revision fn was reading
	}
	if t.err != nil {
		return 0, true, t.err // fn swallowed an etcd failure
	}
	if len(t.events) == 0 {
		rev, err := t.lastWrite()
		if err != nil {
			return rev, true, err
		}
		if len(t.docs) > 0 { // documents alone: committed, but no store revision (store.Docs)
			if _, done, err = s.commit(ctx, t); !done || err != nil {
				return rev, done, err
			}
		}
		s.journal(ctx, t.notes, rev)
		return rev, true, nil
	}
	rev, done, err = s.commit(ctx, t)
	if done && err == nil {
		s.journal(ctx, t.notes, rev)
	}
	return rev, done, err
}

// journal writes the journal entries of a committed transaction (see
// journal.go); a failure is logged, since the change itself committed.
func (s *Store) journal(ctx context.Context, notes []record.Transition, rev int64) {
	if len(notes) == 0 {
		return
	}
	if err := s.writeJournal(ctx, notes, rev); err != nil {
		s.log.Warn("history entries not written; the change they describe is", "revision", rev, "err", err)
	}
}

// lastWrite returns the revision of the last dnslb write as of the
// transaction's revision (0 when none): an Update that writes nothing
// returns it, so that a caller waiting to see its revision applied never
// waits for a write that is not dnslb's.
func (t *tx) lastWrite() (int64, error) {
	resp, err := t.get(t.s.keys.log(), clientv3.WithKeysOnly())
	if err != nil || len(resp.Kvs) == 0 {
		return 0, err
	}
	return resp.Kvs[0].ModRevision, nil
}

// commit sends t's writes as one Txn guarded by what t read.
func (s *Store) commit(ctx context.Context, t *tx) (int64, bool, error) {
	ops, err := t.ops()
	if err != nil {
		return 0, true, err
	}
	var resp *clientv3.TxnResponse
	err = s.call(ctx, func(ctx context.Context) (err error) {
		resp, err = s.cli.Txn(ctx).If(t.compares()...).Then(ops...).Commit()
		return err
	})
	if errors.Is(err, store.ErrUnavailable) {
		return 0, true, fmt.Errorf("write outcome unknown (etcd did not answer in time; read it back once etcd is back): %w", err)
	}
	if err != nil {
		return 0, true, s.explain(err, len(ops))
	}
	return resp.Header.Revision, resp.Succeeded, nil
}

// compares guard the commit: nothing t read has changed since t.rev.
func (t *tx) compares() []clientv3.Cmp {
	if t.rev == 0 {
		return nil // fn read nothing: blind writes
	}
	if t.ranged || len(t.seen) > maxCompares {
		cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(t.s.keys.log()), "<", t.rev+1)}
		if rev, ok := t.seen[t.s.keys.docsLog()]; ok { // documents listed: no document write since
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(t.s.keys.docsLog()), "=", rev))
		}
		return cmps
	}
	cmps := make([]clientv3.Cmp, 0, len(t.seen))
	for key, rev := range t.seen {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", rev))
	}
	return cmps
}

// ops are t's writes: deleted zones' sets, zones, sets, then the log.
func (t *tx) ops() ([]clientv3.Op, error) {
	var ops []clientv3.Op
	for zone := range t.gone {
		del, err := t.deleteSetsOf(zone)
		if err != nil {
			return nil, err
		}
		ops = append(ops, del...)
		ops = append(ops, t.deleteJournalOf(zone)...)
	}
	for name, e := range t.zones {
		ops = append(ops, op(t.s.keys.zone(name), e))
	}
	for key, e := range t.sets {
		ops = append(ops, op(key, e))
	}
	ops = append(ops, t.docOps()...)
	if len(t.events) == 0 {
		return ops, nil // documents alone: the log key stays
	}
	log, err := json.Marshal(t.events)
	if err != nil {
		return nil, fmt.Errorf("etcdstore: encode events: %w", err)
	}
	return append(ops, clientv3.OpPut(t.s.keys.log(), string(log))), nil
}

func op(key string, e entry) clientv3.Op {
	if e.del {
		return clientv3.OpDelete(key)
	}
	return clientv3.OpPut(key, string(e.val))
}

// deleteSetsOf deletes the stored sets of a deleted zone: one range
// delete, unless the transaction put sets in the zone again (etcd refuses
// a put inside a range deleted by the same Txn), then one delete per
// stored set it did not put.
func (t *tx) deleteSetsOf(zone string) ([]clientv3.Op, error) {
	prefix := t.s.keys.setsOf(zone, "")
	if !t.wroteUnder(prefix) {
		return []clientv3.Op{clientv3.OpDelete(prefix, clientv3.WithPrefix())}, nil
	}
	t.ranged = true
	resp, err := t.get(prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, err
	}
	var ops []clientv3.Op
	for _, kv := range resp.Kvs {
		if _, ok := t.sets[string(kv.Key)]; !ok {
			ops = append(ops, clientv3.OpDelete(string(kv.Key)))
		}
	}
	return ops, nil
}

// backoff waits a little, more after each conflict, before fn runs again.
func backoff(ctx context.Context, try int) error {
	d := time.Duration(rand.Int64N(int64(time.Millisecond) << min(try, 6)))
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// explain adds what to do to etcd's refusal of a Txn too large for it.
func (s *Store) explain(err error, ops int) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "too many operations"):
		return fmt.Errorf("etcd refused a transaction of %d operations: %w; start etcd with a larger --max-txn-ops (dnslb needs 1,100 for a batch of 1,000 changes)", ops, err)
	case strings.Contains(msg, "request is too large"):
		return fmt.Errorf("etcd refused a transaction of %d operations: %w; start etcd with a larger --max-request-bytes", ops, err)
	}
	return err
}
