package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

// TestStandaloneBridgeServesEveryRoute: a bridge on a host of its own,
// on a bridge credential, answers every HTTP route as the bridge of
// `amf up` does. Before, GET /v1/pools answered 503 and GET /metrics
// 500, since the role could not list the tasks stream's consumers.
func TestStandaloneBridgeServesEveryRoute(t *testing.T) {
	f := newAuthFixture(t)
	bc := filepath.Join(t.TempDir(), "bridge.creds")
	f.amf("auth", "creds", "bridge", "--name", "own-bridge", "-o", bc)
	httpAddr := testenv.FreeAddr(t)
	base := "http://" + httpAddr
	bridgeTokens.register(base, adminTokenFile(envValue(f.env, "AMF_STATE_DIR")))
	br := startAmf(t, []string{"AMF_NATS_URL=nats://" + f.natsAddr, "AMF_NATS_CREDS=" + bc, "AMF_HTTP_LISTEN=" + httpAddr}, "bridge")
	waitHealthy(t, base, br)

	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}
	code, body := call("POST", "/v1/tasks", `{"id":"own-1","command":"echo from afar"}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST /v1/tasks: %d %s", code, body)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, body = call("GET", "/v1/tasks/own-1", ""); code == 200 && strings.Contains(body, `"state":"done"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task own-1 never done: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	routes := []struct {
		method, path, body string
		want               int
		mentions           string
	}{
		{"GET", "/healthz", "", 200, `"status"`},
		{"GET", "/metrics", "", 200, "amf_pool_tasks_waiting"},
		{"GET", "/v1/pools", "", 200, `"name":"default"`},
		{"GET", "/v1/workers", "", 200, `"workers"`},
		{"GET", "/v1/tasks", "", 200, "own-1"},
		{"GET", "/v1/tasks/own-1", "", 200, `"state":"done"`},
		{"GET", "/v1/tasks/own-1/events", "", 200, "from afar"},
		{"DELETE", "/v1/tasks/own-1", "", 409, "finished"},
		{"POST", "/v1/tasks", `{"command":"true","schedule_id":"x"}`, 400, "schedule_id"},
		{"POST", "/v1/tasks", `{"Command":"true"}`, 400, "case-sensitive"},
		{"POST", "/v1/schedules", `{"id":"own-s","command":"true","schedule":"every 1h"}`, 201, "own-s"},
		{"GET", "/v1/schedules", "", 200, "own-s"},
		{"GET", "/v1/schedules/own-s", "", 200, "own-s"},
		{"POST", "/v1/schedules/own-s/pause", "", 200, "own-s"},
		{"POST", "/v1/schedules/own-s/resume", "", 200, "own-s"},
		{"DELETE", "/v1/schedules/own-s", "", 204, ""},
		{"POST", "/v1/memories/no-such-memory/confirm", "", 404, "no-such-memory"},
		{"GET", "/v1/session", "", 200, ""},
		{"GET", "/", "", 200, "<html"},
	}
	for _, r := range routes {
		code, body := call(r.method, r.path, r.body)
		if code != r.want || !strings.Contains(body, r.mentions) {
			t.Errorf("%s %s on a bridge credential: %d %.300s; want %d mentioning %q", r.method, r.path, code, body, r.want, r.mentions)
		}
	}
}

// envValue is the value of name in an environment list.
func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}
