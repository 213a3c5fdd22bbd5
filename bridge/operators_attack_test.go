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
