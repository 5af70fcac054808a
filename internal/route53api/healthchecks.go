package route53api

import (
	"context"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store"
)

// Route 53 health checks map onto dnslb's server-side checks: a record
// set whose HealthCheckId names a check gets that check (record.Check,
// with the id), probed by dnslb. A check without IPAddress (and without
// FullyQualifiedDomainName) probes each set's own addresses, which is
// what a per-instance weighted set wants. Rise and fall are both
// FailureThreshold, as in Route 53; a Disabled check is always healthy,
// so its sets carry no check.

// healthCheckConfig is Route 53's HealthCheckConfig, also kept as JSON.
type healthCheckConfig struct {
	IPAddress                string    `xml:"IPAddress,omitempty" json:"ip_address,omitempty"`
	Port                     *int      `xml:"Port" json:"port,omitempty"`
	Type                     string    `xml:"Type" json:"type"`
	ResourcePath             string    `xml:"ResourcePath,omitempty" json:"resource_path,omitempty"`
	FullyQualifiedDomainName string    `xml:"FullyQualifiedDomainName,omitempty" json:"fqdn,omitempty"`
	SearchString             string    `xml:"SearchString,omitempty" json:"search_string,omitempty"`
	RequestInterval          *int      `xml:"RequestInterval" json:"request_interval,omitempty"`
	FailureThreshold         *int      `xml:"FailureThreshold" json:"failure_threshold,omitempty"`
	MeasureLatency           *bool     `xml:"MeasureLatency" json:"measure_latency,omitempty"`
	Inverted                 *bool     `xml:"Inverted" json:"inverted,omitempty"`
	Disabled                 *bool     `xml:"Disabled" json:"disabled,omitempty"`
	EnableSNI                *bool     `xml:"EnableSNI" json:"enable_sni,omitempty"`
	Other                    []unknown `xml:",any" json:"-"`
}

type healthCheck struct {
	ID                 string            `xml:"Id"`
	CallerReference    string            `xml:"CallerReference"`
	HealthCheckConfig  healthCheckConfig `xml:"HealthCheckConfig"`
	HealthCheckVersion int64             `xml:"HealthCheckVersion"`
}

type createHealthCheckRequest struct {
	XMLName           xml.Name           `xml:"CreateHealthCheckRequest"`
	CallerReference   string             `xml:"CallerReference"`
	HealthCheckConfig *healthCheckConfig `xml:"HealthCheckConfig"`
	Other             []unknown          `xml:",any"`
}

type updateHealthCheckRequest struct {
	XMLName                  xml.Name  `xml:"UpdateHealthCheckRequest"`
	HealthCheckVersion       *int64    `xml:"HealthCheckVersion"`
	IPAddress                *string   `xml:"IPAddress"`
	Port                     *int      `xml:"Port"`
	ResourcePath             *string   `xml:"ResourcePath"`
	FullyQualifiedDomainName *string   `xml:"FullyQualifiedDomainName"`
	SearchString             *string   `xml:"SearchString"`
	FailureThreshold         *int      `xml:"FailureThreshold"`
	Inverted                 *bool     `xml:"Inverted"`
	Disabled                 *bool     `xml:"Disabled"`
	EnableSNI                *bool     `xml:"EnableSNI"`
	ResetElements            []string  `xml:"ResetElements>ResettableElementName"`
	Other                    []unknown `xml:",any"`
}

type healthCheckResponse struct {
	XMLName     xml.Name
	NS          string      `xml:"xmlns,attr"`
	HealthCheck healthCheck `xml:"HealthCheck"`
}

type listHealthChecksResponse struct {
	XMLName      xml.Name      `xml:"ListHealthChecksResponse"`
	NS           string        `xml:"xmlns,attr"`
	HealthChecks []healthCheck `xml:"HealthChecks>HealthCheck"`
	Marker       string        `xml:"Marker"`
	IsTruncated  bool          `xml:"IsTruncated"`
	NextMarker   string        `xml:"NextMarker,omitempty"`
	MaxItems     string        `xml:"MaxItems"`
}

