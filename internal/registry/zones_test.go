package registry

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// TestNotVisibleError: a write whose publishing stalls returns the typed
// error with the committed revision, and the write is in the store.
func TestNotVisibleError(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.Update(ctx, func(tx store.Tx) error { return tx.PutZone(record.NewZone("lb.test.")) }); err != nil {
		t.Fatal(err)
	}
	r := New(st, Options{VisibleWait: 10 * time.Millisecond}) // never Run
	rev, err := r.Apply(ctx, "lb.test", []Change{{Action: Create, Set: wset("a", 10, "127.0.1.1")}})
	var nv *NotVisibleError
	if !errors.As(err, &nv) || !errors.Is(err, ErrNotVisible) || !errors.Is(err, context.DeadlineExceeded) || nv.Revision != rev || rev != 2 {
		t.Fatalf("Apply with publishing stalled: rev %d, %v", rev, err)
	}
	if want := "change committed but not yet in DNS answers (revision 2): context deadline exceeded"; err.Error() != want {
		t.Errorf("error %q; want %q", err, want)
	}
	if sets, err := r.Sets(ctx, "lb.test", Filter{}); err != nil || len(sets) != 1 {
		t.Errorf("committed set not stored: %v %v", sets, err)
	}
}

// TestDeletingZone: a zone marked as being deleted (as a deletion cut
// short leaves it) is out of DNS answers, takes no writes, and is finished
// by deleting it again, without force.
func TestDeletingZone(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	h.put(wset("a", 10, "127.0.1.1"))
	_, err := h.store.Update(ctx, func(tx store.Tx) error {
		z, err := tx.Zone("lb.test.")
		z.Deleting = true
		return errors.Join(err, tx.PutZone(z))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.reg.EnsureZone(ctx, "other.test"); err != nil { // a write after the mark: published means the mark is too
		t.Fatal(err)
	}
	if h.reg.Load().Zone("lb.test.") != nil {
		t.Errorf("DNS answers for a zone being deleted")
	}
	_, err = h.reg.Apply(ctx, "lb.test", []Change{{Action: Upsert, Set: wset("b", 10, "127.0.1.2")}})
	want := "zone lb.test.: zone is being deleted; it takes no more writes (run dnslb zone rm --force lb.test. again if the deletion was cut short)"
	if !errors.Is(err, ErrZoneDeleting) || err.Error() != want {
		t.Errorf("write to a deleting zone: %v; want %q", err, want)
	}
	if err := h.reg.DeleteZone(ctx, "lb.test", false); err != nil {
		t.Fatalf("resume the deletion: %v", err)
	}
	if _, err := h.reg.Zone(ctx, "lb.test"); !errors.Is(err, store.ErrNotFound) || err.Error() != "zone lb.test.: not found" {
		t.Errorf("zone after the delete: %v", err)
	}
}

// collectors records what a Registry registers.
type collectors struct{ list []prometheus.Collector }

func (c *collectors) Register(col prometheus.Collector) error {
	c.list = append(c.list, col)
	return nil
}
func (c *collectors) MustRegister(cs ...prometheus.Collector) { c.list = append(c.list, cs...) }
func (c *collectors) Unregister(prometheus.Collector) bool    { return false }

// answersCollector is the collector that exports answers per set or name.
func (c *collectors) answersCollector(t *testing.T) prometheus.Collector {
	for _, col := range c.list {
		ch := make(chan *prometheus.Desc, 10)
		col.Describe(ch)
		close(ch)
		for d := range ch {
			if strings.Contains(d.String(), "answers_total") {
				return col
			}
		}
	}
	t.Fatal("no collector of answers registered")
	return nil
}

// TestScrapeDoesNotHoldTheLock: while a scrape writes the answer series
// (the scraper reads them slowly), the registry's lock is free.
func TestScrapeDoesNotHoldTheLock(t *testing.T) {
	cols := &collectors{}
	h := newHarness(t, func(o *Options) { o.Registerer = cols })
	for i := range 3 {
		s := wset("a", 10, "127.0.1.1")
		s.Name = fmt.Sprintf("n%d", i)
		h.put(s)
	}
	ch := make(chan prometheus.Metric) // unbuffered: Collect waits for each read
	done := make(chan struct{})
	go func() { defer close(done); cols.answersCollector(t).Collect(ch) }()
	<-ch // Collect now waits to send the next series
	locked := h.reg.pub.servedMu.TryLock()
	if locked {
		h.reg.pub.servedMu.Unlock()
	}
	for {
		select {
		case <-ch:
			continue
		case <-done:
		}
		break
	}
	if !locked {
		t.Errorf("the registry lock is held while the scrape writes series")
	}
}

// TestAnswersPerNameByDefault: /metrics has one answers series per name
// and type, not one per set, unless MetricsPerSet.
func TestAnswersPerNameByDefault(t *testing.T) {
	for _, perSet := range []bool{false, true} {
		t.Run(fmt.Sprint("perSet=", perSet), func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.MetricsPerSet = perSet })
			for i, id := range []string{"a", "b", "c"} {
				h.put(wset(id, 10, fmt.Sprintf("127.0.1.%d", i+1)))
			}
			sets, err := testutil.GatherAndCount(h.prom, "dnslb_dns_answers_total")
			if err != nil {
				t.Fatal(err)
			}
			names, err := testutil.GatherAndCount(h.prom, "dnslb_dns_name_answers_total")
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 0, true: 3}[perSet]; sets != want || names != 1 {
				t.Errorf("series: %d per set, %d per name; want %d and 1", sets, names, want)
			}
			problems, err := testutil.GatherAndLint(h.prom)
			if err != nil || len(problems) > 0 {
				t.Errorf("promlint: %v %v", problems, err)
			}
		})
	}
}

// TestDeletingZoneResumedAtStart: a zone deletion cut short by a shutdown
// (the zone marked Deleting, some sets left) is finished when the server
// starts again, without anyone running zone rm again.
func TestDeletingZoneResumedAtStart(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	for i := range 3 {
		s := wset("a", 10, "127.0.1.1")
		s.Name = fmt.Sprintf("n%d", i)
		h.put(s)
	}
	if err := h.reg.EnsureZone(ctx, "other.test"); err != nil {
		t.Fatal(err)
	}
	h.stop()
	rev, err := h.store.Update(ctx, func(tx store.Tx) error {
		z, err := tx.Zone("lb.test.")
		z.Deleting = true
		return errors.Join(err, tx.PutZone(z))
	})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	events := h.store.Watch(wctx, rev)
	h.start(Options{Now: h.clock.Now, Manual: true})
	for ev := range events {
		if ev.Err != nil {
			t.Fatal(ev.Err)
		}
		if ev.Kind == store.DeleteZone && ev.Zone.Name == "lb.test." {
			break
		}
	}
	if _, err := h.reg.Zone(ctx, "lb.test"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("zone lb.test. after a restart that found it being deleted: %v", err)
	}
	if _, err := h.reg.Zone(ctx, "other.test"); err != nil {
		t.Errorf("the other zone: %v", err)
	}
}
