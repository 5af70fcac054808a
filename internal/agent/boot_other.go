//go:build !linux

package agent

import "time"

// bootTime is unknown outside Linux: a drain memory then holds for a day.
func bootTime() time.Time { return time.Time{} }
