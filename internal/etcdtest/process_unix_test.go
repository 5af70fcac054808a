//go:build unix

package etcdtest

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// TestProcessFreeze: a frozen single-member etcd times writes out, and
// takes them again when thawed.
func TestProcessFreeze(t *testing.T) {
	c := StartProcesses(t, 1)
	cli := c.Client(t)
	put := func(d time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		_, err := cli.Put(ctx, "k", "v")
		return err
	}
	if err := put(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.Members[0].Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := put(300 * time.Millisecond); err == nil {
		t.Fatal("a write to a frozen etcd succeeded")
	}
	if err := c.Members[0].Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := put(10 * time.Second); err != nil {
		t.Fatalf("write after thaw: %v", err)
	}
}
