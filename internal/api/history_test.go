package api_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/record"
)

// TestHistoryNamesTheToken: the history of a name says which token made
// each change, and the audit line of every write says what it changed and
// the revision it made; reading history and explain takes the read scope.
func TestHistoryNamesTheToken(t *testing.T) {
	e := newAuthEnv(t, nil)
	ctx := context.Background()
	ops, ro := e.as("ops"), e.as("ro")
	req := client.SetRequest{Name: "www", Type: "A", SetID: "a", Weight: ptr(10), TTL: ptr[int64](60), Values: []string{"127.0.1.1"}}
	if _, err := ops.PutSet(ctx, "lb.test", req); err != nil {
		t.Fatal(err)
	}
	req.Weight = ptr(3)
	res, err := ops.PutSet(ctx, "lb.test", req)
	if err != nil {
		t.Fatal(err)
	}
	trs, err := ro.History(ctx, "lb.test", "www", "A", "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(trs) != 2 || trs[1].Event != record.EventUpdated || trs[1].Detail != "weight 10 -> 3" || trs[1].By != "ops" || trs[1].Revision != res.Revision {
		t.Fatalf("history: %+v (want the weight change by ops at revision %d)", trs, res.Revision)
	}
	want := `token=ops remote=127.0.0.1`
	line := ""
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "weight 10 -> 3") {
			line = l
		}
	}
	if !strings.Contains(line, want) || !strings.Contains(line, `changes="[www.lb.test. A set a: updated (weight 10 -> 3)]"`) ||
		!strings.Contains(line, "revision="+itoa(res.Revision)) {
		t.Errorf("audit line of the weight change: %q", line)
	}
	// A drain's answer carries no revision: its audit line has the one the
	// drain made.
	if _, err := ops.Drain(ctx, "lb.test", "www", "A", "a", client.DrainRequest{}); err != nil {
		t.Fatal(err)
	}
	trs, err = ro.History(ctx, "lb.test", "www", "A", "a")
	if err != nil || len(trs) != 3 || trs[2].Event != record.EventDrainStarted {
		t.Fatalf("history after the drain: %+v %v", trs, err)
	}
	drainLine := ""
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "drain-started") {
			drainLine = l
		}
	}
	if !strings.Contains(drainLine, "revision="+itoa(trs[2].Revision)+" token=ops") {
		t.Errorf("audit line of the drain (revision %d): %q", trs[2].Revision, drainLine)
	}
	ex, err := ro.Explain(ctx, "www.lb.test", "A")
	if err != nil || len(ex.Sets) != 1 || ex.Sets[0].Probability != 0 || ex.Sets[0].Reasons[0][:8] != "draining" {
		t.Errorf("explain: %+v %v", ex, err)
	}
	if _, err := ro.History(ctx, "lb.test", "", "", ""); err == nil || !strings.Contains(err.Error(), "name: is required") {
		t.Errorf("history without a name: %v", err)
	}
	if _, err := e.as("nobody").History(ctx, "lb.test", "www", "", ""); err == nil {
		t.Error("history without a valid token was served")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
