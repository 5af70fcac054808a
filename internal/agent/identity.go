package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// Identity is who this instance is in DNS: its set identifier and the
// address clients are sent to, plus descriptive labels (such as the
// availability zone).
type Identity struct {
	SetID   string
	Address netip.Addr
	Labels  map[string]string
}

// IdentitySource finds the identity of this instance.
type IdentitySource interface {
	Identity(ctx context.Context) (Identity, error)
}

// Static is an identity given on the command line.
type Static struct {
	SetID   string
	Address string
}

// Identity returns the configured identity.
func (s Static) Identity(context.Context) (Identity, error) {
	if s.SetID == "" {
		return Identity{}, permanentError{errors.New("--identity static needs --set-id")}
	}
	addr, err := netip.ParseAddr(s.Address)
	if err != nil {
		return Identity{}, permanentError{fmt.Errorf("--identity static needs --address: %q is not an IP address", s.Address)}
	}
	return Identity{SetID: s.SetID, Address: addr}, nil
}

// Host is the host name and the primary non-loopback address (IPv4
// preferred, else global IPv6). Address overrides the address when set.
type Host struct {
	Address string
}

// Identity returns the host's identity.
func (h Host) Identity(context.Context) (Identity, error) {
	name, err := os.Hostname()
	if err != nil {
		return Identity{}, fmt.Errorf("host name: %w", err)
	}
	if h.Address != "" {
		addr, err := netip.ParseAddr(h.Address)
		if err != nil {
			return Identity{}, permanentError{fmt.Errorf("--address %q is not an IP address", h.Address)}
		}
		return Identity{SetID: name, Address: addr}, nil
	}
	addr, err := primaryAddress()
	if err != nil {
		return Identity{}, err
	}
	return Identity{SetID: name, Address: addr}, nil
}

// primaryAddress returns the first global unicast address of an interface
// that is up, IPv4 before IPv6.
func primaryAddress() (netip.Addr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list interfaces: %w", err)
	}
	var v6 netip.Addr
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			if err != nil || !p.Addr().IsGlobalUnicast() {
				continue
			}
			if p.Addr().Is4() {
				return p.Addr(), nil
			}
			if !v6.IsValid() {
				v6 = p.Addr()
			}
		}
	}
	if v6.IsValid() {
		return v6, nil
	}
	return netip.Addr{}, errors.New("no non-loopback address found; use --address")
}

// EC2 reads the identity from the instance metadata service (IMDSv2, with
// a session token): instance-id as set id, the address chosen by From, and
// the availability zone as a label. SetID and Address, when given, win over
// what IMDS says.
type EC2 struct {
	Client *imds.Client
	// Endpoint is the client's IMDS address, for messages; "" means
	// DefaultIMDSEndpoint.
	Endpoint string
	// From picks the address: AddressPublic, AddressPrivate, AddressIPv6,
	// or "" for the public IPv4 when there is one, else the private IPv4,
	// else the IPv6 address.
	From string
	// SetID and Address override the discovered values.
	SetID, Address string
}

// The sources of an EC2 address (--address-from).
const (
	AddressPublic  = "public"
	AddressPrivate = "private"
	AddressIPv6    = "ipv6"
)

// DefaultIMDSEndpoint is where IMDS answers on EC2.
const DefaultIMDSEndpoint = "http://169.254.169.254"

// Identity asks IMDS. A first question left unanswered says that this is
// not EC2 (or that IMDS is blocked).
func (e EC2) Identity(ctx context.Context) (Identity, error) {
	id, err := metadata(ctx, e.Client, "instance-id")
	if err != nil {
		if errors.Is(err, ErrTokenUnanswered) {
			return Identity{}, err
		}
		at := e.Endpoint
		if at == "" {
			at = DefaultIMDSEndpoint
		}
		return Identity{}, fmt.Errorf("not on EC2 or IMDS unreachable at %s: %w", at, err)
	}
	if e.SetID != "" {
		id = e.SetID
	}
	addr, err := e.address(ctx)
	if err != nil {
		return Identity{}, err
	}
	az, _ := metadata(ctx, e.Client, "placement/availability-zone")
	return Identity{SetID: id, Address: addr, Labels: map[string]string{"az": az}}, nil
}

// address is Address when given, else the address IMDS has for From.
func (e EC2) address(ctx context.Context) (netip.Addr, error) {
	if e.Address != "" {
		addr, err := netip.ParseAddr(e.Address)
		if err != nil {
			return netip.Addr{}, permanentError{fmt.Errorf("--address %q is not an IP address", e.Address)}
		}
		return addr, nil
	}
	order := []string{AddressPublic, AddressPrivate, AddressIPv6}
	if e.From != "" {
		order = []string{e.From}
	}
	var missing []string
	for _, from := range order {
		addr, err := e.lookup(ctx, from)
		switch {
		case err == nil:
			return addr, nil
		case !notFound(err):
			return netip.Addr{}, err
		}
		missing = append(missing, from)
	}
	return netip.Addr{}, permanentError{fmt.Errorf("imds: this instance has no %s address (--address-from %s)",
		strings.Join(missing, " or "), strings.Join(missing, "|"))}
}

// lookup reads one kind of address from IMDS; IMDS's 404 means the
// instance has none.
func (e EC2) lookup(ctx context.Context, from string) (netip.Addr, error) {
	path := map[string]string{AddressPublic: "public-ipv4", AddressPrivate: "local-ipv4"}[from]
	if from == AddressIPv6 {
		mac, err := metadata(ctx, e.Client, "mac")
		if err != nil {
			return netip.Addr{}, err
		}
		path = "network/interfaces/macs/" + mac + "/ipv6s"
	}
	text, err := metadata(ctx, e.Client, path)
	if err != nil {
		return netip.Addr{}, err
	}
	first, _, _ := strings.Cut(text, "\n") // ipv6s lists one address a line
	addr, err := netip.ParseAddr(strings.TrimSpace(first))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("imds %s gave %q: not an IP address", path, text)
	}
	return addr, nil
}

// metadata reads one IMDS metadata path as trimmed text.
func metadata(ctx context.Context, c *imds.Client, path string) (string, error) {
	out, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		return "", fmt.Errorf("imds %s: %w", path, hint(err))
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, 64<<10))
	if err != nil {
		return "", fmt.Errorf("imds %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}
