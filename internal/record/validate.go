package record

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Limits, as in Route 53 where Route 53 has one.
const (
	MaxWeight       = 255
	MaxSetIDLen     = 128
	MaxWeightedSets = 100        // weighted sets per name and type
	MaxValues       = 100        // values per set
	MaxTTL          = 2147483647 // RFC 2181 §8
	MaxTXTLen       = 4000       // characters per TXT value
)

// Zone defaults: a short negative-caching TTL so a name recovers as soon as
// an instance comes back.
const (
	DefaultNegativeTTL = 5
	DefaultSOATTL      = 900
)

// NewZone returns zone name (canonical) with default SOA and NS values:
// ns1.<zone> as the primary name server and hostmaster.<zone> as contact.
func NewZone(name string) Zone {
	ns := "ns1." + name
	return Zone{
		Name: name,
		SOA: SOA{
			MName: ns, RName: "hostmaster." + name, Serial: 1,
			Refresh: 3600, Retry: 600, Expire: 86400,
			Minimum: DefaultNegativeTTL, TTL: DefaultSOATTL,
		},
		NS: []string{ns},
	}
}

// Validate checks z and puts its names in canonical form.
func (z *Zone) Validate() error {
	name, err := ZoneName("name", z.Name)
	if err != nil {
		return err
	}
	z.Name = name
	if z.SOA.MName, err = Target("soa.mname", z.SOA.MName); err != nil {
		return err
	}
	if z.SOA.RName, err = Target("soa.rname", z.SOA.RName); err != nil {
		return err
	}
	if z.SOA.TTL > MaxTTL {
		return Errorf("soa.ttl", "%d is too large; allowed 0..%d", z.SOA.TTL, MaxTTL)
	}
	if z.SOA.Minimum > MaxTTL {
		return Errorf("soa.minimum", "%d is too large; allowed 0..%d", z.SOA.Minimum, MaxTTL)
	}
	if err := z.validateNS(); err != nil {
		return err
	}
	for n, p := range z.Policies {
		if _, err := ParsePolicy("policies["+n+"]", string(p)); err != nil {
			return err
		}
		if !InZone(n, z.Name) {
			return Errorf("policies["+n+"]", "%q is not inside zone %s", n, z.Name)
		}
	}
	return nil
}

// Normalize checks a record set given by a client for zone (canonical) and
// puts it in canonical form: absolute lower-case name, upper-case type,
// canonical values, state active when unset. Its check may probe the set's
// own addresses only (NormalizeFor with the zero CheckRules).
func (s *Set) Normalize(zone string) error {
	return s.NormalizeFor(zone, CheckRules{})
}

// normalize is Normalize without the rules of check targets.
func (s *Set) normalize(zone string) error {
	s.Zone = zone
	var err error
	if s.Name, err = Canonical("name", s.Name, zone); err != nil {
		return err
	}
	if s.Type, err = ParseType("type", string(s.Type)); err != nil {
		return err
	}
	if err := checkSetID(s.SetID); err != nil {
		return err
	}
	if s.Weighted() && (s.Weight < 0 || s.Weight > MaxWeight) {
		return Errorf("weight", "%d is out of range; allowed 0..%d", s.Weight, MaxWeight)
	}
	if !s.Weighted() && s.Weight != 0 {
		return Errorf("weight", "a weight needs a set_id; a set without set_id is a simple record")
	}
	if s.TTL > MaxTTL {
		return Errorf("ttl", "%d is too large; allowed 0..%d", s.TTL, MaxTTL)
	}
	if err := s.normalizeLiveness(); err != nil {
		return err
	}
	switch s.State {
	case "":
		s.State = Active
	case Active, Draining:
	default:
		return Errorf("state", "%q is not a state; allowed: active, draining", s.State)
	}
	return s.normalizeValues()
}

// Lease limits.
const (
	MinLease = time.Second
	MaxLease = 24 * time.Hour
)

func (s *Set) normalizeLiveness() error {
	if l := s.Lease.D(); l != 0 && (l < MinLease || l > MaxLease) {
		return Errorf("lease", "%s is out of range; allowed 0 (no lease) or %s..%s", l, MinLease, MaxLease)
	}
	if s.Check != nil {
		if err := s.Check.Normalize(false); err != nil {
			return err
		}
	}
	f, err := ParseForce("force", string(s.Force))
	s.Force = f
	return err
}

func checkSetID(id string) error {
	if len(id) > MaxSetIDLen {
		return Errorf("set_id", "is %d characters long; allowed 1..%d", len(id), MaxSetIDLen)
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return Errorf("set_id", "contains a control character; use printable characters")
		}
	}
	return nil
}

