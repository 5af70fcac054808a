package record

import (
	"strings"
)

// MaxNameLen is the longest presentation name accepted, trailing dot
// included (255 octets on the wire).
const MaxNameLen = 254

// Fqdn returns s lower-cased with exactly one trailing dot.
func Fqdn(s string) string {
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	return s + "."
}

// ZoneName validates a zone origin and returns it in canonical form.
func ZoneName(field, s string) (string, error) {
	if s == "" || s == "." {
		return "", Errorf(field, "a zone name is required, e.g. lb.example.com")
	}
	name := Fqdn(s)
	if err := checkName(field, name); err != nil {
		return "", err
	}
	return name, nil
}

// Canonical resolves a record name given by a user against zone (which must
// already be canonical): "@" or "" is the apex, a name ending in a dot is
// absolute, a name that already ends with the zone is absolute, and anything
// else is relative to the zone. The result must lie inside the zone.
func Canonical(field, s, zone string) (string, error) {
	var name string
	switch {
	case s == "" || s == "@":
		name = zone
	case strings.HasSuffix(s, "."):
		name = Fqdn(s)
	default:
		name = Fqdn(s)
		if !InZone(name, zone) {
			name = Fqdn(s + "." + zone)
		}
	}
	if err := checkName(field, name); err != nil {
		return "", err
	}
	if !InZone(name, zone) {
		return "", Errorf(field, "%q is not inside zone %s", s, zone)
	}
	return name, nil
}

// InZone reports whether canonical name is zone itself or below it.
func InZone(name, zone string) bool {
	if zone == "." {
		return true
	}
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// Relative returns name relative to zone: "@" for the apex, "www" for
// "www.lb.test." in "lb.test.".
func Relative(name, zone string) string {
	if name == zone {
		return "@"
	}
	return strings.TrimSuffix(name, "."+zone)
}

// Target validates a host name used as record data (CNAME, MX, SRV targets)
// and returns it fully qualified. Targets are always absolute.
func Target(field, s string) (string, error) {
	if s == "" {
		return "", Errorf(field, "a host name is required")
	}
	if s == "." {
		return ".", nil // the root: "no service" for SRV, null MX (RFC 7505)
	}
	name := Fqdn(s)
	if err := checkName(field, name); err != nil {
		return "", err
	}
	return name, nil
}

// checkName validates a canonical, dot-terminated name: labels of 1..63
// letters, digits, '-' or '_', at most MaxNameLen characters in all.
func checkName(field, name string) error {
	if len(name) > MaxNameLen {
		return Errorf(field, "name is %d characters long; at most %d are allowed", len(name), MaxNameLen)
	}
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	for _, l := range labels {
		if l == "" {
			return Errorf(field, "%q has an empty label; labels are 1..63 characters", name)
		}
		if len(l) > 63 {
			return Errorf(field, "label %q is %d characters long; at most 63 are allowed", l, len(l))
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return Errorf(field, "%q contains %q; names may use letters, digits, '-' and '_'", name, c)
			}
		}
	}
	return nil
}
