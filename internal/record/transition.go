package record

import "time"

// Transition is one entry of a name's history: a record set registered,
// changed, drained, deleted, lapsed or turned healthy or not. Only
// transitions are kept, never lease renewals.
type Transition struct {
	At     time.Time `json:"at"`
	Key    Key       `json:"rrset"`
	Event  Event     `json:"event"`
	Detail string    `json:"detail,omitempty"` // "weight 10 -> 0", a probe's error
	// By is the name of the API token that made the change; "server" for
	// the server's own doing (expiry, probes, drains completing), "" on an
	// open API.
	By       string `json:"by,omitempty"`
	Revision int64  `json:"revision"` // the store revision the change made, or the one current then
}

// Event says what a Transition was.
type Event string

// Events of a history.
const (
	EventRegistered   Event = "registered"
	EventUpdated      Event = "updated" // values, TTL, check or weight changed
	EventDeleted      Event = "deleted"
	EventDrainStarted Event = "drain-started"
	EventDrained      Event = "drain-completed"
	EventLeaseLapsed  Event = "lease-lapsed"
	EventExpired      Event = "expired" // deleted after its lease lapsed
	EventHealthUp     Event = "health-up"
	EventHealthDown   Event = "health-down"
	EventForced       Event = "forced"
)

// ServerActor is Transition.By for what the server did on its own.
const ServerActor = "server"
