package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/internal/ssetest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// fixture is a real kernel with a bridge served by httptest.
type fixture struct {
	k   *kerneltest.Kernel
	url string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	k := kerneltest.Start(t)
	s := &bridge.Server{NC: k.NC, NoAuth: true, Logger: kerneltest.Logger(t), KeepAlive: 200 * time.Millisecond}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &fixture{k: k, url: ts.URL}
}

type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func TestBadInputGetsClearErrors(t *testing.T) {
	f := newFixture(t)
	huge := `{"command":"echo ` + strings.Repeat("a", bus.MaxTaskBytes) + `"}`
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		code, mentions                  string
	}{
		{"malformed JSON", "POST", "/v1/tasks", "application/json", `{"instruction":`, 400, "invalid_task", "malformed JSON"},
		{"not an object", "POST", "/v1/tasks", "application/json", `[1,2]`, 400, "invalid_task", "must be"},
		{"unknown field", "POST", "/v1/tasks", "application/json", `{"instruction":"x","colour":"red"}`, 400, "invalid_task", `unknown field "colour"`},
		{"field name in another case", "POST", "/v1/tasks", "application/json", `{"Command":"true"}`, 400, "invalid_task", `case-sensitive; write "command"`},
		{"duplicate key", "POST", "/v1/tasks", "application/json", `{"command":"true","command":"false"}`, 400, "invalid_task", `"command" appears twice`},
		{"schedule_id", "POST", "/v1/tasks", "application/json", `{"command":"true","schedule_id":"x"}`, 400, "invalid_task", "only the kernel sets schedule_id"},
		{"empty instruction", "POST", "/v1/tasks", "application/json", `{"instruction":"   "}`, 400, "invalid_task", "instruction"},
		{"empty body", "POST", "/v1/tasks", "application/json", ``, 400, "invalid_task", "empty"},
		{"both set", "POST", "/v1/tasks", "application/json", `{"instruction":"x","command":"ls"}`, 400, "invalid_task", "not both"},
		{"too large", "POST", "/v1/tasks", "application/json", huge, 413, "too_large", "larger"},
		{"invalid utf8", "POST", "/v1/tasks", "application/json", "{\"instruction\":\"\xff\xfe\"}", 400, "invalid_task", "UTF-8"},
		{"bad id", "POST", "/v1/tasks", "application/json", `{"id":"a b","command":"ls"}`, 400, "invalid_task", "id"},
		{"bad attempts", "POST", "/v1/tasks", "application/json", `{"command":"ls","max_attempts":99}`, 400, "invalid_task", "max_attempts"},
		{"bad timeout", "POST", "/v1/tasks", "application/json", `{"command":"ls","timeout":"soon"}`, 400, "invalid_task", "duration"},
		{"trailing data", "POST", "/v1/tasks", "application/json", `{"command":"ls"} {}`, 400, "invalid_task", "after the JSON"},
		{"wrong content type", "POST", "/v1/tasks", "text/plain", `{"command":"ls"}`, 415, "unsupported_media_type", "application/json"},
		{"unknown task", "GET", "/v1/tasks/nope", "", "", 404, "not_found", "nope"},
		{"unknown task events", "GET", "/v1/tasks/nope/events", "", "", 404, "not_found", "nope"},
		{"unknown task cancel", "DELETE", "/v1/tasks/nope", "", "", 404, "not_found", "nope"},
		{"invalid task id", "GET", "/v1/tasks/a%20b", "", "", 400, "bad_request", "task id"},
		{"unknown route", "GET", "/v2/whatever", "", "", 404, "not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, f.url+c.path, strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e apiErr
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("error body is not the JSON error shape: %v", err)
			}
			if resp.StatusCode != c.status || e.Error.Code != c.code {
				t.Fatalf("got %d %q (%s), want %d %q", resp.StatusCode, e.Error.Code, e.Error.Message, c.status, c.code)
			}
			if !strings.Contains(e.Error.Message, c.mentions) {
				t.Errorf("message %q should mention %q", e.Error.Message, c.mentions)
			}
		})
	}
	// Nothing bad was queued.
	info, err := f.k.JS.Stream(context.Background(), bus.Names{}.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Msgs; n != 0 {
		t.Fatalf("%d tasks queued by bad input", n)
	}
}

