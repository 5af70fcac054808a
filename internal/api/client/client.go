// Package client is the Go binding of dnslb's HTTP API v1, used by the CLI
// and the agent, together with the JSON types of that API.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/dnslb/dnslb/internal/record"
)

// Error is an error answered by the server.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Field, e.Message, e.Code)
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Client talks to one dnslb server.
type Client struct {
	base  *url.URL
	http  *http.Client
	token string
	// secrets are the ownership secrets of the sets this client
	// registered, by setKey: sent back on every later write of the set.
	secrets sync.Map
}

// Options of Open.
type Options struct {
	Token string // bearer token sent with every request; none when empty
	// CA is a PEM file of the CAs that sign the server's certificate
	// (https); the system's roots when empty.
	CA string
}

// Open returns a Client for the server at base with opts.
func Open(base string, opts Options) (*Client, error) {
	var hc *http.Client
	if opts.CA != "" {
		pem, err := os.ReadFile(opts.CA)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s: no PEM certificate in it", opts.CA)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		hc = &http.Client{Transport: tr}
	}
	c, err := New(base, hc)
	if err != nil {
		return nil, err
	}
	c.token = opts.Token
	return c, nil
}

// SetToken sets the bearer token sent with every request.
func (c *Client) SetToken(token string) { c.token = token }

// setKey names a set for the secrets map, as the server would.
func setKey(zone, name, typ, setID string) string {
	norm := func(s string) string { return strings.TrimSuffix(strings.ToLower(s), ".") }
	return norm(zone) + "\x00" + norm(name) + "\x00" + strings.ToUpper(typ) + "\x00" + setID
}

// SetSecret is the ownership secret this client holds for a set, "" if
// none: the one the server answered when this client registered it, or
// one given with RememberSecret.
func (c *Client) SetSecret(zone, name, typ, setID string) string {
	v, _ := c.secrets.Load(setKey(zone, name, typ, setID))
	s, _ := v.(string)
	return s
}

// RememberSecret makes the client send secret with its writes of a set
// (e.g. one kept across a restart).
func (c *Client) RememberSecret(zone, name, typ, setID, secret string) {
	c.secrets.Store(setKey(zone, name, typ, setID), secret)
}

// New returns a Client for the server at base ("http://127.0.0.1:5380").
// hc nil means http.DefaultClient.
func New(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q: want a URL like http://127.0.0.1:5380", base)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, http: hc}, nil
}

// Hostname is the server's host, without port, as in the base URL.
func (c *Client) Hostname() string { return c.base.Hostname() }

// Host is the server's host and port, as in the base URL.
func (c *Client) Host() string { return c.base.Host }

// Zones lists all zones.
func (c *Client) Zones(ctx context.Context) ([]record.Zone, error) {
	var out []record.Zone
	return out, c.do(ctx, http.MethodGet, "/v1/zones", nil, nil, &out)
}

// Zone returns one zone.
func (c *Client) Zone(ctx context.Context, name string) (record.Zone, error) {
	var out record.Zone
	return out, c.do(ctx, http.MethodGet, "/v1/zones/"+url.PathEscape(name), nil, nil, &out)
}

// CreateZone creates a zone. The result is pending when the zone is
// committed but not yet in DNS answers.
func (c *Client) CreateZone(ctx context.Context, req ZoneRequest) (ZoneResult, error) {
	var out ZoneResult
	return out, c.do(ctx, http.MethodPost, "/v1/zones", nil, req, &out)
}

// DeleteZone deletes a zone. A zone that holds record sets is deleted, with
// them, only with force; without it the error's code is CodeZoneNotEmpty.
// The result is pending when DNS answers still carry the zone.
func (c *Client) DeleteZone(ctx context.Context, name string, force bool) (ChangeResult, error) {
	var q url.Values
	if force {
		q = url.Values{"force": {"true"}}
	}
	var out ChangeResult
	return out, c.do(ctx, http.MethodDelete, "/v1/zones/"+url.PathEscape(name), q, nil, &out)
}

// Sets lists the record sets of zone, filtered by name, type and set id
// when they are not empty, following the pages of the listing.
func (c *Client) Sets(ctx context.Context, zone, name, typ, setID string) ([]SetView, error) {
	var all []SetView
	q := ListQuery{Name: name, Type: typ, SetID: setID, Limit: MaxPageLimit}
	for {
		p, err := c.SetsPage(ctx, zone, q)
		if err != nil {
			return nil, err
		}
		all = append(all, p.RRSets...)
		if p.Next == "" {
			return all, nil
		}
		q.Cursor = p.Next
	}
}

// MaxPageLimit is the largest page a listing returns.
const MaxPageLimit = 10000

