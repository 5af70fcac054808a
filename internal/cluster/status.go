package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// StatusRoute shows this server's view of the cluster (read access).
const StatusRoute = "GET /v1/cluster"

// Status is a server's view of its cluster.
type Status struct {
	ID      string   `json:"server_id"`
	Leader  string   `json:"leader,omitempty"` // the lease decider's id; empty while none is elected or etcd is away
	Leading bool     `json:"leading"`
	Members []Member `json:"members"`
	// LapsesWaiting counts lapses the leader cannot decide because a live
	// server did not answer; LapsesWaitingReason names it.
	LapsesWaiting       int    `json:"lapses_waiting,omitempty"`
	LapsesWaitingReason string `json:"lapses_waiting_reason,omitempty"`
}

// Leader returns the id of the elected decider, read from etcd (empty
// while none is elected).
func (n *Node) Leader(ctx context.Context) (string, error) {
	resp, err := n.cfg.Client.Get(ctx, n.cfg.Prefix+"leader/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 {
		return "", err
	}
	return string(resp.Kvs[0].Value), nil
}

// StatusHandler serves StatusRoute; waiting is the registry's
// LapsesWaiting.
func (n *Node) StatusHandler(waiting func() (int, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		st := Status{ID: n.cfg.ID, Leading: n.Leading(), Members: n.Members()}
		st.Leader, _ = n.Leader(ctx) // etcd away: no leader to name
		if k, err := waiting(); k > 0 && err != nil {
			st.LapsesWaiting, st.LapsesWaitingReason = k, err.Error()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
}