type emptyResponse struct {
	XMLName xml.Name
	NS      string `xml:"xmlns,attr"`
}

type healthCheckObservation struct {
	Region       string `xml:"Region"`
	IPAddress    string `xml:"IPAddress"`
	StatusReport struct {
		Status      string    `xml:"Status"`
		CheckedTime time.Time `xml:"CheckedTime"`
	} `xml:"StatusReport"`
}

type getHealthCheckStatusResponse struct {
	XMLName      xml.Name                 `xml:"GetHealthCheckStatusResponse"`
	NS           string                   `xml:"xmlns,attr"`
	Observations []healthCheckObservation `xml:"HealthCheckObservations>HealthCheckObservation"`
}

func (h *Handler) checkRoutes() {
	h.handle("POST "+prefix+"/healthcheck", operation{"CreateHealthCheck", true, h.createCheck})
	h.handle("GET "+prefix+"/healthcheck", operation{"ListHealthChecks", false, h.listChecks})
	h.handle("GET "+prefix+"/healthcheck/{id}", operation{"GetHealthCheck", false, h.getCheck})
	h.handle("POST "+prefix+"/healthcheck/{id}", operation{"UpdateHealthCheck", true, h.updateCheck})
	h.handle("DELETE "+prefix+"/healthcheck/{id}", operation{"DeleteHealthCheck", true, h.deleteCheck})
	h.handle("GET "+prefix+"/healthcheck/{id}/status", operation{"GetHealthCheckStatus", false, h.checkStatus})
}

func noSuchCheck(id string) *Error {
	return &Error{Status: http.StatusNotFound, Code: codeNoSuchHealthCheck, Message: "No health check exists with the specified ID " + id}
}

func (s *storedCheck) wire() healthCheck {
	return healthCheck{ID: s.ID, CallerReference: s.CallerReference, HealthCheckConfig: s.Config, HealthCheckVersion: s.Version}
}

// withDefaults fills what Route 53 fills: port, interval, threshold and
// the booleans.
func (c *healthCheckConfig) withDefaults() {
	f, t := false, true
	if c.Port == nil {
		p := 80
		if c.Type == "HTTPS" || c.Type == "HTTPS_STR_MATCH" {
			p = 443
		}
		c.Port = &p
	}
	def := func(v **int, d int) {
		if *v == nil {
			*v = &d
		}
	}
	def(&c.RequestInterval, 30)
	def(&c.FailureThreshold, 3)
	for _, b := range []**bool{&c.MeasureLatency, &c.Inverted, &c.Disabled} {
		if *b == nil {
			*b = &f
		}
	}
	if c.EnableSNI == nil {
		c.EnableSNI = &f
		if c.Type == "HTTPS" || c.Type == "HTTPS_STR_MATCH" {
			c.EnableSNI = &t
		}
	}
}

// validate checks c as Route 53 does, and refuses what dnslb cannot probe.
func (c *healthCheckConfig) validate() error {
	if err := checkUnknown("HealthCheckConfig", c.Other); err != nil {
		return err
	}
	switch c.Type {
	case "HTTP", "HTTPS", "TCP", "HTTP_STR_MATCH", "HTTPS_STR_MATCH":
	case "CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL":
		return invalidInput("dnslb probes endpoints only: health check type %s is not supported; use HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH or TCP", c.Type)
	default:
		return invalidInput("1 validation error detected: Value '%s' at 'healthCheckConfig.type' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, CALCULATED, CLOUDWATCH_METRIC, RECOVERY_CONTROL]", c.Type)
	}
	if c.IPAddress != "" {
		if _, err := netip.ParseAddr(c.IPAddress); err != nil {
			return invalidInput("Invalid IP address: %s", c.IPAddress)
		}
	}
	switch {
	case c.Port != nil && (*c.Port < 1 || *c.Port > 65535):
		return invalidInput("1 validation error detected: Value '%d' at 'healthCheckConfig.port' failed to satisfy constraint: Member must have value between 1 and 65535", *c.Port)
	case c.RequestInterval != nil && *c.RequestInterval != 10 && *c.RequestInterval != 30:
		return invalidInput("RequestInterval must be 10 or 30 seconds; got %d", *c.RequestInterval)
	case c.FailureThreshold != nil && (*c.FailureThreshold < 1 || *c.FailureThreshold > 10):
		return invalidInput("1 validation error detected: Value '%d' at 'healthCheckConfig.failureThreshold' failed to satisfy constraint: Member must have value between 1 and 10", *c.FailureThreshold)
	case (c.Type == "HTTP_STR_MATCH" || c.Type == "HTTPS_STR_MATCH") && c.SearchString == "":
		return invalidInput("A SearchString is required for health checks of type %s", c.Type)
	case c.Inverted != nil && *c.Inverted:
		return invalidInput("dnslb does not invert health checks; remove Inverted")
	}
	return nil
}

