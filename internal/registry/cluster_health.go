package registry

import (
	"fmt"
	"time"

	"github.com/dnslb/dnslb/internal/health"
	"github.com/dnslb/dnslb/internal/record"
)

// Quorum health. In a cluster every server probes the server-side checks
// (the first probe of each jittered, so N servers do not hit a backend in
// bursts) and publishes its verdict of each set (Votes: a transition,
// and its presumption when a check starts); the cluster tallies the live
// servers' votes and hands every server the same verdict (SetVerdict),
// which DNS answers and the status then use instead of the server's own.
// A set no live server has a vote for uses the server's own verdict.

// Votes publishes this server's health check verdicts (package cluster).
// Its methods must not block.
type Votes interface {
	// Vote publishes this server's verdict of set k.
	Vote(k record.Key, up bool)
	// Withdraw retracts it: the set's check stopped here.
	Withdraw(k record.Key)
}

// Verdict is the cluster's health verdict of a set: the share of live
// observers saying up against the quorum.
type Verdict struct {
	Up        bool
	UpVotes   int // observers saying up
	Observers int // live observers with a verdict
}

// String is the verdict as the status shows it: "up (2 of 3 servers)".
func (v Verdict) String() string {
	state := "down"
	if v.Up {
		state = "up"
	}
	return fmt.Sprintf("%s (%d of %d servers say up)", state, v.UpVotes, v.Observers)
}

// SetVerdict makes v the health of set k in this server's answers (nil:
// no live server has a verdict; the server's own counts).
//
// The history notes the verdict's turns, once for the cluster: by the
// deciding server (each server's own probe results are its votes, not
// history; see changed).
func (r *Registry) SetVerdict(k record.Key, v *Verdict) {
	c := r.checks
	c.mu.Lock()
	if c.verdicts == nil {
		c.verdicts = map[record.Key]Verdict{}
	}
	old, had := c.verdicts[k]
	lastErr := ""
	if rc := c.byKey[k]; rc != nil {
		lastErr = rc.lastErr
	}
	if v == nil {
		delete(c.verdicts, k)
	} else {
		c.verdicts[k] = *v
	}
	c.mu.Unlock()
	c.touch(k)
	if v != nil && had && old.Up != v.Up && c.noted != nil && r.Leading() {
		c.noted(verdictTransition(k, *v, lastErr, c.now()))
	}
}

// verdictTransition is the history's entry for the cluster's verdict of k
// turning to v; lastErr is the deciding server's last probe error.
func verdictTransition(k record.Key, v Verdict, lastErr string, now time.Time) record.Transition {
	tr := record.Transition{At: now, Key: k, Event: record.EventHealthUp, Detail: "server-side check, " + v.String()}
	if !v.Up {
		tr.Event = record.EventHealthDown
		if lastErr != "" {
			tr.Detail += "; here: " + lastErr
		}
	}
	return tr
}

// vote publishes status s of set k, unless unknown.
func (c *checks) vote(k record.Key, s health.Status) {
	if c.votes != nil && s != health.Unknown {
		c.votes.Vote(k, s == health.Up)
	}
}

// withdraw retracts this server's vote on set k.
func (c *checks) withdraw(k record.Key) {
	if c.votes != nil {
		c.votes.Withdraw(k)
	}
}
