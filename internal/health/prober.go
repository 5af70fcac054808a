package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// Prober runs one probe; nil means pass. It honours the check's timeout and
// any earlier end of ctx. Errors name the target
// ("http://127.0.0.2:8080/health: status 500").
type Prober func(ctx context.Context, log *slog.Logger) error

// ErrTimeout reports a probe that did not finish within the check's timeout.
var ErrTimeout = errors.New("probe timed out")

// UserAgent is sent by HTTP(S) probes.
const UserAgent = "dnslb-health/1"

// NewProber returns the prober for c, which must already be normalized
// (record.Check.Normalize): http and https (GET; 2xx and 3xx pass; redirects
// are not followed; c.Match searched in the first record.MaxMatchBytes of the
// body), tcp (a connect) and exec:COMMAND (run by /bin/sh -c; exit status 0
// passes).
func NewProber(c record.Check) (Prober, error) {
	timeout := c.Timeout.D()
	if timeout <= 0 {
		return nil, fmt.Errorf("health: check %q: timeout %s is not positive; normalize the check first", c.Target, timeout)
	}
	if command, ok := strings.CutPrefix(c.Target, "exec:"); ok {
		return withTimeout(execProbe(command), c.Target, timeout), nil
	}
	u, err := url.Parse(c.Target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("health: check %q is not a check target; allowed http://, https://, tcp://, exec:", c.Target)
	}
	switch u.Scheme {
	case "http", "https":
		return withTimeout(httpProbe(c), c.Target, timeout), nil
	case "tcp":
		return withTimeout(tcpProbe(u.Host, &net.Dialer{}), c.Target, timeout), nil
	}
	return nil, fmt.Errorf("health: check %q: scheme %q is not supported; allowed http, https, tcp, exec:", c.Target, u.Scheme)
}

// withTimeout bounds probe by timeout and prefixes its errors with target.
func withTimeout(probe Prober, target string, timeout time.Duration) Prober {
	return func(ctx context.Context, log *slog.Logger) error {
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		ctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrTimeout)
		defer cancel()
		err := probe(ctx, log)
		switch {
		case err == nil:
			return nil
		case errors.Is(context.Cause(ctx), ErrTimeout):
			return fmt.Errorf("%s: %w after %s", target, ErrTimeout, timeout)
		}
		return fmt.Errorf("%s: %w", target, err)
	}
}
