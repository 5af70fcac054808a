package record

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every validation error, so callers can test with
// errors.Is(err, record.ErrInvalid) and map it to a client error.
var ErrInvalid = errors.New("invalid")

// FieldError says which field of an input is wrong and what is allowed.
type FieldError struct {
	Field   string // JSON-style path, e.g. "weight" or "changes[2].values[0]"
	Message string // what is wrong and what is allowed
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap makes every FieldError match ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Errorf returns a *FieldError for field with a formatted message.
func Errorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Prefix returns err with its field placed under prefix ("changes[2]" +
// "weight" = "changes[2].weight"); other errors are returned unchanged.
func Prefix(prefix string, err error) error {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return err
	}
	field := prefix
	if fe.Field != "" {
		field += "." + fe.Field
	}
	return &FieldError{Field: field, Message: fe.Message}
}
