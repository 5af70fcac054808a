// Package auth holds dnslb's API credentials: bearer tokens with a scope
// (admin, register limited to name patterns, read), kept in a file as
// SHA-256 hashes only, and the per-set secrets that prove which
// registration owns a record set. It knows nothing of HTTP; package api
// applies it to requests.
package auth
