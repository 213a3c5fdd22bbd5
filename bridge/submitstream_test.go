package bridge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/internal/ssetest"
	"github.com/amf-os/amf/kernel/bus"
)

// postStreaming submits body asking for its events in the answer.
func postStreaming(t *testing.T, ctx context.Context, url, token, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/tasks", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// A submission that accepts text/event-stream is answered 202 with its
// task's events, from accepted to the terminal one, under the SSE ids a
// reconnect resumes from; the task's id is in the headers before the
// first event.
func TestSubmitAnswersWithTheTasksEvents(t *testing.T) {
	f := newAuthFixture(t, nil)
	tok := f.token(t, "submit,read", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp := postStreaming(t, ctx, f.url, tok, `{"id":"streamed","command":"true","pool":"nobody"}`)
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Content-Type") != "text/event-stream" ||
		resp.Header.Get(bus.HeaderTaskID) != "streamed" || resp.Header.Get("Location") != "/v1/tasks/streamed" {
		t.Fatalf("answer %d %v", resp.StatusCode, resp.Header)
	}
	var got []ssetest.Message
	err := ssetest.Read(resp.Body, func(m ssetest.Message) error {
		got = append(got, m)
		if m.Event == string(bus.EventAccepted) {
			// As a worker would, once the task is taken and run.
			publishEvents(t, &fixture{k: f.k}, "streamed", 1, 3, true)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var types []string
	for _, m := range got {
		types = append(types, m.Event)
		if m.ID == "" {
			t.Errorf("event %s without an SSE id to resume from", m.Event)
		}
	}
	if len(got) < 3 || types[0] != "accepted" || types[len(types)-1] != "done" {
		t.Fatalf("events %v, want accepted … done", types)
	}
	// Another token's submission under the same id streams nothing of it.
	other := f.token(t, "submit,read", "")
	if a := postStreaming(t, ctx, f.url, other, `{"id":"streamed","command":"true","pool":"nobody"}`); a.StatusCode != http.StatusConflict {
		t.Fatalf("another token's streamed submission under a taken id: %d %s", a.StatusCode, a.Header)
	}
}

// A token at its bound of open streams still submits: the answer is the
// usual JSON, saying why no stream came with it, and the task is queued.
func TestSubmitPastTheStreamBoundIsStillSubmitted(t *testing.T) {
	f := newAuthFixture(t, func(s *bridge.Server) { s.StreamsPerToken = 1 })
	tok := f.token(t, "submit,read", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	held := postStreaming(t, ctx, f.url, tok, `{"id":"held","command":"true","pool":"nobody"}`)
	if held.StatusCode != http.StatusAccepted || held.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("first streamed submission: %d %v", held.StatusCode, held.Header)
	}
	resp := postStreaming(t, ctx, f.url, tok, `{"id":"past","command":"true","pool":"nobody"}`)
	var s struct {
		ID          string `json:"id"`
		StreamError string `json:"stream_error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || s.ID != "past" || !strings.Contains(s.StreamError, "1 open event streams") {
		t.Fatalf("a streamed submission past the bound: %d %+v", resp.StatusCode, s)
	}
	if a := f.do(t, nil, "GET", "/v1/tasks/past", tok, "", nil); a.status != http.StatusOK {
		t.Fatalf("the task submitted past the bound: %+v", a)
	}
}
