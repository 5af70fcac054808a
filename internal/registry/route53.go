package registry

import (
	"context"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/store"
)

// Published is the store revision of the newest snapshot DNS answers
// from: a write of revision rev is in this server's answers once
// Published() >= rev.
func (r *Registry) Published() int64 {
	r.pub.mu.Lock()
	defer r.pub.mu.Unlock()
	return r.pub.pubRev
}

// SetRoute53 replaces what the Route 53 API keeps of zone (record.Zone's
// Route53 field) with what fn makes of it, in one transaction; fn gets a
// copy it may change, never nil.
func (r *Registry) SetRoute53(ctx context.Context, zone string, fn func(*record.Route53Zone) error) error {
	name, err := record.ZoneName("zone", zone)
	if err != nil {
		return err
	}
	rev, err := r.store.Update(ctx, func(tx store.Tx) error {
		z, err := writableZone(tx, name)
		if err != nil {
			return err
		}
		meta := record.Route53Zone{}
		if z.Route53 != nil {
			meta = *z.Route53
			meta.Tags = make(map[string]string, len(z.Route53.Tags))
			for k, v := range z.Route53.Tags {
				meta.Tags[k] = v
			}
		}
		if err := fn(&meta); err != nil {
			return err
		}
		z.Route53 = &meta
		return tx.PutZone(z)
	})
	if err != nil {
		return err
	}
	return r.waitPublished(ctx, rev)
}
