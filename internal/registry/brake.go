package registry

import (
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// The mass-expiry brake. A lease that lapses takes its set out of answers:
// the instance stopped renewing, so it is gone. That is wrong in one case
// only: when it is this server that stopped hearing from the fleet (its
// own network broke), every lease lapses within one lease, and expiring
// them all would empty every name for no reason. The brake tells the two
// apart by evidence, counted over the whole server:
//
//   - Renewals collapsed: of the server's leases (active, not expired), at
//     most one in brakeFloor renewed within the last half of its lease
//     (an agent renews every third), and there are at least brakeMinLeases
//     of them. One name's sets lapsing together (a batch of kill -9s, an
//     availability zone lost) leaves the other names renewing: no collapse.
//     On a small server the same rule holds: 3 dead sets beside 1 renewing
//     is 25% renewing, no collapse; 2 sets both silent is a collapse (a
//     server cannot tell that from its own isolation), held at most
//     BrakeMax.
//   - A name still renews: a set whose name has a set renewed within the
//     last half lease proves the network to that name works, so it
//     expires even while the brake is on.
//
// While the brake holds, lapsed sets stay in answers and are listed as
// held (since, until). It lets go when renewals return (each held set gets
// one more lease to renew), when an operator releases it, or at BrakeMax
// after engaging: then the held sets expire at a limited pace (a tenth of
// them a second, at least brakeMinRate), and the brake stays off until
// renewals return.

const (
	brakeFloor     = 10 // collapse: at most 1 in brakeFloor leases renewing
	brakeMinLeases = 2  // no collapse with fewer leases than this
	brakeMinRate   = 10 // held sets let go a second past BrakeMax, at least
	brakeRecheck   = time.Second
	brakeLetStep   = 100 * time.Millisecond
)

type brakeState int

const (
	brakeArmed    brakeState = iota // off; engages on a collapse
	brakeHolding                    // holding lapsed sets in answers
	brakeLetting                    // past BrakeMax: letting held sets go, rate-limited
	brakeReleased                   // released or timed out; re-arms when renewals return
)

var brakeStates = [...]string{"off", "holding", "letting-go", "released"}

// brake is the brake's state, owned by the lease engine (under leases.mu).
type brake struct {
	state    brakeState
	since    time.Time // engaged
	until    time.Time // since + BrakeMax
	held     []*lease  // oldest lapse first; entries no longer held are skipped
	let      int       // held sets let go since until
	rate     float64   // per second, from until
	stepAt   time.Time // holding or letting go: step again
	reason   string    // of the last release
	leases   int       // at the last step: leases counted
	renewing int       // and of those renewing
}

// next is when the brake must step again; zero when it need not.
func (b *brake) next() time.Time {
	if b.state == brakeHolding || b.state == brakeLetting {
		return b.stepAt
	}
	return time.Time{}
}

// plan sets when the brake steps next: while holding, every brakeRecheck
// (renewals may have returned) and at until; while letting go, at the
// pace of the rate, at most every brakeLetStep.
func (b *brake) plan(now time.Time) {
	switch b.state {
	case brakeHolding:
		b.stepAt = now.Add(brakeRecheck)
		if b.until.After(now) && b.until.Before(b.stepAt) {
			b.stepAt = b.until
		}
	case brakeLetting:
		b.stepAt = now.Add(max(brakeLetStep, time.Duration(float64(time.Second)/b.rate)))
	}
}

// brakeStep applies the brake to the leases lapsing now and moves it on.
// Callers hold e.mu.
func (e *leases) brakeStep(now time.Time, lapsing []*lease) {
	b := &e.brake
	if e.opts.BrakeMax < 0 {
		for _, l := range lapsing {
			e.expireLocked(l, now)
		}
		return
	}
	if len(lapsing) == 0 && (b.state == brakeArmed || b.state == brakeReleased || now.Before(b.next())) {
		return // nothing lapsed, and no step due: no census
	}
	collapsed, back := e.census(now)
	switch {
	case b.state == brakeArmed && collapsed && len(lapsing) > 0:
		e.engage(now)
	case (b.state == brakeHolding || b.state == brakeLetting) && back:
		e.recovered(now)
	case b.state == brakeHolding && !now.Before(b.until):
		e.startLetting()
	case b.state == brakeReleased && back:
		b.state = brakeArmed
		e.log.Info("renewals returned: the mass-expiry brake is armed again", "leases", b.leases, "renewing", b.renewing)
	}
	alive := map[nameKey]bool{}
	for _, l := range lapsing {
		if (b.state == brakeHolding || b.state == brakeLetting) && !e.nameAlive(l, now, alive) {
			l.held, l.heldAt = true, instantOf(now)
			b.held = append(b.held, l)
			continue
		}
		e.expireLocked(l, now)
	}
	if b.state == brakeLetting {
		e.letGo(now)
	}
	b.plan(now)
	e.brakeMetrics()
}

// census counts the leases and those renewing, and reports a collapse,
// or renewals back (more than one in brakeFloor renewing: leases merely
// expiring, so that fewer than brakeMinLeases are left, are no sign of
// recovery). It walks every lease: it runs only when leases lapse or the
// brake is on.
func (e *leases) census(now time.Time) (collapsed, back bool) {
	total, renewing := 0, 0
	for _, l := range e.byKey {
		if !l.counts() {
			continue
		}
		total++
		if !l.held && l.fresh(now) {
			renewing++
		}
	}
	e.brake.leases, e.brake.renewing = total, renewing
	return total >= brakeMinLeases && renewing*brakeFloor <= total, renewing > 0 && renewing*brakeFloor > total
}

// nameAlive reports whether a set of l's name renews: proof that the
// network to that name's instances works. memo caches by name.
func (e *leases) nameAlive(l *lease, now time.Time, memo map[nameKey]bool) bool {
	n := nameOf(l.key)
	if alive, ok := memo[n]; ok {
		return alive
	}
	alive := false
	for _, m := range e.byName[n] {
		if m.counts() && !m.held && m.fresh(now) {
			alive = true
			break
		}
	}
	memo[n] = alive
	return alive
}

func (e *leases) engage(now time.Time) {
	b := &e.brake
	b.state, b.since, b.until, b.let, b.reason = brakeHolding, now, now.Add(e.opts.BrakeMax), 0, ""
	e.log.Warn("mass-expiry brake engaged: renewals across the whole server stopped; lapsed leases stay in answers",
		"leases", b.leases, "renewing", b.renewing, "until", b.until)
}

// recovered ends the brake because renewals returned: each held set gets
// one more lease to renew before it lapses again.
func (e *leases) recovered(now time.Time) {
	b := &e.brake
	n := 0
	for _, l := range e.heldNow() {
		l.held, l.deadline = false, instantOf(now.Add(l.ttl))
		e.schedule(l, l.deadline.time())
		n++
	}
	b.held, b.state, b.reason = nil, brakeArmed, "renewals returned"
	e.log.Info("renewals returned: mass-expiry brake off; held sets get one lease to renew",
		"held", n, "leases", b.leases, "renewing", b.renewing)
}

func (e *leases) startLetting() {
	b := &e.brake
	n := len(e.heldNow())
	b.state, b.let, b.rate = brakeLetting, 0, max(brakeMinRate, float64(n)/10)
	e.log.Warn("mass-expiry brake held for --brake-max; held sets now expire, rate-limited",
		"held", n, "per_second", b.rate, "since", b.since)
}

// letGo expires as many held sets as the pace allows by now, oldest first.
func (e *leases) letGo(now time.Time) {
	b := &e.brake
	allowed := 1 + int(b.rate*now.Sub(b.until).Seconds())
	held := e.heldNow()
	i := 0
	for ; i < len(held) && b.let < allowed; i++ {
		e.expireLocked(held[i], now)
		b.let++
	}
	b.held = held[i:]
	if len(b.held) == 0 {
		b.state, b.reason = brakeReleased, "--brake-max passed"
		e.log.Warn("mass-expiry brake: every held set expired; the brake stays off until renewals return")
	}
}

// heldNow is the held list without the sets no longer held (renewed,
// written, dropped), compacted in place.
func (e *leases) heldNow() []*lease {
	b := &e.brake
	out := b.held[:0]
	for _, l := range b.held {
		if l.held && !l.dropped {
			out = append(out, l)
		}
	}
	clear(b.held[len(out):])
	b.held = out
	return out
}

// release is an operator's release: every held set expires now, and the
// brake stays off until renewals return.
func (e *leases) release(now time.Time) record.BrakeStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	b := &e.brake
	if b.state == brakeHolding || b.state == brakeLetting {
		held := e.heldNow()
		for _, l := range held {
			e.expireLocked(l, now)
		}
		b.held, b.state, b.reason = nil, brakeReleased, "released by an operator"
		e.log.Warn("mass-expiry brake released by an operator; held sets expired", "held", len(held))
		e.brakeMetrics()
	}
	return e.brakeStatusLocked(now)
}

