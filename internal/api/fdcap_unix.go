//go:build unix

package api

import "syscall"

// fdCap bounds limit by the process's open-file limit: the API may use
// half of the descriptors, the rest stay for DNS, the store and the logs.
func fdCap(limit int) int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && uint64(limit) > rl.Cur/2 {
		return max(int(rl.Cur/2), 1)
	}
	return limit
}
