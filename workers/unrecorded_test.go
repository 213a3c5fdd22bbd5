package workers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers"
)

// An owner's task runs only under the kernel's accepted event: one whose
// record aged out while it waited in the queue (or that was never
// recorded) is refused with a failed event saying why and to submit it
// again, and its command never runs. A task whose record is there runs.
func TestOwnedTaskWithoutTheKernelsRecordIsRefused(t *testing.T) {
	m := newMesh(t)
	ctx := context.Background()
	names := m.client.Names
	const owner bus.Owner = "nats:ABCDEFGHIJKLMNOP"
	queue := func(task bus.Task) {
		t.Helper()
		if _, err := m.k.JS.Publish(ctx, names.Task(bus.DefaultPool), task.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	record := func(e bus.Event) uint64 {
		t.Helper()
		e.TS = time.Now().UTC()
		ack, err := m.k.JS.PublishMsg(ctx, names.EventMsg(e))
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	owned := func(id string) bus.Task {
		t.Helper()
		task := bus.Task{ID: id, Command: "echo ran > /dev/null; echo ran", Owner: owner}
		if err := task.Normalize(); err != nil {
			t.Fatal(err)
		}
		return task
	}

	// No events at all: aged out before any worker served the pool.
	gone := owned("aged-out")
	queue(gone)
	// Its accepted event aged out, a later kernel note did not yet.
	partly := owned("partly-aged-out")
	shown := partly.Redacted()
	first := record(bus.Event{TaskID: partly.ID, Type: bus.EventAccepted, Task: &shown})
	record(bus.Event{TaskID: partly.ID, Type: bus.EventProgress, Text: "no worker serves this pool yet"})
	events, err := m.k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	if err := events.DeleteMsg(ctx, first); err != nil {
		t.Fatal(err)
	}
	queue(partly)
	// Recorded as the task API records it.
	kept := owned("recorded")
	shown = kept.Redacted()
	record(bus.Event{TaskID: kept.ID, Type: bus.EventAccepted, Task: &shown})
	queue(kept)

	m.startWorker(workers.Config{ID: "w-unrecorded"})
	for _, id := range []string{gone.ID, partly.ID} {
		evs := m.wait(id)
		assertOneTerminal(t, evs)
		end := last(evs)
		if end.Type != bus.EventFailed || end.Rule != "unrecorded" {
			t.Fatalf("task %s without the kernel's record ended %s (rule %q: %s), want failed by rule unrecorded", id, end.Type, end.Rule, end.Reason)
		}
		for _, want := range []string{"no accepted event", "--events-max-age", "submit it again"} {
			if !strings.Contains(end.Reason, want) {
				t.Fatalf("refusal of %s %q does not say %q", id, end.Reason, want)
			}
		}
		if n := count(evs, bus.EventExecStart); n != 0 {
			t.Fatalf("task %s without the kernel's record ran: %v", id, types(evs))
		}
	}
	if end := last(m.wait(kept.ID)); end.Type != bus.EventDone {
		t.Fatalf("recorded task ended %s (%s), want done", end.Type, end.Reason)
	}
}
