package bridge_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/bridge"
)

// One token holds at most StreamsPerToken event streams at once: each
// following stream holds one of the events stream's consumers, which the
// kernel caps for every reader together.
func TestStreamsPerTokenAreBounded(t *testing.T) {
	f := newAuthFixture(t, func(s *bridge.Server) { s.StreamsPerToken = 2 })
	tok := f.token(t, "submit,read", "")
	other := f.token(t, "submit,read", "")
	// A task nobody runs: its stream stays open, following.
	if a := f.do(t, nil, "POST", "/v1/tasks", tok, `{"id":"waiting","command":"true","pool":"nobody"}`, nil); a.status != http.StatusAccepted {
		t.Fatalf("submit: %+v", a)
	}
	// Another token streams its own task: each token reads only its own.
	if a := f.do(t, nil, "POST", "/v1/tasks", other, `{"id":"others","command":"true","pool":"nobody"}`, nil); a.status != http.StatusAccepted {
		t.Fatalf("submit: %+v", a)
	}
	openTask := func(token, id string) (*http.Response, context.CancelFunc) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", f.url+"/v1/tasks/"+id+"/events", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); resp.Body.Close() })
		return resp, cancel
	}
	open := func(token string) (*http.Response, context.CancelFunc) {
		t.Helper()
		return openTask(token, "waiting")
	}
	first, closeFirst := open(tok)
	second, _ := open(tok)
	if first.StatusCode != 200 || second.StatusCode != 200 {
		t.Fatalf("streams within the bound: %d %d", first.StatusCode, second.StatusCode)
	}
	third, _ := open(tok)
	if third.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third stream of the token: %d, want 429", third.StatusCode)
	}
	if a := f.do(t, nil, "GET", "/v1/tasks/waiting/events", tok, "", nil); a.code != "too_many_streams" || !strings.Contains(a.msg, "2 open event streams") {
		t.Fatalf("refusal %+v: want code too_many_streams naming the bound", a)
	}
	if resp, _ := openTask(other, "others"); resp.StatusCode != 200 {
		t.Fatalf("another token's stream: %d", resp.StatusCode)
	}
	// A closed stream frees its place.
	closeFirst()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, cancel := open(tok)
		if resp.StatusCode == 200 {
			break
		}
		cancel()
		if time.Now().After(deadline) {
			t.Fatalf("the closed stream's place was never freed: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
