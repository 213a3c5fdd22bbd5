package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A reader request asked again (its answer came late and the client's
// retry sent it once more) is answered with the same consumer, which
// keeps delivering: bus.ReaderName names it by the request alone, so
// the consumer's start must not depend on what the stream holds when
// each asking is served. A reader that resumes after the task's newest
// event (After = that event's sequence) is first served before the task
// has a next event; by the retry the task has one, further on in the
// stream: the retry must neither fail nor take away the consumer the
// first asking made.
func TestReaderRetryAfterTheTaskMovedOnKeepsItsConsumer(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	c := &client.Client{NC: k.NC, Names: names, Cache: poolStatus("a")}
	ctx := context.Background()
	publishEvents(t, k.JS, names, "resume-me", bus.EventAccepted)
	events, err := k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	last, err := names.NextEvent(ctx, events, "resume-me", 1)
	if err != nil {
		t.Fatal(err)
	}
	inbox := k.NC.NewInbox()
	sub, err := k.NC.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	req := bus.ReaderRequest{Task: "resume-me", Deliver: inbox, After: last.Seq}
	first, err := c.MakeReader(ctx, client.Reader{All: true}, req, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Other tasks' events, then the task's next one.
	for _, id := range []string{"other-1", "other-2", "other-3"} {
		publishEvents(t, k.JS, names, id, bus.EventAccepted)
	}
	if _, err := k.JS.PublishMsg(ctx, names.EventMsgBy(bus.Event{TaskID: "resume-me", Type: bus.EventDone, TS: time.Now().UTC()}, "a", "W")); err != nil {
		t.Fatal(err)
	}
	again, err := c.MakeReader(ctx, client.Reader{All: true}, req, 0)
	if err != nil {
		t.Fatalf("the same request asked again: %v; want the consumer its first asking made", err)
	}
	if again.Consumer != first.Consumer {
		t.Fatalf("asked again: consumer %s; want %s", again.Consumer, first.Consumer)
	}
	if _, err := events.PushConsumer(ctx, first.Consumer); err != nil {
		t.Fatalf("the first asking's consumer: %v; want it kept", err)
	}
	for {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("the task's next event not delivered: %v", err)
		}
		if len(m.Data) == 0 {
			continue // a heartbeat
		}
		if typ := bus.MsgEventType(m.Header, m.Data); typ != bus.EventDone {
			t.Fatalf("delivered %s; want the task's done event", typ)
		}
		return
	}
}

// The same for a reader from the start whose task's first event is gone
// by the time it is asked again (aged out of the stream, or withdrawn):
// the retry would now start elsewhere, and is still answered with the
// first asking's consumer, left as it was.
func TestReaderRetryAfterTheFirstEventWentKeepsItsConsumer(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	c := &client.Client{NC: k.NC, Names: names, Cache: poolStatus("a")}
	ctx := context.Background()
	publishEvents(t, k.JS, names, "other-1", bus.EventAccepted)
	publishEvents(t, k.JS, names, "lose-first", bus.EventAccepted, bus.EventProgress)
	events, err := k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	gone, err := names.NextEvent(ctx, events, "lose-first", 1)
	if err != nil {
		t.Fatal(err)
	}
	req := bus.ReaderRequest{Task: "lose-first", Deliver: k.NC.NewInbox()}
	first, err := c.MakeReader(ctx, client.Reader{All: true}, req, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := events.DeleteMsg(ctx, gone.Seq); err != nil {
		t.Fatal(err)
	}
	again, err := c.MakeReader(ctx, client.Reader{All: true}, req, 0)
	if err != nil || again.Consumer != first.Consumer {
		t.Fatalf("asked again: %q, %v; want the first asking's consumer %q", again.Consumer, err, first.Consumer)
	}
	cons, err := events.PushConsumer(ctx, first.Consumer)
	if err != nil {
		t.Fatalf("the first asking's consumer: %v; want it kept", err)
	}
	if got := cons.CachedInfo().Config.OptStartSeq; got != gone.Seq {
		t.Fatalf("the kept consumer starts at %d; want %d, where it was made", got, gone.Seq)
	}
}
