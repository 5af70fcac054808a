package cli_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// imdsServer is an IMDSv2-compatible metadata service for one instance:
// tokens are required, and after notice is armed it reports a spot
// interruption or an auto scaling termination.
type imdsServer struct {
	srv       *httptest.Server
	token     string
	spot      atomic.Bool
	terminate atomic.Bool
	tokenless atomic.Int32 // requests without a valid token
}

func startIMDS(t *testing.T, ip, instanceID, localIP string) *imdsServer {
	t.Helper()
	return startIMDSMeta(t, ip, map[string]string{"instance-id": instanceID, "local-ipv4": localIP})
}

// startIMDSMeta serves the metadata paths of meta (instance-id at least)
// and the notices.
func startIMDSMeta(t *testing.T, ip string, meta map[string]string) *imdsServer {
	t.Helper()
	m := &imdsServer{token: "tok-" + meta["instance-id"]}
	meta["placement/availability-zone"] = "us-test-1a"
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	m.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
			if r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") == "" {
				http.Error(w, "ttl header required", http.StatusBadRequest)
				return
			}
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			fmt.Fprint(w, m.token)
			return
		}
		if r.Header.Get("X-Aws-Ec2-Metadata-Token") != m.token {
			m.tokenless.Add(1)
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
		path := strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")
		switch {
		case path == "spot/instance-action" && m.spot.Load():
			fmt.Fprintf(w, `{"action": "terminate", "time": "%s"}`, time.Now().Add(2*time.Minute).UTC().Format(time.RFC3339))
		case path == "autoscaling/target-lifecycle-state":
			state := "InService"
			if m.terminate.Load() {
				state = "Terminated"
			}
			fmt.Fprint(w, state)
		case meta[path] != "":
			fmt.Fprint(w, meta[path])
		default:
			http.NotFound(w, r)
		}
	})}}
	m.srv.Start()
	t.Cleanup(m.srv.Close)
	return m
}

// autoscalingAPI records CompleteLifecycleAction calls (AWS query protocol).
// With strict set, it answers as AWS does: a call completes the action only
// while one is active (the instance in Terminating:Wait), else it fails
// with ValidationError "No active Lifecycle Action found".
type autoscalingAPI struct {
	srv       *httptest.Server
	strict    bool
	active    atomic.Bool
	completed atomic.Int32
	mu        sync.Mutex
	calls     []url.Values
}

func startAutoscaling(t *testing.T) *autoscalingAPI {
	t.Helper()
	a := &autoscalingAPI{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.calls = append(a.calls, r.PostForm)
		a.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		if a.strict && !a.active.CompareAndSwap(true, false) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type>
<Code>ValidationError</Code><Message>No active Lifecycle Action found with instance ID %s</Message></Error>
<RequestId>req-2</RequestId></ErrorResponse>`, r.PostForm.Get("InstanceId"))
			return
		}
		a.completed.Add(1)
		fmt.Fprint(w, `<CompleteLifecycleActionResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">
<CompleteLifecycleActionResult/><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></CompleteLifecycleActionResponse>`)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func TestAgentEC2DrainsOnNotice(t *testing.T) {
	// sigterm: a plain stop (InService), which completes no lifecycle action.
	for _, tc := range []struct{ name, ip string }{{"spot", "127.0.0.5"}, {"autoscaling", "127.0.0.6"}, {"sigterm", "127.0.0.4"}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, "127.0.0.20", t.TempDir(), "--zone", "lb.test")
			port := startApp(t, tc.ip, 0).port
			id := "i-0" + tc.name
			imds := startIMDS(t, "127.0.0.1", id, tc.ip)
			as := startAutoscaling(t)
			a := startAgent(t, []string{"AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"},
				"--server", "http://"+s.api, "--zone", "lb.test", "--name", "www", "--identity", "ec2",
				"--imds-endpoint", imds.srv.URL, "--notice-interval", "100ms", "--ttl", "1", "--lease", "3s", "--drain-margin", "0s",
				"--check", fmt.Sprintf("tcp://%s:%d", tc.ip, port), "--check-interval", "200ms",
				"--complete-lifecycle-hook", "drain-hook", "--asg-name", "web-asg", "--region", "us-east-1",
				"--autoscaling-endpoint", as.srv.URL)
			eventually(t, 30*time.Second, "the EC2 instance registered", func() bool { return s.answers(t, 5)[tc.ip] == 5 })
			v := s.views(t)[id]
			if v.Name != "www.lb.test." || v.Values[0] != tc.ip {
				t.Errorf("registered set %+v", v.Set)
			}
			switch tc.name {
			case "spot":
				imds.spot.Store(true)
			case "autoscaling":
				imds.terminate.Store(true)
			default:
				if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			a.waitExit(t, 30*time.Second)
			if code := a.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(a.out.String(), "drained") {
				t.Fatalf("agent exit %d:\n%s", code, a.out)
			}
			if _, ok := s.views(t)[id]; ok {
				t.Error("the set is still registered after the agent left")
			}
			if n := imds.tokenless.Load(); n != 0 {
				t.Errorf("%d IMDS requests without an IMDSv2 token", n)
			}
			as.mu.Lock()
			defer as.mu.Unlock()
			// A spot interruption outside Terminating:Wait has no lifecycle
			// action to complete: AWS would answer ValidationError.
			if tc.name != "autoscaling" {
				if len(as.calls) != 0 {
					t.Errorf("CompleteLifecycleAction without a pending action: %v", as.calls)
				}
				return
			}
			if len(as.calls) != 1 {
				t.Fatalf("CompleteLifecycleAction calls: %v", as.calls)
			}
			c := as.calls[0]
			want := map[string]string{"Action": "CompleteLifecycleAction", "LifecycleHookName": "drain-hook",
				"AutoScalingGroupName": "web-asg", "InstanceId": id, "LifecycleActionResult": "CONTINUE"}
			for k, v := range want {
				if c.Get(k) != v {
					t.Errorf("CompleteLifecycleAction %s = %q, want %q", k, c.Get(k), v)
				}
			}
		})
	}
}
