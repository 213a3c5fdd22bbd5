package workers

import (
	"context"
	"errors"
	"fmt"
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
	em := &emitter{js: js, events: events, taskID: id, worker: "w1"}
	t.Cleanup(em.close)
	return k, em
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
	waitStored(t, em, "assigned,stdout")
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

// waitStored waits until the task's events are want: the sender stores
// them in the background.
func waitStored(t *testing.T, em *emitter, want string) {
	t.Helper()
	for storedTypes(t, em) != want {
		time.Sleep(10 * time.Millisecond)
	}
}

// A stale holder (cut off while another worker took the task over and
// ended it) stores nothing after the other's end when it comes back: not
// its events held back meanwhile, and not a second terminal event.
func TestFenceStaleHolderStoresNothingAfterAnotherEnd(t *testing.T) {
	k, em := fenceSetup(t, "f7")
	ctx := context.Background()
	var stale error
	em.onStale = func(err error) { stale = err }
	if err := em.claim(ctx, em.event(bus.EventAssigned), bus.Event{}, noCancel); err != nil {
		t.Fatal(err)
	}
	em.emitText(bus.EventStdout, "before")
	waitStored(t, em, "assigned,stdout")
	// Cut off: the pool redelivers, the next holder runs the task to its end.
	foreign(t, k, "f7", bus.EventAssigned)
	foreign(t, k, "f7", bus.EventStdout)
	foreign(t, k, "f7", bus.EventDone)
	// Back: what it produced meanwhile reaches the stream now.
	for i := range 50 {
		em.emitText(bus.EventToken, "t")
		em.emitText(bus.EventStdout, strings.Repeat("x", i))
	}
	if err := em.finish(ctx, em.event(bus.EventDone)); !errors.Is(err, errStale) {
		t.Fatalf("finish = %v, want errStale", err)
	}
	if !errors.Is(stale, errStale) {
		t.Fatalf("the run was told %v, want errStale", stale)
	}
	if got, want := storedTypes(t, em), "assigned,stdout,assigned,stdout,done"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
}

// Streamed text queued while an event is being stored is joined into one
// event, in order, and nothing of it is lost.
func TestTokensJoinedWhileWaiting(t *testing.T) {
	_, em := fenceSetup(t, "f8")
	ctx := context.Background()
	if err := em.claim(ctx, em.event(bus.EventAssigned), bus.Event{}, noCancel); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := range 500 {
		tok := string(rune('a' + i%26))
		want.WriteString(tok)
		em.emitText(bus.EventToken, tok)
	}
	if err := em.finish(ctx, em.event(bus.EventDone)); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	tokens := 0
	for seq := uint64(1); ; {
		e, err := em.names.NextEvent(ctx, em.events, "f8", seq)
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == bus.EventDone {
			break
		}
		if e.Type == bus.EventToken {
			tokens++
			got.WriteString(e.Text)
		}
		seq = e.Seq + 1
	}
	if got.String() != want.String() {
		t.Fatalf("tokens %q, want %q", got.String(), want.String())
	}
	if tokens >= 500 {
		t.Fatalf("%d token events for 500 tokens: none were joined", tokens)
	}
}

// Output lines queued while an event waits are joined into one event,
// whole lines in order, and stderr is never mixed into stdout.
func TestOutputLinesJoinedWhileWaiting(t *testing.T) {
	_, em := fenceSetup(t, "f9")
	ctx := context.Background()
	if err := em.claim(ctx, em.event(bus.EventAssigned), bus.Event{}, noCancel); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 2000 {
		line := fmt.Sprintf("line %d", i)
		want = append(want, line)
		em.emitText(bus.EventStdout, line)
		if i%500 == 0 {
			em.emitText(bus.EventStderr, "warning")
		}
	}
	if err := em.finish(ctx, em.event(bus.EventDone)); err != nil {
		t.Fatal(err)
	}
	var got []string
	events, warnings := 0, 0
	for seq := uint64(1); ; {
		e, err := em.names.NextEvent(ctx, em.events, "f9", seq)
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == bus.EventDone {
			break
		}
		switch e.Type {
		case bus.EventStdout:
			events++
			got = append(got, strings.Split(e.Text, "\n")...)
		case bus.EventStderr:
			warnings += len(strings.Split(e.Text, "\n"))
		}
		seq = e.Seq + 1
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("stdout lines differ: got %d lines, want %d", len(got), len(want))
	}
	if warnings != 4 {
		t.Fatalf("%d stderr lines, want 4", warnings)
	}
	if events >= 2000 {
		t.Fatalf("%d stdout events for 2000 lines: none were joined", events)
	}
}

// An event stored whose answer was lost is found on the next try, not
// stored twice nor taken for another writer's.
func TestLostAnswerStoredOnce(t *testing.T) {
	k, em := fenceSetup(t, "f6")
	ctx := context.Background()
	if err := em.claim(ctx, em.event(bus.EventAssigned), bus.Event{}, noCancel); err != nil {
		t.Fatal(err)
	}
	em.close()
	m := em.names.EventMsg(em.event(bus.EventStdout))
	// The first try, stored; its answer never reached the worker.
	if _, err := k.JS.PublishMsg(ctx, m, bus.Fenced(em.lastSeq)); err != nil {
		t.Fatal(err)
	}
	foreign(t, k, "f6", bus.EventCancelRequested)
	if err := em.store(ctx, m); err != nil {
		t.Fatalf("store after a lost answer = %v", err)
	}
	if got, want := storedTypes(t, em), "assigned,stdout,cancel_requested"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
}
