package cli

import (
	"log/slog"
	"reflect"
	"time"
)

var nilable = map[reflect.Kind]bool{reflect.Slice: true, reflect.Map: true, reflect.Pointer: true, reflect.Interface: true}

// logAttr keeps log lines the same in text and JSON and free of noise: a
// duration is written as text ("1.5s"; JSON would write nanoseconds), and
// an attribute whose value is nil (an "err" that is no error, a nil list)
// is left out rather than written as <nil> or null.
func logAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindDuration:
		return slog.String(a.Key, a.Value.Duration().String())
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case nil:
			return slog.Attr{}
		case time.Duration:
			return slog.String(a.Key, v.String())
		default:
			if rv := reflect.ValueOf(v); nilable[rv.Kind()] && rv.IsNil() {
				return slog.Attr{} // an empty list or a missing value
			}
		}
	}
	return a
}
