// Package registry is the write side of dnslb and the owner of what the DNS
// server answers from. It validates and applies changes to zones and record
// sets in store transactions (all-or-nothing), follows the store's watch to
// keep an immutable zone.Snapshot current, and makes every accepted change
// visible in that snapshot before the call that made it returns.
//
// One loop (Run) follows the store and hands each change to units that
// each own their state under their own lock, and never create state when
// read:
//
//   - the publisher (publish.go): the snapshot builder, the one in-memory
//     copy of the stored sets; the answer counters of every set; and the
//     publication that writes wait on. Other units touch a set whose
//     answers may change, and the loop builds the next snapshot.
//   - the lease engine (leases.go, due.go, expire.go, brake.go, beat.go):
//     the lease of every leased set, the heap of when each is due, the
//     agents' reported health, heartbeat tokens, and the mass-expiry
//     brake. The loop sleeps until the earliest due lease (no fixed tick),
//     so a lapse leaves answers within about 10 ms.
//   - the health checks (checks.go): one checker per set with a check.
//   - the reaper (reap.go): expired sets and finished drains, deleted off
//     the loop, everything due in one store transaction.
//   - the reports writer (reported.go): agent-reported health transitions,
//     noted by the lease engine and written to the store off its lock, so
//     that a restart keeps them. Such a write, like a group's new TTL given
//     to its sets, is the server's rewrite, not a registration: it renews no
//     lease and brings back no lapsed set (rewrittenOnly).
//   - the observer (observed.go): samples the answer counters every 10 s,
//     for the observed shares of a listing.
//
// The mass-expiry brake keeps lapsed leases in answers only when renewals
// across the whole server collapse (at most one lease in ten renewed within
// half its lease, of at least two leases): the server, not the fleet, is
// probably cut off. A set whose name still has a renewing set expires even
// then. The brake is bounded by Options.BrakeMax (then held sets expire at
// a limited pace), visible (Status.Braked, Brake, metrics) and releasable
// (ReleaseBrake). brake.go has the full rule and the small-server cases.
package registry
