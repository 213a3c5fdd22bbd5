package status_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/kernel/status"
	"github.com/amf-os/amf/memory/cache"
)

// nats-server checks neither a push consumer's deliver_subject against
// its creator's publish permissions nor whether the deliveries land on a
// stream's subjects. A worker credential may make no consumer on the
// memory stream (refused by the server below; the kernel makes its
// index's, into its own inbox), so a consumer made by an operator's
// mistake stands in for the rest. The attacker, a worker of pool b, stores a task event as a "learned memory" on its own subject and
// points a push consumer at the holder's event subject of a pool-a task.
// As soon as anything subscribes to that exact subject (an operator
// tailing the holder's events with `nats sub`), the delivery is taken by
// AMF_EVENTS too, stored under the memory record's own subject
// (amf.memory.learned.<attacker>), which names no source. The status
// projector reads an unknown subject as the kernel's (SourceOf's ok is
// ignored): the forged done ends the task with the attacker's answer,
// past the pool and holder checks, while the real command still runs.
func TestWorkerDeliversForgedEventThroughAMemoryConsumer(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	c, err := cache.NewKVCache(ctxT(t), k.JS)
	if err != nil {
		t.Fatal(err)
	}
	p := &status.StatusProjector{JS: k.JS, Cache: c, Logger: kerneltest.Logger(t), HealthEvery: 100 * time.Millisecond}
	runProjector(t, p)

	const id = "victim-delivered"
	accepted := bus.Event{TaskID: id, Type: bus.EventAccepted, TS: time.Now().UTC(), Task: &bus.Task{ID: id, Command: "sleep 100", Pool: "a", Owner: "nats:alice"}}
	if _, err := k.JS.PublishMsg(ctxT(t), names.EventMsg(accepted)); err != nil {
		t.Fatal(err)
	}
	holder := connectWorker(t, k, "holder", "a")
	evil := connectWorker(t, k, "evil", "b")
	assigned := bus.Event{TaskID: id, Type: bus.EventAssigned, Worker: "holder", Attempt: 1, Task: accepted.Task}
	holderSubject := names.EventBy(id, "a", holder.cred)
	if !holder.publish(t, holderSubject, assigned) {
		t.Fatal("the holder's assigned event was refused")
	}
	testenv.Eventually(t, "victim running", statusIs(c, id, bus.StateOf(bus.EventAssigned)))

	// An operator follows the holder's events: literal interest.
	tail, err := k.NC.SubscribeSync(holderSubject)
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Unsubscribe()
	if err := k.NC.Flush(); err != nil {
		t.Fatal(err)
	}

	// The attacker's "memory": a done event for the victim.
	forged, _ := json.Marshal(bus.Event{TaskID: id, Type: bus.EventDone, Worker: "evil", TS: time.Now().UTC(), Answer: "FORGED", Exec: &bus.ExecResult{}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := evil.js.Publish(ctx, names.LearnedBy(evil.cred), forged); err != nil {
		t.Fatalf("the worker could not store on its own learned subject: %v", err)
	}
	create, _ := json.Marshal(map[string]any{
		"stream_name": names.MemoryStream(),
		"config": map[string]any{
			"deliver_subject": holderSubject,
			"filter_subject":  names.LearnedBy(evil.cred),
			"deliver_policy":  "last",
			"ack_policy":      "none",
		},
	})
	if _, err := kerneltest.Ask(evil.js.Conn(), "$JS.API.CONSUMER.CREATE."+names.MemoryStream(), create, nil, 10*time.Second); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("a worker's consumer on the memory stream was not refused by the server: %v", err)
	}
	if _, err := k.NC.Request("$JS.API.CONSUMER.CREATE."+names.MemoryStream(), create, 5*time.Second); err != nil {
		t.Fatalf("consumer create: %v", err)
	}
	// A marker after the forgery: once it is projected, the forgery was too.
	time.Sleep(time.Second)
	if !holder.publish(t, holderSubject, bus.Event{TaskID: id, Type: bus.EventCommand, Command: "sleep 100", Worker: "holder"}) {
		t.Fatal("the holder's command event was refused")
	}
	testenv.Eventually(t, "the marker or the forgery projected", func() bool {
		s, err := c.Status(context.Background(), id)
		return err == nil && (s.Command == "sleep 100" && s.Worker == "holder" || s.State.Final())
	})
	s, err := c.Status(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if s.State.Final() || s.Answer == "FORGED" {
		t.Fatalf("a pool-b worker ended a pool-a task through a push consumer on the memory stream: %+v", s)
	}
}
