package agent

import (
	"syscall"
	"time"
)

// bootTime is when the system booted (now minus the uptime, to the
// second); zero when the kernel does not say.
func bootTime() time.Time {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return time.Time{}
	}
	return time.Now().Add(-time.Duration(si.Uptime) * time.Second).UTC().Truncate(time.Second)
}
