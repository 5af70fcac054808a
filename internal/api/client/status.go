package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// StatusPage is one page of the operator's view (GET /v1/status): names,
// each with its sets, as the status page and `dnslb status` show them.
type StatusPage struct {
	Now      time.Time          `json:"now"`
	Revision int64              `json:"revision"` // of the snapshot DNS answers from
	Brake    record.BrakeStatus `json:"brake"`
	Query    string             `json:"q,omitempty"`
	Zone     string             `json:"zone,omitempty"`
	Page     int                `json:"page"`     // from 1
	Pages    int                `json:"pages"`    // at least 1
	PerPage  int                `json:"per_page"` // names per page
	Total    int                `json:"total"`    // names matching
	Names    []NameStatus       `json:"names"`
}

// NameStatus is one name and type.
type NameStatus struct {
	Zone     string        `json:"zone"`
	Name     string        `json:"name"`
	Type     record.Type   `json:"type"`
	Policy   record.Policy `json:"policy"`
	FailOpen bool          `json:"fail_open"`
	Braked   int           `json:"braked"` // sets the brake keeps in answers
	// Alert says in words what is wrong with the name as a whole (failing
	// open, failing closed, braked); empty when nothing is.
	Alert string        `json:"alert,omitempty"`
	Tier  string        `json:"tier"`
	Sets  []SetStatus   `json:"sets"`
	Chart *record.Chart `json:"chart,omitempty"`
}

// SetStatus is one set of a NameStatus: its stored fields that matter
// and its runtime status.
type SetStatus struct {
	SetID  string          `json:"set_id"`
	Values []string        `json:"values"`
	Weight int             `json:"weight"`
	TTL    uint32          `json:"ttl"`
	Lease  record.Duration `json:"lease,omitempty"`
	State  string          `json:"state"` // active, draining, expired
	Force  record.Force    `json:"force,omitempty"`
	record.Status
}

// StatusQuery selects a page of the status view.
type StatusQuery struct {
	Zone, Name string // Name: names containing it
	Page       int    // from 1; 0: the first
	PerPage    int    // 0: the server's default
	Chart      bool   // with each name's chart
}

// Status reads one page of the status view.
func (c *Client) Status(ctx context.Context, q StatusQuery) (StatusPage, error) {
	v := url.Values{}
	for k, s := range map[string]string{"zone": q.Zone, "q": q.Name} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Page > 0 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.PerPage > 0 {
		v.Set("per_page", strconv.Itoa(q.PerPage))
	}
	if !q.Chart {
		v.Set("chart", "false")
	}
	var out StatusPage
	return out, c.do(ctx, http.MethodGet, "/v1/status", v, nil, &out)
}

// Explain says why each set of name and type is or is not answered.
func (c *Client) Explain(ctx context.Context, name, typ string) (record.Explanation, error) {
	v := url.Values{"name": {name}}
	if typ != "" {
		v.Set("type", typ)
	}
	var out record.Explanation
	return out, c.do(ctx, http.MethodGet, "/v1/explain", v, nil, &out)
}

// HistoryResult is the answer of GET /v1/zones/{zone}/history.
type HistoryResult struct {
	Transitions []record.Transition `json:"transitions"`
}

// History returns the transitions of the sets of name in zone, oldest
// first; typ and setID narrow them when not empty.
func (c *Client) History(ctx context.Context, zone, name, typ, setID string) ([]record.Transition, error) {
	v := url.Values{"name": {name}}
	if typ != "" {
		v.Set("type", typ)
	}
	if setID != "" {
		v.Set("set_id", setID)
	}
	var out HistoryResult
	return out.Transitions, c.do(ctx, http.MethodGet, "/v1/zones/"+url.PathEscape(zone)+"/history", v, nil, &out)
}
