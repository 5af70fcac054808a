package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// pending is a Termination with a settable answer.
type pending struct{ reason atomic.Value }

func (p *pending) Pending(context.Context) (string, error) {
	r, _ := p.reason.Load().(string)
	return r, nil
}

// onDrained counts OnDrained calls.
type onDrained struct{ n atomic.Int32 }

func (o *onDrained) fn(context.Context, Identity) error { o.n.Add(1); return nil }

// TestDoomedInstanceNeverRegisters: an instance with a termination notice
// pending, or a drain remembered for this instance and boot, does not
// register; OnDrained runs (a pending lifecycle action gets completed).
// A memory of another instance or an earlier boot does not hold it back.
func TestDoomedInstanceNeverRegisters(t *testing.T) {
	for _, tc := range []struct {
		name     string
		notice   string
		memory   *Drained
		register bool
	}{
		{"notice pending", "spot interruption notice: terminate", nil, false},
		{"drain remembered", "", &Drained{InstanceID: "i-1", Boot: bootTime(), At: time.Now(), Reason: "spot"}, false},
		{"another instance's drain", "", &Drained{InstanceID: "i-other", Boot: bootTime(), At: time.Now(), Reason: "spot"}, true},
		{"an earlier boot's drain", "", &Drained{InstanceID: "i-1", Boot: bootTime().Add(-time.Hour), At: time.Now().Add(-time.Minute), Reason: "spot"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := testRegistry(t)
			l := newLogs()
			a := fastAgent(clients(t, startNode(t, reg).url), l.logger())
			p := &pending{}
			p.reason.Store(tc.notice)
			var od onDrained
			dir := t.TempDir()
			a.cfg.Termination, a.cfg.OnDrained, a.cfg.Memory = p, od.fn, Memory{Dir: dir}
			if tc.memory != nil {
				b, _ := json.Marshal(tc.memory)
				if err := os.WriteFile(filepath.Join(dir, MemoryFile), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r := run(t, a)
			if tc.register {
				l.wait(t, 5*time.Second, "registration", func() bool { return l.count(slog.LevelInfo, "registered") == 1 })
				return
			}
			if err, _ := r.wait(t, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if l.count(slog.LevelInfo, "registered") != 0 || registered(t, reg) || od.n.Load() != 1 {
				t.Errorf("registered or OnDrained not run once (%d); log:\n%s", od.n.Load(), l)
			}
			if d, ok, err := a.cfg.Memory.Recall("i-1"); !ok || err != nil {
				t.Errorf("drain not remembered: %+v %v %v", d, ok, err)
			}
		})
	}
}

// TestTerminationDrainRemembered: a drain that starts while a termination
// notice is pending is remembered; a plain drain (systemctl restart) is
// not, so the agent comes back after it.
func TestTerminationDrainRemembered(t *testing.T) {
	for _, notice := range []string{"", "auto scaling target lifecycle state Terminated"} {
		reg := testRegistry(t)
		l := newLogs()
		a := fastAgent(clients(t, startNode(t, reg).url), l.logger())
		p := &pending{}
		p.reason.Store("")
		a.cfg.Termination, a.cfg.Memory = p, Memory{Dir: t.TempDir()}
		r := run(t, a)
		l.wait(t, 5*time.Second, "registration", func() bool { return l.count(slog.LevelInfo, "registered") == 1 })
		p.reason.Store(notice)
		r.drain <- "signal terminated"
		if err, _ := r.wait(t, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		d, ok, err := a.cfg.Memory.Recall("i-1")
		if err != nil || ok != (notice != "") || (ok && d.Reason != notice) {
			t.Errorf("notice %q: remembered %+v %v %v", notice, d, ok, err)
		}
	}
}

// TestSecondSignalRunsOnDrained: a second signal cuts the drain short but
// still runs OnDrained, so a pending lifecycle action is completed rather
// than left to its heartbeat timeout.
func TestSecondSignalRunsOnDrained(t *testing.T) {
	reg := testRegistry(t)
	l := newLogs()
	a := fastAgent(clients(t, startNode(t, reg).url), l.logger())
	a.cfg.TTL = 30
	var od onDrained
	a.cfg.OnDrained = od.fn
	r := run(t, a)
	l.wait(t, 5*time.Second, "registration", func() bool { return l.count(slog.LevelInfo, "registered") == 1 })
	r.drain <- "signal terminated"
	l.wait(t, 5*time.Second, "the drain", func() bool { return l.count(slog.LevelInfo, "draining: out of new answers") == 1 })
	r.cancel()
	if err, _ := r.wait(t, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if od.n.Load() != 1 || registered(t, reg) {
		t.Errorf("OnDrained ran %d times (want 1), registered %v; log:\n%s", od.n.Load(), registered(t, reg), l)
	}
}

// TestBlindDrainKeepsDeregistering: a drain that finds every server down
// keeps trying to deregister while it waits TTL + margin; a server back
// meanwhile drops the set at once, instead of after its restart grace and
// the lease.
func TestBlindDrainKeepsDeregistering(t *testing.T) {
	reg := testRegistry(t)
	g := newGate(t, startNode(t, reg).url, open)
	l := newLogs()
	a := fastAgent(clients(t, g.url()), l.logger())
	a.cfg.HTTPOnly, a.cfg.TTL = true, 2
	r := run(t, a)
	l.wait(t, 5*time.Second, "registration", func() bool { return l.count(slog.LevelInfo, "registered") == 1 })
	g.set(down)
	r.drain <- "signal terminated"
	l.wait(t, 5*time.Second, "the blind drain", func() bool {
		return l.count(slog.LevelError, "drain through the server failed; deregistering and waiting TTL + margin") == 1
	})
	l.wait(t, 5*time.Second, "a failed deregistration", func() bool {
		for _, r := range l.all() {
			if strings.HasPrefix(r.Message, "deregistering failed") {
				return true
			}
		}
		return false
	})
	g.set(open)
	l.wait(t, 5*time.Second, "the deregistration", func() bool { return l.count(slog.LevelInfo, "deregistered") == 1 })
	if registered(t, reg) {
		t.Error("set still registered after the deregistration")
	}
	err, took := r.wait(t, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("deregistered during the blind wait; Run returned %s after", took.Round(time.Millisecond))
}

// TestMemory: a drain is remembered atomically (no temporary file left)
// for its instance and boot only.
func TestMemory(t *testing.T) {
	m := Memory{Dir: t.TempDir()}
	if _, ok, err := m.Recall("i-1"); ok || err != nil {
		t.Fatalf("empty memory: %v %v", ok, err)
	}
	if err := m.Remember("i-1", "spot"); err != nil {
		t.Fatal(err)
	}
	if d, ok, err := m.Recall("i-1"); !ok || err != nil || d.Reason != "spot" || d.Boot.IsZero() {
		t.Errorf("recall = %+v %v %v", d, ok, err)
	}
	if _, ok, _ := m.Recall("i-2"); ok {
		t.Error("another instance inherits the drain")
	}
	if !sameBoot(Drained{Boot: bootTime(), At: time.Now()}, bootTime()) || sameBoot(Drained{Boot: bootTime().Add(-time.Minute)}, bootTime()) {
		t.Error("sameBoot")
	}
	entries, _ := os.ReadDir(m.Dir)
	if len(entries) != 1 || entries[0].Name() != MemoryFile {
		t.Errorf("files left: %v", entries)
	}
	if err := os.WriteFile(m.Path(), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Recall("i-1"); err == nil {
		t.Error("a damaged file is not reported")
	}
	if _, ok, err := (Memory{}).Recall("i-1"); ok || err != nil || (Memory{}).Remember("i-1", "x") != nil {
		t.Error("memory without a directory")
	}
}