// recordCheck is the dnslb check a record set gets for s; nil when s is
// disabled (always healthy).
func (s *storedCheck) recordCheck() *record.Check {
	c := s.Config
	if c.Disabled != nil && *c.Disabled {
		return nil
	}
	host := c.IPAddress
	if host == "" {
		host = c.FullyQualifiedDomainName
	}
	hostPort := net.JoinHostPort(host, strconv.Itoa(*c.Port))
	if host == "" {
		hostPort = ":" + strconv.Itoa(*c.Port)
	}
	rc := &record.Check{ID: s.ID, Interval: record.Duration(time.Duration(*c.RequestInterval) * time.Second),
		Rise: *c.FailureThreshold, Fall: *c.FailureThreshold}
	switch c.Type {
	case "TCP":
		rc.Target = "tcp://" + hostPort
	case "HTTP", "HTTP_STR_MATCH":
		rc.Target = "http://" + hostPort + path(c.ResourcePath)
	default:
		rc.Target = "https://" + hostPort + path(c.ResourcePath)
	}
	if c.Type == "HTTP_STR_MATCH" || c.Type == "HTTPS_STR_MATCH" {
		rc.Match = c.SearchString
	}
	return rc
}

// recordCheck is s.recordCheck with Options.ProbeInterval applied.
func (h *Handler) recordCheck(s *storedCheck) *record.Check {
	rc := s.recordCheck()
	if rc != nil && h.opts.ProbeInterval > 0 {
		rc.Interval = record.Duration(h.opts.ProbeInterval)
	}
	return rc
}

func path(p string) string {
	if p == "" || p[0] != '/' {
		return "/" + p
	}
	return p
}

func (h *Handler) createCheck(c *call) (int, any, error) {
	var req createHealthCheckRequest
	if err := decodeXML(c.body, &req, "CreateHealthCheckRequest"); err != nil {
		return 0, nil, err
	}
	switch {
	case checkRoot(req.XMLName, "CreateHealthCheckRequest") != nil:
		return 0, nil, checkRoot(req.XMLName, "CreateHealthCheckRequest")
	case checkUnknown("CreateHealthCheckRequest", req.Other) != nil:
		return 0, nil, checkUnknown("CreateHealthCheckRequest", req.Other)
	case req.CallerReference == "" || len(req.CallerReference) > 64:
		return 0, nil, invalidInput("1 validation error detected: Value at 'callerReference' failed to satisfy constraint: Member must have length between 1 and 64")
	case req.HealthCheckConfig == nil:
		return 0, nil, invalidInput("1 validation error detected: Value null at 'healthCheckConfig' failed to satisfy constraint: Member must not be null")
	}
	cfg := *req.HealthCheckConfig
	if err := cfg.validate(); err != nil {
		return 0, nil, err
	}
	cfg.withDefaults()
	sc := &storedCheck{ID: newCheckID(), CallerReference: req.CallerReference, Version: 1, Config: cfg}
	err := h.updateChecks(c.r.Context(), func(_ store.ReadTx, d store.Docs) (map[string][]registry.Change, error) {
		if err := callerRefFree(d, req.CallerReference); err != nil {
			return nil, err
		}
		return nil, writeCheck(d, sc)
	})
	if err != nil {
		return 0, nil, err
	}
	c.w.Header().Set("Location", "https://route53.amazonaws.com/2013-04-01/healthcheck/"+sc.ID)
	return http.StatusCreated, healthCheckResponse{XMLName: xml.Name{Local: "CreateHealthCheckResponse"}, NS: Namespace, HealthCheck: sc.wire()}, nil
}

