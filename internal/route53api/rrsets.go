package route53api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/dnslb/dnslb/internal/auth"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store"
)

// Route 53's limits of a change batch: ResourceRecord elements and
// characters of values, an UPSERT counting twice.
const (
	MaxBatchRecords = 1000
	MaxBatchChars   = 32000
)

// batchChange is one change of a batch, as given and as dnslb applies it.
type batchChange struct {
	action string
	rrs    *resourceRecordSet
	name   string // canonical
	typ    record.Type
	setID  string
	c      registry.Change
}

// desc names the set as Route 53's messages do.
func (b *batchChange) desc() string {
	s := fmt.Sprintf("[name='%s', type='%s'", wireName(b.name), b.typ)
	if b.setID != "" {
		s += fmt.Sprintf(", set-identifier='%s'", b.setID)
	}
	return s + "]"
}

// inChange names the change as Route 53's InvalidInput messages do.
func (b *batchChange) inChange() string {
	id := "null"
	if b.setID != "" {
		id = b.setID
	}
	return fmt.Sprintf("Change with [Action=%s, Name=%s, Type=%s, SetIdentifier=%s]", b.action, wireName(b.name), b.typ, id)
}

func (h *Handler) changeRecordSets(c *call) (int, any, error) {
	ctx := c.r.Context()
	z, err := h.zoneByID(ctx, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	batch, err := decodeBatch(c.body)
	if err != nil {
		return 0, nil, err
	}
	changes, err := h.toChanges(z, batch)
	if err != nil {
		return 0, nil, err
	}
	if err := authorizeBatch(c.key, changes); err != nil {
		return 0, nil, err
	}
	rcs := make([]registry.Change, len(changes))
	for i := range changes {
		rcs[i] = changes[i].c
	}
	rev, err := h.opts.Registry.UpdateDocs(ctx, func(_ store.ReadTx, d store.Docs) (map[string][]registry.Change, error) {
		return map[string][]registry.Change{z.Name: rcs}, h.attachChecks(d, changes, rcs)
	})
	if err != nil && !errors.Is(err, registry.ErrNotVisible) {
		return 0, nil, batchError(changes, err)
	}
	return http.StatusOK, changeResourceRecordSetsResponse{NS: Namespace, ChangeInfo: h.changeInfo(c.r.Context(), rev, batch.Comment)}, nil
}

// decodeBatch decodes and checks the shape of a ChangeResourceRecordSets
// body.
func decodeBatch(body []byte) (*changeBatch, error) {
	var req changeResourceRecordSetsRequest
	if err := decodeXML(body, &req, "ChangeResourceRecordSetsRequest"); err != nil {
		return nil, err
	}
	if err := checkRoot(req.XMLName, "ChangeResourceRecordSetsRequest"); err != nil {
		return nil, err
	}
	if err := checkUnknown("ChangeResourceRecordSetsRequest", req.Other); err != nil {
		return nil, err
	}
	b := req.ChangeBatch
	switch {
	case b == nil:
		return nil, invalidInput("1 validation error detected: Value null at 'changeBatch' failed to satisfy constraint: Member must not be null")
	case checkUnknown("ChangeBatch", b.Other) != nil:
		return nil, checkUnknown("ChangeBatch", b.Other)
	case len(b.Changes) == 0:
		return nil, invalidInput("1 validation error detected: Value '[]' at 'changeBatch.changes' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case len(b.Comment) > 256:
		return nil, invalidInput("1 validation error detected: Value at 'changeBatch.comment' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	return b, nil
}

// toChanges checks each change of b for zone z and makes it a registry
// change; it also checks the batch's limits.
func (h *Handler) toChanges(z record.Zone, b *changeBatch) ([]batchChange, error) {
	out := make([]batchChange, 0, len(b.Changes))
	records, chars := 0, 0
	for i := range b.Changes {
		bc, err := h.toChange(z, &b.Changes[i], i)
		if err != nil {
			return nil, err
		}
		n := 1
		if bc.action == "UPSERT" {
			n = 2
		}
		for _, v := range bc.c.Set.Values {
			records, chars = records+n, chars+n*len(v)
		}
		out = append(out, bc)
	}
	switch {
	case records > MaxBatchRecords:
		return nil, invalidBatch(fmt.Sprintf("Number of records limit of %d exceeded.", MaxBatchRecords))
	case chars > MaxBatchChars:
		return nil, invalidBatch(fmt.Sprintf("Number of characters limit of %d exceeded.", MaxBatchChars))
	}
	return out, nil
}

func (h *Handler) toChange(z record.Zone, ch *change, i int) (batchChange, error) {
	at := fmt.Sprintf("changeBatch.changes.%d.member", i+1)
	switch {
	case checkUnknown("Change", ch.Other) != nil:
		return batchChange{}, checkUnknown("Change", ch.Other)
	case ch.Action != "CREATE" && ch.Action != "UPSERT" && ch.Action != "DELETE":
		return batchChange{}, invalidInput("1 validation error detected: Value '%s' at '%s.action' failed to satisfy constraint: Member must satisfy enum value set: [DELETE, CREATE, UPSERT]", ch.Action, at)
	case ch.ResourceRecordSet == nil:
		return batchChange{}, invalidInput("1 validation error detected: Value null at '%s.resourceRecordSet' failed to satisfy constraint: Member must not be null", at)
	}
	rrs := ch.ResourceRecordSet
	bc := batchChange{action: ch.Action, rrs: rrs, setID: rrs.SetIdentifier}
	if err := bc.identify(z, at); err != nil {
		return bc, err
	}
	if err := bc.checkShape(at); err != nil {
		return bc, err
	}
	if err := bc.build(z); err != nil {
		return bc, err
	}
	return bc, nil
}

// attachChecks gives the set of each change (rcs[i] of changes[i]) the
// health check its HealthCheckId names, read in the batch's transaction:
// a check deleted meanwhile is never attached.
func (h *Handler) attachChecks(d store.Docs, changes []batchChange, rcs []registry.Change) error {
	for i := range changes {
		bc := &changes[i]
		id := bc.rrs.HealthCheckID
		if id == "" || bc.action == "DELETE" {
			continue
		}
		sc, err := readCheck(d, id)
		var e *Error
		if errors.As(err, &e) && e.Code == codeNoSuchHealthCheck {
			return &Error{Status: http.StatusNotFound, Code: codeNoSuchHealthCheck,
				Message: fmt.Sprintf("The health check with ID %s in %s does not exist", id, bc.inChange())}
		}
		if err != nil {
			return err
		}
		rcs[i].Set.Check = h.recordCheck(&sc)
	}
	return nil
}

// identify reads the name, type and set identifier of the change.
func (bc *batchChange) identify(z record.Zone, at string) error {
	rrs := bc.rrs
	if err := checkUnknown("ResourceRecordSet", rrs.Other); err != nil {
		return err
	}
	if rrs.Name == "" || rrs.Type == "" {
		return invalidInput("1 validation error detected: Value null at '%s.resourceRecordSet.%s' failed to satisfy constraint: Member must not be null", at, map[bool]string{true: "name", false: "type"}[rrs.Name == ""])
	}
	bc.name = record.Fqdn(unescapeName(rrs.Name))
	bc.typ = record.Type(strings.ToUpper(rrs.Type))
	if !record.InZone(bc.name, z.Name) {
		return invalidBatch(fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", wireName(bc.name), z.Name))
	}
	if (bc.typ == "SOA" || bc.typ == "NS") && bc.name == z.Name {
		return invalidBatch(fmt.Sprintf("%s: dnslb serves the SOA and NS records of the zone apex from the zone itself; they cannot be changed here", bc.desc()))
	}
	if _, err := record.ParseType("type", string(bc.typ)); err != nil {
		return invalidBatch(fmt.Sprintf("%s: dnslb does not serve type %s record sets; supported: A, AAAA, CNAME, TXT, MX, SRV", bc.desc(), bc.typ))
	}
	if n := len(bc.setID); rrs.SetIdentifier != "" && n > 128 {
		return invalidInput("1 validation error detected: Value '%s' at '%s.resourceRecordSet.setIdentifier' failed to satisfy constraint: Member must have length less than or equal to 128", bc.setID, at)
	}
	return nil
}

// checkShape checks the fields Route 53 requires together.
func (bc *batchChange) checkShape(at string) error {
	rrs := bc.rrs
	multi := rrs.MultiValueAnswer != nil && *rrs.MultiValueAnswer
	switch {
	case rrs.Weight != nil && (*rrs.Weight < 0 || *rrs.Weight > record.MaxWeight):
		return invalidInput("1 validation error detected: Value '%d' at '%s.resourceRecordSet.weight' failed to satisfy constraint: Member must have value between 0 and 255", *rrs.Weight, at)
	case rrs.TTL != nil && (*rrs.TTL < 0 || *rrs.TTL > record.MaxTTL):
		return invalidInput("1 validation error detected: Value '%d' at '%s.resourceRecordSet.TTL' failed to satisfy constraint: Member must have value between 0 and 2147483647", *rrs.TTL, at)
	case (rrs.Weight != nil || multi) && bc.setID == "":
		return invalidInput("Invalid request: Missing field 'SetIdentifier' in %s", bc.inChange())
	case bc.setID != "" && rrs.Weight == nil && rrs.MultiValueAnswer == nil:
		return invalidInput("Invalid request: Missing field 'Weight' or 'MultiValueAnswer' in %s; dnslb supports weighted and multivalue routing", bc.inChange())
	case rrs.Weight != nil && rrs.MultiValueAnswer != nil:
		return invalidInput("Invalid request: Expected exactly one of [Weight, MultiValueAnswer], but found more than one in %s", bc.inChange())
	case rrs.TTL == nil || rrs.ResourceRecords == nil:
		return invalidInput("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]], but found none in %s", bc.inChange())
	case len(rrs.ResourceRecords.Records) == 0:
		return invalidInput("1 validation error detected: Value '[]' at '%s.resourceRecordSet.resourceRecords' failed to satisfy constraint: Member must have length greater than or equal to 1", at)
	}
	return nil
}

// build makes the registry change.
func (bc *batchChange) build(z record.Zone) error {
	rrs := bc.rrs
	set := record.Set{Key: record.Key{Zone: z.Name, Name: bc.name, Type: bc.typ, SetID: bc.setID}, TTL: uint32(*rrs.TTL)}
	for j, rr := range rrs.ResourceRecords.Records {
		v := rr.Value
		if bc.typ == record.TXT {
			v = unquoteTXT(v)
		}
		nv, err := record.NormalizeValue("value", bc.typ, v)
		if err != nil {
			var fe *record.FieldError
			errors.As(err, &fe)
			return invalidBatch(fmt.Sprintf("Invalid Resource Record: FATAL problem: %s (Value %d of %s)", fe.Message, j+1, bc.desc()))
		}
		set.Values = append(set.Values, nv)
	}
	policy := record.Policy("")
	switch {
	case rrs.Weight != nil:
		set.Weight, policy = int(*rrs.Weight), record.Weighted
	case bc.setID != "":
		set.Weight, policy = 1, record.Multivalue
	}
	bc.c = registry.Change{Action: registry.Action(bc.action), Set: set, Policy: policy}
	if bc.action == "DELETE" {
		bc.c.Policy = ""
		bc.c.Guard = matchGuard(bc, set)
	}
	return nil
}

// errMismatch: a DELETE named a set whose values differ from the stored.
var errMismatch = errors.New("the values provided do not match the current values")

// matchGuard accepts the deletion of the stored set only if it is the set
// the change describes, as Route 53 requires.
func matchGuard(bc *batchChange, want record.Set) registry.Guard {
	return func(old, _ *record.Set) error {
		oldCheck := ""
		if old.Check != nil {
			oldCheck = old.Check.ID
		}
		same := old.TTL == want.TTL && old.Weight == want.Weight && sameValues(old.Values, want.Values) &&
			oldCheck == bc.rrs.HealthCheckID
		if !same {
			return errMismatch
		}
		return nil
	}
}

func sameValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// batchError is an Apply error in Route 53's terms.
func batchError(changes []batchChange, err error) error {
	var ce *registry.ChangeError
	if !errors.As(err, &ce) || ce.Index < 0 || ce.Index >= len(changes) {
		if e := fromRegistry(err); e != nil {
			return invalidBatch(e.Message)
		}
		return err
	}
	bc := &changes[ce.Index]
	var fe *record.FieldError
	switch {
	case errors.Is(err, registry.ErrExists):
		return invalidBatch(fmt.Sprintf("Tried to create resource record set %s but it already exists", bc.desc()))
	case errors.Is(err, errMismatch):
		return invalidBatch(fmt.Sprintf("Tried to delete resource record set %s but the values provided do not match the current values", bc.desc()))
	case errors.Is(err, store.ErrNotFound) && bc.action == "DELETE":
		return invalidBatch(fmt.Sprintf("Tried to delete resource record set %s but it was not found", bc.desc()))
	case errors.As(err, &fe):
		return invalidBatch(fmt.Sprintf("%s: %s", bc.desc(), fe.Message))
	}
	if e := fromRegistry(err); e != nil {
		return e
	}
	return err
}

// authorizeBatch checks that key may make every change: admin may make
// any; register, changes of weighted sets under its patterns (and its set
// id); read, none (refused before).
func authorizeBatch(key *Key, changes []batchChange) error {
	tok := key.Token
	if tok.Scope == auth.Admin {
		return nil
	}
	for i := range changes {
		bc := &changes[i]
		switch {
		case bc.setID == "":
			return accessDenied("User: %s (scope register) may change weighted record sets only; %s has no SetIdentifier", key.ID, bc.desc())
		case tok.SetID != "" && bc.setID != tok.SetID:
			return accessDenied("User: %s may change set identifier %q only, not %s", key.ID, tok.SetID, bc.desc())
		case !tok.MatchName(bc.name):
			return accessDenied("User: %s may change names matching %s; %s is not one of them", key.ID, tok.PatternList(), bc.desc())
		}
	}
	return nil
}

// wireName is a canonical name as Route 53 writes it: a leading "*"
// label as \052.
func wireName(name string) string {
	if strings.HasPrefix(name, "*.") {
		return `\052` + name[1:]
	}
	return name
}

// unescapeName reads Route 53's \DDD escapes (\052 is "*").
func unescapeName(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unquoteTXT reads a TXT value in Route 53's form, one or more quoted
// strings ("a" "b"), into the text dnslb stores; an unquoted value is
// taken as it is.
func unquoteTXT(v string) string {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, `"`) {
		return v
	}
	var b strings.Builder
	in := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			in = !in
		case c == '\\' && in && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case in:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// quoteTXT writes stored TXT text in Route 53's form: quoted strings of at
// most 255 characters.
func quoteTXT(s string) string {
	var parts []string
	for {
		n := min(len(s), 255)
		q := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s[:n])
		parts = append(parts, `"`+q+`"`)
		s = s[n:]
		if s == "" {
			return strings.Join(parts, " ")
		}
	}
}
