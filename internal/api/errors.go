package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store"
)

// writeError answers err as JSON with a stable code and a status that
// matches it. Unknown errors are logged and answered as internal errors
// without their text.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := s.classify(err)
	if status >= 500 {
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, client.ErrorBody{Error: body})
}

func (s *Server) classify(err error) (int, client.Error) {
	var fe *record.FieldError
	var tooLarge *http.MaxBytesError
	var re *requestError
	switch {
	case errors.As(err, &re):
		return re.status, client.Error{Code: re.code, Message: re.msg}
	case errors.As(err, &fe):
		return http.StatusBadRequest, client.Error{Code: client.CodeInvalid, Field: jsonField(fe.Field), Message: fe.Message}
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, client.Error{Code: client.CodeTooLarge,
			Message: fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit)}
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, client.Error{Code: client.CodeNotFound, Message: err.Error()}
	case errors.Is(err, registry.ErrNotVisible):
		// Answered 202 where the answer's body can say so (writes of sets
		// and zones); elsewhere (renew, drain, force) an error, so that no
		// client takes a half answer for a whole one.
		_, p, _ := pendingOf(err)
		return http.StatusServiceUnavailable, client.Error{Code: p.Code, Message: p.Message}
	case errors.Is(err, registry.ErrZoneNotEmpty):
		return http.StatusConflict, client.Error{Code: client.CodeZoneNotEmpty, Message: err.Error()}
	case errors.Is(err, registry.ErrZoneDeleting):
		return http.StatusConflict, client.Error{Code: client.CodeZoneDeleting, Message: err.Error()}
	case errors.Is(err, registry.ErrZoneConflict):
		return http.StatusConflict, client.Error{Code: client.CodeZoneConflict, Message: err.Error()}
	case errors.Is(err, registry.ErrExists):
		return http.StatusConflict, client.Error{Code: client.CodeExists, Message: err.Error()}
	case errors.Is(err, store.ErrFull):
		return http.StatusInsufficientStorage, client.Error{Code: client.CodeStorageFull, Message: err.Error()}
	case errors.Is(err, store.ErrUnavailable): // fail static: nothing written
		return http.StatusServiceUnavailable, client.Error{Code: client.CodeUnavailable, Message: err.Error()}
	case errors.Is(err, store.ErrClosed):
		return http.StatusServiceUnavailable, client.Error{Code: client.CodeUnavailable, Message: "server is shutting down"}
	}
	return http.StatusInternalServerError, client.Error{Code: client.CodeInternal, Message: "internal error; see the server log"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client has gone if this fails; nothing to do
}

// decodeBody decodes exactly one JSON value into v, refusing unknown fields
// and trailing data, with errors that name the field at fault.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return record.Errorf("body", "has data after the JSON value; send exactly one object")
	}
	return nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.As(err, &typeErr) && typeErr.Type == reflect.TypeFor[record.Duration]():
		return record.Errorf(fieldOrBody(typeErr.Field), "%s is not a duration; use e.g. 10s, 1m30s", typeErr.Value)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return record.Errorf(field, "got a JSON %s; want %s", typeErr.Value, jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return record.Errorf("body", "is not valid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.Is(err, io.EOF):
		return record.Errorf("body", "is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return record.Errorf("body", "ends in the middle of the JSON value")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if name == "" {
			return record.Errorf("body", "has a field with an empty name; remove it")
		}
		return record.Errorf(name, "is not a known field")
	}
	return record.Errorf("body", "cannot be decoded: %v", err)
}

// checkFields are the JSON paths, inside a record set, of the fields that
// record.Check.Normalize names as the agent's flags do.
var checkFields = map[string]string{
	"check": "check.target", "check_interval": "check.interval", "check_timeout": "check.timeout",
	"rise": "check.rise", "fall": "check.fall", "check_match": "check.match",
}

// jsonField is the path of field in the JSON the client sent: a check's
// fields are inside "check" ("changes[0].rrset.check_interval" is
// "changes[0].rrset.check.interval").
func jsonField(field string) string {
	prefix, last := "", field
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		prefix, last = field[:i+1], field[i+1:]
	}
	if path, ok := checkFields[last]; ok {
		return prefix + path
	}
	return field
}

func fieldOrBody(field string) string {
	if field == "" {
		return "body"
	}
	return field
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "slice":
		return "an array"
	case k == "struct", k == "map":
		return "an object"
	}
	return "a " + k
}
