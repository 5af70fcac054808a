package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/dnslb/dnslb/internal/record"
)

// route53Alive waits, the set registered in Route 53, for a drain to be
// asked for; there is no lease to renew. A second signal (ctx) before
// any drain deletes the set at once.
func (a *Agent) route53Alive(ctx context.Context, drain <-chan string) error {
	select {
	case reason := <-drain:
		a.log.Info("drain requested", "reason", reason)
		return a.drainR53(ctx)
	case <-ctx.Done():
		a.deleteR53Now()
		a.afterDrain()
		return nil
	}
}

// drainR53 deletes the set, waits until the deletion is INSYNC, then
// waits TTL + margin (the largest TTL of the set as written and as read)
// before running OnDrained. A second signal (ctx) cuts the wait short;
// the set is deleted before leaving in any case.
func (a *Agent) drainR53(ctx context.Context) error {
	a.draining = true
	a.noteTermination(ctx)
	ttl, err := a.deleteR53(ctx)
	switch {
	case ctx.Err() != nil:
		a.log.Warn("second signal: leaving before the drain is complete")
		a.deleteR53Now()
		a.afterDrain()
		return nil
	case err != nil:
		return fmt.Errorf("drain: %w", err)
	}
	wait := time.Duration(max(ttl, a.cfg.TTL))*time.Second + a.margin()
	a.log.Info("draining: out of route 53 answers; waiting TTL + margin", "wait", wait.String())
	if err := sleep(ctx, wait); err != nil {
		a.log.Warn("second signal: leaving before the drain is complete")
	} else {
		a.log.Info("drained: no client can still hold this address")
	}
	a.afterDrain()
	return nil
}

// margin is the drain margin the agent waits by itself.
func (a *Agent) margin() time.Duration {
	if a.cfg.Margin < 0 {
		return defaultMargin
	}
	return a.cfg.Margin
}

// deleteR53Now deletes the set with a short deadline of its own (ctx has
// ended), logging a failure: a set left in Route 53 is served until an
// operator or a health check takes it out.
func (a *Agent) deleteR53Now() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*a.cfg.RequestTimeout)
	defer cancel()
	if _, err := a.deleteR53(ctx); err != nil {
		a.log.Error("route 53: deleting the set failed; it stays in answers until removed", "err", err,
			"name", record.Fqdn(a.cfg.Name), "set_id", a.id.SetID, "hosted_zone", a.cfg.Route53.HostedZoneID)
	}
}

// errChanged: the set changed between reading it and deleting it.
var errChanged = errors.New("the set changed while it was being deleted")

// deleteR53 deletes this instance's set exactly as Route 53 holds it (a
// DELETE must match the set in every field), read just before; a set
// already gone needs nothing. When the DELETE no longer matches, because
// the set changed meanwhile, the set is read and deleted again, up to
// DeleteTries times. It waits until the deletion is INSYNC and returns
// the TTL of the deleted set.
func (a *Agent) deleteR53(ctx context.Context) (int64, error) {
	tries := a.cfg.Route53.DeleteTries
	if tries <= 0 {
		tries = 5
	}
	for try := 1; ; try++ {
		rs, err := a.readR53(ctx)
		if err != nil {
			return 0, err
		}
		if rs == nil {
			a.log.Info("route 53: the set is not there; nothing to delete")
			return 0, nil
		}
		id, err := a.changeR53(ctx, "DELETE", types.ChangeActionDelete, rs)
		if r53Code(err) == "InvalidChangeBatch" && try < tries {
			a.log.Warn("route 53: the DELETE did not match the set; reading it again", "err", err)
			if err := sleep(ctx, (&backoff{cfg: a.cfg.Backoff, n: try - 1}).next()); err != nil {
				return 0, err
			}
			continue
		}
		if err != nil {
			return 0, err
		}
		if err := a.waitInsync(ctx, id); err != nil {
			return 0, err
		}
		a.log.Info("deleted from route 53", "change", id)
		return aws.ToInt64(rs.TTL), nil
	}
}

// readR53 reads this instance's set (name, type and set id) from the
// hosted zone, or nil when there is none, paging through the weighted
// sets of the name and type.
func (a *Agent) readR53(ctx context.Context) (*types.ResourceRecordSet, error) {
	name := record.Fqdn(a.cfg.Name)
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(a.cfg.Route53.HostedZoneID),
		StartRecordName: aws.String(name), StartRecordType: types.RRType(a.typ), MaxItems: aws.Int32(100)}
	for {
		var out *route53.ListResourceRecordSetsOutput
		err := a.r53Call(ctx, "ListResourceRecordSets", func(ctx context.Context) (err error) {
			out, err = a.cfg.Route53.Client.ListResourceRecordSets(ctx, in)
			return err
		})
		if err != nil {
			return nil, err
		}
		for i := range out.ResourceRecordSets {
			rs := &out.ResourceRecordSets[i]
			if !sameName(aws.ToString(rs.Name), name) || string(rs.Type) != a.typ {
				return nil, nil // past the name and type: ordered by name, then type
			}
			if aws.ToString(rs.SetIdentifier) == a.id.SetID {
				return rs, nil
			}
		}
		if !out.IsTruncated {
			return nil, nil
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
	}
}

// sameName compares DNS names as Route 53 lists them (trailing dot, any
// case) with a canonical one.
func sameName(listed, name string) bool {
	return strings.EqualFold(strings.TrimSuffix(listed, "."), strings.TrimSuffix(name, "."))
}
