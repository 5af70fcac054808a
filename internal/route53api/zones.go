package route53api

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/xml"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store"
)

// ZoneID is the hosted zone id of z, as Route 53 shapes them: "Z" and 20
// upper-case letters and digits. It is derived from the zone's name and
// creation time, so it is the same on every server and stays while the
// zone does; a zone deleted and made again gets a new one, as on AWS.
func ZoneID(z record.Zone) string {
	sum := sha256.Sum256([]byte(z.Name + "\x00" + z.Created.UTC().Format("2006-01-02T15:04:05.000000000Z")))
	return "Z" + base32.StdEncoding.EncodeToString(sum[:])[:20]
}

// bareID strips the "/hostedzone/" or "/change/" prefix Route 53 answers
// ids with; clients send either form.
func bareID(id string) string {
	id = strings.TrimPrefix(id, "/")
	for _, p := range []string{"hostedzone/", "change/", "healthcheck/"} {
		id = strings.TrimPrefix(id, p)
	}
	return id
}

// zoneByID finds the zone whose ZoneID is id.
func (h *Handler) zoneByID(ctx context.Context, id string) (record.Zone, error) {
	id = bareID(id)
	zones, err := h.opts.Registry.Zones(ctx)
	if err != nil {
		return record.Zone{}, err
	}
	for _, z := range zones {
		if ZoneID(z) == id && !z.Deleting {
			return z, nil
		}
	}
	return record.Zone{}, noSuchZone(id)
}

// wireZone is z as Route 53 shows it, with its count of record sets.
func (h *Handler) wireZone(ctx context.Context, z record.Zone) (hostedZone, error) {
	sets, err := h.opts.Registry.Sets(ctx, z.Name, registry.Filter{})
	if err != nil {
		return hostedZone{}, err
	}
	hz := hostedZone{ID: "/hostedzone/" + ZoneID(z), Name: z.Name, ResourceRecordSetCount: int64(len(sets) + 2)}
	hz.CallerReference = "dnslb-" + ZoneID(z)
	cfg := &hostedZoneConfig{}
	if m := z.Route53; m != nil {
		if m.CallerReference != "" {
			hz.CallerReference = m.CallerReference
		}
		cfg.Comment = m.Comment
	}
	hz.Config = cfg
	return hz, nil
}

// decodeXML decodes body into v, whose root element must be root in
// Route 53's namespace.
func decodeXML(body []byte, v any, root string) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return invalidInput("Invalid XML ; the request body is empty; send a %s document", root)
	}
	dec := xml.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(v); err != nil {
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			return invalidInput("Invalid XML ; line %d: %s", se.Line, se.Msg)
		}
		var ue xml.UnmarshalError
		if errors.As(err, &ue) {
			return invalidInput("Invalid XML ; %s", ue)
		}
		return invalidInput("Invalid XML ; %v", err)
	}
	rest, err := dec.Token()
	for err == nil {
		if cd, ok := rest.(xml.CharData); !ok || strings.TrimSpace(string(cd)) != "" {
			if _, ok := rest.(xml.Comment); !ok {
				return invalidInput("Invalid XML ; content after the %s element", root)
			}
		}
		rest, err = dec.Token()
	}
	return nil
}

// checkRoot checks the name and namespace of a decoded root element.
func checkRoot(n xml.Name, root string) error {
	if n.Space != Namespace {
		return invalidInput("Invalid XML ; the %s element must be in namespace %s, not %q", root, Namespace, n.Space)
	}
	return nil
}

func checkUnknown(where string, other []unknown) error {
	if len(other) > 0 {
		return invalidInput("Invalid XML ; %s has an element dnslb does not know or support: %s", where, other[0].XMLName.Local)
	}
	return nil
}

func (h *Handler) createHostedZone(c *call) (int, any, error) {
	var req createHostedZoneRequest
	if err := decodeXML(c.body, &req, "CreateHostedZoneRequest"); err != nil {
		return 0, nil, err
	}
	if err := validCreateZone(&req); err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	if z, ok, err := h.zoneByRef(ctx, req.CallerReference); err != nil || ok {
		if ok {
			err = &Error{Status: http.StatusConflict, Code: codeHostedZoneAlreadyExists,
				Message: "A hosted zone has already been created with the specified caller reference: " + ZoneID(z)}
		}
		return 0, nil, err
	}
	z := record.Zone{Name: req.Name, Route53: &record.Route53Zone{CallerReference: req.CallerReference}}
	if req.HostedZoneConfig != nil {
		z.Route53.Comment = req.HostedZoneConfig.Comment
	}
	z, err := h.created(ctx, z)
	if err != nil {
		return 0, nil, zoneError(req.Name, err)
	}
	hz, err := h.wireZone(ctx, z)
	if err != nil {
		return 0, nil, err
	}
	c.w.Header().Set("Location", "https://route53.amazonaws.com/2013-04-01/hostedzone/"+ZoneID(z))
	return http.StatusCreated, createHostedZoneResponse{NS: Namespace, HostedZone: hz,
		ChangeInfo: h.changeInfo(c.r.Context(), z.Revision, ""), DelegationSet: delegationSet{NameServers: z.NS}}, nil
}

