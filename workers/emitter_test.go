package workers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// fenceSetup is a kernel and an emitter for one task, as handle makes it.
func fenceSetup(t *testing.T, id string, opts ...jetstream.JetStreamOpt) (*kerneltest.Kernel, *emitter) {
	t.Helper()
	k := kerneltest.Start(t)
	js, err := jetstream.New(k.NC, opts...)
	if err != nil {
		t.Fatal(err)
	}
	events, err := js.Stream(context.Background(), bus.Names{}.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	return k, &emitter{js: js, events: events, taskID: id, worker: "w1"}
}

// foreign stores an event of another writer on the task.
func foreign(t *testing.T, k *kerneltest.Kernel, id string, typ bus.EventType) {
	t.Helper()
	e := bus.Event{TaskID: id, Type: typ, Worker: "w2", TS: time.Now().UTC()}
	if _, err := k.JS.PublishMsg(context.Background(), bus.Names{}.EventMsg(e)); err != nil {
		t.Fatal(err)
	}
}

// stored lists the task's event types as the stream holds them.
func storedTypes(t *testing.T, em *emitter) string {
	t.Helper()
	var out []string
	for seq := uint64(1); ; {
		e, err := em.names.NextEvent(context.Background(), em.events, em.taskID, seq)
		if errors.Is(err, bus.ErrNoEvents) {
			return strings.Join(out, ",")
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(e.Type))
		seq = e.Seq + 1
	}
}

func noCancel(string) {}

func TestFenceHolderFinishes(t *testing.T) {
	_, em := fenceSetup(t, "f1")
	ctx := context.Background()
	if err := em.claim(ctx, em.event(bus.EventAssigned), bus.Event{}, noCancel); err != nil {
		t.Fatal(err)
	}
	em.emitText(bus.EventStdout, "hi")
	if err := em.finish(ctx, em.event(bus.EventDone)); err != nil {
		t.Fatal(err)
	}
	if got, want := storedTypes(t, em), "assigned,stdout,done"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
}

// A worker that another one took the task from (a redelivery after a
// kernel restart) stores no terminal event: the new holder's counts.
func TestFenceStaleHolderStops(t *testing.T) {
	k, em := fenceSetup(t, "f2")
	ctx := context.Background()
	if err := em.claim(ctx, em.event(bus.EventAssigned), bus.Event{}, noCancel); err != nil {
		t.Fatal(err)
	}
	em.emitText(bus.EventStdout, "hi")
	em.settle(0)
	foreign(t, k, "f2", bus.EventAssigned)
	if err := em.finish(ctx, em.event(bus.EventDone)); !errors.Is(err, errStale) {
		t.Fatalf("finish = %v, want errStale", err)
	}
	if got, want := storedTypes(t, em), "assigned,stdout,assigned"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
}

// A cancel request that lands after the holder's newest event is a
// client's, not another holder's: the terminal event goes after it.
func TestFenceSkipsCancelRequests(t *testing.T) {
	k, em := fenceSetup(t, "f3")
	ctx := context.Background()
	if err := em.claim(ctx, em.event(bus.EventAssigned), bus.Event{}, noCancel); err != nil {
		t.Fatal(err)
	}
	foreign(t, k, "f3", bus.EventCancelRequested)
	if err := em.finish(ctx, em.event(bus.EventCancelled)); err != nil {
		t.Fatal(err)
	}
	if got, want := storedTypes(t, em), "assigned,cancel_requested,cancelled"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
}

// The claim follows a client's events added since the worker looked, and
// gives way to a holder's.
func TestFenceClaim(t *testing.T) {
	k, em := fenceSetup(t, "f4")
	ctx := context.Background()
	foreign(t, k, "f4", bus.EventAccepted)
	var reason string
	if err := em.claim(ctx, em.event(bus.EventAssigned), bus.Event{}, func(r string) { reason = r }); err != nil {
		t.Fatalf("claim after an accepted event it did not see: %v", err)
	}
	if reason != "" {
		t.Fatalf("cancelled without a request: %q", reason)
	}

	k5, other := fenceSetup(t, "f5")
	seen, err := other.names.LastEvent(ctx, other.events, "f5")
	if !errors.Is(err, bus.ErrNoEvents) {
		t.Fatal(err)
	}
	foreign(t, k5, "f5", bus.EventAssigned)
	foreign(t, k5, "f5", bus.EventStdout)
	if err := other.claim(ctx, other.event(bus.EventAssigned), seen, noCancel); !errors.Is(err, errStale) {
		t.Fatalf("claim over a live holder = %v, want errStale", err)
	}
	foreign(t, k5, "f5", bus.EventDone)
	if err := other.claim(ctx, other.event(bus.EventAssigned), seen, noCancel); !errors.Is(err, errEnded) {
		t.Fatalf("claim of an ended task = %v, want errEnded", err)
	}
}

// An event whose ack never came is looked up before it is counted lost.
func TestAckTimeoutIsNotALoss(t *testing.T) {
	_, em := fenceSetup(t, "f6", jetstream.WithPublishAsyncTimeout(time.Nanosecond))
	ctx := context.Background()
	if err := em.claim(ctx, em.event(bus.EventAssigned), bus.Event{}, noCancel); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		em.emitText(bus.EventToken, "tok")
	}
	em.settle(0)
	if len(em.unconfirmed) == 0 {
		t.Fatal("every ack beat a 1ns timeout; nothing was left to confirm")
	}
	done := em.event(bus.EventDone)
	if err := em.finish(ctx, done); err != nil {
		t.Fatal(err)
	}
	if em.lost != 0 {
		t.Fatalf("%d events counted lost, all were stored", em.lost)
	}
	last, err := em.names.LastEvent(ctx, em.events, "f6")
	if err != nil || last.Type != bus.EventDone || last.Reason != "" {
		t.Fatalf("terminal event %+v (%v), want done without a loss note", last, err)
	}
}
