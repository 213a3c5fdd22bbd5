package bridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/internal/ssetest"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// Re-submitting a finished task's id after both de-duplication windows
// answers with the existing task and changes nothing: the SSE stream
// resumed after its end still ends at once, and DELETE says it finished.
func TestResubmitAfterTheEndChangesNothing(t *testing.T) {
	k := kerneltest.StartWith(t, kernel.Server{TasksDuplicates: 200 * time.Millisecond, EventsDuplicates: 200 * time.Millisecond})
	s := &bridge.Server{NC: k.NC, NoAuth: true, Logger: kerneltest.Logger(t), KeepAlive: 200 * time.Millisecond}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	ctx := context.Background()

	post(t, ts.URL, `{"id":"job-2","command":"echo one"}`)
	done := bus.Event{TaskID: "job-2", Type: bus.EventDone, Worker: "w1", TS: time.Now().UTC()}
	if _, err := k.JS.PublishMsg(ctx, bus.Names{}.EventMsg(done)); err != nil {
		t.Fatal(err)
	}
	events := ts.URL + "/v1/tasks/job-2/events"
	all, ended := readSome(t, events, "", 10)
	if !ended || len(all) != 2 {
		t.Fatalf("first read: %d events, ended=%v", len(all), ended)
	}
	for _, subject := range []string{bus.Names{}.Task("probe"), bus.Names{}.Event("probe")} {
		outliveWindow(t, k, subject)
	}

	again := post(t, ts.URL, `{"id":"job-2","command":"echo two"}`)
	if again["duplicate"] != true {
		t.Fatalf("re-submission of a finished id: %v, want a duplicate", again)
	}
	resumeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(resumeCtx, "GET", events, nil)
	req.Header.Set("Last-Event-ID", all[len(all)-1].ID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = ssetest.Read(resp.Body, func(m ssetest.Message) error { n++; return nil })
	resp.Body.Close()
	if err != nil || n != 0 {
		t.Fatalf("resume after the end: %d events, err %v; want none and the stream closed", n, err)
	}
	del, _ := http.NewRequest("DELETE", ts.URL+"/v1/tasks/job-2", nil)
	resp, err = http.DefaultClient.Do(del)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("DELETE of a finished task: %d, want 409", resp.StatusCode)
	}
}

// outliveWindow returns once a message id published now on subject is
// no longer a duplicate: the stream's window has passed for all before.
func outliveWindow(t *testing.T, k *kerneltest.Kernel, subject string) {
	t.Helper()
	probe := &nats.Msg{Subject: subject, Data: []byte("{}"), Header: nats.Header{bus.HeaderMsgID: []string{"probe"}}}
	for first := true; ; first = false {
		ack, err := k.JS.PublishMsg(context.Background(), probe)
		if err != nil {
			t.Fatalf("probe %s: %v", subject, err)
		}
		if !first && !ack.Duplicate {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
