package cli

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/dnslb/dnslb/internal/dnsserver"
)

// dnsIdentity are the flags of serve that say which server answered: the
// CHAOS names id.server. and hostname.bind. (--server-id), version.bind.
// and the NSID option of EDNS (RFC 5001).
//
// As Knot DNS and NSD, id.server. answers by default (with the host name);
// unlike them, version.bind. does not: both answer it by default, but a
// version tells an attacker what to try, so here it takes --chaos-version.
// NSID is off by default, as in NSD and CoreDNS; --nsid turns it on with
// the server id, as CoreDNS's nsid plugin does with the host name.
type dnsIdentity struct {
	NSID         bool   `name:"nsid" help:"Add the server's identity to replies to queries that ask for it with the EDNS NSID option (RFC 5001), as dig +nsid does: the --server-id, or --nsid-value."`
	NSIDValue    string `name:"nsid-value" placeholder:"TEXT|0xHEX" help:"NSID to send instead of the --server-id: text, or bytes in hex after 0x (as Knot DNS); implies --nsid."`
	ChaosVersion bool   `name:"chaos-version" help:"Answer CHAOS TXT queries for version.bind. and version.server. with the dnslb version (REFUSED by default)."`
	HideIdentity bool   `name:"hide-identity" help:"Refuse CHAOS TXT queries for id.server. and hostname.bind. (by default answered with the --server-id)."`
}

// serverID is --server-id, or the host name when it is not given.
func (c *ServeCmd) serverID() string {
	if c.ServerID != "" {
		return c.ServerID
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "dnslb"
}

// identity turns the flags into the DNS server's Identity; validate has
// checked them.
func (c *ServeCmd) identity() dnsserver.Identity {
	var id dnsserver.Identity
	if !c.HideIdentity {
		id.ID = c.serverID()
	}
	if c.ChaosVersion {
		id.Version = "dnslb " + versionOf(readBuildInfo(), Version).Version
	}
	if c.NSID || c.NSIDValue != "" {
		id.NSID, _ = parseNSID(c.NSIDValue, c.serverID())
	}
	return id
}

// validateIdentity checks --server-id and --nsid-value.
func (c *ServeCmd) validateIdentity() error {
	if len(c.ServerID) > 255 {
		return fmt.Errorf("--server-id: %d characters; at most 255 are allowed", len(c.ServerID))
	}
	if strings.ContainsFunc(c.ServerID, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("--server-id %q: contains a control character; use printable characters", c.ServerID)
	}
	if _, err := parseNSID(c.NSIDValue, c.serverID()); err != nil {
		return fmt.Errorf("--nsid-value %q: %w", c.NSIDValue, err)
	}
	return nil
}

// parseNSID reads an NSID given as text or as 0x and hex digits (Knot
// DNS's form); empty means id.
func parseNSID(v, id string) ([]byte, error) {
	b := []byte(v)
	if v == "" {
		b = []byte(id)
	}
	if h, ok := strings.CutPrefix(v, "0x"); ok {
		var err error
		if b, err = hex.DecodeString(h); err != nil || len(b) == 0 {
			return nil, fmt.Errorf("after 0x come hex digits, two per byte, e.g. 0x6e7331")
		}
	}
	if len(b) > dnsserver.MaxNSID {
		return nil, fmt.Errorf("%d bytes; at most %d are allowed", len(b), dnsserver.MaxNSID)
	}
	return b, nil
}
