package heartbeat

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Verdict is what a RenewFunc made of a heartbeat.
type Verdict uint8

// Verdicts. Only Renewed and RenewOverHTTP are answered: the others are
// not proven to come from the key's holder, or replay one that was.
const (
	Renewed       Verdict = iota // the lease was renewed
	RenewOverHTTP                // authentic, but renew over HTTP first (no counter floor here, no lease, or shed)
	NoKey                        // no key with that id here
	BadMAC                       // the MAC is not the key's
	Replay                       // the counter is not greater than one accepted before
	failed        Verdict = 255  // the RenewFunc panicked
)

// Result is a RenewFunc's answer.
type Result struct {
	Verdict  Verdict
	Key      *Key // the set's key, which signs the answer (Renewed, RenewOverHTTP)
	Lease    time.Duration
	Draining bool
}

// RenewFunc looks up the key named by q.Token, verifies q (Request.Verify)
// and its counter, and renews the lease with the reported health. It runs
// on the DNS server's loops when heartbeats share the DNS port, so it must
// neither block nor allocate.
type RenewFunc func(q Request) Result

// Config configures a Handler.
type Config struct {
	Renew      RenewFunc
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
}

// Handler answers heartbeat datagrams, wherever they were read: on the
// DNS port (dnsserver.Config.Datagram) or on a socket of their own
// (Server).
type Handler struct {
	renew RenewFunc
	log   *slog.Logger
	// counters by result, resolved once so that a heartbeat costs no
	// label lookup
	ok, unknown, noKey, badMAC, replay, badVersion, malformed, failed prometheus.Counter
}

// NewHandler returns a Handler for cfg.
func NewHandler(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	beats := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dnslb_heartbeats_total",
		Help: "Lease heartbeats received over UDP, by result: ok, renew_http (authentic; told to renew over HTTP); not answered: unknown_token, bad_mac, replay, bad_version, malformed, error.",
	}, []string{"result"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(beats)
	}
	return &Handler{renew: cfg.Renew, log: cfg.Logger,
		ok: beats.WithLabelValues("ok"), unknown: beats.WithLabelValues("renew_http"),
		noKey: beats.WithLabelValues("unknown_token"), badMAC: beats.WithLabelValues("bad_mac"),
		replay: beats.WithLabelValues("replay"), badVersion: beats.WithLabelValues("bad_version"),
		malformed: beats.WithLabelValues("malformed"), failed: beats.WithLabelValues("error")}
}

// Answer answers the datagram req into out (which needs AnswerSize bytes
// of capacity). ours is false for a datagram that is not a heartbeat (a
// DNS query, on a shared port); resp is nil for a heartbeat not answered
// (malformed, unauthenticated or replayed), and for one shorter than the
// answer would be: an answer is never larger than its request, so a
// spoofed source gains nothing by sending heartbeats.
func (h *Handler) Answer(req, out []byte) (resp []byte, ours bool) {
	if !IsHeartbeat(req) {
		return nil, false
	}
	a, key := h.handle(req)
	if key == nil || len(req) < AnswerSize {
		return nil, true
	}
	return a.Append(out[:0], key), true
}

// handle answers one heartbeat; key, which signs the answer, is nil for
// one not answered.
func (h *Handler) handle(b []byte) (a Answer, key *Key) {
	q, err := ParseRequest(b)
	switch {
	case errors.Is(err, ErrVersion):
		h.badVersion.Inc()
		return a, nil
	case err != nil:
		h.malformed.Inc()
		return a, nil
	}
	a.Counter = q.Counter
	res := h.renewSafely(q)
	switch res.Verdict {
	case Renewed:
		h.ok.Inc()
		a.Lease, a.Draining = res.Lease, res.Draining
	case RenewOverHTTP:
		h.unknown.Inc()
		a.Status = StatusUnknown
	case NoKey:
		h.noKey.Inc()
	case BadMAC:
		h.badMAC.Inc()
	case Replay:
		h.replay.Inc()
	}
	return a, res.Key
}

// renewSafely calls renew; one that panics counts as an error, and the
// heartbeat goes unanswered (the agent renews over HTTP).
func (h *Handler) renewSafely(q Request) (res Result) {
	defer func() {
		if v := recover(); v != nil {
			h.failed.Inc()
			h.log.Error("heartbeat renewal panicked", "panic", v)
			res = Result{Verdict: failed}
		}
	}()
	res = h.renew(q)
	if res.Verdict > RenewOverHTTP {
		res.Key = nil
	}
	return res
}
