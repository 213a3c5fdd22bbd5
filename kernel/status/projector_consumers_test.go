package status_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/kernel/status"
	"github.com/amf-os/amf/memory/cache"
)

// TestProjectorMakesNoConsumerPerTask: tasks published raw on the pool
// subject have no accepted event, so the projector looks their history up
// in the stream. 10,000 of them (more than the events stream's consumer
// cap) are all projected and leave the projector's one durable as the
// only consumer: the lookups are direct gets, never a consumer per task.
func TestProjectorMakesNoConsumerPerTask(t *testing.T) {
	t.Parallel()
	const tasks = 10000
	k := kerneltest.Start(t)
	c, err := cache.NewKVCache(ctxT(t), k.JS)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for i := range tasks {
		id := fmt.Sprintf("NP-%d", i)
		e := bus.Event{TaskID: id, Type: bus.EventAssigned, Worker: "w1", Attempt: 1, Delivery: 1, TS: time.Now().UTC()}
		msg := nats.NewMsg(bus.Names{}.Event(id))
		msg.Data = e.Encode()
		msg.Header.Set(bus.HeaderEventType, string(e.Type))
		if _, err := k.JS.PublishMsgAsync(msg); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
		if i%1000 == 999 || i == tasks-1 {
			select {
			case <-k.JS.PublishAsyncComplete():
			case <-ctx.Done():
				t.Fatal("publishing the events timed out")
			}
		}
	}
	p := &status.StatusProjector{JS: k.JS, Cache: c, Logger: kerneltest.Logger(t), HealthEvery: 100 * time.Millisecond}
	runProjector(t, p)

	events, err := k.JS.Stream(ctx, bus.Names{}.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	maxConsumers := 0
	deadline := time.Now().Add(2 * time.Minute)
	for {
		info, err := events.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		maxConsumers = max(maxConsumers, info.State.Consumers)
		cons, err := events.Consumer(ctx, bus.Names{}.StatusConsumer())
		if err == nil {
			if ci, err := cons.Info(ctx); err == nil && ci.AckFloor.Stream >= tasks {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the projector did not get through %d raw tasks in time: %v", tasks, p.Err())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, id := range []string{"NP-0", fmt.Sprintf("NP-%d", tasks-1)} {
		if s, err := c.Status(ctx, id); err != nil || s.State != bus.StateRunning || s.Worker != "w1" {
			t.Errorf("status of %s = %+v, %v; want running on w1", id, s, err)
		}
	}
	var names []string
	for n := range events.ListConsumers(ctx).Info() {
		names = append(names, n.Name)
	}
	if len(names) != 1 || maxConsumers > 1 {
		t.Fatalf("events stream holds consumers %v (at most %d at once); want only the projector's durable", names, maxConsumers)
	}
}
