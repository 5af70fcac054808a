package registry

import (
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// drains are the sets draining, kept by the registry loop alone: the few
// whole sets it needs besides the builder's, to finish their drains.
type drains map[record.Key]record.Set

// follow keeps d in step with one stored set.
func (d drains) follow(set *record.Set) {
	if set.State == record.Draining && set.Drain != nil {
		d[set.Key] = *set
		return
	}
	delete(d, set.Key)
}

// loaded is the whole store as read at one revision, fed to every unit
// at once by the loop.
type loaded struct {
	zones []record.Zone
	sets  []record.Set
}

func (s *loaded) load(tx store.ReadTx) error {
	zones, err := tx.Zones()
	if err != nil {
		return err
	}
	s.zones = zones
	for _, z := range zones {
		sets, err := tx.Sets(z.Name, "")
		if err != nil {
			return err
		}
		s.sets = append(s.sets, sets...)
	}
	return nil
}
