package cli

import (
	"errors"
	"regexp"
	"strings"

	"github.com/dnslb/dnslb/internal/api/client"
)

// flagOf names, for the API's field names, the command line flag or
// argument a person typed the value with.
var flagOf = map[string]string{
	"name": "NAME", "type": "TYPE", "zone": "ZONE", "values": "--value",
	"set_id": "--set-id", "weight": "--weight", "ttl": "--ttl", "policy": "--policy", "lease": "--lease",
	"check": "--check", "check.target": "--check", "check.interval": "--check-interval", "check.timeout": "--check-timeout",
	"check.rise": "--rise", "check.fall": "--fall", "check.match": "--check-match",
	"check.verify_tls": "--check-verify-tls", "check.start_unhealthy": "--start-unhealthy",
	"margin": "--margin", "force": "--force",
	"ns": "--ns", "hostmaster": "--hostmaster", "negative_ttl": "--negative-ttl",
}

// snakeField finds API field names with an underscore in a message
// ("is required with set_id"), which read as flags on the command line.
var snakeField = regexp.MustCompile(`\b[a-z]+(_[a-z]+)+\b`)

// cliError is err as a person at the command line should read it: a field
// error of the API names the flag the value came from (`--weight is
// required with --set-id`), not the JSON field. Other errors are err.
func cliError(err error) error {
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Field == "" {
		return err
	}
	field := ce.Field
	if i := strings.IndexByte(field, '['); i > 0 {
		field = field[:i] // values[2] is the third --value
	}
	flag, ok := flagOf[field]
	if !ok {
		return err
	}
	msg := snakeField.ReplaceAllStringFunc(ce.Message, func(f string) string {
		if fl, ok := flagOf[f]; ok {
			return fl
		}
		return f
	})
	sep := ": "
	for _, verb := range []string{"is ", "needs ", "must "} {
		if strings.HasPrefix(msg, verb) {
			sep = " "
		}
	}
	return errors.New(flag + sep + msg + " (" + ce.Code + ")")
}
