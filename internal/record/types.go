package record

import (
	"strings"
	"time"
)

// Type is a DNS record type that dnslb serves in record sets.
type Type string

// The record types a record set may have.
const (
	A     Type = "A"
	AAAA  Type = "AAAA"
	CNAME Type = "CNAME"
	TXT   Type = "TXT"
	MX    Type = "MX"
	SRV   Type = "SRV"
)

// Types lists the supported record types in a stable order.
var Types = []Type{A, AAAA, CNAME, TXT, MX, SRV}

// ParseType validates a record type, case-insensitively.
func ParseType(field, s string) (Type, error) {
	t := Type(strings.ToUpper(s))
	for _, ok := range Types {
		if t == ok {
			return t, nil
		}
	}
	return "", Errorf(field, "%q is not supported; allowed: A, AAAA, CNAME, TXT, MX, SRV", s)
}

// Policy decides how a name's record sets become an answer.
type Policy string

// Routing policies, set per name.
const (
	// Weighted answers with one set chosen by weight (Route 53 weighted routing).
	Weighted Policy = "weighted"
	// Multivalue answers with up to eight eligible sets, in weighted order.
	Multivalue Policy = "multivalue"
	// FailClosed is Weighted, but answers NODATA when no set is eligible
	// instead of failing open to all sets.
	FailClosed Policy = "fail-closed"
)

// ParsePolicy validates a policy name; "" means Weighted.
func ParsePolicy(field, s string) (Policy, error) {
	switch p := Policy(strings.ToLower(s)); p {
	case "":
		return Weighted, nil
	case Weighted, Multivalue, FailClosed:
		return p, nil
	}
	return "", Errorf(field, "%q is not a policy; allowed: weighted, multivalue, fail-closed", s)
}

// State is a record set's place in its lifecycle.
type State string

// Record set states.
const (
	Active   State = "active"   // in answers when eligible
	Draining State = "draining" // out of new answers, waiting for caches to expire
	// Expired is an active set whose lease lapsed: out of answers, deleted
	// after the lease grace. It is never stored; listings show it in place
	// of the stored state.
	Expired State = "expired"
)

// Force is an operator's override of a set's health.
type Force string

// Health overrides.
const (
	ForceAuto Force = ""     // health comes from checks
	ForceUp   Force = "up"   // treated as healthy whatever checks say
	ForceDown Force = "down" // treated as unhealthy whatever checks say
)

// ParseForce validates an override; "auto" and "" mean ForceAuto.
func ParseForce(field, s string) (Force, error) {
	switch f := Force(strings.ToLower(s)); f {
	case "", "auto":
		return ForceAuto, nil
	case ForceUp, ForceDown:
		return f, nil
	}
	return "", Errorf(field, "%q is not allowed; use up, down or auto", s)
}

// Drain records a drain in progress: when it started, the safety margin
// added to the TTL, and whether the set stays (at weight 0) afterwards.
type Drain struct {
	Started time.Time `json:"started"`
	Margin  Duration  `json:"margin"`
	Keep    bool      `json:"keep,omitempty"`
	// LastServed is when the set was last put in an answer, recorded once
	// the drain began; nil until recorded, zero if never served.
	LastServed *time.Time `json:"last_served,omitempty"`
	// HeldUntil, recorded with LastServed, is until when a resolver may
	// hold an answer with the set: the largest served_at + TTL over the
	// answers served. ServedTTL is the TTL of that answer; before it is
	// recorded, the TTL of an answer still in caches when the drain began.
	HeldUntil *time.Time `json:"held_until,omitempty"`
	ServedTTL uint32     `json:"served_ttl,omitempty"`
}

// SOA holds a zone's start-of-authority values. Minimum is the negative
// caching TTL (RFC 2308).
type SOA struct {
	MName   string `json:"mname"`
	RName   string `json:"rname"`
	Serial  uint32 `json:"serial"`
	Refresh uint32 `json:"refresh"`
	Retry   uint32 `json:"retry"`
	Expire  uint32 `json:"expire"`
	Minimum uint32 `json:"minimum"`
	TTL     uint32 `json:"ttl"`
}

