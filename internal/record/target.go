package record

import (
	"net/netip"
	"net/url"
	"slices"
)

// CheckRules say which addresses a server-side health check may reach: the
// set's own addresses (the values of an A or AAAA set) and the addresses
// inside Allow, the operator's allow-list (serve --check-allow). The
// zero value allows the set's own addresses only.
//
// Loopback, link-local (169.254.169.254, the cloud metadata service,
// included), multicast and the AWS IPv6 metadata address are never "own":
// whoever may write a set chooses its values, and could otherwise point a
// check at the server's own loopback services or at the metadata service.
// Only Allow reaches them. Unspecified addresses (0.0.0.0, ::), which
// connect to the server itself, are never probed.
type CheckRules struct {
	Allow []netip.Prefix
}

// imdsV6 is the AWS instance metadata service over IPv6.
var imdsV6 = netip.MustParseAddr("fd00:ec2::254")

// Allows reports whether a probe may connect to addr, given own, the
// addresses of the set the check belongs to.
func (r CheckRules) Allows(addr netip.Addr, own []netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsUnspecified() || addr.Zone() != "" {
		return false
	}
	for _, p := range r.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return !special(addr) && slices.Contains(own, addr)
}

// special reports addresses that are the server's own or its platform's,
// which a set's values alone do not make probe-able.
func special(a netip.Addr) bool {
	return a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a == imdsV6
}

// OwnAddrs returns the addresses among s's values (A and AAAA sets; none
// for other types), unmapped.
func (s *Set) OwnAddrs() []netip.Addr {
	if s.Type != A && s.Type != AAAA {
		return nil
	}
	out := make([]netip.Addr, 0, len(s.Values))
	for _, v := range s.Values {
		if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// ServerCheck returns the check of s as the server's prober runs it: a
// copy with Addrs set to the set's own addresses; nil without a check.
func (s *Set) ServerCheck() *Check {
	if s.Check == nil {
		return nil
	}
	c := *s.Check
	c.Addrs = s.OwnAddrs()
	return &c
}

// NormalizeFor is Normalize with the check target held to rules: a
// server-side check probes an IP address that rules allow for this set, or
// the set's own addresses (a target without host: http://:PORT/PATH,
// tcp://:PORT). Normalize applies the zero CheckRules.
func (s *Set) NormalizeFor(zone string, rules CheckRules) error {
	if err := s.normalize(zone); err != nil {
		return err
	}
	if s.Check == nil {
		return nil
	}
	return rules.checkTarget(s.Check.Target, s.Type, s.OwnAddrs())
}

// targetAllowed is what every refusal of a check target says is allowed.
const targetAllowed = "allowed: the set's own addresses (http://:PORT/PATH or tcp://:PORT probes each of them), " +
	"except loopback, link-local and multicast ones, and addresses an operator allows with serve --check-allow CIDR,..."

// checkTarget checks a normalized server-side target against r for a set
// of type t with addresses own.
func (r CheckRules) checkTarget(target string, t Type, own []netip.Addr) error {
	u, err := url.Parse(target)
	if err != nil {
		return Errorf("check.target", "%q is not a check target", target) // Check.Normalize has parsed it
	}
	host := u.Hostname()
	if host == "" {
		return r.checkOwn(target, t, own)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return Errorf("check.target", "%q names a host; a server-side check probes an IP address, as a name could be re-pointed by DNS; %s", target, targetAllowed)
	}
	if !r.Allows(addr, own) {
		return Errorf("check.target", "%s is not an address this set may probe; %s", host, targetAllowed)
	}
	return nil
}

// checkOwn checks a target that probes the set's own addresses.
func (r CheckRules) checkOwn(target string, t Type, own []netip.Addr) error {
	if len(own) == 0 {
		return Errorf("check.target", "%q probes the set's own addresses, and a %s set has none; give an IP address an operator allows with serve --check-allow CIDR,...", target, t)
	}
	for _, a := range own {
		if !r.Allows(a, own) {
			return Errorf("check.target", "%q would probe %s, which is not an address this set may probe; %s", target, a, targetAllowed)
		}
	}
	return nil
}