// brakeStatus reports the brake, and whether it is on (holding or letting
// go); with onlyOn it counts the leases (a walk of all of them) only then.
func (e *leases) brakeStatus(now time.Time, onlyOn bool) (st record.BrakeStatus, on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	on = e.brake.state == brakeHolding || e.brake.state == brakeLetting
	if onlyOn && !on {
		return record.BrakeStatus{}, false
	}
	return e.brakeStatusLocked(now), on
}

func (e *leases) brakeStatusLocked(now time.Time) record.BrakeStatus {
	b := &e.brake
	e.applyQueuedLocked(now)
	e.census(now)
	st := record.BrakeStatus{State: brakeStates[b.state], Held: len(e.heldNow()), Leases: b.leases,
		Renewing: b.renewing, Max: record.Duration(e.opts.BrakeMax), Reason: b.reason}
	if e.opts.BrakeMax < 0 {
		st.State, st.Max = "disabled", 0
	}
	if b.state == brakeHolding || b.state == brakeLetting {
		since, until := b.since, b.until
		st.Since, st.Until = &since, &until
	}
	return st
}

func (e *leases) brakeMetrics() {
	on := 0.0
	if e.brake.state == brakeHolding || e.brake.state == brakeLetting {
		on = 1
	}
	e.metrics.brake.Set(on)
	e.metrics.brakeHeld.Set(float64(len(e.heldNow())))
}
