package registry

import (
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
	"github.com/dnslb/dnslb/internal/zone"
)

// state is the registry's copy of the store, kept by its loop alone.
type state struct {
	zones map[string]record.Zone
	sets  map[record.Key]record.Set
}

func newState() *state {
	return &state{zones: map[string]record.Zone{}, sets: map[record.Key]record.Set{}}
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
	case store.DeleteZone:
		delete(s.zones, ev.Zone.Name)
		for k := range s.sets {
			if k.Zone == ev.Zone.Name {
				delete(s.sets, k)
			}
		}
	case store.PutSet:
		s.sets[ev.Set.Key] = ev.Set
	case store.DeleteSet:
		delete(s.sets, ev.Set.Key)
	}
	return ev.Rev
}

func (s *state) input(rev int64) zone.Input {
	in := zone.Input{Rev: rev, Zones: make([]record.Zone, 0, len(s.zones)), Sets: make([]record.Set, 0, len(s.sets))}
	for _, z := range s.zones {
		in.Zones = append(in.Zones, z)
	}
	for _, set := range s.sets {
		in.Sets = append(in.Sets, set)
	}
	return in
}
