package client_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// publishEvents stores events of a task the way workers do.
func publishEvents(t testing.TB, js jetstream.JetStream, names bus.Names, id string, types ...bus.EventType) {
	t.Helper()
	for i, typ := range types {
		e := bus.Event{TaskID: id, Type: typ, TS: time.Now().UTC(), Text: fmt.Sprint(i)}
		m := &nats.Msg{Subject: names.Event(id), Data: e.Encode(), Header: nats.Header{}}
		m.Header.Set(bus.HeaderEventType, string(typ))
		if _, err := js.PublishMsg(context.Background(), m); err != nil {
			t.Fatalf("publish event: %v", err)
		}
	}
}

func consumers(t testing.TB, js jetstream.JetStream, names bus.Names) int {
	t.Helper()
	s, err := js.Stream(context.Background(), names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Consumers
}

// TestReadersReleaseConsumers connects and disconnects followers of a
// running task five times as often as the server allows consumers on a
// stream (1,000 by default, which the kernel does not raise): each one
// must delete what it made, so readers keep working and nothing piles up.
func TestReadersReleaseConsumers(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	nc, err := k.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	names := bus.Names{}
	c := &client.Client{NC: nc, Names: names}
	publishEvents(t, k.JS, names, "running-1", bus.EventAccepted, bus.EventAssigned)

	const cycles = 5000
	peak := 0
	for i := range cycles {
		ctx, cancel := context.WithCancel(context.Background())
		st, err := c.Open(ctx, "running-1", 1, true)
		if err != nil {
			t.Fatalf("cycle %d: open: %v", i, err)
		}
		got := make(chan client.RawEvent, 1)
		done := make(chan error, 1)
		go func() {
			done <- st.Each(ctx, func(r client.RawEvent) error {
				select {
				case got <- r:
				default:
				}
				return nil
			})
		}()
		select {
		case r := <-got:
			if r.Type != bus.EventAssigned {
				t.Fatalf("cycle %d: first event %q, want assigned", i, r.Type)
			}
		case err := <-done:
			t.Fatalf("cycle %d: the reader ended before reading: %v", i, err)
		}
		// Following now: the client goes away.
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if i%250 == 0 {
			peak = max(peak, consumers(t, k.JS, names))
		}
	}
	if n := consumers(t, k.JS, names); n > 2 || peak > 2 {
		t.Fatalf("%d consumers left after %d readers (peak %d); want them deleted", n, cycles, peak)
	}
	t.Logf("%d readers came and went; at most %d consumers at a time", cycles, peak)

	// A new follower still gets the task's end.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var types []bus.EventType
	done := make(chan error, 1)
	go func() {
		done <- c.WatchRaw(ctx, "running-1", 0, true, func(r client.RawEvent) error {
			types = append(types, r.Type)
			if r.Type == bus.EventAssigned {
				publishEvents(t, k.JS, names, "running-1", bus.EventDone)
			}
			return nil
		})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(types) != "[accepted assigned done]" {
		t.Fatalf("events %v", types)
	}
	if n := consumers(t, k.JS, names); n != 0 {
		t.Fatalf("%d consumers left after the last reader ended", n)
	}
}

// TestFinishedTaskNeedsNoConsumer reads a finished task, whole and from a
// resume point, with direct gets only.
func TestFinishedTaskNeedsNoConsumer(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	c := &client.Client{NC: k.NC, Names: names}
	// More events than one batch, around another task's.
	var types []bus.EventType
	types = append(types, bus.EventAccepted)
	for range 1200 {
		types = append(types, bus.EventToken)
	}
	publishEvents(t, k.JS, names, "other", bus.EventAccepted)
	publishEvents(t, k.JS, names, "long", types...)
	publishEvents(t, k.JS, names, "other", bus.EventAssigned)
	publishEvents(t, k.JS, names, "long", bus.EventDone)

	// Each reader counts the consumers while it reads.
	for _, after := range []uint64{0, 2, 700} {
		var seqs []uint64
		seen := 0
		err := c.WatchRaw(context.Background(), "long", after, true, func(r client.RawEvent) error {
			if len(seqs) == 0 || len(seqs) == 1000 {
				seen = max(seen, consumers(t, k.JS, names))
			}
			seqs = append(seqs, r.Seq)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if seen != 0 {
			t.Errorf("after %d: %d consumers while reading a finished task", after, seen)
		}
		if len(seqs) == 0 || seqs[0] <= after || seqs[len(seqs)-1] != 1204 {
			t.Fatalf("after %d: read %d events, first %v", after, len(seqs), seqs[:min(3, len(seqs))])
		}
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] || seqs[i] == 1203 {
				t.Fatalf("after %d: sequence %d follows %d (1203 is another task's)", after, seqs[i], seqs[i-1])
			}
		}
	}
	st, err := c.StatusFromEvents(context.Background(), "long")
	if err != nil || st.State != "done" {
		t.Fatalf("status %+v, %v", st, err)
	}
}

// TestFollowerOutlivesItsConsumer deletes a follower's consumer under it,
// as a kernel that lost it (or froze) would leave it: the follower hears
// no heartbeat, asks for a new one from its last event, and reads the
// task to its end with nothing lost or repeated.
func TestFollowerOutlivesItsConsumer(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	c := &client.Client{NC: k.NC, Names: names}
	publishEvents(t, k.JS, names, "orphaned", bus.EventAccepted, bus.EventAssigned)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var seqs []uint64
	var types []bus.EventType
	done := make(chan error, 1)
	go func() {
		done <- c.WatchRaw(ctx, "orphaned", 0, true, func(r client.RawEvent) error {
			seqs, types = append(seqs, r.Seq), append(types, r.Type)
			return nil
		})
	}()
	// Following now: its consumer goes, then the task goes on.
	s, err := k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	for deleted := 0; deleted == 0; {
		for name := range s.ConsumerNames(ctx).Name() {
			if bus.IsReaderName(name) {
				if err := s.DeleteConsumer(ctx, name); err != nil {
					t.Fatal(err)
				}
				deleted++
			}
		}
		if ctx.Err() != nil {
			t.Fatal("the follower never made a consumer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	publishEvents(t, k.JS, names, "orphaned", bus.EventCommand, bus.EventDone)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(types) != "[accepted assigned command done]" || fmt.Sprint(seqs) != "[1 2 3 4]" {
		t.Fatalf("read %v at %v", types, seqs)
	}
}

// poolStatus is a status cache that knows only the pool of every task.
type poolStatus string

func (p poolStatus) Status(_ context.Context, id string) (bus.Status, error) {
	return bus.Status{ID: id, Pool: string(p)}, nil
}

// TestDirectReadSkipsAnotherPoolsEvents reads a task with events a worker
// of another pool stored under its id: the kernel's own reader passes on
// only the task's own, and a forged end does not end the read.
func TestDirectReadSkipsAnotherPoolsEvents(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	c := &client.Client{NC: k.NC, Names: names, Cache: poolStatus("a")}
	publishEvents(t, k.JS, names, "mixed", bus.EventAccepted)
	for _, e := range []struct {
		pool string
		typ  bus.EventType
	}{{"a", bus.EventAssigned}, {"b", bus.EventDone}, {"a", bus.EventDone}} {
		m := names.EventMsgBy(bus.Event{TaskID: "mixed", Type: e.typ, TS: time.Now().UTC()}, e.pool, "W")
		if _, err := k.JS.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	var seqs []uint64
	err := c.WatchRaw(context.Background(), "mixed", 0, true, func(r client.RawEvent) error {
		seqs = append(seqs, r.Seq)
		return nil
	})
	if err != nil || fmt.Sprint(seqs) != "[1 2 4]" {
		t.Fatalf("read %v (%v), want [1 2 4]: the task's own events to its own end", seqs, err)
	}
}
