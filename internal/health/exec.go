package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"time"
)

const (
	// maxExecOutput bounds the output of a command kept for its error;
	// the rest is discarded.
	maxExecOutput = 512
	// execWaitDelay bounds the wait for a command's output once it has
	// exited or been killed (children that keep the output open).
	execWaitDelay = time.Second
)

// execProbe returns the probe of an exec:COMMAND check: command run by
// /bin/sh -c in its own process group, which is killed when ctx ends.
func execProbe(command string) Prober {
	return func(ctx context.Context, log *slog.Logger) error {
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
		out := &limitedBuffer{max: maxExecOutput}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.WaitDelay = execWaitDelay
		killGroupOnCancel(cmd)
		err := cmd.Run()
		if errors.Is(err, exec.ErrWaitDelay) {
			// Exit status 0; a child it left behind holds the output open.
			log.Debug("exec probe passed; output left open", "err", err)
			return nil
		}
		return execError(err, out.buf)
	}
}

// execError adds the command's output (trimmed) to err.
func execError(err error, out []byte) error {
	msg := strings.TrimSpace(string(out))
	if err == nil || msg == "" {
		return err
	}
	return fmt.Errorf("%w: output %q", err, msg)
}

// limitedBuffer keeps the first max bytes written to it and discards the
// rest, never failing a write.
type limitedBuffer struct {
	buf []byte
	max int
}

// Write keeps what fits in b and reports all of p written.
func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
