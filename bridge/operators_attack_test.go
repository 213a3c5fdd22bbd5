package bridge_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// A task the installation's operator submitted (amf run with the admin
// credential records no owner) is hidden from an HTTP token's status;
// its event stream (GET /v1/tasks/:id/events) is hidden alike, rather
// than streaming the operator's command and output to any token with
// the read scope.
func TestTokenStreamsNoOperatorsTask(t *testing.T) {
	var operator *client.Client
	f := newOwnersFixture(t, false, func(s *api.Service) { operator = s.Client })
	tok, _ := f.user(t, "submit,read")
	task, err := bus.DecodeTask([]byte(`{"command":"echo DB_PASSWORD=hunter2","pool":"nobody"}`))
	if err != nil {
		t.Fatal(err)
	}
	task, _, err = operator.Submit(context.Background(), task)
	if err != nil {
		t.Fatal(err)
	}
	f.body(t, "GET", "/v1/tasks/"+task.ID, tok, "", http.StatusNotFound, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.url+"/v1/tasks/"+task.ID+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "hunter2") {
			t.Fatalf("GET /v1/tasks/%s/events: %d, streamed the operator's task to a token: %s", task.ID, resp.StatusCode, sc.Text())
		}
	}
	t.Fatalf("GET /v1/tasks/%s/events: %d, want 404 as its status answers", task.ID, resp.StatusCode)
}

// Revoking an HTTP token ends what it may do, and what it left behind:
// its schedules stop running, as a revoked NATS credential's are paused.
// A schedule made over HTTP records no maker key, so the runner never
// asks whether its token was revoked.
func TestRevokedTokensSchedulesStopRunning(t *testing.T) {
	f := newOwnersFixture(t, false)
	tok, owner := f.user(t, "submit,read,cancel")
	admin, _ := f.user(t, "admin")
	f.body(t, "POST", "/v1/schedules", tok, `{"id":"leaver-every-second","command":"true","schedule":"every 1s","pool":"nobody"}`, http.StatusCreated, nil)
	runs := func() int {
		var l struct{ Tasks []bus.Status }
		f.body(t, "GET", "/v1/tasks?limit=1000", admin, "", http.StatusOK, &l)
		n := 0
		for _, st := range l.Tasks {
			if st.ScheduleID == "leaver-every-second" {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for runs() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the schedule never ran")
		}
		time.Sleep(200 * time.Millisecond)
	}
	id := strings.TrimPrefix(string(owner), "token:")
	if err := f.store.Revoke(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // runs already on their way
	before := runs()
	time.Sleep(4 * time.Second)
	if after := runs(); after > before {
		t.Fatalf("the revoked token's schedule ran %d more times after its revocation", after-before)
	}
}
