package api

import (
	"fmt"
	"strings"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

// toSet turns a client's SetRequest into a record.Set for the registry,
// checking what only the wire form can tell (absent versus zero).
func toSet(in client.SetRequest) (record.Set, error) {
	set := record.Set{
		Key:    record.Key{Name: in.Name, Type: record.Type(in.Type), SetID: in.SetID},
		Values: in.Values,
	}
	if in.Name == "" {
		return set, record.Errorf("name", "is required; use \"@\" for the zone apex")
	}
	if in.Type == "" {
		return set, record.Errorf("type", "is required; allowed: A, AAAA, CNAME, TXT, MX, SRV")
	}
	switch {
	case in.SetID != "" && in.Weight == nil:
		return set, record.Errorf("weight", "is required with set_id; allowed 0..%d", record.MaxWeight)
	case in.SetID == "" && in.Weight != nil:
		return set, record.Errorf("weight", "needs a set_id; a set without set_id is a simple record")
	case in.Weight != nil:
		set.Weight = *in.Weight
	}
	ttl := int64(client.DefaultTTL)
	if in.TTL != nil {
		ttl = *in.TTL
	}
	if ttl < 0 || ttl > record.MaxTTL {
		return set, record.Errorf("ttl", "%d is out of range; allowed 0..%d", ttl, record.MaxTTL)
	}
	set.TTL = uint32(ttl)
	if in.Lease != nil {
		set.Lease = *in.Lease
	}
	if in.Check != nil {
		c := *in.Check
		set.Check = &c
	}
	return set, nil
}

func toChange(c client.Change) (registry.Change, error) {
	action := registry.Action(strings.ToUpper(c.Action))
	switch action {
	case registry.Create, registry.Upsert:
		set, err := toSet(c.RRSet)
		if err != nil {
			return registry.Change{}, record.Prefix("rrset", err)
		}
		return registry.Change{Action: action, Set: set, Policy: c.RRSet.Policy, TTLDefault: c.RRSet.TTL == nil}, nil
	case registry.Delete:
		k := record.Key{Name: c.RRSet.Name, Type: record.Type(c.RRSet.Type), SetID: c.RRSet.SetID}
		return registry.Change{Action: action, Set: record.Set{Key: k}}, nil
	}
	return registry.Change{}, record.Errorf("action", "%q is not an action; allowed: CREATE, UPSERT, DELETE", c.Action)
}

func toChanges(b client.ChangeBatch) ([]registry.Change, error) {
	out := make([]registry.Change, 0, len(b.Changes))
	for i, c := range b.Changes {
		rc, err := toChange(c)
		if err != nil {
			return nil, record.Prefix(fmt.Sprintf("changes[%d]", i), err)
		}
		out = append(out, rc)
	}
	return out, nil
}

func toZone(in client.ZoneRequest) record.Zone {
	z := record.Zone{Name: in.Name, NS: in.NS, NSAddresses: in.NSAddresses}
	z.SOA.RName = in.Hostmaster
	if in.NegativeTTL != nil {
		z.SOA.Minimum = *in.NegativeTTL
	}
	return z
}

func fmtIndex(format string, i int) string { return fmt.Sprintf(format, i) }
