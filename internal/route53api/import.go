package route53api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dnslb/dnslb/internal/record"
)

// jsonRecordSet is a resource record set as the aws CLI prints it
// (aws route53 list-resource-record-sets).
type jsonRecordSet struct {
	Name             string
	Type             string
	SetIdentifier    string
	Weight           *int64
	MultiValueAnswer *bool
	TTL              *int64
	ResourceRecords  []struct{ Value string }
	AliasTarget      json.RawMessage
	HealthCheckID    string `json:"HealthCheckId"`
	Region           string
	Failover         string
	GeoLocation      json.RawMessage
}

// Imported is a record set read from Route 53's JSON, and the routing
// policy of its name (Multivalue for MultiValueAnswer sets).
type Imported struct {
	Set    record.Set
	Policy record.Policy
}

// ParseRecordSets reads the JSON of `aws route53 list-resource-record-sets`
// ({"ResourceRecordSets": [...]}, or the bare array) for zone: the
// record sets dnslb serves, and how many apex SOA and NS sets it skipped
// (the zone has its own). Anything else dnslb cannot serve (alias,
// latency, failover, geo, other types, health check ids of AWS) is an
// error naming the set, so that nothing is imported halfway.
func ParseRecordSets(data []byte, zone string) ([]Imported, int, error) {
	zone = record.Fqdn(zone)
	var doc struct{ ResourceRecordSets []jsonRecordSet }
	trimmed := bytes.TrimSpace(data)
	var err error
	if len(trimmed) > 0 && trimmed[0] == '[' {
		err = json.Unmarshal(trimmed, &doc.ResourceRecordSets)
	} else {
		err = json.Unmarshal(trimmed, &doc)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("not the JSON of aws route53 list-resource-record-sets: %w", err)
	}
	var out []Imported
	skipped := 0
	for i, rs := range doc.ResourceRecordSets {
		name := record.Fqdn(unescapeName(rs.Name))
		if (rs.Type == "SOA" || rs.Type == "NS") && name == zone {
			skipped++
			continue
		}
		imp, err := importOne(rs, name, zone)
		if err != nil {
			return nil, 0, fmt.Errorf("ResourceRecordSets[%d] (%s %s %s): %w", i, rs.Name, rs.Type, rs.SetIdentifier, err)
		}
		out = append(out, imp)
	}
	return out, skipped, nil
}

func importOne(rs jsonRecordSet, name, zone string) (Imported, error) {
	switch {
	case !record.InZone(name, zone):
		return Imported{}, fmt.Errorf("is not in zone %s", zone)
	case len(rs.AliasTarget) > 0:
		return Imported{}, fmt.Errorf("is an alias; dnslb serves record values only")
	case rs.Region != "" || rs.Failover != "" || len(rs.GeoLocation) > 0:
		return Imported{}, fmt.Errorf("uses latency, failover or geolocation routing; dnslb supports weighted and multivalue")
	case rs.HealthCheckID != "":
		return Imported{}, fmt.Errorf("has HealthCheckId %s, a health check of AWS; remove it and attach a dnslb check after the import", rs.HealthCheckID)
	case rs.TTL == nil || len(rs.ResourceRecords) == 0:
		return Imported{}, fmt.Errorf("has no TTL or no ResourceRecords")
	case *rs.TTL < 0 || *rs.TTL > record.MaxTTL:
		return Imported{}, fmt.Errorf("TTL %d is out of range; allowed 0..%d", *rs.TTL, int64(record.MaxTTL))
	}
	typ, err := record.ParseType("Type", rs.Type)
	if err != nil {
		return Imported{}, err
	}
	set := record.Set{Key: record.Key{Zone: zone, Name: name, Type: typ, SetID: rs.SetIdentifier}, TTL: uint32(*rs.TTL)}
	for _, rr := range rs.ResourceRecords {
		v := rr.Value
		if typ == record.TXT {
			v = unquoteTXT(v)
		}
		set.Values = append(set.Values, strings.TrimSpace(v))
	}
	imp := Imported{Set: set}
	switch {
	case rs.Weight != nil:
		imp.Set.Weight, imp.Policy = int(*rs.Weight), record.Weighted
	case rs.MultiValueAnswer != nil && *rs.MultiValueAnswer:
		imp.Set.Weight, imp.Policy = 1, record.Multivalue
	case rs.SetIdentifier != "":
		return Imported{}, fmt.Errorf("has a SetIdentifier but neither Weight nor MultiValueAnswer")
	}
	return imp, nil
}
