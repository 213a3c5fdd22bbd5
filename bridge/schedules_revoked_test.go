package bridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A leaked token makes a schedule over HTTP; its owner revokes the token
// (`amf auth token revoke`). The bridge then refuses the token, and what
// it scheduled must stop too: the kernel pauses it at its next run,
// saying its owner's token was revoked, instead of running on as an
// owner that no longer exists, and what it queued is cancelled.
func TestAttackRevokedTokensScheduleRunsOnOverHTTP(t *testing.T) {
	k := kerneltest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	// The kernel's own task API: its quota is what the kernel reads to
	// end a revoked owner's tasks.
	wg.Add(1)
	go func() { defer wg.Done(); _ = k.TaskAPI().Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	runs := make(chan string, 256) // schedule ids of the runs accepted
	sub, err := k.NC.Subscribe(bus.Names{}.Events(), func(m *nats.Msg) {
		if e, err := bus.DecodeEvent(m.Data); err == nil && e.Type == bus.EventAccepted && e.Task != nil && e.Task.ScheduleID != "" {
			runs <- e.Task.ScheduleID
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	store, v := openTokens(t, k.JS)
	bnc := k.ConnectAs(k.Creds(kernel.UserSpec{Name: "revoke-bridge", Role: kernel.RoleBridge}))
	s := &bridge.Server{NC: bnc, Client: &client.Client{NC: bnc, ViaAPI: true}, Tokens: v, Logger: kerneltest.Logger(t)}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	f := &authFixture{url: ts.URL, store: store, handler: h}
	leaked, admin := f.token(t, "submit,read,cancel", ""), f.token(t, "admin", "")
	for f.do(t, nil, "GET", "/v1/schedules", leaked, "", nil).status == http.StatusServiceUnavailable {
		time.Sleep(20 * time.Millisecond) // the service is still starting
	}
	next := func(id string, not ...string) {
		t.Helper()
		for {
			select {
			case r := <-runs:
				for _, n := range not {
					if r == n {
						t.Fatalf("schedule %s ran after its owner's token was revoked", n)
					}
				}
				if r == id {
					return
				}
			case <-time.After(time.Minute):
				t.Fatalf("schedule %s did not run within a minute", id)
			}
		}
	}
	getJSON(t, f, "POST", "/v1/schedules", leaked, `{"id":"left-by-token","command":"true","schedule":"every 1s"}`, http.StatusCreated)
	next("left-by-token")
	queued, _ := getJSON(t, f, "POST", "/v1/tasks", leaked, `{"command":"echo later","pool":"later"}`, http.StatusAccepted)["id"].(string)

	id, _ := tokens.IDOf(leaked)
	if err := store.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	for f.do(t, nil, "GET", "/v1/schedules", leaked, "", nil).status != http.StatusUnauthorized {
		time.Sleep(20 * time.Millisecond) // the revocation reaches the bridge's watch
	}
	// The clock: runs published before the revocation may be in flight
	// until its first run.
	getJSON(t, f, "POST", "/v1/schedules", admin, `{"id":"revoke-clock","command":"true","schedule":"every 1s"}`, http.StatusCreated)
	next("revoke-clock")
	for range 3 {
		next("revoke-clock", "left-by-token")
	}
	// What it queued does not start either: the kernel cancelled it.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		st := getJSON(t, f, "GET", "/v1/tasks/"+queued, admin, "", http.StatusOK)
		if st["state"] == "cancelled" {
			if why, _ := st["error"].(string); !strings.Contains(why, "revoked") {
				t.Errorf("the revoked token's task was cancelled saying %q; want why", why)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked token's queued task is still %v a minute later", st["state"])
		}
	}
	got := getJSON(t, f, "GET", "/v1/schedules/left-by-token", admin, "", http.StatusOK)
	if why, _ := got["paused_why"].(string); got["paused"] != true || !strings.Contains(why, "token") || !strings.Contains(why, "revoked") {
		t.Fatalf("the revoked token's schedule: %v; want paused, saying its token was revoked", got)
	}
}
