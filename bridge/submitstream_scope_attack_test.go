package bridge_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The read scope guards a task's events ("status, events, lists"): a
// token granted only submit is refused GET events_url, and so must be
// refused the same events when it asks for them in its submission's
// answer (Accept: text/event-stream). It may still submit: the answer is
// then the usual JSON, or a 403 naming the read scope.
func TestAttackSubmitOnlyTokenStreamsEvents(t *testing.T) {
	f := newAuthFixture(t, nil)
	tok := f.token(t, "submit", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if a := f.do(t, nil, "GET", "/v1/tasks/none/events", tok, "", nil); a.status != http.StatusForbidden {
		t.Fatalf("a submit-only token reading events: %+v, want 403", a)
	}
	resp := postStreaming(t, ctx, f.url, tok, `{"id":"noread","command":"true","pool":"nobody"}`)
	if resp.Header.Get("Content-Type") == "text/event-stream" {
		buf := make([]byte, 512)
		rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
		defer rcancel()
		go func() { <-rctx.Done(); resp.Body.Close() }()
		n, _ := io.ReadAtLeast(resp.Body, buf, 1)
		t.Fatalf("a token without the read scope got its task's events through POST /v1/tasks: %d %q", resp.StatusCode, strings.TrimSpace(string(buf[:n])))
	}
}
