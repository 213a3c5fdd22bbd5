package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
)

// TestEnvValueRunsButNeverShowsOverHTTP submits a task whose env holds a
// secret through the bridge: the command sees the value (it prints its
// digest) while the SSE stream and /v1/tasks/:id, what any reader gets,
// show the variable's name only.
func TestEnvValueRunsButNeverShowsOverHTTP(t *testing.T) {
	env, base, _ := upEnv(t, fakeModel(t))
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)
	const secret = "s3cr3t-e2e-51c0"
	sum := sha256.Sum256([]byte(secret))
	digest := hex.EncodeToString(sum[:])
	body, _ := json.Marshal(map[string]any{"id": "redact-1", "command": `printf %s "$DEPLOY_KEY" | sha256sum`, "env": map[string]string{"DEPLOY_KEY": secret}})
	resp, err := http.Post(base+"/v1/tasks", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || strings.Contains(string(reply), secret) {
		t.Fatalf("submit: %d %s", resp.StatusCode, reply)
	}
	evs := sseEvents(t, base, "redact-1")
	if e := lastEvent(evs); e.Type != bus.EventDone || !strings.Contains(e.Output, digest) {
		t.Fatalf("task ended %s with output %q: the command did not see its env value", e.Type, e.Output)
	}
	stream, _ := json.Marshal(evs)
	if strings.Contains(string(stream), secret) {
		t.Fatalf("the SSE stream shows the env value: %s", stream)
	}
	if !strings.Contains(string(stream), `"DEPLOY_KEY":"`+bus.Redacted+`"`) {
		t.Fatalf("the SSE stream should name the variable with a redacted value: %s", stream)
	}
	resp, err = http.Get(base + "/v1/tasks/redact-1")
	if err != nil {
		t.Fatal(err)
	}
	status, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(status), secret) {
		t.Fatalf("status %d shows the env value: %s", resp.StatusCode, status)
	}
}
