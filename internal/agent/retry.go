package agent

import (
	"log/slog"
	"math/rand/v2"
	"time"
)

// Default retry and call timings.
const (
	defaultBackoffMin     = 200 * time.Millisecond
	defaultBackoffMax     = 10 * time.Second
	defaultRequestTimeout = 5 * time.Second
	defaultIdentityWait   = 30 * time.Second
)

// backoff hands out the delays of a run of retries.
type backoff struct {
	cfg Backoff
	n   int // retries so far
}

// next is the delay before the next retry: between half and all of
// min(Min × 2^n, Max).
func (b *backoff) next() time.Duration {
	ceil := b.cfg.Max
	if b.n < 30 && b.cfg.Min<<b.n < b.cfg.Max {
		ceil = b.cfg.Min << b.n
	}
	b.n++
	return ceil/2 + rand.N(ceil/2+1)
}

// outage follows a run of failures of one kind of call: the first failure
// logs a warning (lost), the next ones log at debug level, and the first
// success after them logs one line (back). It spaces the retries with
// backoff.
type outage struct {
	what       string // what fails, e.g. "renewal"
	lost, back string // the two messages
	bo         backoff
	since      time.Time
}

// failed records a failure and returns how long to wait before retrying.
func (o *outage) failed(log *slog.Logger, err error) time.Duration {
	d := o.bo.next()
	if o.bo.n == 1 {
		o.since = time.Now()
		log.Warn(o.lost, "what", o.what, "err", err, "retry_in", d.String())
		return d
	}
	log.Debug("retrying", "what", o.what, "err", err, "try", o.bo.n, "retry_in", d.String())
	return d
}

// ok records a success, logging the end of an outage.
func (o *outage) ok(log *slog.Logger) {
	if o.bo.n == 0 {
		return
	}
	log.Info(o.back, "what", o.what, "failed_tries", o.bo.n, "after", time.Since(o.since).Round(time.Millisecond).String())
	o.bo.n = 0
}
