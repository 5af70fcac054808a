package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/dnslb/dnslb/internal/store"
)

// UnavailableError says that etcd cannot be reached, which endpoints, and
// since when. It wraps store.ErrUnavailable and the last failure.
type UnavailableError struct {
	Endpoints []string
	Since     time.Time
	Err       error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("etcd at %s unreachable since %s: %v", strings.Join(e.Endpoints, ","),
		e.Since.UTC().Format(time.RFC3339), e.Err)
}

// Unwrap returns store.ErrUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error { return []error{store.ErrUnavailable, e.Err} }

// classify translates an etcd call's error: nil stays nil; the caller's
// own ctx ending gives ctx's error; quota exceeded wraps store.ErrFull;
// etcd unreachable (our deadline passed, no leader, connection refused)
// gives an *UnavailableError; anything else is returned as it is.
func (s *Store) classify(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, rpctypes.ErrNoSpace), strings.Contains(err.Error(), "database space exceeded"):
		return fmt.Errorf("etcd quota exceeded (raise --quota-backend-bytes, compact and defragment): %w: %w", store.ErrFull, err)
	case unreachable(err):
		return s.av.down(err)
	}
	return err
}

func unreachable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, rpctypes.ErrNoLeader) ||
		errors.Is(err, rpctypes.ErrTimeout) || errors.Is(err, rpctypes.ErrLeaderChanged) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}

// availability is what the store last saw of etcd: reachable, or not
// since when.
type availability struct {
	endpoints []string
	now       func() time.Time
	log       *slog.Logger

	mu    sync.Mutex
	since time.Time // zero: reachable
	err   error
}

func newAvailability(endpoints []string, now func() time.Time, log *slog.Logger) *availability {
	return &availability{endpoints: endpoints, now: now, log: log}
}

// down records a failure and returns the error to report.
func (a *availability) down(cause error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.since.IsZero() {
		a.since = a.now()
		a.log.Error("etcd unreachable; serving the last state, refusing writes", "endpoints", a.endpoints, "err", cause)
	}
	a.err = cause
	return &UnavailableError{Endpoints: a.endpoints, Since: a.since, Err: cause}
}

// note records the outcome of a call: a success means etcd is back.
func (a *availability) note(err error) {
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.since.IsZero() {
		a.log.Info("etcd reachable again", "endpoints", a.endpoints, "down", a.now().Sub(a.since).Round(time.Millisecond).String())
		a.since, a.err = time.Time{}, nil
	}
}

// refuse returns the error of the current outage, or nil.
func (a *availability) refuse() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.since.IsZero() {
		return nil
	}
	return &UnavailableError{Endpoints: a.endpoints, Since: a.since, Err: a.err}
}

// Unavailable implements store.Availability.
func (s *Store) Unavailable() error { return s.av.refuse() }

// Writable returns nil when etcd takes writes (a quorum answers a
// linearizable read within Options.Probe), and why not otherwise; the API's
// readiness asks it.
func (s *Store) Writable(ctx context.Context) error {
	exit, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	return s.probe(ctx)
}

// probe reads the log key within Options.Probe.
func (s *Store) probe(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, s.opts.Probe)
	defer cancel()
	_, err := s.cli.Get(pctx, s.keys.log(), keysOnlyOpts...)
	err = s.classify(ctx, err)
	s.av.note(err)
	return err
}

// Run probes etcd every Options.Probe while it is unreachable, so that
// writes are taken again as soon as it is back even when none is tried,
// and while it is reachable, so that an outage is known before a write
// meets it. It returns when ctx ends or the store closes.
func (s *Store) Run(ctx context.Context) error {
	exit, err := s.enter(ctx)
	if err != nil {
		return err
	}
	s.wg.Add(1)
	exit()
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.stopCtx, cancel)
	defer stop()
	tick := time.NewTicker(s.opts.Probe)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			_ = s.probe(ctx) // recorded in s.av
		case <-ctx.Done():
			return nil
		}
	}
}
