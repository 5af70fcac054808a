package heartbeat

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RenewFunc renews the lease named by tok and records the reported health.
// ok is false when tok names no leased set here. It runs on the DNS
// server's loops when heartbeats share the DNS port, so it must neither
// block nor allocate.
type RenewFunc func(tok Token, health Health) (lease time.Duration, draining, ok bool)

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
	ok, unknown, badVersion, malformed, failed prometheus.Counter
}

// NewHandler returns a Handler for cfg.
func NewHandler(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	beats := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dnslb_heartbeats_total",
		Help: "Lease heartbeats received over UDP, by result: ok, unknown_token, bad_version, malformed (not answered), error.",
	}, []string{"result"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(beats)
	}
	return &Handler{renew: cfg.Renew, log: cfg.Logger,
		ok: beats.WithLabelValues("ok"), unknown: beats.WithLabelValues("unknown_token"),
		badVersion: beats.WithLabelValues("bad_version"), malformed: beats.WithLabelValues("malformed"),
		failed: beats.WithLabelValues("error")}
}

// Answer answers the datagram req into out (which needs AnswerSize bytes
// of capacity). ours is false for a datagram that is not a heartbeat (a
// DNS query, on a shared port); resp is nil for a heartbeat not worth an
// answer (malformed), and for one shorter than the answer would be: an
// answer is never larger than its request, so a spoofed source gains
// nothing by sending heartbeats.
func (h *Handler) Answer(req, out []byte) (resp []byte, ours bool) {
	if !IsHeartbeat(req) {
		return nil, false
	}
	a, answer := h.handle(req)
	if !answer || len(req) < AnswerSize {
		return nil, true
	}
	return a.Append(out[:0]), true
}

// handle answers one heartbeat; answer is false for one not worth an
// answer.
func (h *Handler) handle(b []byte) (a Answer, answer bool) {
	q, err := ParseRequest(b)
	a.Nonce = q.Nonce
	switch {
	case errors.Is(err, ErrVersion):
		h.badVersion.Inc()
		a.Status = StatusBadVersion
		return a, true
	case err != nil:
		h.malformed.Inc()
		return a, false
	}
	defer func() {
		if v := recover(); v != nil {
			h.failed.Inc()
			h.log.Error("heartbeat renewal panicked", "panic", v)
			a.Status, answer = StatusServerError, true
		}
	}()
	lease, draining, ok := h.renew(q.Token, q.Health)
	if !ok {
		h.unknown.Inc()
		a.Status = StatusUnknown
		return a, true
	}
	h.ok.Inc()
	a.Lease, a.Draining = lease, draining
	return a, true
}
