// Package registry is the write side of dnslb and the owner of what the DNS
// server answers from. It validates and applies changes to zones and record
// sets in store transactions (all-or-nothing), follows the store's watch to
// keep an immutable zone.Snapshot current, and makes every accepted change
// visible in that snapshot before the call that made it returns.
package registry
