package workers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers"
)

// A kernel that crashes may lose its pool consumer's state: the task is
// delivered again as delivery 1. The deliveries are kept in the task's
// events, so the count goes on from the last one recorded, and a task
// whose recorded deliveries reach the bound ends as failed instead of
// starting the bound over. The crash is what the test reproduces: the
// task's events show earlier deliveries while the consumer counts one.
func TestDeliveryCountSurvivesALostConsumer(t *testing.T) {
	for _, c := range []struct {
		name  string
		prior int
		check func(t *testing.T, evs []bus.Event)
	}{
		{"counts on", 2, func(t *testing.T, evs []bus.Event) {
			a := evs[len(evs)-1]
			for _, e := range evs {
				if e.Type == bus.EventAssigned && e.Worker == "survivor" {
					a = e
				}
			}
			if a.Type != bus.EventAssigned || a.Delivery != 3 {
				t.Fatalf("the delivery after two recorded ones is %+v; want assigned, delivery 3", a)
			}
			if end := evs[len(evs)-1]; end.Type != bus.EventDone || end.Delivery != 3 {
				t.Fatalf("end = %+v; want done, delivery 3", end)
			}
		}},
		{"bound kept", bus.PoolMaxDeliver, func(t *testing.T, evs []bus.Event) {
			end := evs[len(evs)-1]
			if end.Type != bus.EventFailed || end.Rule != "max-deliveries" || !strings.Contains(end.Reason, "delivered 6 times") {
				t.Fatalf("end = %+v; want failed by max-deliveries, delivered 6 times", end)
			}
			if n := count(evs, bus.EventExecStart); n != 0 {
				t.Fatalf("the task ran %d times past its bound", n)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newMesh(t)
			ctx := context.Background()
			names := bus.Names{}
			// Queued for a pool no worker serves yet, its earlier
			// deliveries on record as the workers that took it left them.
			id := m.submit(bus.Task{Command: "echo survived", Pool: "later"})
			for d := 1; d <= c.prior; d++ {
				e := bus.Event{TaskID: id, Type: bus.EventAssigned, Worker: "gone", Delivery: d, Attempt: 1}
				if _, err := m.k.JS.PublishMsg(ctx, names.EventMsg(e)); err != nil {
					t.Fatal(err)
				}
				e.Type = bus.EventCommand
				if _, err := m.k.JS.PublishMsg(ctx, names.EventMsg(e)); err != nil {
					t.Fatal(err)
				}
			}
			m.startWorker(workers.Config{ID: "survivor", Pool: "later"})
			c.check(t, m.wait(id))
		})
	}
}
