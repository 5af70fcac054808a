package cli

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/dnslb/dnslb/internal/agent"
)

// notices watches IMDS for the termination notices of this instance.
func (c *AgentCmd) notices(imdsClient *imds.Client, log *slog.Logger) *agent.Notices {
	return &agent.Notices{Client: imdsClient, Interval: c.NoticeInterval, Logger: log}
}

// configureEC2 sets what the agent needs on EC2: the termination check
// before registering (identity ec2), the memory of a drain across restarts
// and the lifecycle action to complete on the way out. A state directory
// that is not one is a usage error.
func (c *AgentCmd) configureEC2(cfg *agent.Config, imdsClient *imds.Client, log *slog.Logger) error {
	if c.StateDir != "" {
		if fi, err := os.Stat(c.StateDir); err != nil || !fi.IsDir() {
			return fmt.Errorf("--state-dir %s: not a directory (create it, or let systemd's StateDirectory= set $STATE_DIRECTORY)", c.StateDir)
		}
	}
	cfg.Memory = agent.Memory{Dir: c.StateDir}
	if c.Identity == "ec2" {
		cfg.Termination = c.notices(imdsClient, log)
	}
	if c.CompleteLifecycleHook != "" {
		cfg.OnDrained = c.completeLifecycle(imdsClient, log)
	}
	return nil
}