func post(t *testing.T, url, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(url+"/v1/tasks", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %d %v", resp.StatusCode, out)
	}
	return out
}

func TestSubmitQueuesOnceAndReportsStatus(t *testing.T) {
	f := newFixture(t)
	a := post(t, f.url, `{"id":"job-1","command":"echo hi"}`)
	if a["id"] != "job-1" || a["events_url"] != "/v1/tasks/job-1/events" {
		t.Fatalf("202 body: %v", a)
	}
	b := post(t, f.url, `{"id":"job-1","command":"echo hi"}`)
	if b["duplicate"] != true {
		t.Fatalf("second submit of the same id should be a duplicate: %v", b)
	}
	s, _ := f.k.JS.Stream(context.Background(), bus.Names{}.TasksStream())
	info, _ := s.Info(context.Background())
	if info.State.Msgs != 1 {
		t.Fatalf("queued %d tasks, want 1", info.State.Msgs)
	}
	resp, err := http.Get(f.url + "/v1/tasks/job-1")
	if err != nil {
		t.Fatal(err)
	}
	var st bus.Status
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.State != bus.StateQueued || st.Command != "echo hi" {
		t.Fatalf("status %+v", st)
	}
}

// publishEvents writes events of task id straight to the stream, as a
// worker would.
func publishEvents(t *testing.T, f *fixture, id string, from, to int, terminal bool) {
	t.Helper()
	for i := from; i < to; i++ {
		e := bus.Event{TaskID: id, Type: bus.EventStdout, Text: "line " + strconv.Itoa(i), TS: time.Now()}
		if i == 0 {
			e.Type = bus.EventAccepted
		}
		if terminal && i == to-1 {
			e.Type = bus.EventDone
		}
		if _, err := f.k.JS.Publish(context.Background(), bus.Names{}.Event(id), e.Encode()); err != nil {
			t.Fatal(err)
		}
	}
}

