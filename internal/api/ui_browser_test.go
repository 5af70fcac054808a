package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/api"
	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/auth"
	"github.com/dnslb/dnslb/internal/dnsserver"
	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/registry"
	"github.com/dnslb/dnslb/internal/store/boltstore"
)

// Secrets of the tokens of newLiveWith's servers with tokens.
const (
	adminSecret  = "admin-secret"
	viewerSecret = "viewer-secret"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// live is a server as dnslb serve runs it: registry on a bolt file, DNS on
// UDP, the API on HTTP, on the real clock.
type live struct {
	reg *registry.Registry
	api *httptest.Server
	dns string
	cl  *client.Client
}

func newLive(t *testing.T) *live { return newLiveWith(t, nil) }

// newLiveWith is newLive with the API's tokens (nil: an open API).
func newLiveWith(t *testing.T, tokens *auth.Keeper) *live {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "dnslb.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// the failing backend is an httptest server on loopback
	reg := registry.New(st, registry.Options{TimelineEvery: 250 * time.Millisecond, // charts fill in seconds
		Checks: record.CheckRules{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := reg.Run(ctx); err != nil {
			t.Errorf("registry: %v", err)
		}
	}()
	<-reg.Ready()
	srv, err := dnsserver.New(dnsserver.Config{Addr: "127.0.0.1:0", Snapshot: reg, UDPSockets: 1, RRL: &dnsserver.RRL{Off: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer wg.Done()
		if err := srv.Run(ctx); err != nil {
			t.Errorf("dns: %v", err)
		}
	}()
	l := &live{reg: reg, api: httptest.NewServer(api.New(api.Config{Registry: reg, Tokens: tokens})), dns: srv.Addr()}
	t.Cleanup(func() {
		l.api.Close()
		cancel()
		wg.Wait()
		st.Close()
	})
	l.cl, _ = client.New(l.api.URL, l.api.Client())
	l.cl.SetToken(adminSecret)
	if _, err := l.cl.CreateZone(ctx, client.ZoneRequest{Name: "lb.test"}); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *live) put(t *testing.T, name, id string, weight int, value string, check *record.Check) {
	t.Helper()
	_, err := l.cl.PutSet(context.Background(), "lb.test", client.SetRequest{Name: name, Type: "A", SetID: id, Weight: &weight,
		TTL: ptr[int64](60), Values: []string{value}, Check: check})
	if err != nil {
		t.Fatal(err)
	}
}

// background asks for name about 200 times a second until the test ends,
// so that observed shares move.
func (l *live) background(t *testing.T, name string) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		c := &dns.Client{Net: "udp"}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				m := new(dns.Msg)
				m.SetQuestion(name, dns.TypeA)
				_, _, _ = c.Exchange(m, l.dns)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// query asks for name n times over UDP.
func (l *live) query(t *testing.T, name string, n int) {
	t.Helper()
	c := &dns.Client{Net: "udp"}
	conn, err := c.Dial(l.dns)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range n {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		if _, _, err := c.ExchangeWithConn(m, conn); err != nil {
			t.Fatal(err)
		}
	}
}

// browserCtx starts headless chromium, or skips the test without it
// (fails under CI, where .ci/run installs it).
func browserCtx(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium is needed in CI: %v", err)
		}
		t.Skipf("no chromium (%v): the status page is not tested in a browser", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // start the browser with no deadline (see chromedp.Run)
		t.Fatal(err)
	}
	return ctx
}

// artefacts is where screenshots go: $DNSLB_UI_ARTEFACTS, else a temp dir.
func artefacts(t *testing.T) string {
	if d := os.Getenv("DNSLB_UI_ARTEFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", path, len(png))
}

// waitJS polls the page until expr is true.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("%s: %v\npage:\n%s", what, err, text)
	}
}

func rowText(t *testing.T, ctx context.Context, name, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => { const r = [...document.querySelectorAll("section.card")].find(s => s.querySelector("h3").textContent.startsWith(%q)).querySelector('tr[data-set=%q]'); return r ? r.innerText : "" })()`, name, id)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStatusPageInBrowser loads the status page in headless chromium
// against a live server: it shows a draining set's countdown and an
// unhealthy set's reason, follows a weight change without a reload, fits
// a 375 px wide phone, and stays light for a pool of 100 sets.
func TestStatusPageInBrowser(t *testing.T) {
	ctx := browserCtx(t)
	dir := artefacts(t)
	l := newLive(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
	}))
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	l.put(t, "www", "i-0a1", 10, "127.0.1.1", nil)
	l.put(t, "www", "i-0b2", 20, "127.0.0.1", &record.Check{Target: "http://:" + u.Port() + "/health",
		Interval: record.Duration(100 * time.Millisecond), Timeout: record.Duration(100 * time.Millisecond), Fall: 1})
	l.put(t, "www", "i-0c3", 10, "127.0.1.3", nil)
	l.query(t, "www.lb.test.", 300) // c is served, so its drain waits for resolvers
	if _, err := l.cl.Drain(context.Background(), "lb.test", "www", "A", "i-0c3", client.DrainRequest{}); err != nil {
		t.Fatal(err)
	}

	l.background(t, "www.lb.test.")
	if err := chromedp.Do(ctx, chromedp.Navigate(l.api.URL+"/")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the drain's countdown", `(document.querySelector('tr[data-set="i-0c3"]')||{innerText:""}).innerText.match(/draining\s+safe in (\d+ s|1 min)/) != null`)
	waitJS(t, ctx, "the unhealthy set's reason", `(document.querySelector('tr[data-set="i-0b2"]')||{innerText:""}).innerText.includes("last error:")`)
	if row := rowText(t, ctx, "www.lb.test.", "i-0b2"); !strings.Contains(row, "down") || !strings.Contains(row, "503") {
		t.Errorf("the unhealthy set's row: %q", row)
	}

	// A weight changed through the API shows without a reload.
	start := time.Now()
	l.put(t, "www", "i-0a1", 40, "127.0.1.1", nil)
	waitJS(t, ctx, "the new weight", `(document.querySelector('tr[data-set="i-0a1"]')||{innerText:""}).innerText.match(/\b40\b/) != null`)
	t.Logf("a weight change reached the page in %v (the page polls every second)", time.Since(start).Round(time.Millisecond))
	waitJS(t, ctx, "the chart's lines and marks", `document.querySelectorAll("svg polyline").length >= 2 && document.querySelector("svg polyline").getAttribute("points").split(" ").length >= 12 && document.querySelectorAll("svg g title").length >= 5`)
	screenshot(t, ctx, dir, "status-desktop.png")

	// Phone width: nothing wider than the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "a 375 px layout without horizontal scrolling", `document.documentElement.scrollWidth <= 375`)
	screenshot(t, ctx, dir, "status-phone.png")

	trs, err := l.cl.History(context.Background(), "lb.test", "www", "A", "i-0b2")
	if err != nil || len(trs) < 2 || trs[1].Event != record.EventHealthDown || !strings.Contains(trs[1].Detail, "status 503") || trs[1].By != record.ServerActor {
		t.Errorf("history of the failing set: %+v %v", trs, err)
	}
	pageWeight(t, ctx, l)
}

// TestStatusPageToken: with tokens, the page asks for one, keeps it in the
// tab's sessionStorage (never in the address) and sends it as a header; a
// wrong one is asked for again.
func TestStatusPageToken(t *testing.T) {
	ctx := browserCtx(t)
	ts, err := auth.Parse([]byte("ops admin " + auth.Hash(adminSecret) + "\nviewer read " + auth.Hash(viewerSecret) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := newLiveWith(t, auth.Static(ts))
	l.put(t, "www", "i-0a1", 10, "127.0.1.1", nil)
	if err := chromedp.Do(ctx, chromedp.Navigate(l.api.URL+"/")); err != nil {
		t.Fatal(err)
	}
	login := func(secret string) {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.getElementById("token").value = %q; document.getElementById("login").requestSubmit(); true`, secret))); err != nil {
			t.Fatal(err)
		}
	}
	waitJS(t, ctx, "the token form", `!document.getElementById("login").hidden`)
	login("wrong")
	waitJS(t, ctx, "the token form again", `!document.getElementById("login").hidden && sessionStorage.getItem("dnslb-token") == "wrong" && document.getElementById("meta").textContent.includes("token")`)
	login(viewerSecret)
	waitJS(t, ctx, "the names, read with the viewer's token", `document.getElementById("login").hidden && document.querySelector('tr[data-set="i-0a1"]') != null`)
	if href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`)); err != nil || strings.Contains(href, viewerSecret) {
		t.Errorf("the address holds the token: %q %v", href, err)
	}
}

// pageWeight loads the page for a pool of 100 sets in a new tab and
// reports the bytes it transferred: the load, and one update.
func pageWeight(t *testing.T, parent context.Context, l *live) {
	var batch client.ChangeBatch
	for i := range 100 {
		batch.Changes = append(batch.Changes, client.Change{Action: "UPSERT", RRSet: client.SetRequest{Name: "pool", Type: "A",
			SetID: fmt.Sprintf("i-%03d", i), Weight: ptr(10), TTL: ptr[int64](60), Values: []string{fmt.Sprintf("127.0.2.%d", i+1)}}})
	}
	if _, err := l.cl.Change(context.Background(), "lb.test", batch); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(parent)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	urls, bytes, polls := map[network.RequestID]string{}, map[string]float64{}, 0
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			urls[ev.RequestID] = ev.Request.URL
		case *network.EventLoadingFinished:
			u := urls[ev.RequestID]
			if strings.Contains(u, "/v1/status") {
				polls++
				if polls > 1 {
					u = "poll"
				}
			}
			bytes[u] += ev.EncodedDataLength
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(l.api.URL+"/#q=pool")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the pool's 100 sets", `document.querySelectorAll("tbody tr").length == 100 && Number(document.getElementById("names").dataset.updates) >= 3`)
	mu.Lock()
	defer mu.Unlock()
	load := 0.0
	for u, b := range bytes {
		if u != "poll" {
			load += b
		}
		t.Logf("transferred %6.0f bytes: %s", b, u)
	}
	perPoll := bytes["poll"] / float64(polls-1)
	t.Logf("page weight for a pool of 100 sets: %.0f bytes to load, then %.0f bytes per update (one a second)", load, perPoll)
	if load > 100<<10 || perPoll > 50<<10 {
		t.Errorf("the page is heavy: %.0f bytes to load, %.0f per update", load, perPoll)
	}
}
