package health

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"

	"github.com/dnslb/dnslb/internal/record"
)

// maxHeaderBytes bounds the response headers an HTTP probe reads.
const maxHeaderBytes = 64 << 10

// httpProbe returns the probe of an http:// or https:// check.
func httpProbe(c record.Check) Prober {
	return httpGet(c, newHTTPClient(c.VerifyTLS, nil), nil)
}

// httpGet returns a probe that GETs c.Target with client; checkResp, when
// not nil, may fail an answer that the status alone would pass.
func httpGet(c record.Check, client *http.Client, checkResp func(*http.Response) error) Prober {
	match := []byte(c.Match)
	return func(ctx context.Context, log *slog.Logger) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Target, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", UserAgent)
		resp, err := client.Do(req)
		if err != nil {
			return unwrapURLError(err)
		}
		defer resp.Body.Close()
		log.Debug("http probe answered", "status", resp.StatusCode)
		if resp.StatusCode < 200 || resp.StatusCode > 399 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		if checkResp != nil {
			if err := checkResp(resp); err != nil {
				return err
			}
		}
		return matchBody(resp.Body, match)
	}
}

// newHTTPClient returns a client for one check. It ignores proxy settings
// (the target itself is probed), keeps no idle connections (every probe
// connects afresh, and no goroutines outlive a probe) and never follows a
// redirect (a 3xx answer passes as it is). dial, when not nil, makes its
// connections.
func newHTTPClient(verifyTLS bool, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:            dial,
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: maxHeaderBytes,
			// Off by default, as in Route 53: backends often serve
			// self-signed or internal certificates.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: !verifyTLS}, //nolint:gosec // configurable per check
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// matchBody reports whether match (when set) occurs entirely within the first
// record.MaxMatchBytes of body.
func matchBody(body io.Reader, match []byte) error {
	if len(match) == 0 {
		return nil
	}
	head, err := io.ReadAll(io.LimitReader(body, record.MaxMatchBytes))
	switch {
	case bytes.Contains(head, match):
		return nil
	case err != nil:
		return fmt.Errorf("reading body: %w", err)
	}
	return fmt.Errorf("body does not contain %q in its first %d bytes", match, record.MaxMatchBytes)
}

// unwrapURLError drops the `Get "URL":` prefix of client errors; the caller
// names the target already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
