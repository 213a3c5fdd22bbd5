package bus_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// LastEventIn is the newest of a task's events stored by the kernel and
// by the given pool's workers, whatever the other pools' workers stored
// under the task's id after them, on a real JetStream events stream.
func TestLastEventInIsTheNewestOfTheKernelsAndThePoolsEvents(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	ctx := context.Background()
	events, err := k.JS.Stream(ctx, k.Names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	store := func(id, subject string, typ bus.EventType) uint64 {
		t.Helper()
		m := k.Names.EventMsg(bus.Event{TaskID: id, Type: typ, TS: time.Now().UTC()})
		m.Subject = subject
		ack, err := k.JS.PublishMsg(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	kernel := func(id string) string { return k.Names.Event(id) }
	own := func(id string) string { return k.Names.EventBy(id, "gpu", "UOWN") }
	other := func(id string) string { return k.Names.EventBy(id, "edge", "UOTHER") }
	// Neither the kernel's nor a pool's: a subject with one token more.
	stray := func(id string) string { return k.Names.EventBy(id, "gpu", "UOWN") + ".x" }

	type write struct {
		subject func(string) string
		typ     bus.EventType
	}
	for i, c := range []struct {
		name   string
		writes []write
		want   int // index of the write LastEventIn returns; -1: none
	}{
		{"kernel last", []write{{kernel, bus.EventAccepted}}, 0},
		{"pool last", []write{{kernel, bus.EventAccepted}, {own, bus.EventAssigned}}, 1},
		{"kernel after pool", []write{{kernel, bus.EventAccepted}, {own, bus.EventAssigned}, {kernel, bus.EventCancelRequested}}, 2},
		{"another pool last", []write{{kernel, bus.EventAccepted}, {own, bus.EventAssigned}, {other, bus.EventDone}}, 1},
		{"another pool and a stray subject last", []write{{kernel, bus.EventAccepted}, {other, bus.EventDone}, {stray, bus.EventFailed}}, 0},
		{"only another pool", []write{{other, bus.EventDone}}, -1},
		{"none", nil, -1},
	} {
		id := "last-" + strconv.Itoa(i)
		t.Run(c.name, func(t *testing.T) {
			var seqs []uint64
			for _, w := range c.writes {
				seqs = append(seqs, store(id, w.subject(id), w.typ))
			}
			got, err := k.Names.LastEventIn(ctx, events, id, "gpu")
			if c.want < 0 {
				if !errors.Is(err, bus.ErrNoEvents) {
					t.Fatalf("LastEventIn = %+v, %v; want ErrNoEvents", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Seq != seqs[c.want] || got.Type != c.writes[c.want].typ {
				t.Fatalf("LastEventIn = seq %d %s; want seq %d %s", got.Seq, got.Type, seqs[c.want], c.writes[c.want].typ)
			}
			// Without a pool it is the newest of all.
			all, err := k.Names.LastEventIn(ctx, events, id, "")
			if err != nil || all.Seq != seqs[len(seqs)-1] {
				t.Fatalf("LastEventIn without a pool = seq %d, %v; want %d", all.Seq, err, seqs[len(seqs)-1])
			}
		})
	}
}