// readSome reads up to n events from the stream, resuming after lastID,
// and returns them with whether the terminal event was seen.
func readSome(t *testing.T, url, lastID string, n int) ([]ssetest.Message, bool) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var got []ssetest.Message
	done := false
	stop := errors.New("enough")
	err = ssetest.Read(resp.Body, func(m ssetest.Message) error {
		got = append(got, m)
		if m.Event == string(bus.EventDone) {
			done = true
		}
		if len(got) >= n {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		t.Fatalf("read: %v", err)
	}
	return got, done
}

func TestSSEResumeAcrossManyReconnectsLosesAndRepeatsNothing(t *testing.T) {
	f := newFixture(t)
	const total = 400
	id := "long-task"
	publishEvents(t, f, id, 0, 1, false)
	// A writer keeps adding events while the client reconnects.
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 1; i < total; i += 10 {
			publishEvents(t, f, id, i, min(i+10, total), i+10 >= total)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// Also interleave another task's events to make sure the filter holds.
	publishEvents(t, f, "other-task", 0, 5, false)

	var all []ssetest.Message
	lastID := ""
	reconnects := 0
	for {
		got, done := readSome(t, f.url+"/v1/tasks/"+id+"/events", lastID, 7)
		all = append(all, got...)
		if len(got) > 0 {
			lastID = got[len(got)-1].ID
		}
		if done {
			break
		}
		reconnects++
		if reconnects > 1000 {
			t.Fatal("never reached the terminal event")
		}
	}
	<-writerDone
	if len(all) != total {
		t.Fatalf("received %d events over %d reconnects, want %d", len(all), reconnects, total)
	}
	prev := uint64(0)
	for i, m := range all {
		seq, err := strconv.ParseUint(m.ID, 10, 64)
		if err != nil || seq <= prev {
			t.Fatalf("event %d has id %q after %d: gap-free increasing ids expected", i, m.ID, prev)
		}
		prev = seq
		var e bus.Event
		if err := json.Unmarshal([]byte(m.Data), &e); err != nil {
			t.Fatalf("data of %d: %v", i, err)
		}
		if e.TaskID != id || string(e.Type) != m.Event {
			t.Fatalf("event %d: %+v under event: %s", i, e, m.Event)
		}
		want := "line " + strconv.Itoa(i)
		if i > 0 && e.Text != want {
			t.Fatalf("event %d text %q, want %q (lost or repeated)", i, e.Text, want)
		}
	}
	t.Logf("%d events over %d reconnects", len(all), reconnects)
}

func TestSSEKeepAliveAndInvalidResume(t *testing.T) {
	f := newFixture(t)
	publishEvents(t, f, "idle", 0, 1, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.url+"/v1/tasks/idle/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	var seen bytes.Buffer
	for !strings.Contains(seen.String(), ": keep-alive") {
		n, err := resp.Body.Read(buf)
		if err != nil {
			t.Fatalf("no keep-alive comment before %v; read %q", err, seen.String())
		}
		seen.Write(buf[:n])
	}
	r2, _ := http.NewRequest("GET", f.url+"/v1/tasks/idle/events", nil)
	r2.Header.Set("Last-Event-ID", "abc")
	resp2, err := http.DefaultClient.Do(r2)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 400 {
		t.Fatalf("invalid Last-Event-ID: %d", resp2.StatusCode)
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get(f.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"ok"`) {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
	// Delete a stream: health must say down.
	if err := f.k.JS.DeleteStream(context.Background(), bus.Names{}.MemoryStream()); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(f.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"status":"down"`) {
		t.Fatalf("healthz without a stream: %d %s", resp.StatusCode, body)
	}
}

// A worker whose model server stalls says so in its heartbeat; health
// turns degraded and names the worker and the reason.
func TestHealthzShowsADegradedModel(t *testing.T) {
	k := kerneltest.Start(t)
	roster := &client.Roster{NC: k.NC}
	if err := roster.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(roster.Stop)
	s := &bridge.Server{NC: k.NC, Workers: roster, NoAuth: true, Logger: kerneltest.Logger(t)}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	info := bus.WorkerInfo{ID: "w-sick", Pool: "default", Capacity: 1, LastSeen: time.Now().UTC(),
		Model: &bus.ModelHealth{Name: "qwen3-coder", Status: bus.ModelDegraded, Reason: "Ollama sent no token within 2m0s"}}
	b, _ := json.Marshal(info)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := k.NC.Publish(bus.Names{}.Worker(info.ID), b); err != nil {
			t.Fatal(err)
		}
		_ = k.NC.Flush()
		resp, err := http.Get(ts.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `"status":"degraded"`) {
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"w-sick":"Ollama sent no token within 2m0s"`) {
				t.Fatalf("healthz: %d %s", resp.StatusCode, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz never said degraded: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get(ts.URL + "/v1/workers")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"status":"degraded"`) || !strings.Contains(string(body), "no token") {
		t.Fatalf("/v1/workers does not show the model's health: %s", body)
	}
}

// A client that reconnects after the terminal event (EventSource does,
// on its own) gets an empty stream that ends, not one that hangs.
func TestSSEResumeAfterTheEndEndsAtOnce(t *testing.T) {
	f := newFixture(t)
	publishEvents(t, f, "finished", 0, 3, true)
	all, done := readSome(t, f.url+"/v1/tasks/finished/events", "", 10)
	if !done || len(all) != 3 {
		t.Fatalf("first read: %d events, done=%v", len(all), done)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.url+"/v1/tasks/finished/events", nil)
	req.Header.Set("Last-Event-ID", all[len(all)-1].ID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n := 0
	if err := ssetest.Read(resp.Body, func(ssetest.Message) error { n++; return nil }); err != nil {
		t.Fatalf("stream did not end by itself: %v", err)
	}
	if resp.StatusCode != 200 || n != 0 {
		t.Fatalf("status %d with %d events after the end", resp.StatusCode, n)
	}
}
