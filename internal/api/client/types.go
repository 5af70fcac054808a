package client

import (
	"encoding/json"

	"github.com/dnslb/dnslb/internal/record"
)

// The JSON bodies of API v1. Responses use record.Zone and record.Set as
// they are; requests use the types below, whose optional fields are
// pointers so that "absent" and "zero" differ.

// ZoneRequest creates a zone. Unset fields take defaults.
type ZoneRequest struct {
	Name string   `json:"name"`
	NS   []string `json:"ns,omitempty"`
	// NSAddresses gives name servers in NS inside the zone their IPv4 and
	// IPv6 addresses (glue), by name.
	NSAddresses map[string][]string `json:"ns_addresses,omitempty"`
	Hostmaster  string              `json:"hostmaster,omitempty"`   // SOA RNAME; default hostmaster.<zone>
	NegativeTTL *uint32             `json:"negative_ttl,omitempty"` // SOA minimum; default 5
}

// SetRequest is one record set as a client writes it. Name may be relative
// to the zone ("www", "@") or absolute. Weight is required with SetID and
// refused without it. A weighted group has one TTL: the last one given
// becomes the group's. Without TTL a set keeps its own TTL or takes its
// group's; a new set alone takes DefaultTTL.
type SetRequest struct {
	Name   string        `json:"name"`
	Type   string        `json:"type"`
	SetID  string        `json:"set_id,omitempty"`
	Weight *int          `json:"weight,omitempty"`
	TTL    *int64        `json:"ttl,omitempty"`
	Values []string      `json:"values"`
	Policy record.Policy `json:"policy,omitempty"` // sets the routing policy of Name
	// Lease, when set, takes the set out of answers unless renewed within it.
	Lease *record.Duration `json:"lease,omitempty"`
	// Check is an optional server-side health check.
	Check *record.Check `json:"check,omitempty"`
}

// DefaultTTL is the TTL of a record set written without one (as Route 53's
// console).
const DefaultTTL = 300

// Change is one step of a ChangeBatch.
type Change struct {
	Action string     `json:"action"` // CREATE, UPSERT or DELETE
	RRSet  SetRequest `json:"rrset"`
}

// ChangeBatch is applied all-or-nothing.
type ChangeBatch struct {
	Changes []Change `json:"changes"`
}

// ChangeResult reports a committed write: the store revision it created,
// already visible in DNS answers unless Pending says otherwise.
type ChangeResult struct {
	Revision int64 `json:"revision"`
	Pending
	Servers *Servers `json:"servers,omitempty"` // in a cluster: on how many live servers it is applied
}

// SetResult is the answer to a single-set write.
type SetResult struct {
	Servers  *Servers   `json:"servers,omitempty"` // in a cluster: on how many live servers it is applied
	Revision int64      `json:"revision"`
	RRSet    record.Set `json:"rrset"`
	// SetSecret is the set's new ownership secret, answered once when a
	// register token creates (or takes over a lapsed) set: the caller
	// sends it back in SetSecretHeader to renew, drain or delete the set.
	// The server keeps only its hash.
	SetSecret string `json:"set_secret,omitempty"`
	Pending
}

// ZoneResult is the answer to a zone creation: the zone as stored.
type ZoneResult struct {
	record.Zone
	Pending
}

// Pending is empty in the answer to a write that DNS answers carry
// (HTTP 200, 201 or 204). A write that is committed (durable) but not yet
// in answers when the server stopped waiting is answered HTTP 202 with
// Status PENDING and Code CodeNotYetVisible, as Route 53 answers PENDING
// until a change is INSYNC: it will be in answers without anything more
// being done, and must not be sent again (a CREATE would then fail with
// already_exists).
type Pending struct {
	Status  string `json:"status,omitempty"` // StatusPending or empty
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// StatusPending is Pending.Status of a write not yet in answers.
const StatusPending = "PENDING"

// IsPending reports whether the write is committed but not yet in answers.
func (p Pending) IsPending() bool { return p.Status == StatusPending }

// ErrorBody is every error response: {"error": {...}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Stable error codes.
const (
	CodeInvalid       = "invalid_argument"
	CodeNotFound      = "not_found"
	CodeExists        = "already_exists"
	CodeTooLarge      = "request_too_large"
	CodeBadMethod     = "method_not_allowed"
	CodeUnsupported   = "unsupported_media_type"
	CodeUnavailable   = "unavailable"
	CodeInternal      = "internal"
	CodeUnauthorized  = "unauthorized"
	CodeNotAcceptable = "not_acceptable"
	CodeNotYetVisible = "not_yet_visible"
	CodeZoneNotEmpty  = "zone_not_empty"
	CodeZoneDeleting  = "zone_deleting"
	CodeZoneConflict  = "zone_conflict"
	// CodeUnauthenticated (401): no bearer token, or one the server does
	// not know.
	CodeUnauthenticated = "unauthenticated"
	// CodePermissionDenied (403): the token's scope, name patterns or set
	// secret do not allow the request; the message says what would.
	CodePermissionDenied = "permission_denied"
	// CodeForbiddenOrigin (403): a browser request from another site.
	CodeForbiddenOrigin = "forbidden_origin"
	// CodeMisdirectedHost (421): a Host outside the API's allow-list (DNS
	// rebinding).
	CodeMisdirectedHost = "misdirected_host"
)

// SetSecretHeader carries a record set's ownership secret: answered once
// when a register token creates the set, sent back by its owner on every
// later write of that set (renew, drain, delete, re-register).
const SetSecretHeader = "X-Dnslb-Set-Secret"

// SetView is a record set as listed: its stored form and the server's
// runtime status of it. Its one state is the status's (active, draining or
// expired), in place of the stored one (active or draining).
type SetView struct {
	record.Set
	Status record.Status `json:"status"`
}

// SetPage is one page of GET /v1/zones/{zone}/rrsets. Next, when not
// empty, is the cursor of the next page.
type SetPage struct {
	RRSets []SetView `json:"rrsets"`
	Next   string    `json:"next"`
}

// MarshalJSON writes v with the status's state as the set's state.
func (v SetView) MarshalJSON() ([]byte, error) {
	type plain SetView // without this method
	p := plain(v)
	if v.Status.State != "" {
		p.State = record.State(v.Status.State)
	}
	return json.Marshal(p)
}

// RenewRequest renews a lease; Healthy, when set, reports the instance's
// own check result.
type RenewRequest struct {
	Healthy *bool `json:"healthy,omitempty"`
}

// DrainRequest starts a drain. Margin defaults to the server's; Keep leaves
// the set at weight 0 instead of deleting it.
type DrainRequest struct {
	Margin *record.Duration `json:"margin,omitempty"`
	Keep   bool             `json:"keep,omitempty"`
}

// HealthRequest overrides a set's health: "up", "down" or "auto".
type HealthRequest struct {
	Force string `json:"force"`
}
