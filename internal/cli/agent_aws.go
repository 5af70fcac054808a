package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/dnslb/dnslb/internal/agent"
)

// completeLifecycle completes the auto scaling lifecycle action with
// CONTINUE on the way out of a drain, but only when one is pending: the
// instance's target lifecycle state is Terminated (or cannot be read, and
// completing is tried anyway). A spot interruption outside a terminating
// lifecycle state, or a plain stop of the agent, completes nothing, so AWS
// is not asked about an action it does not have.
func (c *AgentCmd) completeLifecycle(imdsClient *imds.Client, log *slog.Logger) func(context.Context, agent.Identity) error {
	return func(ctx context.Context, id agent.Identity) error {
		state, err := agent.LifecycleState(ctx, imdsClient)
		switch {
		case err != nil:
			log.Warn("cannot read the target lifecycle state; completing the lifecycle action anyway", "err", err)
		case state != "Terminated":
			log.Info("no lifecycle action pending; not completing it", "hook", c.CompleteLifecycleHook, "target_lifecycle_state", state)
			return nil
		}
		if err := c.callCompleteLifecycle(ctx, imdsClient, id); err != nil {
			return err
		}
		log.Info("lifecycle action completed", "hook", c.CompleteLifecycleHook, "result", "CONTINUE")
		return nil
	}
}

// callCompleteLifecycle calls CompleteLifecycleAction (CONTINUE) through
// the AWS SDK, with the instance role's credentials.
func (c *AgentCmd) callCompleteLifecycle(ctx context.Context, imdsClient *imds.Client, id agent.Identity) error {
	region := c.Region
	if region == "" {
		out, err := imdsClient.GetRegion(ctx, &imds.GetRegionInput{})
		if err != nil {
			return fmt.Errorf("region from imds (or give --region): %w", err)
		}
		region = out.Region
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return err
	}
	as := autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) {
		if c.AutoscalingEndpoint != "" {
			o.BaseEndpoint = aws.String(c.AutoscalingEndpoint)
		}
	})
	_, err = as.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String(c.AsgName), LifecycleHookName: aws.String(c.CompleteLifecycleHook),
		InstanceId: aws.String(id.SetID), LifecycleActionResult: aws.String("CONTINUE"),
	})
	if err != nil {
		return fmt.Errorf("complete lifecycle action %s: %w", c.CompleteLifecycleHook, err)
	}
	return nil
}
