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
	builder *zone.Builder
}

func newState() *state {
	return &state{zones: map[string]record.Zone{}, sets: map[record.Key]record.Set{}, builder: zone.NewBuilder()}
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
			s.sets[set.Key] = set
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
				delete(s.sets, k)
			}
		}
	case store.PutSet:
		s.sets[ev.Set.Key] = ev.Set
		s.builder.PutSet(ev.Set)
	case store.DeleteSet:
		delete(s.sets, ev.Set.Key)
		s.builder.DeleteSet(ev.Set.Key)
	}
	return ev.Rev
}