// callerRefFree refuses ref when a check has it already: caller
// references are unique across every server sharing the store.
func callerRefFree(d store.Docs, ref string) error {
	all, err := readChecks(d)
	if err != nil {
		return err
	}
	for _, old := range all {
		if old.CallerReference == ref {
			return &Error{Status: http.StatusConflict, Code: "HealthCheckAlreadyExists",
				Message: "A health check with the specified caller reference already exists: " + old.ID}
		}
	}
	return nil
}

func (h *Handler) getCheck(c *call) (int, any, error) {
	sc, err := h.check(c.r.Context(), c.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, healthCheckResponse{XMLName: xml.Name{Local: "GetHealthCheckResponse"}, NS: Namespace, HealthCheck: sc.wire()}, nil
}

func (h *Handler) listChecks(c *call) (int, any, error) {
	limit, err := maxItems(c.r, 100, 1000)
	if err != nil {
		return 0, nil, err
	}
	marker := c.r.URL.Query().Get("marker")
	res := listHealthChecksResponse{NS: Namespace, Marker: marker, MaxItems: strconv.Itoa(limit), HealthChecks: []healthCheck{}}
	all, err := h.checks(c.r.Context())
	if err != nil {
		return 0, nil, err
	}
	for _, sc := range all {
		if sc.ID < marker {
			continue
		}
		if len(res.HealthChecks) == limit {
			res.IsTruncated, res.NextMarker = true, sc.ID
			break
		}
		res.HealthChecks = append(res.HealthChecks, sc.wire())
	}
	return http.StatusOK, res, nil
}

func (h *Handler) updateCheck(c *call) (int, any, error) {
	id := c.r.PathValue("id")
	var req updateHealthCheckRequest
	if err := decodeXML(c.body, &req, "UpdateHealthCheckRequest"); err != nil {
		return 0, nil, err
	}
	if err := checkRoot(req.XMLName, "UpdateHealthCheckRequest"); err != nil {
		return 0, nil, err
	}
	if err := checkUnknown("UpdateHealthCheckRequest", req.Other); err != nil {
		return 0, nil, err
	}
	var out storedCheck
	err := h.updateChecks(c.r.Context(), func(tx store.ReadTx, d store.Docs) (map[string][]registry.Change, error) {
		sc, err := readCheck(d, id)
		if err != nil {
			return nil, err
		}
		if out, err = req.update(sc); err != nil {
			return nil, err
		}
		if err := writeCheck(d, &out); err != nil {
			return nil, err
		}
		return rewriteCheck(tx, id, h.recordCheck(&out))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, healthCheckResponse{XMLName: xml.Name{Local: "UpdateHealthCheckResponse"}, NS: Namespace, HealthCheck: out.wire()}, nil
}

// update is sc with the request applied and its version incremented.
func (u *updateHealthCheckRequest) update(sc storedCheck) (storedCheck, error) {
	if u.HealthCheckVersion != nil && *u.HealthCheckVersion != sc.Version {
		return sc, &Error{Status: http.StatusConflict, Code: "HealthCheckVersionMismatch",
			Message: fmt.Sprintf("The value of HealthCheckVersion in the request (%d) doesn't match the value of HealthCheckVersion of the health check (%d)", *u.HealthCheckVersion, sc.Version)}
	}
	cfg := u.apply(sc.Config)
	if err := cfg.validate(); err != nil {
		return sc, err
	}
	cfg.withDefaults()
	sc.Config, sc.Version = cfg, sc.Version+1
	return sc, nil
}

// apply is cfg updated with what the request sets or resets.
func (u *updateHealthCheckRequest) apply(cfg healthCheckConfig) healthCheckConfig {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&cfg.IPAddress, u.IPAddress)
	set(&cfg.ResourcePath, u.ResourcePath)
	set(&cfg.FullyQualifiedDomainName, u.FullyQualifiedDomainName)
	set(&cfg.SearchString, u.SearchString)
	for _, p := range []struct {
		dst **int
		v   *int
	}{{&cfg.Port, u.Port}, {&cfg.FailureThreshold, u.FailureThreshold}} {
		if p.v != nil {
			*p.dst = p.v
		}
	}
	for _, p := range []struct {
		dst **bool
		v   *bool
	}{{&cfg.Inverted, u.Inverted}, {&cfg.Disabled, u.Disabled}, {&cfg.EnableSNI, u.EnableSNI}} {
		if p.v != nil {
			*p.dst = p.v
		}
	}
	for _, e := range u.ResetElements {
		if e == "ResourcePath" {
			cfg.ResourcePath = ""
		}
		if e == "FullyQualifiedDomainName" {
			cfg.FullyQualifiedDomainName = ""
		}
	}
	return cfg
}

func (h *Handler) deleteCheck(c *call) (int, any, error) {
	id := c.r.PathValue("id")
	// As on AWS a check in use may be deleted; its sets are then healthy:
	// they lose their check in the same transaction.
	err := h.updateChecks(c.r.Context(), func(tx store.ReadTx, d store.Docs) (map[string][]registry.Change, error) {
		if _, err := readCheck(d, id); err != nil {
			return nil, err
		}
		if err := d.DeleteDoc(checkKind, id); err != nil {
			return nil, err
		}
		return rewriteCheck(tx, id, nil)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, emptyResponse{XMLName: xml.Name{Local: "DeleteHealthCheckResponse"}, NS: Namespace}, nil
}

// setsWithCheck are the record sets, in every zone, whose check is id.
func (h *Handler) setsWithCheck(ctx context.Context, id string) ([]record.Set, error) {
	zones, err := h.liveZones(ctx)
	if err != nil {
		return nil, err
	}
	var out []record.Set
	for _, z := range zones {
		sets, err := h.opts.Registry.Sets(ctx, z.Name, registry.Filter{})
		if err != nil {
			return nil, err
		}
		for _, s := range sets {
			if s.Check != nil && s.Check.ID == id {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

func (h *Handler) checkStatus(c *call) (int, any, error) {
	id := c.r.PathValue("id")
	if _, err := h.check(c.r.Context(), id); err != nil {
		return 0, nil, err
	}
	sets, err := h.setsWithCheck(c.r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	res := getHealthCheckStatusResponse{NS: Namespace, Observations: []healthCheckObservation{}}
	for i, st := range h.opts.Registry.Statuses(sets) {
		var o healthCheckObservation
		o.Region = "us-east-1"
		if addrs := sets[i].OwnAddrs(); len(addrs) > 0 {
			o.IPAddress = addrs[0].String()
		}
		o.StatusReport.Status = statusText(st)
		o.StatusReport.CheckedTime = h.now().UTC().Truncate(time.Second)
		if st.HealthSince != nil {
			o.StatusReport.CheckedTime = st.HealthSince.UTC()
		}
		res.Observations = append(res.Observations, o)
	}
	return http.StatusOK, res, nil
}

// statusText is a set's health as Route 53 words a checker's report.
func statusText(st record.Status) string {
	switch st.Health {
	case "up":
		return "Success: the endpoint answered dnslb's probe"
	case "down":
		return "Failure: " + st.HealthError
	}
	return "Unknown: no probe result yet"
}
