package cluster

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// The peer endpoint: what the servers of a cluster ask each other, on the
// API listener, authenticated by the cluster secret.
const (
	// RenewalsRoute answers "when did you last hear these sets renewed".
	RenewalsRoute = "POST /v1/cluster/renewals"
	renewalsPath  = "/v1/cluster/renewals"
	// AppliedRoute answers "which store revision do your answers carry".
	AppliedRoute = "GET /v1/cluster/applied"
	appliedPath  = "/v1/cluster/applied"
	// AuthHeader carries "UNIXSECONDS HEXMAC", the MAC being HMAC-SHA256
	// with the cluster secret over "UNIXSECONDS\nMETHOD PATH\n" and the body.
	AuthHeader = "Dnslb-Cluster-Auth"
	// MaxSkew is how far a request's time may be from the receiver's.
	MaxSkew = 30 * time.Second
	// maxKeys bounds one question.
	maxKeys = 100_000
)

// RenewalsRequest asks when the server last heard each set renewed.
type RenewalsRequest struct {
	Keys []record.Key `json:"keys"`
}

// RenewalsResponse answers a RenewalsRequest, by index: unix nanoseconds
// of the last renewal heard, 0 for never.
type RenewalsResponse struct {
	Heard []int64 `json:"heard"`
}

// Heard asks every other live member when it last heard each of keys
// renewed, in parallel, and returns the latest per key (the zero time:
// none did). A member that does not answer fails it, naming the member:
// it may be the one hearing the agent. It implements registry.Peers.
func (n *Node) Heard(ctx context.Context, keys []record.Key) ([]time.Time, error) {
	out := make([]time.Time, 0, len(keys))
	for i := 0; i < len(keys); i += askChunk {
		heard, err := n.heard(ctx, keys[i:min(i+askChunk, len(keys))])
		if err != nil {
			return nil, err
		}
		out = append(out, heard...)
	}
	return out, nil
}

// askChunk is how many sets one question names at most: its body stays
// well under the API's 1 MiB limit.
const askChunk = 2000

// heard asks every other live member about keys, in parallel.
func (n *Node) heard(ctx context.Context, keys []record.Key) ([]time.Time, error) {
	body, err := json.Marshal(RenewalsRequest{Keys: keys})
	if err != nil {
		return nil, err
	}
	others := n.others()
	answers := make([][]int64, len(others))
	errs := make([]error, len(others))
	var wg sync.WaitGroup
	for i, m := range others {
		wg.Go(func() { answers[i], errs[i] = n.ask(ctx, m, body, len(keys)) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make([]time.Time, len(keys))
	for _, a := range answers {
		for j, ns := range a {
			if t := time.Unix(0, ns); ns > 0 && t.After(out[j]) {
				out[j] = t
			}
		}
	}
	return out, nil
}

// ask sends one member the question body about n keys.
func (n *Node) ask(ctx context.Context, m Member, body []byte, nkeys int) ([]int64, error) {
	var ans RenewalsResponse
	if err := n.call(ctx, m, http.MethodPost, renewalsPath, body, &ans); err != nil {
		return nil, err
	}
	if len(ans.Heard) != nkeys {
		return nil, fmt.Errorf("member %s (%s): malformed answer (%d times for %d sets)", m.ID, m.URL, len(ans.Heard), nkeys)
	}
	return ans.Heard, nil
}

// call sends member m a signed request and decodes its JSON answer into
// out, within AskTimeout. Errors name the member.
func (n *Node) call(ctx context.Context, m Member, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.AskTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(m.URL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("member %s (%s): %w", m.ID, m.URL, err)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(AuthHeader, n.sign(method, path, body, n.cfg.Now()))
	resp, err := n.cfg.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("member %s (%s) did not answer: %w", m.ID, m.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<26))
	if err != nil {
		return fmt.Errorf("member %s (%s): read answer: %w", m.ID, m.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("member %s (%s) answered %s: %s", m.ID, m.URL, resp.Status, bytes.TrimSpace(data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("member %s (%s): malformed answer: %w", m.ID, m.URL, err)
	}
	return nil
}

// sign is the AuthHeader value of a request at now.
func (n *Node) sign(method, path string, body []byte, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	return ts + " " + hex.EncodeToString(n.mac(ts, method, path, body))
}

func (n *Node) mac(ts, method, path string, body []byte) []byte {
	secret := n.secret.Load()
	if secret == nil {
		return nil
	}
	h := hmac.New(sha256.New, *secret)
	fmt.Fprintf(h, "%s\n%s %s\n", ts, method, path)
	h.Write(body)
	return h.Sum(nil)
}

// verify checks r's AuthHeader against body.
func (n *Node) verify(r *http.Request, body []byte) error {
	ts, macHex, ok := strings.Cut(r.Header.Get(AuthHeader), " ")
	sec, err := strconv.ParseInt(ts, 10, 64)
	got, herr := hex.DecodeString(macHex)
	if !ok || err != nil || herr != nil {
		return errors.New("this endpoint is for the servers of a dnslb cluster: send " + AuthHeader + " signed with the cluster secret")
	}
	if skew := n.cfg.Now().Sub(time.Unix(sec, 0)); skew > MaxSkew || skew < -MaxSkew {
		return fmt.Errorf("request time is %s off this server's clock (at most %s allowed); synchronize the clocks", skew.Round(time.Second), MaxSkew)
	}
	want := n.mac(ts, r.Method, r.URL.Path, body)
	if want == nil || !hmac.Equal(got, want) {
		return errors.New("the cluster signature does not verify: not a server of this cluster (another etcd prefix or secret)")
	}
	return nil
}

// Handler serves the peer endpoint (RenewalsRoute, AppliedRoute) for
// the API's mux. It refuses every request not signed with the cluster
// secret (401), and answers 503 until Run has started.
func (n *Node) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			peerError(w, http.StatusRequestEntityTooLarge, "read body: "+err.Error())
			return
		}
		if err := n.verify(r, body); err != nil {
			peerError(w, http.StatusUnauthorized, err.Error())
			return
		}
		local := n.local.Load()
		if local == nil {
			peerError(w, http.StatusServiceUnavailable, "this server has not joined the cluster yet")
			return
		}
		if r.URL.Path == appliedPath {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(AppliedResponse{Applied: local.Applied()})
			return
		}
		var req RenewalsRequest
		if err := json.Unmarshal(body, &req); err != nil || len(req.Keys) > maxKeys {
			peerError(w, http.StatusBadRequest, fmt.Sprintf("keys: a JSON list of at most %d record set keys is required", maxKeys))
			return
		}
		heard := local.Heard(req.Keys)
		ans := RenewalsResponse{Heard: make([]int64, len(heard))}
		for i, t := range heard {
			if !t.IsZero() {
				ans.Heard[i] = t.UnixNano()
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ans)
	})
}

// peerError answers an error in the API's JSON error shape.
func peerError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "cluster", "message": msg}})
}
