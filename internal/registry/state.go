package registry

import (
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/zone"
)

// state is the registry's copy of the store, kept by its loop alone, and
// the builder of snapshots, fed the same changes.
type state struct {
	zones   map[string]record.Zone
	sets    map[record.Key]record.Set
	leased  map[group]map[record.Key]*setLive // the sets with a lease, by name and type; see expireGroup
	drains  map[record.Key]bool               // the sets draining
	builder *zone.Builder
}

func newState() *state {
	return &state{zones: map[string]record.Zone{}, sets: map[record.Key]record.Set{},
		leased: map[group]map[record.Key]*setLive{}, drains: map[record.Key]bool{}, builder: zone.NewBuilder()}
}

// put stores set and keeps the indexes in step.
func (s *state) put(set record.Set) {
	if old, ok := s.sets[set.Key]; ok && old.Lease > 0 && set.Lease <= 0 {
		s.unlease(set.Key)
	}
	s.sets[set.Key] = set
	if set.Lease > 0 {
		g := groupOf(set.Key)
		if s.leased[g] == nil {
			s.leased[g] = map[record.Key]*setLive{}
		}
		if _, ok := s.leased[g][set.Key]; !ok {
			s.leased[g][set.Key] = nil // resolved by expireGroup
		}
	}
	if set.State == record.Draining && set.Drain != nil {
		s.drains[set.Key] = true
	} else {
		delete(s.drains, set.Key)
	}
}

// remove deletes the set with key k.
func (s *state) remove(k record.Key) {
	if s.sets[k].Lease > 0 {
		s.unlease(k)
	}
	delete(s.drains, k)
	delete(s.sets, k)
}

func (s *state) unlease(k record.Key) {
	g := groupOf(k)
	delete(s.leased[g], k)
	if len(s.leased[g]) == 0 {
		delete(s.leased, g)
	}
}

// feed gives the builder everything loaded.
func (s *state) feed() {
	for _, z := range s.zones {
		s.builder.PutZone(z)
	}
	for _, set := range s.sets {
		s.builder.PutSet(set)
	}
}

func (s *state) load(tx store.ReadTx) error {
	zones, err := tx.Zones()
	if err != nil {
		return err
	}
	for _, z := range zones {
		s.zones[z.Name] = z
		sets, err := tx.Sets(z.Name, "")
		if err != nil {
			return err
		}
		for _, set := range sets {
			s.put(set)
		}
	}
	return nil
}

// apply applies one event and returns its revision.
func (s *state) apply(ev store.Event) int64 {
	switch ev.Kind {
	case store.PutZone:
		s.zones[ev.Zone.Name] = ev.Zone
		s.builder.PutZone(ev.Zone)
	case store.DeleteZone:
		delete(s.zones, ev.Zone.Name)
		s.builder.DeleteZone(ev.Zone.Name)
		for k := range s.sets {
			if k.Zone == ev.Zone.Name {
				s.remove(k)
			}
		}
	case store.PutSet:
		s.put(ev.Set)
		s.builder.PutSet(ev.Set)
	case store.DeleteSet:
		s.remove(ev.Set.Key)
		s.builder.DeleteSet(ev.Set.Key)
	}
	return ev.Rev
}