// Zone is an origin dnslb is authoritative for.
type Zone struct {
	Name string   `json:"name"`
	SOA  SOA      `json:"soa"`
	NS   []string `json:"ns"`
	// NSAddresses holds the addresses (IPv4, IPv6) of name servers in NS
	// whose names lie inside the zone, by canonical name: DNS answers them
	// for A and AAAA at those names and adds them to NS answers as glue.
	// A new field beside NS, so zones stored before it load unchanged.
	NSAddresses map[string][]string `json:"ns_addresses,omitempty"`
	Policies    map[string]Policy   `json:"policies,omitempty"` // by canonical name; absent means Weighted
	Created     time.Time           `json:"created"`
	Revision    int64               `json:"revision"` // store revision of the last change; set by the store

	// Deleting marks a zone whose deletion has started: it is out of DNS
	// answers and refuses writes while its record sets are deleted in
	// batches.
	Deleting bool `json:"deleting,omitempty"`

	// Route53, when set, holds what the Route 53 API keeps of the zone.
	Route53 *Route53Zone `json:"route53,omitempty"`
}

// Policy returns the routing policy of name in z.
func (z *Zone) Policy(name string) Policy {
	if p, ok := z.Policies[name]; ok {
		return p
	}
	return Weighted
}

// Key identifies a record set. SetID is empty for a simple (non-weighted) set.
type Key struct {
	Zone  string `json:"zone"`
	Name  string `json:"name"`
	Type  Type   `json:"type"`
	SetID string `json:"set_id,omitempty"`
}

func (k Key) String() string {
	s := k.Name + " " + string(k.Type)
	if k.SetID != "" {
		s += " set " + k.SetID
	}
	return s
}

