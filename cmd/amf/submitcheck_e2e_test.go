package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
)

// TestSubmissionRefusesWhatCannotRun is what a caller who mistypes sees,
// over HTTP and over the task API with the real `nats` CLI: an unknown
// profile is a 400 naming the ones there are (not a task that fails
// after model calls); a pool no worker serves is accepted with a warning
// and a progress event saying so; cancel takes a bare id as status does;
// pools answer in HTTP's shape.
func TestSubmissionRefusesWhatCannotRun(t *testing.T) {
	natsBin := testenv.NeedBinary(t, "nats")
	llm := fakeModel(t)
	env, base, natsAddr := upEnv(t, llm)
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)
	// natsReq answers the reply's body; a service error shows as its
	// Nats-Service-Error-Code and Nats-Service-Error headers (the CLI
	// prints headers unless --raw).
	natsReq := func(subject, body string) (string, error) {
		t.Helper()
		cmd := exec.Command(natsBin, "--server", "nats://"+natsAddr, "--creds", adminCreds(env), "--timeout", "10s", "req", subject, body)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	asked := len(llm.Requests())
	// An unknown profile, before and after the worker's heartbeat told
	// what it serves: refused, naming the profiles.
	for _, path := range []string{"http", "nats"} {
		var code int
		var reply string
		if path == "http" {
			code, reply = postTask(t, base, `{"instruction":"list files","policy":"nonsense"}`)
		} else {
			out, _ := natsReq("amf.api.submit", `{"instruction":"list files","policy":"nonsense"}`)
			code, reply = 0, out
			if strings.Contains(out, "Nats-Service-Error-Code: 400") {
				code = 400
			}
		}
		if code != 400 || !strings.Contains(reply, `unknown profile \"nonsense\"`) && !strings.Contains(reply, `unknown profile "nonsense"`) ||
			!strings.Contains(reply, "strict") || !strings.Contains(reply, "network") {
			t.Errorf("%s: unknown profile answered %d %s; want 400 naming the profiles", path, code, reply)
		}
	}
	if n := len(llm.Requests()) - asked; n != 0 {
		t.Errorf("the model was asked %d times for tasks refused at submission", n)
	}

	// A pool with no worker: accepted, with a warning and a progress event.
	code, reply := postTask(t, base, `{"command":"true","pool":"ghost"}`)
	var sub struct {
		ID      string `json:"id"`
		Warning string `json:"warning"`
	}
	if err := json.Unmarshal([]byte(reply), &sub); err != nil || code != 202 {
		t.Fatalf("POST to pool ghost: %d %s", code, reply)
	}
	if !strings.Contains(sub.Warning, "no worker serves pool ghost") {
		t.Errorf("202 for a pool without workers has warning %q", sub.Warning)
	}
	out, err := natsReq("amf.api.submit", `{"command":"true","pool":"ghost"}`)
	if err != nil || !strings.Contains(out, `"warning":"no worker serves pool ghost`) {
		t.Errorf("nats req amf.api.submit to pool ghost: %v %s", err, out)
	}

	// Cancel takes the bare id, as status does; the events then hold the
	// progress note and the cancellation.
	if out, err := natsReq("amf.api.cancel", sub.ID); err != nil {
		t.Fatalf("nats req amf.api.cancel %s: %v %s", sub.ID, err, out)
	}
	evs := sseEvents(t, base, sub.ID)
	progress := false
	for _, e := range evs {
		progress = progress || e.Type == bus.EventProgress && strings.Contains(e.Text, "no worker serves pool ghost")
	}
	if !progress || lastEvent(evs).Type != bus.EventCancelled {
		t.Errorf("events of a task for pool ghost cancelled by bare id: %+v", evs)
	}
	if out, _ := natsReq("amf.api.cancel", "not an id"); !strings.Contains(out, "Nats-Service-Error-Code: 400") || !strings.Contains(out, "send a task id") {
		t.Errorf("cancel of a malformed id answered %s", out)
	}

	// Pools: {"pools":[…]} on both paths.
	out, err = natsReq("amf.api.pools", "")
	var list struct {
		Pools []struct {
			Name string `json:"name"`
		} `json:"pools"`
	}
	body := out
	if i := strings.Index(out, "{"); i >= 0 {
		body = out[i:]
	}
	if err != nil || json.Unmarshal([]byte(strings.TrimSpace(body)), &list) != nil || len(list.Pools) == 0 {
		t.Errorf("nats req amf.api.pools answered %v %s; want {\"pools\":[…]}", err, out)
	}

	// amf run prints the warning at once.
	run := startAmf(t, env, "run", "--pool", "ghost", "--cmd", "true")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(run.Output(), "warning: no worker serves pool ghost") {
		if time.Now().After(deadline) {
			t.Fatalf("amf run to pool ghost printed no warning:\n%s", run.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
