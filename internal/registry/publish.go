package registry

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/zone"
)

// publisher turns the store's watch into snapshots: it owns the snapshot
// builder (the one copy of the stored sets in memory, fed by the registry
// loop alone), the answer counters of every set, and the publication
// state that writes wait on. Other units say that a set's answers may
// have changed with touch; the loop builds the next snapshot.
type publisher struct {
	builder *zone.Builder // the registry loop's alone
	snap    atomic.Pointer[zone.Snapshot]

	servedMu sync.RWMutex // written by the loop only; the loop reads without it
	served   map[record.Key]*zone.Served

	mu     sync.Mutex
	gen    uint64              // advanced by every touch
	dirty  map[record.Key]bool // touched since the last snapshot
	pubRev int64               // store revision of the newest snapshot
	pubGen uint64              // generation of the newest snapshot
	pubC   chan struct{}       // closed and replaced on each publish
	ready  chan struct{}       // closed after the first snapshot
	once   sync.Once
	kick   chan struct{} // the loop: publish
}

func newPublisher() *publisher {
	return &publisher{builder: zone.NewBuilder(), served: map[record.Key]*zone.Served{},
		dirty: map[record.Key]bool{}, pubC: make(chan struct{}), ready: make(chan struct{}), kick: make(chan struct{}, 1)}
}

// apply feeds one store event to the builder and the counters. Loop only.
func (p *publisher) apply(ev store.Event) {
	switch ev.Kind {
	case store.PutZone:
		p.builder.PutZone(ev.Zone)
	case store.DeleteZone:
		p.builder.DeleteZone(ev.Zone.Name)
		p.servedMu.Lock()
		for k := range p.served {
			if k.Zone == ev.Zone.Name {
				delete(p.served, k)
			}
		}
		p.servedMu.Unlock()
	case store.PutSet:
		p.builder.PutSet(ev.Set)
		if p.served[ev.Set.Key] == nil {
			p.servedMu.Lock()
			p.served[ev.Set.Key] = new(zone.Served)
			p.servedMu.Unlock()
		}
	case store.DeleteSet:
		p.builder.DeleteSet(ev.Set.Key)
		p.servedMu.Lock()
		delete(p.served, ev.Set.Key)
		p.servedMu.Unlock()
	}
}

// reset starts a new builder for a full load, keeping the counters of the
// sets in keep. Loop only.
func (p *publisher) reset(keep map[record.Key]bool) {
	p.builder = zone.NewBuilder()
	p.servedMu.Lock()
	defer p.servedMu.Unlock()
	for k := range p.served {
		if !keep[k] {
			delete(p.served, k)
		}
	}
}

// servedOf returns the answer counters of k, or nil when k is not stored.
func (p *publisher) servedOf(k record.Key) *zone.Served {
	p.servedMu.RLock()
	defer p.servedMu.RUnlock()
	return p.served[k]
}

// servedHook is the builder's Served hook; it runs on the loop.
func (p *publisher) servedHook(k record.Key) *zone.Served { return p.served[k] }

// touch records that the answers of k may have changed, and asks the loop
// for a snapshot. It returns the generation that snapshot will carry.
func (p *publisher) touch(k record.Key) uint64 {
	p.mu.Lock()
	p.gen++
	p.dirty[k] = true
	gen := p.gen
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
	return gen
}

// stale reports whether the published snapshot is behind store revision
// rev or a touch, so that passes with no change build nothing.
func (p *publisher) stale(rev int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pubRev != rev || p.pubGen != p.gen
}

// takeDirty hands the touched sets to the builder and returns the
// generation they bring the snapshot to. Loop only.
func (p *publisher) takeDirty() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.dirty {
		p.builder.Touch(k)
	}
	clear(p.dirty)
	return p.gen
}

// swap makes snap the published snapshot and wakes the writers waiting.
func (p *publisher) swap(snap *zone.Snapshot, rev int64, gen uint64) {
	p.snap.Store(snap)
	p.mu.Lock()
	p.pubRev, p.pubGen = rev, gen
	close(p.pubC)
	p.pubC = make(chan struct{})
	p.mu.Unlock()
	p.once.Do(func() { close(p.ready) })
}

// waitRev blocks until the snapshot includes store revision rev.
func (p *publisher) waitRev(ctx context.Context, rev int64) error {
	return p.waitFor(ctx, func() bool { return p.pubRev >= rev })
}

// waitGen blocks until the snapshot includes generation gen.
func (p *publisher) waitGen(ctx context.Context, gen uint64) error {
	return p.waitFor(ctx, func() bool { return p.pubGen >= gen })
}

func (p *publisher) waitFor(ctx context.Context, done func() bool) error {
	for {
		p.mu.Lock()
		ok, c := done(), p.pubC
		p.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-c:
		case <-ctx.Done():
			return &NotVisibleError{Err: context.Cause(ctx)}
		}
	}
}

// published returns a channel closed at the next publish (tests).
func (p *publisher) published() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pubC
}

// touchNone returns the generation of the latest touch, asking for a
// snapshot that includes it (writers wait for it).
func (p *publisher) touchNone() uint64 {
	p.mu.Lock()
	gen := p.gen
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
	return gen
}
