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

// Notices watches EC2 for the end of this instance: a spot interruption
// notice (spot/instance-action) or the auto scaling target lifecycle state
// Terminated. It polls IMDS every Interval and reports the first one seen.
type Notices struct {
	Client   *imds.Client
	Interval time.Duration
	Logger   *slog.Logger
}

// Watch polls until a notice arrives (returning its reason) or ctx ends
// (returning ""). Errors other than "no notice" are logged and retried.
func (n *Notices) Watch(ctx context.Context) string {
	t := time.NewTicker(n.Interval)
	defer t.Stop()
	for {
		if reason := n.check(ctx); reason != "" {
			return reason
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ""
		}
	}
}

func (n *Notices) check(ctx context.Context) string {
	if action, err := metadata(ctx, n.Client, "spot/instance-action"); err == nil && action != "" {
		return "spot interruption notice: " + action
	} else if err != nil && !notFound(err) && ctx.Err() == nil {
		n.Logger.Debug("spot notice poll failed", "err", err)
	}
	state, err := metadata(ctx, n.Client, "autoscaling/target-lifecycle-state")
	switch {
	case err == nil && state == "Terminated":
		return "auto scaling target lifecycle state Terminated"
	case err != nil && !notFound(err) && ctx.Err() == nil:
		n.Logger.Debug("lifecycle state poll failed", "err", err)
	}
	return ""
}

// notFound reports IMDS's 404, which means "no such notice".
func notFound(err error) bool {
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}
