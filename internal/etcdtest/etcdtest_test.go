package etcdtest

import (
	"context"
	"testing"
	"time"
)

// TestEmbeddedSurvivesLeaderLoss: a 3-member embedded cluster keeps
// accepting writes after its leader stops, and the member comes back.
func TestEmbeddedSurvivesLeaderLoss(t *testing.T) {
	c := Start(t, 3)
	cli := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "k", "1"); err != nil {
		t.Fatal(err)
	}
	l, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l.Stop()
	if _, err := cli.Put(ctx, "k", "2"); err != nil {
		t.Fatalf("write after the leader stopped: %v", err)
	}
	if err := l.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
}
