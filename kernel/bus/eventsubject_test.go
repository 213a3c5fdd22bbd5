package bus_test

import (
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
)

func TestSourceOf(t *testing.T) {
	n := bus.Names{}
	for _, c := range []struct {
		subject string
		want    bus.EventSource
		ok      bool
	}{
		{n.Event("t1"), bus.EventSource{Task: "t1", Kernel: true}, true},
		{n.EventBy("t1", "gpu", "UABC"), bus.EventSource{Task: "t1", Pool: "gpu", Cred: "UABC"}, true},
		{"amf.events.t1", bus.EventSource{}, false},
		{"amf.events.t1.x", bus.EventSource{}, false},
		{"amf.events.t1.a.b.c", bus.EventSource{}, false},
		{"amf.tasks.t1.k", bus.EventSource{}, false},
	} {
		got, ok := n.SourceOf(c.subject)
		if got != c.want || ok != c.ok {
			t.Errorf("SourceOf(%q) = %+v %v, want %+v %v", c.subject, got, ok, c.want, c.ok)
		}
	}
}

// A status takes a task's events from the kernel and from workers of the
// task's pool; a worker of another pool changes nothing, and the task's
// end comes only from the worker whose assignment came last.
func TestStatusAdmitsOnlyTheTasksWriters(t *testing.T) {
	n := bus.Names{}
	src := func(subject string) bus.EventSource {
		s, ok := n.SourceOf(subject)
		if !ok {
			t.Fatalf("not an event subject: %s", subject)
		}
		return s
	}
	ev := func(typ bus.EventType, seq uint64, subject string) bus.Event {
		e := bus.Event{TaskID: "t1", Type: typ, Seq: seq, TS: time.Now(), Source: src(subject)}
		if typ == bus.EventAccepted || typ == bus.EventAssigned {
			e.Task = &bus.Task{ID: "t1", Pool: "a", Owner: "nats:alice"}
		}
		return e
	}
	var st bus.Status
	st.Apply(ev(bus.EventAccepted, 1, n.Event("t1")))
	st.Apply(ev(bus.EventAssigned, 2, n.EventBy("t1", "a", "W1")))
	forged := ev(bus.EventAssigned, 3, n.EventBy("t1", "b", "EVIL"))
	forged.Task = &bus.Task{ID: "t1", Pool: "b", Owner: "nats:mallory"}
	st.Apply(forged)
	st.Apply(ev(bus.EventDone, 4, n.EventBy("t1", "b", "EVIL")))
	st.Apply(ev(bus.EventDone, 5, n.EventBy("t1", "a", "W2")))
	if st.State.Final() || st.Pool != "a" || st.Owner != "nats:alice" || st.Holder != "W1" {
		t.Fatalf("after forged events: %+v", st)
	}
	st.Apply(ev(bus.EventDone, 6, n.EventBy("t1", "a", "W1")))
	if st.State != bus.StateOf(bus.EventDone) || st.LastSeq != 6 {
		t.Fatalf("the holder's end: %+v", st)
	}
}
