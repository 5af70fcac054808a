package agent

import (
	"log/slog"
	"testing"
	"time"

	"github.com/dnslb/dnslb/internal/registry"
)

const (
	msgLost      = "server lost: renewals fail; retrying with backoff"
	msgRetry     = "retrying"
	msgRecovered = "renewals recovered"
)

// retries are the retry_in values logged for failed renewals, in order.
func retries(l *logs) []time.Duration {
	var out []time.Duration
	for _, r := range l.all() {
		if (r.Message == msgLost || r.Message == msgRetry) && attr(r, "what") == "renewal" {
			d, _ := time.ParseDuration(attr(r, "retry_in"))
			out = append(out, d)
		}
	}
	return out
}

// TestRenewalsBackOffAndLogOnce: while the server is down, renewals are
// retried with exponential backoff and jitter (capped), with one warning
// when the server is lost, debug lines for the retries, and one line when
// renewals recover.
func TestRenewalsBackOffAndLogOnce(t *testing.T) {
	reg := testRegistry(t)
	g := newGate(t, startNode(t, reg).url, open)
	l := newLogs()
	a := fastAgent(clients(t, g.url()), l.logger())
	a.cfg.HTTPOnly = true
	r := run(t, a)
	l.wait(t, 5*time.Second, "registration", func() bool { return l.count(slog.LevelInfo, "registered") == 1 })
	g.set(down)
	l.wait(t, 5*time.Second, "six failed renewals", func() bool { return len(retries(l)) >= 6 })
	g.set(open)
	l.wait(t, 5*time.Second, "recovery", func() bool { return l.count(slog.LevelInfo, msgRecovered) == 1 })

	if n := l.count(slog.LevelWarn, msgLost); n != 1 {
		t.Errorf("%d warnings %q, want 1; log:\n%s", n, msgLost, l)
	}
	for _, rec := range l.all() {
		if rec.Level >= slog.LevelWarn && rec.Message != msgLost {
			t.Errorf("unexpected %s %q (retries log at debug)", rec.Level, rec.Message)
		}
	}
	ds := retries(l)
	for i, d := range ds {
		ceil := min(a.cfg.Backoff.Min<<i, a.cfg.Backoff.Max)
		if d < ceil/2 || d > ceil {
			t.Errorf("retry %d after %s, want within [%s, %s]; all: %v", i+1, d, ceil/2, ceil, ds)
		}
	}
	r.drain <- "test"
	if err, _ := r.wait(t, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestBlackHoleNeitherFreezesRenewalsNorHoldsTheDrain: a server that
// accepts connections and never answers costs each call its own deadline:
// renewals time out and are retried, and a drain asked for meanwhile falls
// back to deregistering blind and waiting TTL + margin, in bounded time.
func TestBlackHoleNeitherFreezesRenewalsNorHoldsTheDrain(t *testing.T) {
	reg := testRegistry(t)
	g := newGate(t, startNode(t, reg).url, open)
	l := newLogs()
	a := fastAgent(clients(t, g.url()), l.logger())
	a.cfg.HTTPOnly = true
	r := run(t, a)
	l.wait(t, 5*time.Second, "registration", func() bool { return l.count(slog.LevelInfo, "registered") == 1 })
	g.set(hole)
	l.wait(t, 5*time.Second, "three renewals timed out", func() bool { return len(retries(l)) >= 3 })

	r.drain <- "test"
	err, took := r.wait(t, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ttlMargin := time.Duration(a.cfg.TTL) * time.Second
	if limit := ttlMargin + 4*a.cfg.RequestTimeout + 500*time.Millisecond; took < ttlMargin || took > limit {
		t.Errorf("the drain took %s; want TTL + margin (%s) and at most %s", took, ttlMargin, limit)
	}
	if l.count(slog.LevelError, "drain through the server failed; deregistering and waiting TTL + margin") != 1 {
		t.Errorf("no blind drain; log:\n%s", l)
	}
	t.Logf("drain against a black hole took %s (TTL + margin %s, request timeout %s)", took.Round(time.Millisecond), ttlMargin, a.cfg.RequestTimeout)
}

// TestFailover: with several servers the agent registers, renews, drains
// and deregisters through the first that answers, and sends heartbeats to
// the server that answered its last HTTP renewal. The servers share one
// registry, as the servers of a cluster share one state.
func TestFailover(t *testing.T) {
	t.Run("first black-holed from the start", func(t *testing.T) {
		reg := testRegistry(t)
		first, second := startNode(t, reg), startNode(t, reg)
		g := newGate(t, first.url, hole)
		l := newLogs()
		r := run(t, fastAgent(clients(t, g.url(), second.url), l.logger()))
		waitHeartbeatsTo(t, l, second)
		if !registered(t, reg) {
			t.Fatal("not registered")
		}
		leave(t, r, reg, l)
		if n := l.count(slog.LevelInfo, "failed over"); n != 1 {
			t.Errorf("%d lines \"failed over\", want 1 (the agent stays with the server that answers); log:\n%s", n, l)
		}
		if n := first.beats.Load(); n != 0 {
			t.Errorf("%d heartbeats went to the black-holed server", n)
		}
	})
	t.Run("first lost after registration", func(t *testing.T) {
		reg := testRegistry(t)
		first, second := startNode(t, reg), startNode(t, reg)
		g := newGate(t, first.url, open)
		l := newLogs()
		r := run(t, fastAgent(clients(t, g.url(), second.url), l.logger()))
		waitHeartbeatsTo(t, l, first)
		g.set(hole)
		first.stopHB()
		waitHeartbeatsTo(t, l, second)
		leave(t, r, reg, l)
	})
	t.Run("drain fails over", func(t *testing.T) {
		reg := testRegistry(t)
		first, second := startNode(t, reg), startNode(t, reg)
		g := newGate(t, first.url, open)
		l := newLogs()
		a := fastAgent(clients(t, g.url(), second.url), l.logger())
		a.cfg.HTTPOnly = true
		r := run(t, a)
		l.wait(t, 5*time.Second, "registration", func() bool { return l.count(slog.LevelInfo, "registered") == 1 })
		g.set(hole)
		leave(t, r, reg, l)
		if l.count(slog.LevelInfo, "draining: out of new answers") != 1 {
			t.Errorf("the drain did not go through the second server; log:\n%s", l)
		}
	})
}

// waitHeartbeatsTo waits until the agent sends heartbeats to n.
func waitHeartbeatsTo(t *testing.T, l *logs, n *node) {
	t.Helper()
	to := n.hb.Addr().String()
	l.wait(t, 5*time.Second, "heartbeats to "+to, func() bool {
		for _, r := range l.all() {
			if r.Message == "renewing by UDP heartbeat" && attr(r, "to") == to {
				return true
			}
		}
		return false
	})
}

// leave drains the agent and checks that it deregistered and returned nil.
func leave(t *testing.T, r *running, reg *registry.Registry, l *logs) {
	t.Helper()
	r.drain <- "test"
	err, took := r.wait(t, 5*time.Second)
	if err != nil {
		t.Fatalf("Run: %v; log:\n%s", err, l)
	}
	if l.count(slog.LevelInfo, "deregistered") != 1 || registered(t, reg) {
		t.Errorf("not deregistered; log:\n%s", l)
	}
	t.Logf("left in %s", took.Round(time.Millisecond))
}

// TestDrainEndsWhenTheServerGoesSilentMidway: a server that accepted the
// drain and then stops answering does not hold the agent: it leaves once
// the larger of the server's remaining time and TTL + margin has passed.
func TestDrainEndsWhenTheServerGoesSilentMidway(t *testing.T) {
	reg := testRegistry(t)
	g := newGate(t, startNode(t, reg).url, open)
	l := newLogs()
	a := fastAgent(clients(t, g.url()), l.logger())
	a.cfg.HTTPOnly = true
	r := run(t, a)
	l.wait(t, 5*time.Second, "registration", func() bool { return l.count(slog.LevelInfo, "registered") == 1 })
	start := time.Now()
	r.drain <- "test"
	l.wait(t, 5*time.Second, "the drain", func() bool { return l.count(slog.LevelInfo, "draining: out of new answers") == 1 })
	g.set(hole)
	if err, _ := r.wait(t, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	ttlMargin := time.Duration(a.cfg.TTL) * time.Second
	if limit := ttlMargin + 4*a.cfg.RequestTimeout + 500*time.Millisecond; took > limit {
		t.Errorf("the drain took %s; want at most %s", took, limit)
	}
	if l.count(slog.LevelWarn, "the drain cannot be read but TTL + margin has passed; leaving") != 1 {
		t.Errorf("the agent did not give up on the silent server; log:\n%s", l)
	}
	t.Logf("drain with a server silent midway took %s (TTL + margin %s)", took.Round(time.Millisecond), ttlMargin)
}
