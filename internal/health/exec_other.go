//go:build !unix

package health

import "os/exec"

// killGroupOnCancel keeps exec's default, which kills the shell only:
// process groups are a unix notion.
func killGroupOnCancel(*exec.Cmd) {}
