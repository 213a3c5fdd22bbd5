package bridge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// TestSchedulesOverHTTP drives schedules through a bridge holding a
// bridge credential, as `amf bridge` does: the task API does the work,
// tokens' scopes and grants are checked as for tasks.
func TestSchedulesOverHTTP(t *testing.T) {
	k := kerneltest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	svc := &api.Service{Client: &client.Client{NC: k.NC, JS: k.JS}, Schedules: k.ScheduleStore(k.JS)}
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	runs := make(chan string, 256)
	sub, err := k.NC.Subscribe(bus.Names{}.Events(), func(m *nats.Msg) {
		if e, err := bus.DecodeEvent(m.Data); err == nil && e.Type == bus.EventAccepted && e.Task != nil && e.Task.ScheduleID == "sched-http" {
			runs <- e.TaskID
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	store, v := openTokens(t, k.JS)
	bnc := k.ConnectAs(k.Creds(kernel.UserSpec{Name: "sched-bridge", Role: kernel.RoleBridge}))
	// As `amf bridge` sets it: a bridge credential reads and writes
	// through the task API.
	s := &bridge.Server{NC: bnc, Client: &client.Client{NC: bnc, ViaAPI: true}, Tokens: v, Logger: kerneltest.Logger(t)}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	f := &authFixture{url: ts.URL, store: store, handler: h}
	submit, read, stop := f.token(t, "submit", ""), f.token(t, "read", ""), f.token(t, "cancel", "")
	// A schedule is its maker's: the one token that makes, reads, pauses
	// and deletes it is its owner; the others are refused by scope.
	mine := f.token(t, "submit,read,cancel", "")

	// The service answers once it is up.
	for f.do(t, nil, "GET", "/v1/schedules", read, "", nil).status == http.StatusServiceUnavailable {
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range []struct {
		name, body, code, mentions string
		status                     int
	}{
		{"every banana", `{"command":"true","schedule":"every banana"}`, "invalid_task", `"banana" is not a duration`, 400},
		{"every 0s", `{"command":"true","schedule":"every 0s"}`, "invalid_task", "at least 1s", 400},
		{"six cron fields", `{"command":"true","schedule":"0 0 * * * *"}`, "invalid_task", "it takes 5", 400},
		{"no schedule", `{"command":"true"}`, "invalid_task", `no "schedule"`, 400},
		{"ungranted profile", `{"command":"true","policy":"network","schedule":"every 1s"}`, "policy_not_granted", "network", 403},
	} {
		a := f.do(t, nil, "POST", "/v1/schedules", submit, c.body, nil)
		if a.status != c.status || a.code != c.code || !strings.Contains(a.msg, c.mentions) {
			t.Errorf("%s: %d %s %q, want %d %s mentioning %q", c.name, a.status, c.code, a.msg, c.status, c.code, c.mentions)
		}
	}

	// A task with a schedule, on the tasks route, becomes a schedule.
	body := `{"id":"sched-http","command":"true","schedule":"every 1s"}`
	if a := f.do(t, nil, "POST", "/v1/tasks", read, body, nil); a.status != http.StatusForbidden {
		t.Fatalf("read token made a schedule: %d", a.status)
	}
	created := getJSON(t, f, "POST", "/v1/tasks", mine, body, http.StatusCreated)
	if created["id"] != "sched-http" || created["url"] != "/v1/schedules/sched-http" || created["pattern"] != "@every 1s" {
		t.Fatalf("created %v", created)
	}
	if a := f.do(t, nil, "POST", "/v1/schedules", submit, body, nil); a.status != http.StatusConflict || a.code != "exists" {
		t.Fatalf("same id again: %d %s", a.status, a.code)
	}
	var run string
	select {
	case run = <-runs:
	case <-time.After(time.Minute):
		t.Fatal("the schedule never ran")
	}
	getJSON(t, f, "GET", "/v1/tasks/"+run, mine, "", http.StatusOK)
	// Another token's: not there, neither the run nor the schedule.
	getJSON(t, f, "GET", "/v1/tasks/"+run, read, "", http.StatusNotFound)
	if got := getJSON(t, f, "GET", "/v1/schedules", read, "", http.StatusOK); got["_raw"] != "[]" {
		t.Fatalf("another token lists %v", got)
	}
	var list []map[string]any
	resp := getJSON(t, f, "GET", "/v1/schedules", mine, "", http.StatusOK)
	_ = json.Unmarshal([]byte(resp["_raw"].(string)), &list)
	if len(list) != 1 || list[0]["id"] != "sched-http" || list[0]["url"] != "/v1/schedules/sched-http" {
		t.Fatalf("list %v", list)
	}

	if a := f.do(t, nil, "POST", "/v1/schedules/sched-http/pause", read, "", nil); a.status != http.StatusForbidden {
		t.Fatalf("read token paused: %d", a.status)
	}
	getJSON(t, f, "POST", "/v1/schedules/sched-http/pause", stop, "", http.StatusNotFound)
	if got := getJSON(t, f, "POST", "/v1/schedules/sched-http/pause", mine, "", http.StatusOK); got["paused"] != true {
		t.Fatalf("pause: %v", got)
	}
	if got := getJSON(t, f, "POST", "/v1/schedules/sched-http/resume", mine, "", http.StatusOK); got["paused"] == true {
		t.Fatalf("resume: %v", got)
	}
	// An admin's schedule is nobody else's to resume, granted or not.
	admin := f.token(t, "admin", "")
	getJSON(t, f, "POST", "/v1/schedules", admin, `{"id":"sched-net","command":"true","policy":"network","schedule":"every 1m"}`, http.StatusCreated)
	getJSON(t, f, "POST", "/v1/schedules/sched-net/pause", admin, "", http.StatusOK)
	getJSON(t, f, "POST", "/v1/schedules/sched-net/resume", submit, "", http.StatusNotFound)
	getJSON(t, f, "POST", "/v1/schedules/sched-net/resume", f.token(t, "submit", "network"), "", http.StatusNotFound)
	getJSON(t, f, "POST", "/v1/schedules/sched-net/resume", admin, "", http.StatusOK)

	if a := f.do(t, nil, "DELETE", "/v1/schedules/sched-http", submit, "", nil); a.status != http.StatusForbidden {
		t.Fatalf("submit token deleted: %d", a.status)
	}
	if a := f.do(t, nil, "DELETE", "/v1/schedules/sched-http", mine, "", nil); a.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", a.status, a.msg)
	}
	for _, path := range []string{"/v1/schedules/sched-http", "/v1/schedules/nope"} {
		if a := f.do(t, nil, "GET", path, read, "", nil); a.status != http.StatusNotFound || a.code != "not_found" {
			t.Fatalf("GET %s: %d %s", path, a.status, a.code)
		}
	}
	if a := f.do(t, nil, "GET", "/v1/schedules/a%20b", read, "", nil); a.status != http.StatusBadRequest {
		t.Fatalf("bad id: %d", a.status)
	}
}

// getJSON does a request that must answer want, and returns its JSON
// object (or, for an array, the raw body under "_raw").
func getJSON(t *testing.T, f *authFixture, method, path, token, body string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	out := map[string]any{}
	if json.Unmarshal(raw, &out) != nil {
		out["_raw"] = string(raw)
	}
	return out
}
