package agent

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Termination says whether this instance is going away: a spot
// interruption or an auto scaling termination is pending. Notices is one.
type Termination interface {
	// Pending returns why the instance is going away, or "" when it is
	// not; an error when it cannot tell.
	Pending(ctx context.Context) (reason string, err error)
}

// Notices watches EC2 for the end of this instance: a spot interruption
// notice (spot/instance-action) or the auto scaling target lifecycle state
// Terminated. It polls IMDS every Interval and reports the first one seen.
type Notices struct {
	Client   *imds.Client
	Interval time.Duration
	Logger   *slog.Logger
}

// Watch polls until a notice arrives (returning its reason) or ctx ends
// (returning ""). A poll that fails is retried at the next tick; the first
// failure of a run logs a warning and the first success after it one
// line, so that an IMDS that cannot be read (and a drain that may never be
// triggered) shows at the default log level.
func (n *Notices) Watch(ctx context.Context) string {
	t := time.NewTicker(n.Interval)
	defer t.Stop()
	var failing time.Time
	for {
		reason, err := n.Pending(ctx)
		switch {
		case reason != "":
			return reason
		case err != nil && ctx.Err() == nil:
			failing = n.failed(failing, err)
		case err == nil && !failing.IsZero():
			n.Logger.Info("termination notices readable again", "after", time.Since(failing).Round(time.Millisecond).String())
			failing = time.Time{}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ""
		}
	}
}

// failed logs a failed poll: a warning when it starts a run of failures,
// else at debug level. It returns when the run started.
func (n *Notices) failed(since time.Time, err error) time.Time {
	if since.IsZero() {
		n.Logger.Warn("cannot read termination notices from IMDS; a spot interruption or auto scaling "+
			"termination would go unseen; retrying", "err", err, "every", n.Interval.String())
		return time.Now()
	}
	n.Logger.Debug("termination notice poll failed", "err", err)
	return since
}

// Pending reads both notices once. A notice present wins over an error
// reading the other.
func (n *Notices) Pending(ctx context.Context) (string, error) {
	action, spotErr := metadata(ctx, n.Client, "spot/instance-action")
	if spotErr == nil && action != "" {
		return "spot interruption notice: " + action, nil
	}
	state, err := LifecycleState(ctx, n.Client)
	if err == nil && state == "Terminated" {
		return "auto scaling target lifecycle state Terminated", nil
	}
	if spotErr != nil && !notFound(spotErr) {
		return "", spotErr
	}
	return "", err
}

// LifecycleState is the instance's auto scaling target lifecycle state
// (InService, Terminated, …), "" when it is in no auto scaling group.
func LifecycleState(ctx context.Context, c *imds.Client) (string, error) {
	state, err := metadata(ctx, c, "autoscaling/target-lifecycle-state")
	if notFound(err) {
		return "", nil
	}
	return state, err
}

// notFound reports IMDS's 404, which means "no such notice".
func notFound(err error) bool {
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}
