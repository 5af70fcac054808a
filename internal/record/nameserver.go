package record

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// MaxNameServers bounds the name servers of a zone: 13, the most a
// delegation from the root ever lists, and what fits a 512-byte NS answer.
const MaxNameServers = 13

// MaxNSAddresses bounds the addresses of one name server.
const MaxNSAddresses = 8

// validateNS checks z.NS and z.NSAddresses and puts their names and
// addresses in canonical form: at least one and at most MaxNameServers
// distinct host names; addresses only for names in NS inside the zone.
func (z *Zone) validateNS() error {
	if len(z.NS) == 0 {
		return Errorf("ns", "at least one name server is required")
	}
	if len(z.NS) > MaxNameServers {
		return Errorf("ns", "%d name servers given; at most %d are allowed", len(z.NS), MaxNameServers)
	}
	seen := make(map[string]bool, len(z.NS))
	for i := range z.NS {
		field := fmt.Sprintf("ns[%d]", i)
		name, err := Target(field, z.NS[i])
		if err != nil {
			return err
		}
		if name == "." {
			return Errorf(field, "the root is not a name server; give a host name such as ns1.%s", z.Name)
		}
		if seen[name] {
			return Errorf(field, "%q is given twice; name servers are distinct", z.NS[i])
		}
		seen[name] = true
		z.NS[i] = name
	}
	return z.validateNSAddresses(seen)
}

// validateNSAddresses checks the addresses of name servers, whose
// canonical names are in ns.
func (z *Zone) validateNSAddresses(ns map[string]bool) error {
	if len(z.NSAddresses) == 0 {
		z.NSAddresses = nil
		return nil
	}
	out := make(map[string][]string, len(z.NSAddresses))
	for _, given := range slices.Sorted(maps.Keys(z.NSAddresses)) {
		field := "ns_addresses[" + given + "]"
		name, err := Target(field, given)
		if err != nil {
			return err
		}
		switch {
		case !ns[name]:
			return Errorf(field, "%s is not a name server of the zone; list it in ns too", name)
		case !InZone(name, z.Name):
			return Errorf(field, "%s is outside zone %s; only name servers inside the zone take addresses (glue), the others are found by their own zone", name, z.Name)
		case out[name] != nil:
			return Errorf(field, "%s is given twice", name)
		}
		addrs, err := nsAddresses(field, z.NSAddresses[given])
		if err != nil {
			return err
		}
		out[name] = addrs
	}
	z.NSAddresses = out
	return nil
}

// nsAddresses checks the addresses of one name server: 1..MaxNSAddresses
// distinct IPv4 or IPv6 addresses, returned in canonical form.
func nsAddresses(field string, addrs []string) ([]string, error) {
	if len(addrs) == 0 {
		return nil, Errorf(field, "at least one address is required (IPv4 or IPv6)")
	}
	if len(addrs) > MaxNSAddresses {
		return nil, Errorf(field, "%d addresses given; at most %d are allowed", len(addrs), MaxNSAddresses)
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		f := fmt.Sprintf("%s[%d]", field, i)
		ip, err := netip.ParseAddr(strings.TrimSpace(a))
		if err != nil || ip.Zone() != "" || ip.Is4In6() {
			return nil, Errorf(f, "%q is not an IPv4 or IPv6 address", a)
		}
		out[i] = ip.String()
		if slices.Contains(out[:i], out[i]) {
			return nil, Errorf(f, "%q is given twice; addresses are distinct", a)
		}
	}
	return out, nil
}

// CheckNameServerSet refuses a record set that would compete with the
// addresses of a name server of z: at a name in NSAddresses, A and AAAA
// come from the zone and a CNAME may not stand.
func (z *Zone) CheckNameServerSet(k Key) error {
	if _, ok := z.NSAddresses[k.Name]; !ok {
		return nil
	}
	switch k.Type {
	case A, AAAA, CNAME:
		return Errorf("type", "%s is a name server of zone %s with addresses set on the zone (ns_addresses); its %s records come from there", k.Name, z.Name, k.Type)
	}
	return nil
}

// ParseNameServer reads a name server given as NAME or NAME=ADDR[,ADDR...]
// (a command-line flag) into its name and addresses, unchecked: Zone's
// Validate checks them.
func ParseNameServer(s string) (name string, addrs []string) {
	name, list, ok := strings.Cut(s, "=")
	if !ok {
		return name, nil
	}
	for _, a := range strings.Split(list, ",") {
		addrs = append(addrs, strings.TrimSpace(a))
	}
	return name, addrs
}
