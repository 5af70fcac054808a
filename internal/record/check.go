package record

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Check configures a health check of a record set: a probe of Target every
// Interval, answered within Timeout; Rise passes in a row make the set
// healthy, Fall failures in a row make it unhealthy.
type Check struct {
	// Target is http://HOST:PORT/PATH, https://HOST:PORT/PATH or
	// tcp://HOST:PORT; exec:COMMAND is allowed for agent-side checks only.
	Target   string   `json:"target"`
	Interval Duration `json:"interval,omitempty"`
	Timeout  Duration `json:"timeout,omitempty"`
	Rise     int      `json:"rise,omitempty"`
	Fall     int      `json:"fall,omitempty"`
	// Match, when set, must occur in the first MaxMatchBytes of an HTTP body.
	Match string `json:"match,omitempty"`
	// VerifyTLS turns on certificate verification for https (off by
	// default, as in Route 53).
	VerifyTLS bool `json:"verify_tls,omitempty"`
	// StartUnhealthy makes a new set unhealthy until its first results;
	// by default it is healthy until then (Route 53).
	StartUnhealthy bool `json:"start_unhealthy,omitempty"`
	// ID, when set, is the Route 53 health check this check was made from
	// (package route53api): a record set's HealthCheckId.
	ID string `json:"id,omitempty"`
	// Addrs are the addresses of the set the check belongs to, for the
	// server's prober (Set.ServerCheck): what a target without host
	// (http://:PORT/PATH) probes, and what any target may reach without an
	// operator's allow-list (CheckRules). Never stored or sent.
	Addrs []netip.Addr `json:"-"`
}

// Check defaults and limits.
const (
	DefaultCheckInterval = 10 * time.Second
	DefaultCheckTimeout  = 2 * time.Second
	DefaultRise          = 2
	DefaultFall          = 3
	MinCheckInterval     = 100 * time.Millisecond
	MaxCheckInterval     = time.Hour
	MaxThreshold         = 10
	MaxMatchBytes        = 5120
)

// Normalize fills defaults and validates c. allowExec permits exec: targets
// (agent-side checks). Fields are named "check", "check_interval", ….
func (c *Check) Normalize(allowExec bool) error {
	if err := checkTarget(c.Target, allowExec); err != nil {
		return err
	}
	setDefault(&c.Interval, DefaultCheckInterval)
	setDefault(&c.Timeout, min(DefaultCheckTimeout, c.Interval.D())) // a short interval fits its timeout
	if c.Rise == 0 {
		c.Rise = DefaultRise
	}
	if c.Fall == 0 {
		c.Fall = DefaultFall
	}
	switch {
	case c.Interval.D() < MinCheckInterval || c.Interval.D() > MaxCheckInterval:
		return Errorf("check_interval", "%s is out of range; allowed %s..%s", c.Interval.D(), MinCheckInterval, MaxCheckInterval)
	case c.Timeout.D() <= 0 || c.Timeout.D() > c.Interval.D():
		return Errorf("check_timeout", "%s is out of range; allowed above 0 and at most the interval (%s)", c.Timeout.D(), c.Interval.D())
	case c.Rise < 1 || c.Rise > MaxThreshold:
		return Errorf("rise", "%d is out of range; allowed 1..%d", c.Rise, MaxThreshold)
	case c.Fall < 1 || c.Fall > MaxThreshold:
		return Errorf("fall", "%d is out of range; allowed 1..%d", c.Fall, MaxThreshold)
	case len(c.Match) > MaxMatchBytes:
		return Errorf("check_match", "is %d bytes long; at most %d are allowed", len(c.Match), MaxMatchBytes)
	case c.Match != "" && !strings.HasPrefix(c.Target, "http"):
		return Errorf("check_match", "needs an http:// or https:// check")
	}
	return nil
}

func setDefault(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

func checkTarget(target string, allowExec bool) error {
	const allowed = "http://HOST:PORT/PATH, https://HOST:PORT/PATH or tcp://HOST:PORT"
	if strings.HasPrefix(target, "exec:") {
		if !allowExec {
			return Errorf("check", "exec: checks run on the instance (dnslb agent); the server allows %s", allowed)
		}
		if strings.TrimSpace(strings.TrimPrefix(target, "exec:")) == "" {
			return Errorf("check", "exec: needs a command, e.g. exec:/usr/local/bin/healthy")
		}
		return nil
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return Errorf("check", "%q is not a check target; allowed %s", target, allowed)
	}
	switch u.Scheme {
	case "http", "https":
	case "tcp":
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" || (u.Path != "" && u.Path != "/") {
			return Errorf("check", "%q: a tcp check is tcp://HOST:PORT", target)
		}
	default:
		return Errorf("check", "scheme %q is not supported; allowed %s", u.Scheme, allowed)
	}
	return nil
}

// Duration is a time.Duration that reads and writes JSON as "15s" (or a
// number of seconds).
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalText writes d as Go duration text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads Go duration text ("1m30s") or a plain number of
// seconds.
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	if v, err := time.ParseDuration(s); err == nil {
		*d = Duration(v)
		return nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil && secs >= 0 {
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	return fmt.Errorf("%q is not a duration; use e.g. 10s, 1m30s", s)
}

// UnmarshalJSON reads a JSON string ("15s") or number (seconds). A value
// that is neither is a *json.UnmarshalTypeError, the one error the JSON
// decoder places at its field ("lease", "check.interval"), with Value the
// JSON text as sent.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if err := d.UnmarshalText([]byte(s)); err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[Duration]()}
	}
	return nil
}
