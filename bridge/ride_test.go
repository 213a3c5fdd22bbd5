package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// TestKernelAwayAnswers503ToRetryWithSameID stops the kernel under a
// bridge: once its client's ride-through bound has passed, a submission,
// a status read and /healthz answer 503 with Retry-After, and the
// submission's message names its id and says to retry with it. With the
// kernel back on its store, that retry is accepted, and queued once.
func TestKernelAwayAnswers503ToRetryWithSameID(t *testing.T) {
	addr := testenv.FreeAddr(t)
	cfg := kernel.Server{StateDir: t.TempDir(), Listen: addr}
	k := kerneltest.StartWith(t, cfg)
	nc, err := nats.Connect("nats://"+addr, nats.UserCredentials(k.AdminCreds), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cl := &client.Client{NC: nc, RideThrough: time.Second}
	s := &bridge.Server{NC: nc, Client: cl, NoAuth: true, Logger: kerneltest.Logger(t)}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	post(t, ts.URL, `{"id":"before","command":"true"}`)
	k.Stop()

	check := func(resp *http.Response, err error, what string, says ...string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s with the kernel away: %d Retry-After=%q %s; want 503 with Retry-After", what, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		for _, want := range says {
			if !strings.Contains(string(body), want) {
				t.Errorf("%s: %s does not say %q", what, body, want)
			}
		}
	}
	resp, err := http.Post(ts.URL+"/v1/tasks", "application/json", strings.NewReader(`{"id":"during","command":"true"}`))
	check(resp, err, "POST /v1/tasks", "during", "retry with the same id")
	resp, err = http.Get(ts.URL + "/v1/tasks/before")
	check(resp, err, "GET /v1/tasks/before", "retry after")
	resp, err = http.Get(ts.URL + "/healthz")
	check(resp, err, "GET /healthz", `"down"`)

	k2 := kerneltest.StartWith(t, cfg)
	var got map[string]any
	for {
		resp, err := http.Post(ts.URL+"/v1/tasks", "application/json", strings.NewReader(`{"id":"during","command":"true"}`))
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode == http.StatusAccepted {
			break
		}
		time.Sleep(50 * time.Millisecond) // the bridge's connection is still coming back
	}
	if got["id"] != "during" {
		t.Fatalf("retry with the same id: %v", got)
	}
	// The refused submission may have reached the stream when the
	// connection came back; with its retry it is still one task.
	st, err := k2.JS.Stream(context.Background(), bus.Names{}.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 2 {
		t.Fatalf("queued %d tasks, want 2 (before, during)", n)
	}
}
