package registry

import (
	"context"
	"strings"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// groupScan is how many keys Groups reads from the store at a time.
const groupScan = 5000

// Groups returns one key (without set id) per name and type of every
// zone, ordered by zone, name and type; only the names containing match
// (case-insensitive) when it is not empty. It reads keys only, not sets:
// the status page pages through names with it.
func (r *Registry) Groups(ctx context.Context, match string) ([]record.Key, error) {
	match = strings.ToLower(match)
	var out []record.Key
	_, err := r.store.View(ctx, func(tx store.ReadTx) error {
		zones, err := tx.Zones()
		if err != nil {
			return err
		}
		for _, z := range zones {
			if out, err = appendGroups(tx, z.Name, match, out); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// appendGroups appends the groups of zone whose name contains match.
func appendGroups(tx store.ReadTx, zone, match string, out []record.Key) ([]record.Key, error) {
	after := record.Key{}
	for {
		keys, err := tx.Keys(zone, after, groupScan)
		if err != nil {
			return out, err
		}
		for _, k := range keys {
			g := record.Key{Zone: zone, Name: k.Name, Type: k.Type}
			if n := len(out); n > 0 && out[n-1] == g || !strings.Contains(k.Name, match) {
				continue
			}
			out = append(out, g)
		}
		if len(keys) < groupScan {
			return out, nil
		}
		after = keys[len(keys)-1]
	}
}
