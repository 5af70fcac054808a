package agent

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
)

// servers are the API servers the agent may use, in order of preference.
// A call goes to the server that answered last and, on an error that
// another server may not have (no answer, a timeout, a 5xx), to the next
// ones in turn. Each try has a deadline of its own. Used by the Run
// goroutine only.
type servers struct {
	list    []*client.Client
	cur     int // index of the server that answered last
	timeout time.Duration
	log     *slog.Logger
}

// call runs fn on each server in turn, starting with the current one, until
// one answers: with success or with an error that is not transient. It
// returns the server that answered (nil when none did).
func (s *servers) call(ctx context.Context, fn func(context.Context, *client.Client) error) (*client.Client, error) {
	var errs noAnswer
	for i := range s.list {
		n := (s.cur + i) % len(s.list)
		err := s.try(ctx, s.list[n], fn)
		if err == nil || !transient(err) {
			s.moveTo(n, errs)
			return s.list[n], err
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, errs
}

// try runs fn on one server with the call deadline.
func (s *servers) try(ctx context.Context, c *client.Client, fn func(context.Context, *client.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return fn(ctx, c)
}

// moveTo makes server n the current one, logging a failover.
func (s *servers) moveTo(n int, errs noAnswer) {
	if n == s.cur {
		return
	}
	s.log.Info("failed over", "from", s.list[s.cur].Host(), "to", s.list[n].Host(), "err", errs[len(errs)-1])
	s.cur = n
}

// noAnswer is the errors of a call that no server answered.
type noAnswer []error

func (e noAnswer) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return "no server answered: " + strings.Join(msgs, "; ")
}

func (e noAnswer) Unwrap() []error { return e }

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// transient reports whether a later try, or another server, may succeed:
// no answer (network errors, timeouts), a 5xx, 408, 409 or 429. Any other
// answer by a server (a 4xx: invalid argument, unknown zone, refused
// token) is permanent, as are errors marked permanentError.
func transient(err error) bool {
	if errors.As(err, new(permanentError)) {
		return false
	}
	var ce *client.Error
	if !errors.As(err, &ce) {
		return true
	}
	switch ce.Status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return ce.Status >= 500
}