func (s *Set) normalizeValues() error {
	if len(s.Values) == 0 {
		return Errorf("values", "at least one value is required")
	}
	if len(s.Values) > MaxValues {
		return Errorf("values", "%d values given; at most %d are allowed", len(s.Values), MaxValues)
	}
	if s.Type == CNAME && len(s.Values) != 1 {
		return Errorf("values", "a CNAME set has exactly one value, got %d", len(s.Values))
	}
	seen := make(map[string]bool, len(s.Values))
	for i, v := range s.Values {
		field := fmt.Sprintf("values[%d]", i)
		nv, err := NormalizeValue(field, s.Type, v)
		if err != nil {
			return err
		}
		if seen[nv] {
			return Errorf(field, "%q is given twice; values of a set are distinct", v)
		}
		seen[nv] = true
		s.Values[i] = nv
	}
	return nil
}

// NormalizeValue checks one value of a record of type t and returns its
// canonical presentation form.
func NormalizeValue(field string, t Type, v string) (string, error) {
	switch t {
	case A, AAAA:
		return normalizeAddr(field, t, v)
	case CNAME:
		return Target(field, v)
	case TXT:
		if len(v) > MaxTXTLen {
			return "", Errorf(field, "is %d characters long; at most %d are allowed", len(v), MaxTXTLen)
		}
		return v, nil
	case MX:
		return normalizeFields(field, v, "PRIORITY HOST", 1)
	case SRV:
		return normalizeFields(field, v, "PRIORITY WEIGHT PORT TARGET", 3)
	}
	return "", Errorf("type", "%q is not supported", t)
}

func normalizeAddr(field string, t Type, v string) (string, error) {
	ip, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil || ip.Zone() != "" {
		return "", Errorf(field, "%q is not an IP address", v)
	}
	if t == A && !ip.Is4() {
		return "", Errorf(field, "%q is not an IPv4 address; A records take IPv4, use AAAA for IPv6", v)
	}
	if t == AAAA && (!ip.Is6() || ip.Is4In6()) {
		return "", Errorf(field, "%q is not an IPv6 address; AAAA records take IPv6, use A for IPv4", v)
	}
	return ip.String(), nil
}

// normalizeFields checks "N N ... HOST" values: nums 16-bit numbers then a host.
func normalizeFields(field, v, form string, nums int) (string, error) {
	parts := strings.Fields(v)
	if len(parts) != nums+1 {
		return "", Errorf(field, "%q does not have the form %q", v, form)
	}
	for _, p := range parts[:nums] {
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			return "", Errorf(field, "%q in %q is not a number 0..65535 (form %q)", p, v, form)
		}
	}
	host, err := Target(field, parts[nums])
	if err != nil {
		return "", err
	}
	parts[nums] = host
	return strings.Join(parts, " "), nil
}

// CheckNode checks the rules that span the record sets of one name, given
// all sets the name would have after a change to set changed:
// a name+type is either weighted or one simple set; at most MaxWeightedSets
// weighted sets per type; one TTL per weighted group (a writer gives the
// group the TTL written last before it checks); a CNAME stands alone and
// never at the zone apex. Errors name fields of the changed set.
func CheckNode(sets []Set, changed Key) error {
	var (
		weighted, simple int
		otherTypes       bool
		cname            bool
	)
	for i := range sets {
		s := &sets[i]
		if s.Type == CNAME {
			cname = true
		} else {
			otherTypes = true
		}
		switch {
		case s.Type != changed.Type:
		case s.Weighted():
			weighted++
		default:
			simple++
		}
	}
	if err := checkGroupTTL(sets, changed); err != nil {
		return err
	}
	switch {
	case weighted > 0 && simple > 0 && changed.SetID != "":
		return Errorf("set_id", "%s %s is a simple record; delete it before adding weighted sets", changed.Name, changed.Type)
	case weighted > 0 && simple > 0:
		return Errorf("set_id", "%s %s is weighted; a set_id is required", changed.Name, changed.Type)
	case weighted > MaxWeightedSets:
		return Errorf("set_id", "%s %s would have %d weighted sets; at most %d are allowed", changed.Name, changed.Type, weighted, MaxWeightedSets)
	case cname && changed.Name == changed.Zone:
		return Errorf("type", "a CNAME is not allowed at the zone apex %s", changed.Zone)
	case cname && otherTypes && changed.Type == CNAME:
		return Errorf("type", "%s already has records of other types; a CNAME must stand alone", changed.Name)
	case cname && otherTypes:
		return Errorf("type", "%s has a CNAME; no other records may share its name", changed.Name)
	}
	return nil
}

// checkGroupTTL reports weighted sets of changed's name and type whose
// TTLs differ, naming the changed set's TTL (when it is one of them) and
// the other.
func checkGroupTTL(sets []Set, changed Key) error {
	var ref *Set
	for i := range sets {
		if sets[i].Key == changed && sets[i].Weighted() {
			ref = &sets[i]
		}
	}
	for i := range sets {
		s := &sets[i]
		switch {
		case s.Type != changed.Type || !s.Weighted():
		case ref == nil:
			ref = s
		case s.TTL != ref.TTL:
			return Errorf("ttl", "weighted sets of %s %s share one TTL; set %s has %d, set %s has %d",
				changed.Name, changed.Type, ref.SetID, ref.TTL, s.SetID, s.TTL)
		}
	}
	return nil
}
