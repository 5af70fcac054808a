package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// hiddenShown is how many hidden names an error names before "and N more".
const hiddenShown = 3

// checkNoHidden refuses to create zone when the zone above it holds names
// at or below it: DNS would answer those names from the new zone, and they
// would be listed active yet answered NXDOMAIN.
func checkNoHidden(tx store.ReadTx, zone string) error {
	parent, err := enclosingZone(tx, zone)
	if err != nil || parent == "" {
		return err
	}
	names, err := namesUnder(tx, parent, zone)
	if err != nil || len(names) == 0 {
		return err
	}
	shown := names[:min(len(names), hiddenShown)]
	more := ""
	if len(names) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(names)-len(shown))
	}
	count := fmt.Sprintf("%d names", len(names))
	if len(names) == 1 {
		count = "1 name"
	}
	return fmt.Errorf("zone %s: %w: %s holds %s in it (%s%s); delete them from %s first (dnslb record rm %s NAME TYPE), then create the zone and add them to it",
		zone, ErrZoneConflict, parent, count, strings.Join(shown, ", "), more, parent, parent)
}

// enclosingZone returns the closest existing zone above name, or "".
func enclosingZone(tx store.ReadTx, name string) (string, error) {
	for p := parentName(name); p != ""; p = parentName(p) {
		_, err := tx.Zone(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	return "", nil
}

// parentName is name without its first label ("" for the root and TLDs'
// parent).
func parentName(name string) string {
	i := strings.IndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return ""
	}
	return name[i+1:]
}

// namesUnder lists the distinct names of zone, with sets or a routing
// policy entry, that are sub or at or below it, in order.
func namesUnder(tx store.ReadTx, zone, sub string) ([]string, error) {
	z, err := tx.Zone(zone)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if record.InZone(n, sub) && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	keys, err := tx.Keys(zone, record.Key{}, 0)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		add(k.Name)
	}
	for n := range z.Policies {
		add(n)
	}
	slices.Sort(names)
	return names, nil
}

// checkNotHidden refuses a name of zone that lies in a zone below it (at
// its apex or under it): that zone answers for the name, so a set written
// here would be listed active and never answered.
func checkNotHidden(tx store.ReadTx, zone, name string) error {
	for p := name; p != zone && p != ""; p = parentName(p) {
		_, err := tx.Zone(p)
		if err == nil {
			return record.Errorf("name", "%s is in zone %s, which answers for it; write it to that zone", name, p)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}
