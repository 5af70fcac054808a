package record

import "time"

// BrakeStatus is the state of a server's mass-expiry brake, which keeps
// lapsed leases in answers while renewals across the whole server have
// stopped (the server, not the fleet, is probably cut off).
type BrakeStatus struct {
	// State: off (armed), holding, letting-go (past Max, held sets expire
	// at a limited pace), released (by an operator or after Max; armed
	// again when renewals return), or disabled.
	State    string     `json:"state"`
	Since    *time.Time `json:"since,omitempty"` // engaged at
	Until    *time.Time `json:"until,omitempty"` // expiry resumes at (since + max)
	Max      Duration   `json:"max"`
	Held     int        `json:"held"`     // lapsed sets kept in answers
	Leases   int        `json:"leases"`   // active leases on this server
	Renewing int        `json:"renewing"` // of those, renewed within the last half lease
	Reason   string     `json:"reason,omitempty"`
}
