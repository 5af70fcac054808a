package record

import "time"

// Explanation says why each record set of a name and type is or is not
// in answers now, as dnslb explain shows it.
type Explanation struct {
	Zone   string `json:"zone"`
	Name   string `json:"name"`
	Type   Type   `json:"type"`
	Policy Policy `json:"policy"`
	// Tier is the sets the rule draws from now, in words.
	Tier     string `json:"tier"`
	FailOpen bool   `json:"fail_open"` // no set eligible: answering with ineligible ones
	// Failure is what the name does when no set is eligible: "open"
	// (answers from all by weight) or "closed" (NODATA).
	Failure  string           `json:"on_failure"`
	Summary  string           `json:"summary"`
	Revision int64            `json:"revision"` // of the snapshot DNS answers from
	At       time.Time        `json:"at"`
	Sets     []SetExplanation `json:"sets"`
}

// SetExplanation is one set of an Explanation.
type SetExplanation struct {
	SetID  string   `json:"set_id"`
	Values []string `json:"values"`
	Weight int      `json:"weight"`
	// Eligible: active, lease alive (or braked), healthy.
	Eligible bool `json:"eligible"`
	// InAnswers: DNS may answer with it now (eligible and in the tier
	// drawn from, or failing open).
	InAnswers bool `json:"in_answers"`
	// Probability is its part of the answers under the rules now (for
	// multivalue, its part of the records answered).
	Probability float64 `json:"probability"`
	// Reasons say why it is not eligible or not answered, one fact each;
	// empty when it is answered plainly.
	Reasons []string `json:"reasons,omitempty"`
}
