// Package etcdstore is the store.Store of dnslb clusters: zones and record
// sets kept in etcd, so that several dnslb servers share one state.
//
// # Keys
//
// Every key is under a prefix (Options.Prefix, default "/dnslb/"):
//
//	PREFIX z/ZONE                         a zone, JSON
//	PREFIX s/ZONE \x00 NAME \x00 TYPE \x00 SETID   a record set, JSON
//	PREFIX log                            the events of the last write, JSON
//	PREFIX d/KIND/ID                      a document (store.Docs), as given
//	PREFIX dlog                           put by every write of documents
//	PREFIX j/ZONE \x00 NAME \x00 SEQ        a transition of the journal (journal.go)
//	PREFIX jn/ZONE \x00 NAME                the next SEQ of a name's journal
//
// The \x00 separators make etcd's key order the order Sets returns (by
// name, type and set id, as Go compares strings) and make the sets of a
// zone, or of a name, one prefix range that never strays into a sub-zone.
// A value's Revision field is not stored: it is the key's mod revision.
//
// # Transactions
//
// Update runs fn against one etcd revision R (the first read fixes it; every
// later read of fn asks for R), buffers fn's writes, and commits them as
// ONE etcd Txn, guarded by compares: every key fn read must still have the
// mod revision it had at R (a key read as missing must still be missing),
// and when fn read a range (Zones, Sets, pages) the log key must not have
// changed since R — every dnslb write puts it, so that guards against sets
// created or deleted in the range. A Txn whose compares fail ran against a
// stale state: Update runs fn again on a fresh revision (optimistic
// concurrency), so transactions are serializable across every server on
// the cluster. When fn read more keys than fit in one Txn's compares, the
// log-key compare alone guards them (any dnslb write since R conflicts).
//
// The same Txn puts the log key with the transaction's events in order.
// Watch follows that one key: each of its revisions is one transaction,
// whatever it did (a set put and deleted again, a zone deleted with all its
// sets as one event), with every value the watcher needs. Revisions are
// etcd's own: a write's revision is its Txn's, and etcd's history
// compaction is what answers a watch with store.ErrCompacted.
//
// # Limits
//
// etcd refuses a Txn of more than --max-txn-ops operations (128 by
// default) or a request larger than --max-request-bytes (1.5 MiB). A
// transaction writes one operation per zone or set it changes plus the log
// key, and deleting a zone is one range delete however many sets it holds;
// its request carries each value twice (the key and the log). The store
// never splits a transaction (that would break its atomicity); a refused
// one returns an error naming the etcd flag to raise. dnslb's own large
// writers keep within 128: the reaper deletes in batches. Run etcd with
// --max-txn-ops=1100 for a Route 53 change batch of 1,000 changes.
//
// # Availability
//
// Every etcd call has a deadline (Options.Timeout). A store that cannot
// reach etcd says so with store.ErrUnavailable (Unavailable, Writable),
// refuses writes at once while it knows etcd is away, and probes every
// Options.Probe until etcd answers again; a watch reconnects by itself and
// resumes after the last revision it delivered.
package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dnslb/dnslb/internal/store"
)

// Defaults for Options.
const (
	DefaultPrefix  = "/dnslb/"
	DefaultTimeout = 5 * time.Second
	DefaultProbe   = time.Second
)

// Options configure New. Client is required.
type Options struct {
	// Client reaches the etcd cluster. The store does not close it
	// unless OwnClient is set.
	Client    *clientv3.Client
	OwnClient bool
	// Prefix is prepended to every key (default DefaultPrefix); several
	// dnslb clusters may share one etcd under different prefixes.
	Prefix string
	// Endpoints name the cluster in errors (default Client.Endpoints()).
	Endpoints []string
	// Timeout bounds every etcd call (default DefaultTimeout).
	Timeout time.Duration
	// Probe is how often the store checks etcd while it is unreachable,
	// and how long such a check may take (default DefaultProbe).
	Probe time.Duration
	// Logger receives availability changes and failed journal writes; nil
	// discards them.
	Logger *slog.Logger
	// Now is the clock of "unavailable since" (default time.Now).
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if len(o.Endpoints) == 0 {
		o.Endpoints = o.Client.Endpoints()
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Probe <= 0 {
		o.Probe = DefaultProbe
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Store is a store.Store on etcd. Its methods are safe for concurrent use.
type Store struct {
	cli  *clientv3.Client
	opts Options
	keys keys
	log  *slog.Logger
	av   *availability

	// life is held shared by transactions and watches while they start,
	// and exclusively by Close.
	life    sync.RWMutex
	closed  bool
	stop    context.CancelFunc // ends watches and the prober
	stopCtx context.Context
	wg      sync.WaitGroup // watches and the prober
}

var _ store.Store = (*Store)(nil)
var _ store.Availability = (*Store)(nil)

// New returns a store over opts.Client. It makes no etcd call: the first
// transaction does (use Check to wait for etcd at start).
func New(opts Options) (*Store, error) {
	if opts.Client == nil {
		return nil, errors.New("etcdstore: Options.Client is nil")
	}
	opts.setDefaults()
	if !strings.HasSuffix(opts.Prefix, "/") {
		return nil, fmt.Errorf("etcdstore: prefix %q must end with /", opts.Prefix)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{cli: opts.Client, opts: opts, keys: keys{opts.Prefix}, log: opts.Logger, stop: cancel, stopCtx: ctx}
	s.av = newAvailability(opts.Endpoints, opts.Now, opts.Logger)
	return s, nil
}

// Check reads etcd once, within the store's timeout, and returns nil when
// etcd answered (a linearizable read: a quorum is up).
func (s *Store) Check(ctx context.Context) error {
	_, err := s.View(ctx, func(store.ReadTx) error { return nil })
	return err
}

// Close ends every watch and waits for transactions in flight; later calls
// return store.ErrClosed.
func (s *Store) Close() error {
	s.life.Lock()
	if s.closed {
		s.life.Unlock()
		return store.ErrClosed
	}
	s.closed = true
	s.stop()
	s.life.Unlock()
	s.wg.Wait()
	if s.opts.OwnClient {
		return s.cli.Close()
	}
	return nil
}

// enter starts a transaction or a watch: it fails when the store is closed
// or ctx has ended. The caller calls the returned func when done.
func (s *Store) enter(ctx context.Context) (func(), error) {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return nil, store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		s.life.RUnlock()
		return nil, err
	}
	return s.life.RUnlock, nil
}

// call runs one etcd call with the store's deadline, and translates its
// error (see classify).
func (s *Store) call(ctx context.Context, fn func(ctx context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	err := s.classify(ctx, fn(cctx))
	s.av.note(err)
	return err
}
