package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory/cache/redistest"
)

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		_ = json.Unmarshal(b, v)
	}
	return resp.StatusCode
}

// TestRedisOutageDegradesButLosesNothing kills the hot cache mid-run:
// tasks keep running and streaming, /healthz says degraded, and once
// Redis is back the status of what ran meanwhile is in it again.
func TestRedisOutageDegradesButLosesNothing(t *testing.T) {
	redis := redistest.Start(t)
	llm := fakeModel(t)
	env, base, _ := upEnv(t, llm)
	env = append(env, "AMF_REDIS_URL="+redis.URL())
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)

	submit := func(cmd string) string {
		t.Helper()
		resp, err := http.Post(base+"/v1/tasks", "application/json", strings.NewReader(`{"command":`+quote(cmd)+`}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&s)
		if resp.StatusCode != 202 {
			t.Fatalf("submit during outage: %d", resp.StatusCode)
		}
		return s.ID
	}
	before := submit("echo before")
	if e := lastEvent(sseEvents(t, base, before)); e.Type != bus.EventDone {
		t.Fatalf("before outage: %+v", e)
	}

	redis.Kill()
	testenv.EventuallyWithin(t, 10*time.Second, "healthz degraded", func() bool {
		var h struct{ Status string }
		code := getJSON(t, base+"/healthz", &h)
		return code == 200 && h.Status == "degraded"
	})
	during := submit("echo during the outage")
	evs := sseEvents(t, base, during)
	if e := lastEvent(evs); e.Type != bus.EventDone || e.Output != "echo during the outage"[5:] {
		t.Fatalf("task during the outage: %+v", e)
	}
	// Status still answers, from the event stream.
	var st bus.Status
	if code := getJSON(t, base+"/v1/tasks/"+during, &st); code != 200 || st.State != bus.StateDone {
		t.Fatalf("status during outage: %d %+v", code, st)
	}

	redis.Restart()
	testenv.EventuallyWithin(t, 15*time.Second, "healthz ok again", func() bool {
		var h struct{ Status string }
		return getJSON(t, base+"/healthz", &h) == 200 && h.Status == "ok"
	})
	// The cache itself holds the status of the task that ran while it was
	// down: the recent list is served from the cache only.
	testenv.EventuallyWithin(t, 20*time.Second, "status rebuilt in Redis", func() bool {
		var list struct{ Tasks []bus.Status }
		if getJSON(t, base+"/v1/tasks?limit=50", &list) != 200 {
			return false
		}
		for _, s := range list.Tasks {
			if s.ID == during && s.State == bus.StateDone {
				return true
			}
		}
		return false
	})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
