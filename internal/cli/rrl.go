package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/dnslb/dnslb/internal/dnsserver"
)

// dnsLimits are the flags of serve that limit DNS clients: response rate
// limiting over UDP and queries per TCP connection.
type dnsLimits struct {
	RRL           string        `name:"rrl" enum:"on,off" default:"on" help:"Response rate limiting of UDP answers (as BIND, Knot and NSD do): on or off."`
	RRLRate       int           `name:"rrl-rate" default:"100" help:"UDP responses per second per client /24 (IPv4) or /56 (IPv6), response kind and name; also the burst."`
	RRLSlip       int           `name:"rrl-slip" default:"2" help:"Every Nth response over the rate is sent empty with TC set (the client retries over TCP) instead of dropped; 0: drop all, 1: truncate all."`
	RRLWindow     time.Duration `name:"rrl-window" default:"5s" help:"How long an excess is remembered: a client that went over the rate is limited until under it for up to this long."`
	RRLExempt     []string      `name:"rrl-exempt" sep:"," placeholder:"CIDR" help:"Clients never rate limited (still counted), as CIDR prefixes or addresses. Nothing is exempt by default, loopback neither."`
	TCPMaxQueries int           `name:"tcp-max-queries" default:"0" help:"Queries one DNS TCP connection may send before the server closes it (gracefully, after answering them); 0: no limit."`
}

// rrl is the dnsserver RRL config of the flags, or the first flag out of
// range.
func (f *dnsLimits) rrl() (*dnsserver.RRL, error) {
	exempt, err := dnsserver.ParsePrefixes(f.RRLExempt)
	if err != nil {
		return nil, fmt.Errorf("--rrl-exempt %s: %w", strings.Join(f.RRLExempt, ","), err)
	}
	switch {
	case f.RRLRate < 1 || f.RRLRate > dnsserver.MaxRRLRate:
		return nil, fmt.Errorf("--rrl-rate %d: allowed 1 to %d", f.RRLRate, dnsserver.MaxRRLRate)
	case f.RRLSlip < 0 || f.RRLSlip > dnsserver.MaxRRLSlip:
		return nil, fmt.Errorf("--rrl-slip %d: allowed 0 to %d", f.RRLSlip, dnsserver.MaxRRLSlip)
	case f.RRLWindow < time.Second || f.RRLWindow > dnsserver.MaxRRLWindow:
		return nil, fmt.Errorf("--rrl-window %s: allowed 1s to %s", f.RRLWindow, dnsserver.MaxRRLWindow)
	case f.TCPMaxQueries < 0:
		return nil, fmt.Errorf("--tcp-max-queries %d: allowed 0 (no limit) or more", f.TCPMaxQueries)
	}
	return &dnsserver.RRL{Off: f.RRL == "off", Rate: f.RRLRate, Slip: f.RRLSlip, Window: f.RRLWindow, Exempt: exempt}, nil
}
