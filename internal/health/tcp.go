package health

import (
	"context"
	"log/slog"
	"net"
)

// tcpProbe returns the probe of a tcp:// check: a connect to addr
// (HOST:PORT) with d, closed at once.
func tcpProbe(addr string, d *net.Dialer) Prober {
	return func(ctx context.Context, log *slog.Logger) error {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		log.Debug("tcp probe connected", "local", conn.LocalAddr().String())
		_ = conn.Close() // the connect was the probe
		return nil
	}
}