// Set is a record set: one or more values under a name and type, weighted
// when it has a set identifier.
type Set struct {
	Key
	Weight int      `json:"weight"` // 0..255; weighted sets only
	TTL    uint32   `json:"ttl"`
	Values []string `json:"values"`
	State  State    `json:"state"`
	Owner  string   `json:"owner,omitempty"`
	// OwnerHash is the hash (auth.Hash) of the secret handed to the caller
	// that registered the set with a register token; that caller proves
	// with it that the set is its own. The API never shows it.
	OwnerHash string `json:"owner_hash,omitempty"`
	// BeatKey is the set's heartbeat key in hex (package heartbeat), made
	// once when a leased set is registered and handed out by renewals
	// only. The API never shows it.
	BeatKey string `json:"beat_key,omitempty"`
	// Lease, when set, is how long the set stays eligible without a renewal.
	Lease Duration `json:"lease,omitempty"`
	// Check is an optional server-side health check.
	Check *Check `json:"check,omitempty"`
	// Force overrides health: ForceUp, ForceDown, or ForceAuto ("").
	Force Force `json:"force,omitempty"`
	// AgentHealth is the health the instance last reported with its
	// renewals, "up" or "down" ("" before any report). The server writes it
	// on a change only (not on every renewal), so that a restarted server
	// keeps a set that reported down out of answers.
	AgentHealth string `json:"agent_health,omitempty"`
	// Lapsed is when the cluster's one decider found the lease lapsed
	// (several servers on one store, package cluster): every server takes
	// the set out of answers from the watch. A renewal through any server
	// clears it. Single servers never write it.
	Lapsed *time.Time `json:"lapsed,omitempty"`
	// Drain is set while the set is draining.
	Drain    *Drain    `json:"drain,omitempty"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	Revision int64     `json:"revision"` // store revision of the last change; set by the store
}

// Weighted reports whether s takes part in weighted routing.
func (s *Set) Weighted() bool { return s.SetID != "" }

// Status is what a server knows of a record set beyond its stored form:
// its lifecycle state, health, lease and what it served.
type Status struct {
	// State is active, draining or expired. A listing carries it once, as
	// the set's own state (client.SetView), not in the status object.
	State       string     `json:"-"`
	Health      string     `json:"health"` // up, down or unknown
	HealthSince *time.Time `json:"health_since,omitempty"`
	HealthError string     `json:"health_error,omitempty"`
	Eligible    bool       `json:"eligible"` // in answers when chosen: active, lease alive or braked, healthy
	// Share is the set's part of its name's answers under the rules now:
	// 0 when it is draining, expired or left out for ineligible sets; when
	// FailOpen, the share it gets while the name fails open.
	Share float64 `json:"share"`
	// FailOpen: no set of the name is eligible, so every one is answered
	// by weight (Route 53's "nothing healthy = all healthy").
	FailOpen bool `json:"fail_open,omitempty"`
	// ObservedShare is the set's part of its name's answers in the last
	// minute; absent when the name served nothing in that minute.
	ObservedShare *float64 `json:"observed_share,omitempty"`
	// ServedLastMinute is how many answers held the set in the last minute.
	ServedLastMinute uint64   `json:"served_last_minute"`
	LeaseRemaining   Duration `json:"lease_remaining,omitempty"` // at most the lease
	// LeaseGrace is the restart grace left on top of LeaseRemaining: after
	// a server restart every lease gets it once, so that a restart expires
	// no one.
	LeaseGrace Duration   `json:"lease_grace,omitempty"`
	LastServed *time.Time `json:"last_served,omitempty"`
	Served     uint64     `json:"served"` // answers since the server started
	SafeAt     *time.Time `json:"safe_at,omitempty"`
	// Braked: the mass-expiry brake keeps this lapsed set in answers.
	Braked      bool       `json:"braked,omitempty"`
	BrakedSince *time.Time `json:"braked_since,omitempty"` // held since
	BrakedUntil *time.Time `json:"braked_until,omitempty"` // expiry resumes at (--brake-max)

	// LapsePending: in a cluster, the lease ran out as this server sees
	// it, but the one server that decides lapses has not decided (this
	// server follows, or the decider waits for a server's word): the set
	// stays in answers meanwhile.
	LapsePending bool `json:"lapse_pending,omitempty"`
}

// LeaseStatus answers a renewal.
type LeaseStatus struct {
	Key       Key      `json:"key"`
	Lease     Duration `json:"lease"`
	Remaining Duration `json:"remaining"`
	State     string   `json:"state"`
	// Heartbeat, when the server takes heartbeats, is how to renew this
	// lease over UDP until the next HTTP renewal (package heartbeat).
	Heartbeat *Heartbeat `json:"heartbeat,omitempty"`
}

// Heartbeat is a lease's UDP renewal path: send heartbeats carrying Token
// to Host:Port, or to Port on the API's host when Host is empty (the server
// listens on every address).
type Heartbeat struct {
	Token string `json:"token"` // the key id
	// Key signs heartbeats (HMAC); it is never sent in one. Counter is
	// the floor: every heartbeat carries a greater counter than the last.
	Key     string `json:"key"`
	Counter uint64 `json:"counter"`
	Host    string `json:"host,omitempty"`
	Port    int    `json:"port"`
}

// DrainStatus tells how far a drain is: the set left new answers at Started;
// clients may hold it until SafeAt = the largest served_at + served TTL
// over the answers served, + margin (never later than Started + the larger
// of ServedTTL and TTL + margin).
type DrainStatus struct {
	Key        Key        `json:"key"`
	Started    time.Time  `json:"started"`
	LastServed *time.Time `json:"last_served,omitempty"` // nil: never served
	TTL        uint32     `json:"ttl"`
	ServedTTL  uint32     `json:"served_ttl,omitempty"` // of the answer held longest; 0: never served
	Margin     Duration   `json:"margin"`
	SafeAt     time.Time  `json:"safe_at"`
	Remaining  Duration   `json:"remaining"`
	Keep       bool       `json:"keep,omitempty"`
	Done       bool       `json:"done"`
}
