package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"

	"github.com/dnslb/dnslb/internal/record"
)

// ErrNotAllowed reports a connection or redirect to an address a
// server-side check may not reach (record.CheckRules).
var ErrNotAllowed = errors.New("not an address this check may reach (the set's own addresses, or serve --check-allow)")

// NewServerProber returns the prober of a server-side check c, normalized
// and carrying its set's addresses (record.Set.ServerCheck). It probes as
// NewProber does, with these limits:
//   - it connects only to addresses rules allow for the set, checked on the
//     address dialed (after any name resolution, so DNS cannot re-point a
//     check);
//   - a target without host (http://:8080/health, tcp://:443) probes every
//     address of the set at once, and passes when all of them pass;
//   - an HTTP redirect (never followed) to an address the check may not
//     reach fails the probe;
//   - exec: checks are refused (they run on the instance).
func NewServerProber(c record.Check, rules record.CheckRules) (Prober, error) {
	timeout := c.Timeout.D()
	if timeout <= 0 {
		return nil, fmt.Errorf("health: check %q: timeout %s is not positive; normalize the check first", c.Target, timeout)
	}
	u, err := url.Parse(c.Target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "tcp") {
		return nil, fmt.Errorf("health: check %q is not a server-side check target; allowed http://, https://, tcp://", c.Target)
	}
	g := guard{rules: rules, own: c.Addrs}
	if u.Hostname() != "" {
		return withTimeout(g.probe(c, u), c.Target, timeout), nil
	}
	return withTimeout(g.eachOwn(c, u), c.Target, timeout), nil
}

// guard holds where one server-side check may connect.
type guard struct {
	rules record.CheckRules
	own   []netip.Addr
}

// probe is the guarded probe of c, whose target u has a host.
func (g guard) probe(c record.Check, u *url.URL) Prober {
	if u.Scheme == "tcp" {
		return tcpProbe(u.Host, g.dialer())
	}
	c.Target = u.String()
	client := newHTTPClient(c.VerifyTLS, g.dialer().DialContext)
	return httpGet(c, client, g.redirect)
}

// eachOwn probes every address of the set at target u (without host), in
// parallel; it fails with the failures of the addresses that failed.
func (g guard) eachOwn(c record.Check, u *url.URL) Prober {
	if len(g.own) == 0 {
		return func(context.Context, *slog.Logger) error {
			return errors.New("the set has no A or AAAA values to probe")
		}
	}
	probes := make([]Prober, len(g.own))
	for i, a := range g.own {
		ua := *u
		ua.Host = hostPort(a, u.Port())
		probes[i] = g.probe(c, &ua)
	}
	return func(ctx context.Context, log *slog.Logger) error {
		errs := make([]string, len(probes))
		var wg sync.WaitGroup
		for i, p := range probes {
			wg.Go(func() {
				if err := p(ctx, log); err != nil {
					errs[i] = fmt.Sprintf("%s: %v", g.own[i], err)
				}
			})
		}
		wg.Wait()
		return joinErrors(errs)
	}
}

// joinErrors joins the non-empty messages of errs on one line; nil when
// there are none.
func joinErrors(errs []string) error {
	var msgs []string
	for _, e := range errs {
		if e != "" {
			msgs = append(msgs, e)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// hostPort is the URL host of a and port (port may be empty).
func hostPort(a netip.Addr, port string) string {
	if port == "" {
		if a.Is6() {
			return "[" + a.String() + "]"
		}
		return a.String()
	}
	return net.JoinHostPort(a.String(), port)
}

// dialer returns a dialer that refuses, before connecting, any address
// the check may not reach.
func (g guard) dialer() *net.Dialer {
	return &net.Dialer{Control: g.control}
}

// control is the net.Dialer Control of guarded probes: it sees the address
// actually dialed.
func (g guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%s: %w", address, ErrNotAllowed)
	}
	if !g.rules.Allows(ap.Addr(), g.own) {
		return fmt.Errorf("%s: %w", ap.Addr(), ErrNotAllowed)
	}
	return nil
}

// redirect fails a 3xx answer whose Location leads to an address the
// check may not reach; redirects are never followed, and one within the
// allowed addresses passes as any 3xx does.
func (g guard) redirect(resp *http.Response) error {
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return nil
	}
	loc, err := resp.Location()
	switch {
	case errors.Is(err, http.ErrNoLocation):
		return nil
	case err != nil:
		return fmt.Errorf("status %d: Location: %w", resp.StatusCode, err)
	}
	if a, err := netip.ParseAddr(loc.Hostname()); err == nil && g.rules.Allows(a, g.own) {
		return nil
	}
	return fmt.Errorf("status %d: redirect to %s: %s: %w", resp.StatusCode, loc.Redacted(), loc.Hostname(), ErrNotAllowed)
}
