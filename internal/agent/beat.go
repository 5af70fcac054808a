package agent

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/dnslb/dnslb/internal/api/client"
	"github.com/dnslb/dnslb/internal/heartbeat"
	"github.com/dnslb/dnslb/internal/record"
)

// beats is the agent's UDP renewal path (package heartbeat). An HTTP
// renewal hands out a key id, a key, a counter floor and a port; renewals
// then go as signed heartbeats until one fails, when the agent renews over
// HTTP again (and gets a new floor: the usual case is a restarted server,
// which knows the key but not the last counter). Heartbeats that go
// unanswered while HTTP works (a firewall dropping UDP) cost every renewal
// the heartbeat timeout: after pauseAfter of those in a row the agent
// renews over HTTP only for a while, a minute at first, doubling up to
// maxPause. A server that is down for both (a restart) does not count.
type beats struct {
	client *heartbeat.Client
	addr   string
	creds  heartbeat.Credentials // creds.Token zero: renew over HTTP
	server *client.Client        // the API server that handed out creds
	failed bool                  // the last heartbeat went unanswered; counted once HTTP works
	silent int                   // heartbeats unanswered while HTTP worked, in a row
	pause  time.Time             // no heartbeats before this
}

const (
	pauseAfter = 3
	firstPause = time.Minute
	maxPause   = 30 * time.Minute
)

// beat renews by heartbeat; false means: renew over HTTP.
func (a *Agent) beat(ctx context.Context, healthy bool) bool {
	b := &a.beats
	if b.client == nil || b.creds.Token.IsZero() || time.Now().Before(b.pause) {
		return false
	}
	ans, err := b.client.Beat(ctx, &b.creds, heartbeat.HealthOf(healthy))
	if err == nil && ans.Status == heartbeat.StatusOK {
		b.silent = 0
		return true
	}
	b.creds.Token = heartbeat.Token{}
	if err != nil {
		b.failed = true
		a.log.Warn("heartbeat unanswered; renewing over HTTP", "err", err)
		return false
	}
	a.log.Info("heartbeat refused; renewing over HTTP", "status", ans.Status.String())
	return false
}

// afterHTTP counts an unanswered heartbeat when the HTTP renewal right
// after it worked at the same server (ok), and pauses heartbeats after
// pauseAfter in a row. When HTTP failed too, or only another server
// answered, the server was down: nothing is counted.
func (a *Agent) afterHTTP(ok bool) {
	b := &a.beats
	if !b.failed {
		return
	}
	b.failed = false
	if !ok {
		return
	}
	b.silent++
	if b.silent < pauseAfter {
		return
	}
	pause := min(firstPause<<min(b.silent-pauseAfter, 6), maxPause)
	b.pause = time.Now().Add(pause)
	a.log.Warn("heartbeats go unanswered while HTTP works (UDP blocked?); renewing over HTTP only for a while",
		"unanswered_in_a_row", b.silent, "heartbeats_again_in", pause)
}

// learn takes the heartbeat path offered by the server that answered an
// HTTP renewal (by): its counter floor holds at that server only.
func (a *Agent) learn(hb *record.Heartbeat, by *client.Client) {
	b := &a.beats
	if a.cfg.HTTPOnly || hb == nil || hb.Port <= 0 {
		b.creds.Token = heartbeat.Token{}
		return
	}
	creds, err := credentialsOf(hb)
	if err != nil {
		b.creds.Token = heartbeat.Token{}
		a.log.Warn("the server offered heartbeat credentials that do not parse; renewing over HTTP", "err", err)
		return
	}
	host := hb.Host
	if host == "" { // the server takes heartbeats on every address: the API's will do
		host = by.Hostname()
	}
	addr := net.JoinHostPort(host, strconv.Itoa(hb.Port))
	if b.client == nil || b.addr != addr {
		if b.client != nil {
			b.client.Close()
		}
		c, err := heartbeat.Dial(addr)
		if err != nil {
			a.log.Warn("cannot send heartbeats; renewing over HTTP", "err", err)
			b.client, b.addr = nil, ""
			return
		}
		c.Timeout = min(200*time.Millisecond, a.cfg.RequestTimeout/time.Duration(c.Tries))
		b.client, b.addr = c, addr
		a.log.Info("renewing by UDP heartbeat", "to", addr)
	}
	if creds.Key == b.creds.Key {
		creds.Counter = max(creds.Counter, b.creds.Counter) // never count down
	}
	b.creds, b.server = creds, by
}

// credentialsOf reads the heartbeat credentials of a renewal.
func credentialsOf(hb *record.Heartbeat) (heartbeat.Credentials, error) {
	tok, err := heartbeat.ParseToken(hb.Token)
	if err != nil {
		return heartbeat.Credentials{}, err
	}
	key, err := heartbeat.ParseKey(hb.Key)
	if err != nil {
		return heartbeat.Credentials{}, err
	}
	return heartbeat.Credentials{Token: tok, Key: key, Counter: hb.Counter}, nil
}

// closeBeats closes the heartbeat socket.
func (a *Agent) closeBeats() {
	if a.beats.client != nil {
		a.beats.client.Close()
		a.beats.client = nil
	}
}
