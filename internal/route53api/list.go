package route53api

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
)

// Page sizes of ListResourceRecordSets, as in Route 53.
const (
	DefaultListItems = 300
	MaxListItems     = 300
)

// listed is a record set as ListResourceRecordSets shows it, with its sort
// key.
type listed struct {
	rev string // the name, labels reversed
	rrs resourceRecordSet
}

func (h *Handler) listRecordSets(c *call) (int, any, error) {
	ctx := c.r.Context()
	z, err := h.zoneByID(ctx, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	limit, err := maxItems(c.r, DefaultListItems, MaxListItems)
	if err != nil {
		return 0, nil, err
	}
	start, err := listStart(c.r)
	if err != nil {
		return 0, nil, err
	}
	sets, err := h.opts.Registry.Sets(ctx, z.Name, registry.Filter{})
	if err != nil {
		return 0, nil, err
	}
	all := sorted(z, sets)
	i, _ := slices.BinarySearchFunc(all, start, compareListed)
	res := listResourceRecordSetsResponse{NS: Namespace, MaxItems: strconv.Itoa(limit), ResourceRecordSets: []resourceRecordSet{}}
	for ; i < len(all); i++ {
		if len(res.ResourceRecordSets) == limit {
			next := all[i].rrs
			res.IsTruncated, res.NextRecordName, res.NextRecordType, res.NextRecordIdentifier = true, next.Name, next.Type, next.SetIdentifier
			break
		}
		res.ResourceRecordSets = append(res.ResourceRecordSets, all[i].rrs)
	}
	return http.StatusOK, res, nil
}

// listStart reads where a listing starts: name, type and identifier, each
// requiring the one before.
func listStart(r *http.Request) (listed, error) {
	q := r.URL.Query()
	name, typ, id := q.Get("name"), strings.ToUpper(q.Get("type")), q.Get("identifier")
	switch {
	case typ != "" && name == "":
		return listed{}, invalidInput("The input is not valid: StartRecordType requires StartRecordName")
	case id != "" && typ == "":
		return listed{}, invalidInput("The input is not valid: StartRecordIdentifier requires StartRecordName and StartRecordType")
	}
	if name == "" {
		return listed{}, nil
	}
	return listed{rev: reversedName(unescapeName(name)), rrs: resourceRecordSet{Type: typ, SetIdentifier: id}}, nil
}

// compareListed orders record sets as Route 53 lists them: by name with
// its labels reversed, then type, then set identifier.
func compareListed(a, b listed) int {
	return cmp.Or(strings.Compare(a.rev, b.rev), strings.Compare(a.rrs.Type, b.rrs.Type),
		strings.Compare(a.rrs.SetIdentifier, b.rrs.SetIdentifier))
}

// sorted is the zone's record sets, with the apex SOA and NS, in Route
// 53's order.
func sorted(z record.Zone, sets []record.Set) []listed {
	out := make([]listed, 0, len(sets)+2)
	ttl := int64(z.SOA.TTL)
	soa := fmt.Sprintf("%s %s %d %d %d %d %d", z.SOA.MName, z.SOA.RName, z.SOA.Serial, z.SOA.Refresh, z.SOA.Retry, z.SOA.Expire, z.SOA.Minimum)
	out = append(out, apex(z, "SOA", ttl, []string{soa}), apex(z, "NS", ttl, z.NS))
	for i := range sets {
		out = append(out, listed{rev: reversedName(sets[i].Name), rrs: wireSet(z, &sets[i])})
	}
	slices.SortFunc(out, compareListed)
	return out
}

func apex(z record.Zone, typ string, ttl int64, values []string) listed {
	rrs := resourceRecordSet{Name: z.Name, Type: typ, TTL: &ttl, ResourceRecords: &resourceRecords{}}
	for _, v := range values {
		rrs.ResourceRecords.Records = append(rrs.ResourceRecords.Records, resourceRecord{Value: v})
	}
	return listed{rev: reversedName(z.Name), rrs: rrs}
}

// wireSet is a dnslb set as a Route 53 resource record set.
func wireSet(z record.Zone, s *record.Set) resourceRecordSet {
	ttl := int64(s.TTL)
	rrs := resourceRecordSet{Name: wireName(s.Name), Type: string(s.Type), SetIdentifier: s.SetID, TTL: &ttl,
		ResourceRecords: &resourceRecords{Records: make([]resourceRecord, len(s.Values))}}
	for i, v := range s.Values {
		if s.Type == record.TXT {
			v = quoteTXT(v)
		}
		rrs.ResourceRecords.Records[i].Value = v
	}
	if s.Check != nil {
		rrs.HealthCheckID = s.Check.ID
	}
	switch {
	case s.Weighted() && z.Policy(s.Name) == record.Multivalue:
		t := true
		rrs.MultiValueAnswer = &t
	case s.Weighted():
		w := int64(s.Weight)
		rrs.Weight = &w
	}
	return rrs
}
