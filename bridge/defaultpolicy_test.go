package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
)

// heardWorkers is the kernel's list of live workers: one of the default
// pool whose tasks naming no profile get observe.
type heardWorkers struct{}

func (heardWorkers) Workers(context.Context) ([]bus.WorkerInfo, error) {
	return []bus.WorkerInfo{{ID: "w1", Pool: bus.DefaultPool, Offer: &bus.Offer{
		Default:  "observe",
		Profiles: map[string][]string{"strict": nil, "observe": nil},
	}}}, nil
}

// TestTaskNamingNoPolicyGetsThePoolDefaultItsTokenHolds: a bridge that
// has not heard of its pool's workers yet (one just started) submits a
// task naming no profile as such; the kernel, which has, refuses it for
// the default's grant and names the default, and the bridge asks again
// naming it — for a token granted it. A token without the grant gets
// the bridge's refusal naming the grant, as when it names the profile.
func TestTaskNamingNoPolicyGetsThePoolDefaultItsTokenHolds(t *testing.T) {
	a := startAPIKernel(t, heardWorkers{})
	accepted := &acceptLog{js: a.k.JS}
	f := a.bridge(t, "default-bridge", nil)
	strict, observe, admin := f.token(t, "submit", ""), f.token(t, "submit", "observe"), f.token(t, "admin", "")

	post := func(path, token, body string) (int, string) {
		t.Helper()
		for {
			req, _ := http.NewRequest(http.MethodPost, f.url+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				time.Sleep(20 * time.Millisecond) // the task API is starting
				continue
			}
			return resp.StatusCode, string(b)
		}
	}
	for _, c := range []struct {
		who, token string
	}{{"observe grant", observe}, {"admin", admin}} {
		id := "d-" + strings.ReplaceAll(c.who, " ", "-")
		if code, body := post("/v1/tasks", c.token, `{"id":"`+id+`","command":"true"}`); code != http.StatusAccepted {
			t.Fatalf("%s: %d %s, want 202", c.who, code, body)
		}
		if got := accepted.policies(id); len(got) != 1 || got[0] != "observe" {
			t.Errorf("%s: accepted with policies %q, want one with observe", c.who, got)
		}
	}
	code, body := post("/v1/tasks", strict, `{"id":"d-strict","command":"true"}`)
	if code != http.StatusForbidden || !strings.Contains(body, "policy_not_granted") || !strings.Contains(body, `names no policy`) || !strings.Contains(body, `--grant observe`) {
		t.Errorf("a strict token's task naming no policy: %d %s, want 403 policy_not_granted naming the observe grant", code, body)
	}
	if code, body := post("/v1/tasks", strict, `{"id":"d-named","command":"true","policy":"strict"}`); code != http.StatusAccepted {
		t.Errorf("a strict token naming strict: %d %s", code, body)
	}

	// A bridge that can tell the default refuses such a task itself, in
	// the same words.
	tf := a.bridge(t, "told-bridge", heardWorkers{})
	for path, body := range map[string]string{"/v1/tasks": `{"command":"true"}`, "/v1/schedules": `{"command":"true","schedule":"every 1h"}`} {
		a := tf.do(t, nil, http.MethodPost, path, strict, body, nil)
		if a.status != http.StatusForbidden || a.code != "policy_not_granted" || !strings.Contains(a.msg, "names no policy") {
			t.Errorf("POST %s naming no policy with a strict token, default told: %+v", path, a)
		}
	}

	// Schedules likewise: the runs get the default the token holds.
	code, body = post("/v1/schedules", observe, `{"command":"true","schedule":"every 1h"}`)
	var sc struct {
		Task struct {
			Policy string `json:"policy"`
		} `json:"task"`
	}
	if err := json.Unmarshal([]byte(body), &sc); code != http.StatusCreated || err != nil || sc.Task.Policy != "observe" {
		t.Errorf("an observe token's schedule naming no policy: %d %s, want 201 with policy observe", code, body)
	}
	if code, body := post("/v1/schedules", strict, `{"command":"true","schedule":"every 1h"}`); code != http.StatusForbidden || !strings.Contains(body, "policy_not_granted") {
		t.Errorf("a strict token's schedule naming no policy: %d %s, want 403 policy_not_granted", code, body)
	}
}
