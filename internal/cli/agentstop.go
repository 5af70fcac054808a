package cli

import (
	"fmt"
	"time"
)

// stopSlack is the time the agent needs after a drain beyond TTL + margin:
// the deregistration (5 s deadline of its own), the drain request and a
// lifecycle completion.
const stopSlack = 10 * time.Second

// minDrainMargin is the margin a drain waits at least when the agent
// cannot reach the server (it then waits TTL + margin itself).
const minDrainMargin = 5 * time.Second

// checkStopTimeout refuses a --stop-timeout (the service manager's stop
// timeout, e.g. systemd's TimeoutStopSec) that the longest drain this agent
// can start does not fit: the manager would kill it mid-drain, while
// clients still hold its address. Zero means no stop timeout was given.
func (c *AgentCmd) checkStopTimeout() error {
	if c.StopTimeout == 0 {
		return nil
	}
	margin := max(c.DrainMargin, minDrainMargin)
	need := time.Duration(c.TTL)*time.Second + margin + stopSlack
	if c.StopTimeout < need {
		return fmt.Errorf("--stop-timeout %s: shorter than the longest drain the agent can start "+
			"(--ttl %s + --drain-margin %s + %s slack = %s); raise --stop-timeout together with the "+
			"service manager's stop timeout (systemd TimeoutStopSec), or lower --ttl",
			c.StopTimeout, time.Duration(c.TTL)*time.Second, margin, stopSlack, need)
	}
	return nil
}
