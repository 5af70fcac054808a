package record

import "time"

// Chart is the recent past of a name, as the status page draws it: each
// set's observed share, a point a minute, and the name's transitions.
type Chart struct {
	Times  []time.Time           `json:"times"`
	Shares map[string][]*float32 `json:"shares"` // by set id, aligned with Times; null: not in answers
	Events []Transition          `json:"events"`
}
