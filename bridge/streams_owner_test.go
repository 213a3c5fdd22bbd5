package bridge_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// tokenOwner issues a token and returns it with the owner its tasks get.
func (f *authFixture) tokenOwner(t *testing.T, scopes string) (string, bus.Owner) {
	t.Helper()
	sc, err := tokens.ParseScopes(scopes)
	if err != nil {
		t.Fatal(err)
	}
	tok, rec, err := f.store.Create(context.Background(), sc, nil, "test "+scopes)
	if err != nil {
		t.Fatal(err)
	}
	return tok, bus.OwnerOfToken(rec.ID)
}

// ownTask stores a task's accepted event with its owner, as the kernel
// records it at submission, and an assigned event: a task still running.
func (f *authFixture) ownTask(t *testing.T, id string, owner bus.Owner) {
	t.Helper()
	names := bus.Names{}
	for _, e := range []bus.Event{
		{TaskID: id, Type: bus.EventAccepted, TS: time.Now().UTC(), Task: &bus.Task{ID: id, Command: "true", Pool: bus.DefaultPool, Owner: owner}},
		{TaskID: id, Type: bus.EventAssigned, TS: time.Now().UTC()},
	} {
		if _, err := f.k.JS.PublishMsg(context.Background(), names.EventMsg(e)); err != nil {
			t.Fatal(err)
		}
	}
}

// openEvents opens a task's SSE stream as token; the stream closes when
// the test ends.
func (f *authFixture) openEvents(t *testing.T, id, token string) *http.Response {
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
	return resp
}

// A token streams its own task's events; another token's stream of that
// task is answered as a task that does not exist; an admin token streams
// every task. The kernel decides, from the owner the bridge names.
func TestTokenStreamsOnlyItsOwnTasks(t *testing.T) {
	f := newAuthFixture(t, nil)
	alice, aliceOwner := f.tokenOwner(t, "read")
	bob, _ := f.tokenOwner(t, "read")
	admin, _ := f.tokenOwner(t, "admin")
	f.ownTask(t, "alices", aliceOwner)

	resp := f.openEvents(t, "alices", alice)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("alice streams her task: %d", resp.StatusCode)
	}
	buf := make([]byte, 4096)
	n, _ := io.ReadAtLeast(resp.Body, buf, len("event: accepted"))
	if !strings.Contains(string(buf[:n]), "event: accepted") {
		t.Fatalf("alice's stream starts with %q", buf[:n])
	}
	if a := f.do(t, nil, "GET", "/v1/tasks/alices/events", bob, "", nil); a.status != http.StatusNotFound || a.code != "not_found" {
		t.Fatalf("bob streams alice's task: %+v, want 404 not_found", a)
	}
	if resp := f.openEvents(t, "alices", admin); resp.StatusCode != http.StatusOK {
		t.Fatalf("an admin token streams alice's task: %d", resp.StatusCode)
	}
}

// The kernel's cap on open streams counts one owner across every bridge
// (here, a bridge whose own per-token bound is higher): past it the owner
// is refused with the limit named, while another owner still streams.
func TestOpenStreamsPerOwnerAreCappedByTheKernel(t *testing.T) {
	const limit = 2
	f := newAuthFixture(t, func(s *bridge.Server) {
		s.Client = &client.Client{NC: s.NC, ReadersPerOwner: limit}
	})
	greedy, greedyOwner := f.tokenOwner(t, "read")
	other, otherOwner := f.tokenOwner(t, "read")
	f.ownTask(t, "greedys", greedyOwner)
	f.ownTask(t, "others", otherOwner)
	for i := range limit {
		if resp := f.openEvents(t, "greedys", greedy); resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d of %d: %d", i+1, limit, resp.StatusCode)
		}
	}
	a := f.do(t, nil, "GET", "/v1/tasks/greedys/events", greedy, "", nil)
	if a.status != http.StatusTooManyRequests || a.code != "too_many_streams" || !strings.Contains(a.msg, "--readers-per-owner") {
		t.Fatalf("stream %d: %+v, want 429 too_many_streams naming the limit", limit+1, a)
	}
	if resp := f.openEvents(t, "others", other); resp.StatusCode != http.StatusOK {
		t.Fatalf("another owner's stream while one is at its limit: %d", resp.StatusCode)
	}
}
