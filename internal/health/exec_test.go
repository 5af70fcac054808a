//go:build unix

package health

import (
	"cmp"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestExecProber(t *testing.T) {
	const short = 200 * time.Millisecond
	tests := []struct {
		command string
		timeout time.Duration // 0: the default
		wantErr string        // after "exec:COMMAND: "; "" passes
	}{
		{command: "true"},
		{command: "false", wantErr: "exit status 1"},
		{command: "echo starting; echo not ready >&2; exit 3", wantErr: `exit status 3: output "starting\nnot ready"`},
		{command: "sleep 5", timeout: short, wantErr: "probe timed out after 200ms"},
		// The background sleep holds the output open: only killing the
		// process group ends the probe before execWaitDelay.
		{command: "sleep 5 & sleep 5 & wait", timeout: short, wantErr: "probe timed out after 200ms"},
		{command: "yes | head -c 100000 >/dev/null; echo done"},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			start := time.Now()
			err := probe(t, normalized(t, "exec:"+tt.command, timeout(cmp.Or(tt.timeout, 2*time.Second))))
			want := ""
			if tt.wantErr != "" {
				want = "exec:" + tt.command + ": " + tt.wantErr
			}
			if got := errText(err); got != want {
				t.Errorf("probe error = %q, want %q", got, want)
			}
			if elapsed := time.Since(start); tt.timeout > 0 && elapsed > tt.timeout+execWaitDelay*3/4 {
				t.Errorf("probe took %s with a timeout of %s", elapsed, tt.timeout)
			}
			if tt.timeout > 0 && !errors.Is(err, ErrTimeout) {
				t.Errorf("probe error %v is not ErrTimeout", err)
			}
		})
	}
}

func TestExecProberLimitsOutput(t *testing.T) {
	err := probe(t, normalized(t, "exec:yes | head -c 100000; exit 1", nil))
	if got := errText(err); !strings.Contains(got, "exit status 1") || strings.Count(got, "y") > maxExecOutput {
		t.Errorf("probe error = %.100q… (%d bytes), want exit status 1 and at most %d bytes of output", got, len(got), maxExecOutput)
	}
}

func TestLimitedBuffer(t *testing.T) {
	b := &limitedBuffer{max: 5}
	for _, s := range []string{"abc", "defg", "hij"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Errorf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
		}
	}
	if got := string(b.buf); got != "abcde" {
		t.Errorf("kept %q, want %q", got, "abcde")
	}
}
