package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// The journal (store.Journal) of a name is kept as
//
//	PREFIX j/ZONE \x00 NAME \x00 SEQ    one transition, JSON (SEQ: 16 hex digits)
//	PREFIX jn/ZONE \x00 NAME            the name's next SEQ
//
// Unlike bbolt's, etcd's journal is not written in the change's own Txn:
// a transition per changed set would triple the operations of a batch
// (entry, counter, the entry that falls out), and etcd refuses a Txn of
// more than --max-txn-ops (128 by default), so a batch of 50 changes, or
// the reaper's, would fail for its history's sake. Note buffers the
// entries; once the change has committed, and only then, they are written
// with its revision, one Txn per name and at most journalChunk entries,
// guarded by the name's counter (two servers noting for one name at once
// are serialised), each Txn also dropping what fell out of the newest
// HistoryLimit with one range delete. A failed Update notes nothing. A
// server that dies between the two writes loses those entries, never the
// change. Entries alone (no change) carry the current revision and make
// no store revision and no watch event: they never touch the log key.

// journalChunk is how many entries one journal Txn writes at most: with
// the counter and the range delete, under etcd's default --max-txn-ops.
const journalChunk = 100

// errReadOnlyJournal is what Note answers in a View.
var errReadOnlyJournal = errors.New("journal: a read-only transaction cannot note a transition")

func (k keys) journalOf(zone, name string) string {
	return k.prefix + "j/" + zone + "\x00" + name + "\x00"
}
func (k keys) journalZone(zone string) string       { return k.prefix + "j/" + zone + "\x00" }
func (k keys) journalNext(zone, name string) string { return k.prefix + "jn/" + zone + "\x00" + name }
func (k keys) journalNextZone(zone string) string   { return k.prefix + "jn/" + zone + "\x00" }

// Note implements store.Journal: tr is written after the commit.
func (t *tx) Note(tr record.Transition) error {
	if t.ro {
		return errReadOnlyJournal
	}
	if t.gone[tr.Key.Zone] {
		return nil // the zone's history goes with it
	}
	t.notes = append(t.notes, tr)
	return nil
}

// History implements store.Journal.
func (t *tx) History(zone, name string) ([]record.Transition, error) {
	prefix := t.s.keys.journalOf(zone, name)
	resp, err := t.get(prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	var out []record.Transition
	for _, kv := range resp.Kvs {
		var tr record.Transition
		if err := json.Unmarshal(kv.Value, &tr); err != nil {
			return nil, fmt.Errorf("etcdstore: decode journal entry %q: %w", strings.TrimPrefix(string(kv.Key), t.s.keys.prefix), err)
		}
		out = append(out, tr)
	}
	return out, nil
}

// deleteJournalOf deletes a deleted zone's history, in the zone's Txn.
func (t *tx) deleteJournalOf(zone string) []clientv3.Op {
	return []clientv3.Op{
		clientv3.OpDelete(t.s.keys.journalZone(zone), clientv3.WithPrefix()),
		clientv3.OpDelete(t.s.keys.journalNextZone(zone), clientv3.WithPrefix()),
	}
}

// writeJournal writes the entries noted by a committed transaction, at
// revision rev, name by name. It returns the first failure; the change
// itself has committed whatever it returns.
func (s *Store) writeJournal(ctx context.Context, notes []record.Transition, rev int64) error {
	byName := map[[2]string][]record.Transition{}
	var names [][2]string
	for _, tr := range notes {
		tr.Revision = rev
		n := [2]string{tr.Key.Zone, tr.Key.Name}
		if _, ok := byName[n]; !ok {
			names = append(names, n)
		}
		byName[n] = append(byName[n], tr)
	}
	var errs []error
	for _, n := range names {
		for chunk := range slices.Chunk(byName[n], journalChunk) {
			if err := s.appendJournal(ctx, n[0], n[1], chunk); err != nil {
				errs = append(errs, fmt.Errorf("journal of %s: %w", n[1], err))
			}
		}
	}
	return errors.Join(errs...)
}

// appendJournal appends trs to the journal of zone and name in one Txn,
// again on a fresh counter when another server appended meanwhile.
func (s *Store) appendJournal(ctx context.Context, zone, name string, trs []record.Transition) error {
	nextKey, prefix := s.keys.journalNext(zone, name), s.keys.journalOf(zone, name)
	for try := 0; ; try++ {
		var resp *clientv3.GetResponse
		err := s.call(ctx, func(ctx context.Context) (err error) {
			resp, err = s.cli.Get(ctx, nextKey)
			return err
		})
		if err != nil {
			return err
		}
		var seq uint64
		cmp := clientv3.Compare(clientv3.ModRevision(nextKey), "=", 0)
		if len(resp.Kvs) == 1 {
			kv := resp.Kvs[0]
			if seq, err = strconv.ParseUint(string(kv.Value), 10, 64); err != nil {
				return fmt.Errorf("etcdstore: journal counter %q: %w", kv.Value, err)
			}
			cmp = clientv3.Compare(clientv3.ModRevision(nextKey), "=", kv.ModRevision)
		}
		ops := make([]clientv3.Op, 0, len(trs)+2)
		for i, tr := range trs {
			data, err := json.Marshal(tr)
			if err != nil {
				return err
			}
			ops = append(ops, clientv3.OpPut(prefix+seqKey(seq+uint64(i)), string(data)))
		}
		next := seq + uint64(len(trs))
		ops = append(ops, clientv3.OpPut(nextKey, strconv.FormatUint(next, 10)))
		if next > store.HistoryLimit { // the entries before the newest HistoryLimit
			ops = append(ops, clientv3.OpDelete(prefix, clientv3.WithRange(prefix+seqKey(next-store.HistoryLimit))))
		}
		var txn *clientv3.TxnResponse
		err = s.call(ctx, func(ctx context.Context) (err error) {
			txn, err = s.cli.Txn(ctx).If(cmp).Then(ops...).Commit()
			return err
		})
		if err != nil {
			return err
		}
		if txn.Succeeded {
			return nil
		}
		if err := backoff(ctx, try); err != nil {
			return err
		}
	}
}

func seqKey(n uint64) string { return fmt.Sprintf("%016x", n) }

var _ store.Journal = (*tx)(nil)
