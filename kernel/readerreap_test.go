package kernel_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A reader's consumer is deleted once its task no longer needs it, even
// while its reader keeps listening: its task ended and the end was
// delivered a while ago, its task's events age out soon, or they are
// gone. One that reads a task still running stays.
func TestSpentReadersAreDeleted(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := k.Names
	c := &client.Client{NC: k.NC, JS: k.JS, Names: names}
	store := func(id string, types ...bus.EventType) {
		for _, typ := range types {
			e := bus.Event{TaskID: id, Type: typ, TS: time.Now().UTC()}
			if typ == bus.EventAccepted {
				e.Task = &bus.Task{ID: id, Command: "true"}
			}
			if _, err := k.JS.PublishMsg(ctx, names.EventMsg(e)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// open makes a reader's consumer on id, listened to for good, and
	// waits until it has delivered n events.
	open := func(id string, n int) string {
		inbox := k.NC.NewInbox()
		sub, err := k.NC.SubscribeSync(inbox)
		if err != nil {
			t.Fatal(err)
		}
		reply, err := c.MakeReader(ctx, client.Reader{All: true}, bus.ReaderRequest{Task: id, Deliver: inbox}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for got := 0; got < n; {
			m, err := sub.NextMsg(10 * time.Second)
			if err != nil {
				t.Fatalf("%s's reader: %v", id, err)
			}
			if m.Header.Get("Status") == "" {
				got++
			}
		}
		return reply.Consumer
	}
	store("ended", bus.EventAccepted, bus.EventAssigned, bus.EventDone)
	store("running", bus.EventAccepted, bus.EventAssigned)
	store("purged", bus.EventAccepted)
	ended, running, purged := open("ended", 3), open("running", 2), open("purged", 1)
	events, err := k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	readers := func() []string {
		var names []string
		for n := range events.ConsumerNames(ctx).Name() {
			if bus.IsReaderName(n) {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		return names
	}
	want := func(when string, consumers ...string) {
		t.Helper()
		slices.Sort(consumers)
		if got := readers(); fmt.Sprint(got) != fmt.Sprint(consumers) {
			t.Fatalf("%s: readers %v, want %v", when, got, consumers)
		}
	}
	now := time.Now()
	kernel.ReapReaders(ctx, k.JS, names, now)
	want("at once", ended, running, purged)

	// Its events gone, the id is anyone's: its reader goes at once.
	if err := events.Purge(ctx, jetstream.WithPurgeSubject(names.TaskEvents("purged"))); err != nil {
		t.Fatal(err)
	}
	kernel.ReapReaders(ctx, k.JS, names, now)
	want("its task's events purged", ended, running)

	// A while after the end was delivered, the ended task's reader goes.
	kernel.ReapReaders(ctx, k.JS, names, now.Add(2*time.Minute))
	want("two minutes after the end", running)

	// Just before the running task's events age out, its reader goes too.
	kernel.ReapReaders(ctx, k.JS, names, now.Add(bus.DefaultEventsMaxAge-time.Minute))
	want("as the task's events are about to age out")
}
