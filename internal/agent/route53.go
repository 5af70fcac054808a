package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/dnslb/dnslb/internal/record"
)

// Route53 makes the agent register in Route 53, or anything that speaks
// its API (dnslb's own /2013-04-01/), instead of through the dnslb API:
// an UPSERT of the instance's weighted set at start, a DELETE of exactly
// that set on drain, each followed by GetChange until INSYNC, then a wait
// of TTL + margin, since Route 53 cannot say when the set was last
// served. Route 53 has no leases: a crashed instance's set stays until a
// health check (HealthCheckID) or an operator takes it out.
type Route53 struct {
	Client        Route53API
	HostedZoneID  string
	HealthCheckID string        // optional, as Route 53's HealthCheckId
	Poll          time.Duration // between two GetChange calls; default 2s
	// DeleteTries bounds how often a DELETE that no longer matches the
	// set (changed meanwhile by someone else) is read again and retried
	// (default 5).
	DeleteTries int
}

// Route53API is the part of *route53.Client the agent uses.
type Route53API interface {
	ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, opts ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
	GetChange(ctx context.Context, in *route53.GetChangeInput, opts ...func(*route53.Options)) (*route53.GetChangeOutput, error)
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, opts ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
}

const defaultRoute53Poll = 2 * time.Second

// Route 53 error codes that a later try can get past: Route 53 allows
// about five requests per second per account, and one change at a time
// per zone.
var retryableCodes = map[string]bool{"Throttling": true, "ThrottlingException": true,
	"PriorRequestNotComplete": true, "RequestLimitExceeded": true, "ServiceUnavailable": true}

// r53Retryable reports whether err may go away on a later try: the codes
// above, a 5xx, or no answer at all.
func r53Retryable(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if retryableCodes[ae.ErrorCode()] {
			return true
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode() >= 500 || re.HTTPStatusCode() == http.StatusTooManyRequests
	}
	return ae == nil
}

// r53Code is err's Route 53 error code, or "".
func r53Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// r53Call runs call, each try with its own deadline, retrying with
// exponential backoff and jitter while the error is retryable. It returns
// ctx's error when ctx ends first, and any other error marked permanent.
func (a *Agent) r53Call(ctx context.Context, what string, call func(context.Context) error) error {
	tries := outage{what: what, lost: "route 53: " + what + " failed; retrying with backoff",
		back: "route 53: " + what + " succeeded after retries", bo: backoff{cfg: a.cfg.Backoff}}
	for {
		cctx, cancel := context.WithTimeout(ctx, a.cfg.RequestTimeout)
		err := call(cctx)
		cancel()
		switch {
		case err == nil:
			tries.ok(a.log)
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !r53Retryable(err):
			return permanentError{fmt.Errorf("route 53 %s: %w", what, err)}
		}
		if err := sleep(ctx, tries.failed(a.log, err)); err != nil {
			return err
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// r53Set is this instance's weighted set as the agent writes it.
func (a *Agent) r53Set() *types.ResourceRecordSet {
	rs := &types.ResourceRecordSet{Name: aws.String(record.Fqdn(a.cfg.Name)), Type: types.RRType(a.typ),
		SetIdentifier: aws.String(a.id.SetID), Weight: aws.Int64(int64(a.cfg.Weight)), TTL: aws.Int64(a.cfg.TTL),
		ResourceRecords: []types.ResourceRecord{{Value: aws.String(a.id.Address.String())}}}
	if h := a.cfg.Route53.HealthCheckID; h != "" {
		rs.HealthCheckId = aws.String(h)
	}
	return rs
}

// upsertR53 writes this instance's set and waits until Route 53 serves it
// everywhere (INSYNC).
func (a *Agent) upsertR53(ctx context.Context) error {
	id, err := a.changeR53(ctx, "UPSERT", types.ChangeActionUpsert, a.r53Set())
	if err != nil {
		return err
	}
	if err := a.waitInsync(ctx, id); err != nil {
		return err
	}
	a.log.Info("registered in route 53", "name", record.Fqdn(a.cfg.Name), "type", a.typ, "weight", a.cfg.Weight,
		"ttl", a.cfg.TTL, "hosted_zone", a.cfg.Route53.HostedZoneID, "change", id)
	return nil
}

// changeR53 sends one change of rs and returns the change id.
func (a *Agent) changeR53(ctx context.Context, what string, action types.ChangeAction, rs *types.ResourceRecordSet) (string, error) {
	in := &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(a.cfg.Route53.HostedZoneID),
		ChangeBatch: &types.ChangeBatch{Comment: aws.String("dnslb agent " + a.id.SetID),
			Changes: []types.Change{{Action: action, ResourceRecordSet: rs}}}}
	var id string
	err := a.r53Call(ctx, what, func(ctx context.Context) error {
		out, err := a.cfg.Route53.Client.ChangeResourceRecordSets(ctx, in)
		if err == nil {
			id = aws.ToString(out.ChangeInfo.Id)
		}
		return err
	})
	return id, err
}

// waitInsync polls GetChange until the change is INSYNC.
func (a *Agent) waitInsync(ctx context.Context, id string) error {
	poll := a.cfg.Route53.Poll
	if poll <= 0 {
		poll = defaultRoute53Poll
	}
	for {
		var status types.ChangeStatus
		err := a.r53Call(ctx, "GetChange", func(ctx context.Context) error {
			out, err := a.cfg.Route53.Client.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(id)})
			if err == nil {
				status = out.ChangeInfo.Status
			}
			return err
		})
		if err != nil {
			return err
		}
		if status == types.ChangeStatusInsync {
			return nil
		}
		a.log.Debug("route 53 change pending", "change", id, "status", string(status))
		if err := sleep(ctx, poll); err != nil {
			return err
		}
	}
}
