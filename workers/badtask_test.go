package workers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers"
)

// A task over the size limit published by hand is failed with a reason,
// not dropped unseen, and not run.
func TestOversizeTaskFails(t *testing.T) {
	m := newMesh(t)
	m.startWorker(workers.Config{})
	body := `{"id":"huge","command":"echo ` + strings.Repeat("x", bus.MaxTaskBytes) + `"}`
	if _, err := m.k.JS.Publish(context.Background(), bus.Names{}.Task(bus.DefaultPool), []byte(body)); err != nil {
		t.Fatal(err)
	}
	evs := m.wait("huge")
	assertOneTerminal(t, evs)
	e := last(evs)
	if e.Type != bus.EventFailed || e.Rule != "invalid-task" || !strings.Contains(e.Reason, "limit") {
		t.Fatalf("oversize task ended %+v, want failed by rule invalid-task naming the limit", e)
	}
	if count(evs, bus.EventExecStart) != 0 {
		t.Fatalf("oversize task ran: %v", types(evs))
	}
}

// A bad task published again with the id of a finished task does not
// add a second end to it.
func TestBadTaskDoesNotEndAFinishedTask(t *testing.T) {
	m := newMesh(t)
	m.startWorker(workers.Config{Concurrency: 1}) // in queue order
	id := m.submit(bus.Task{ID: "ended", Command: "true"})
	if e := last(m.wait(id)); e.Type != bus.EventDone {
		t.Fatalf("task ended %+v", e)
	}
	ctx := context.Background()
	if _, err := m.k.JS.Publish(ctx, bus.Names{}.Task(bus.DefaultPool), []byte(`{"id":"ended","colour":"red"}`)); err != nil {
		t.Fatal(err)
	}
	// A good task queued after it has ended once the bad one was handled.
	if e := last(m.wait(m.submit(bus.Task{Command: "true"}))); e.Type != bus.EventDone {
		t.Fatalf("next task %+v", e)
	}
	evs := m.wait(id)
	if got := count(evs, bus.EventDone) + count(evs, bus.EventFailed); got != 1 {
		t.Fatalf("finished task has %d ends: %v", got, types(evs))
	}
}

// A worker that another took the task from (as after a kernel restart
// that redelivered it) stores no end of its own and does not ack: the
// task is run again by its new holder and ends exactly once.
func TestStaleHolderStoresNoEnd(t *testing.T) {
	m := newMesh(t)
	m.startWorker(workers.Config{Concurrency: 1})
	id := m.submit(bus.Task{Command: "sleep 1; echo ran"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = m.client.Watch(ctx, id, 0, true, func(e bus.Event) error {
		if e.Type == bus.EventExecStart {
			return context.Canceled
		}
		return nil
	})
	other := bus.Event{TaskID: id, Type: bus.EventAssigned, Worker: "other-worker", TS: time.Now().UTC()}
	if _, err := m.k.JS.PublishMsg(ctx, bus.Names{}.EventMsg(other)); err != nil {
		t.Fatal(err)
	}
	evs := m.wait(id)
	assertOneTerminal(t, evs)
	if e := last(evs); e.Type != bus.EventDone {
		t.Fatalf("task ended %+v", e)
	}
	// The end is stored by the run that started after the takeover.
	var takeover, endSeq uint64
	for _, e := range evs {
		if e.Type == bus.EventAssigned && e.Worker == "other-worker" {
			takeover = e.Seq
		}
		if e.Type.Terminal() {
			endSeq = e.Seq
		}
	}
	if got := count(evs, bus.EventAssigned); got != 3 {
		t.Fatalf("assigned %d times, want 3 (first, takeover, redelivery): %v", got, types(evs))
	}
	if endSeq < takeover {
		t.Fatalf("the stale run stored the end: %v", types(evs))
	}
}
