package webhook

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dnslb/dnslb/internal/record"
)

// MediaType is the content type of every request and answer of the
// protocol, version 1.
const MediaType = "application/external.dns.webhook+json;version=1"

// Endpoint is external-dns's endpoint.Endpoint as it travels in JSON.
type Endpoint struct {
	DNSName          string            `json:"dnsName,omitempty"`
	Targets          []string          `json:"targets,omitempty"`
	RecordType       string            `json:"recordType,omitempty"`
	SetIdentifier    string            `json:"setIdentifier,omitempty"`
	RecordTTL        int64             `json:"recordTTL,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
	ProviderSpecific []Property        `json:"providerSpecific,omitempty"`
}

// Property is external-dns's endpoint.ProviderSpecificProperty.
type Property struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// Changes is external-dns's plan.Changes.
type Changes struct {
	Create    []*Endpoint `json:"create,omitempty"`
	UpdateOld []*Endpoint `json:"updateOld,omitempty"`
	UpdateNew []*Endpoint `json:"updateNew,omitempty"`
	Delete    []*Endpoint `json:"delete,omitempty"`
}

// DomainFilter is the negotiation answer: external-dns's
// endpoint.DomainFilter in JSON.
type DomainFilter struct {
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
}

// Provider-specific properties read for the weight of a weighted set.
const (
	WeightProperty        = "aws/weight"     // external-dns.kubernetes.io/aws-weight
	WebhookWeightProperty = "webhook/weight" // external-dns.kubernetes.io/webhook-weight
)

// Defaults of what an endpoint may leave out.
const (
	DefaultTTL    = 300 // external-dns's own default
	DefaultWeight = 10  // as dnslb agent --weight
)

// property returns the value of the provider-specific property name.
func (e *Endpoint) property(name string) (string, bool) {
	for _, p := range e.ProviderSpecific {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// weight is the weight e asks for: aws/weight, else webhook/weight, else
// DefaultWeight.
func (e *Endpoint) weight() (int, error) {
	for _, name := range []string{WeightProperty, WebhookWeightProperty} {
		v, ok := e.property(name)
		if !ok {
			continue
		}
		w, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || w < 0 || w > record.MaxWeight {
			return 0, record.Errorf("providerSpecific "+name, "%q is not a weight; allowed 0..%d", v, record.MaxWeight)
		}
		return w, nil
	}
	return DefaultWeight, nil
}

// toSet converts e to the record set it stands for in zone (canonical),
// validated. ttlDefault reports that e gave no TTL.
func toSet(e *Endpoint, zone string) (set record.Set, ttlDefault bool, err error) {
	typ, err := record.ParseType("recordType", e.RecordType)
	if err != nil {
		return record.Set{}, false, err
	}
	name, err := record.Canonical("dnsName", record.Fqdn(e.DNSName), zone)
	if err != nil {
		return record.Set{}, false, err
	}
	set = record.Set{Key: record.Key{Zone: zone, Name: name, Type: typ, SetID: e.SetIdentifier},
		TTL: uint32(e.RecordTTL), Values: append([]string(nil), e.Targets...), State: record.Active}
	if e.RecordTTL <= 0 || e.RecordTTL > record.MaxTTL {
		if e.RecordTTL != 0 {
			return record.Set{}, false, record.Errorf("recordTTL", "%d is not allowed; allowed 1..%d", e.RecordTTL, record.MaxTTL)
		}
		set.TTL, ttlDefault = DefaultTTL, true
	}
	if set.Weighted() {
		if set.Weight, err = e.weight(); err != nil {
			return record.Set{}, false, err
		}
	}
	if err := set.NormalizeFor(zone, record.CheckRules{}); err != nil {
		return record.Set{}, false, err
	}
	return set, ttlDefault, nil
}

// fromSet is the endpoint external-dns is shown for set.
func fromSet(set *record.Set) *Endpoint {
	e := &Endpoint{DNSName: strings.TrimSuffix(set.Name, "."), RecordType: string(set.Type),
		SetIdentifier: set.SetID, RecordTTL: int64(set.TTL)}
	for _, v := range set.Values {
		if set.Type == record.CNAME || set.Type == record.MX || set.Type == record.SRV {
			v = strings.TrimSuffix(v, ".") // external-dns writes host names without the root dot
		}
		e.Targets = append(e.Targets, v)
	}
	if set.Weighted() {
		e.ProviderSpecific = []Property{{Name: WeightProperty, Value: strconv.Itoa(set.Weight)}}
	}
	return e
}

// describe names e in logs and errors.
func (e *Endpoint) describe() string {
	s := fmt.Sprintf("%s %s", e.DNSName, e.RecordType)
	if e.SetIdentifier != "" {
		s += " set " + e.SetIdentifier
	}
	return s
}