// created creates z; a zone committed but not yet in DNS answers is
// read back, with the revision that made it, for a PENDING answer.
func (h *Handler) created(ctx context.Context, z record.Zone) (record.Zone, error) {
	made, err := h.opts.Registry.CreateZone(ctx, z)
	var nv *registry.NotVisibleError
	if !errors.As(err, &nv) {
		return made, err
	}
	made, err = h.opts.Registry.Zone(ctx, z.Name)
	made.Revision = nv.Revision
	return made, err
}

func validCreateZone(req *createHostedZoneRequest) error {
	switch {
	case checkRoot(req.XMLName, "CreateHostedZoneRequest") != nil:
		return checkRoot(req.XMLName, "CreateHostedZoneRequest")
	case checkUnknown("CreateHostedZoneRequest", req.Other) != nil:
		return checkUnknown("CreateHostedZoneRequest", req.Other)
	case req.Name == "":
		return invalidInput("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	case req.CallerReference == "":
		return invalidInput("1 validation error detected: Value null at 'callerReference' failed to satisfy constraint: Member must not be null")
	case len(req.CallerReference) > 128:
		return invalidInput("1 validation error detected: Value at 'callerReference' failed to satisfy constraint: Member must have length less than or equal to 128")
	case req.VPC != nil || req.HostedZoneConfig != nil && req.HostedZoneConfig.PrivateZone:
		return invalidInput("dnslb serves public hosted zones only; remove VPC and PrivateZone")
	case req.DelegationSetID != "":
		return invalidInput("dnslb has no reusable delegation sets; remove DelegationSetId")
	case req.HostedZoneConfig != nil && len(req.HostedZoneConfig.Comment) > 256:
		return invalidInput("1 validation error detected: Value at 'hostedZoneConfig.comment' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	return nil
}

// zoneByRef finds a zone created with caller reference ref.
func (h *Handler) zoneByRef(ctx context.Context, ref string) (record.Zone, bool, error) {
	zones, err := h.opts.Registry.Zones(ctx)
	if err != nil {
		return record.Zone{}, false, err
	}
	for _, z := range zones {
		if z.Route53 != nil && z.Route53.CallerReference == ref {
			return z, true, nil
		}
	}
	return record.Zone{}, false, nil
}

// zoneError is a registry error of a zone's creation in Route 53's terms.
func zoneError(name string, err error) error {
	var fe *record.FieldError
	switch {
	case errors.Is(err, registry.ErrExists):
		return &Error{Status: http.StatusConflict, Code: codeHostedZoneAlreadyExists,
			Message: "A hosted zone named " + strings.TrimSuffix(name, ".") + ". already exists; dnslb serves one hosted zone per name"}
	case errors.Is(err, registry.ErrZoneConflict):
		return &Error{Status: http.StatusBadRequest, Code: "ConflictingDomainExists", Message: err.Error()}
	case errors.As(err, &fe):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidDomainName, Message: name + " is not a valid domain name: " + fe.Message}
	}
	return err
}

func (h *Handler) getHostedZone(c *call) (int, any, error) {
	z, err := h.zoneByID(c.r.Context(), c.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	hz, err := h.wireZone(c.r.Context(), z)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, getHostedZoneResponse{NS: Namespace, HostedZone: hz, DelegationSet: delegationSet{NameServers: z.NS}}, nil
}

// maxItems reads the maxitems parameter: def when absent, at most limit.
func maxItems(r *http.Request, def, limit int) (int, error) {
	v := r.URL.Query().Get("maxitems")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, invalidInput("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must be a positive integer", v)
	}
	return min(n, limit), nil
}

func (h *Handler) listHostedZones(c *call) (int, any, error) {
	ctx := c.r.Context()
	limit, err := maxItems(c.r, 100, 100)
	if err != nil {
		return 0, nil, err
	}
	zones, err := h.liveZones(ctx)
	if err != nil {
		return 0, nil, err
	}
	switch q := c.r.URL.Query(); {
	case q.Get("hostedzonetype") == "PrivateHostedZone":
		zones = nil // dnslb's zones are all public
	case q.Get("delegationsetid") != "":
		return 0, nil, &Error{Status: http.StatusBadRequest, Code: "NoSuchDelegationSet",
			Message: "dnslb has no reusable delegation sets: " + q.Get("delegationsetid")}
	}
	marker := c.r.URL.Query().Get("marker")
	start := 0
	if marker != "" {
		start = slices.IndexFunc(zones, func(z record.Zone) bool { return ZoneID(z) == bareID(marker) })
		if start < 0 {
			return 0, nil, invalidInput("Invalid marker: %s is not the id of a hosted zone", marker)
		}
	}
	res := listHostedZonesResponse{NS: Namespace, Marker: marker, MaxItems: strconv.Itoa(limit), HostedZones: []hostedZone{}}
	for i := start; i < len(zones); i++ {
		if len(res.HostedZones) == limit {
			res.IsTruncated, res.NextMarker = true, ZoneID(zones[i])
			break
		}
		hz, err := h.wireZone(ctx, zones[i])
		if err != nil {
			return 0, nil, err
		}
		res.HostedZones = append(res.HostedZones, hz)
	}
	return http.StatusOK, res, nil
}

// liveZones are the zones not being deleted, by name.
func (h *Handler) liveZones(ctx context.Context) ([]record.Zone, error) {
	zones, err := h.opts.Registry.Zones(ctx)
	return slices.DeleteFunc(zones, func(z record.Zone) bool { return z.Deleting }), err
}

// reversedName is name with its labels reversed ("com.example.www"),
// the order Route 53 sorts names in.
func reversedName(name string) string {
	labels := strings.Split(strings.TrimSuffix(strings.ToLower(name), "."), ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".")
}

func (h *Handler) listHostedZonesByName(c *call) (int, any, error) {
	ctx := c.r.Context()
	limit, err := maxItems(c.r, 100, 100)
	if err != nil {
		return 0, nil, err
	}
	q := c.r.URL.Query()
	dnsName, zoneID := q.Get("dnsname"), bareID(q.Get("hostedzoneid"))
	if zoneID != "" && dnsName == "" {
		return 0, nil, invalidInput("The DNSName parameter is required when HostedZoneId is specified")
	}
	zones, err := h.liveZones(ctx)
	if err != nil {
		return 0, nil, err
	}
	slices.SortFunc(zones, func(a, b record.Zone) int { return strings.Compare(reversedName(a.Name), reversedName(b.Name)) })
	res := listHostedZonesByNameResponse{NS: Namespace, DNSName: q.Get("dnsname"), HostedZoneID: q.Get("hostedzoneid"),
		MaxItems: strconv.Itoa(limit), HostedZones: []hostedZone{}}
	from := reversedName(dnsName)
	for _, z := range zones {
		if dnsName != "" && (reversedName(z.Name) < from || zoneID != "" && reversedName(z.Name) == from && ZoneID(z) < zoneID) {
			continue
		}
		if len(res.HostedZones) == limit {
			res.IsTruncated, res.NextDNSName, res.NextHostedZoneID = true, z.Name, ZoneID(z)
			break
		}
		hz, err := h.wireZone(ctx, z)
		if err != nil {
			return 0, nil, err
		}
		res.HostedZones = append(res.HostedZones, hz)
	}
	return http.StatusOK, res, nil
}

func (h *Handler) deleteHostedZone(c *call) (int, any, error) {
	ctx := c.r.Context()
	z, err := h.zoneByID(ctx, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	err = h.opts.Registry.DeleteZone(ctx, z.Name, false)
	switch {
	case errors.Is(err, registry.ErrZoneNotEmpty):
		return 0, nil, &Error{Status: http.StatusBadRequest, Code: codeHostedZoneNotEmpty,
			Message: "The specified hosted zone contains non-required resource record sets and so cannot be deleted."}
	case errors.Is(err, store.ErrNotFound):
		return 0, nil, noSuchZone(ZoneID(z))
	case err != nil && !errors.Is(err, registry.ErrNotVisible):
		return 0, nil, err
	}
	rev := h.opts.Registry.Published() // deleted and in answers
	if nv := (*registry.NotVisibleError)(nil); errors.As(err, &nv) {
		rev = nv.Revision // deleted, not yet in answers: PENDING
	}
	return http.StatusOK, deleteHostedZoneResponse{NS: Namespace, ChangeInfo: h.changeInfo(c.r.Context(), rev, "")}, nil
}

// fromRegistry is a registry error in Route 53's terms, or nil.
func fromRegistry(err error) *Error {
	var fe *record.FieldError
	switch {
	case errors.As(err, &fe):
		return invalidInput("%s", fe.Error())
	case errors.Is(err, store.ErrFull), errors.Is(err, store.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: err.Error()}
	case errors.Is(err, registry.ErrZoneDeleting):
		return &Error{Status: http.StatusBadRequest, Code: codePriorRequestNotComplete, Message: err.Error()}
	}
	return nil
}