// ListQuery selects one page of a listing: filters (empty matches all),
// the cursor (Next of the previous page; empty for the first) and the page
// size (0 for the server's default, 1,000).
type ListQuery struct {
	Name, Type, SetID string
	Cursor            string
	Limit             int
}

// SetsPage lists one page of the record sets of zone.
func (c *Client) SetsPage(ctx context.Context, zone string, lq ListQuery) (SetPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"name": lq.Name, "type": lq.Type, "set_id": lq.SetID, "cursor": lq.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if lq.Limit > 0 {
		q.Set("limit", strconv.Itoa(lq.Limit))
	}
	var out SetPage
	return out, c.do(ctx, http.MethodGet, "/v1/zones/"+url.PathEscape(zone)+"/rrsets", q, nil, &out)
}

// PutSet creates or replaces one record set.
// A register token's first PUT of a set answers the set's ownership
// secret; the client keeps it and sends it with its later writes of the
// set.
func (c *Client) PutSet(ctx context.Context, zone string, req SetRequest) (SetResult, error) {
	var out SetResult
	k := setKey(zone, req.Name, req.Type, req.SetID)
	err := c.send(ctx, http.MethodPut, "/v1/zones/"+url.PathEscape(zone)+"/rrsets", nil, req, &out, k)
	if err == nil && out.SetSecret != "" {
		c.secrets.Store(k, out.SetSecret)
	}
	return out, err
}

// DeleteSet deletes one record set; setID is empty for a simple set.
func (c *Client) DeleteSet(ctx context.Context, zone, name, typ, setID string) (ChangeResult, error) {
	p, q := setPath(zone, name, typ, setID, "")
	var out ChangeResult
	return out, c.send(ctx, http.MethodDelete, p, q, nil, &out, setKey(zone, name, typ, setID))
}

// Renew renews the lease of a set; healthy, when not nil, reports the
// instance's own health.
func (c *Client) Renew(ctx context.Context, zone, name, typ, setID string, healthy *bool) (record.LeaseStatus, error) {
	p, q := setPath(zone, name, typ, setID, "/renew")
	var out record.LeaseStatus
	return out, c.send(ctx, http.MethodPost, p, q, RenewRequest{Healthy: healthy}, &out, setKey(zone, name, typ, setID))
}

// Drain starts draining a set (or reports on the drain under way).
func (c *Client) Drain(ctx context.Context, zone, name, typ, setID string, req DrainRequest) (record.DrainStatus, error) {
	p, q := setPath(zone, name, typ, setID, "/drain")
	var out record.DrainStatus
	return out, c.send(ctx, http.MethodPost, p, q, req, &out, setKey(zone, name, typ, setID))
}

// DrainStatus reports on a drain; a drained and deleted set is not_found.
func (c *Client) DrainStatus(ctx context.Context, zone, name, typ, setID string) (record.DrainStatus, error) {
	p, q := setPath(zone, name, typ, setID, "/drain")
	var out record.DrainStatus
	return out, c.send(ctx, http.MethodGet, p, q, nil, &out, setKey(zone, name, typ, setID))
}

// Force overrides a set's health: "up", "down" or "auto".
func (c *Client) Force(ctx context.Context, zone, name, typ, setID, force string) error {
	p, q := setPath(zone, name, typ, setID, "/health")
	return c.do(ctx, http.MethodPost, p, q, HealthRequest{Force: force}, nil)
}

func setPath(zone, name, typ, setID, suffix string) (string, url.Values) {
	q := url.Values{}
	if setID != "" {
		q.Set("set_id", setID)
	}
	return "/v1/zones/" + url.PathEscape(zone) + "/rrsets/" + url.PathEscape(name) + "/" + url.PathEscape(typ) + suffix, q
}

// Change applies a batch all-or-nothing.
func (c *Client) Change(ctx context.Context, zone string, batch ChangeBatch) (ChangeResult, error) {
	var out ChangeResult
	return out, c.do(ctx, http.MethodPost, "/v1/zones/"+url.PathEscape(zone)+"/changes", nil, batch, &out)
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	return c.send(ctx, method, path, q, in, out, "")
}

// send makes a request, with the ownership secret of the set named by
// key when the client holds one.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, in, out any, key string) error {
	u := c.base.String() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if v, ok := c.secrets.Load(key); ok && key != "" {
		req.Header.Set(SetSecretHeader, v.(string))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w (is `dnslb serve` running there? set --server or DNSLB_SERVER)", method, c.base.Host, err)
	}
	defer resp.Body.Close()
	return decode(resp, out)
}

func decode(resp *http.Response, out any) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
			return &Error{Status: resp.StatusCode, Code: CodeInternal, Message: strings.TrimSpace(string(data))}
		}
		eb.Error.Status = resp.StatusCode
		return &eb.Error
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}
