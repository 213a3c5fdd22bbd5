package workers_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers"
)

// A worker credential may not publish on another task's control subject;
// a push consumer delivering its own events there must not cancel the
// task either: the worker ignores what JetStream delivers on it.
func TestControlIgnoresJetStreamDeliveries(t *testing.T) {
	m := newMesh(t)
	m.startWorker(workers.Config{Concurrency: 1, SolverConfig: workers.SolverConfig{Runner: hostRunner(t)}})
	release := filepath.Join(t.TempDir(), "release")
	id := m.submit(bus.Task{Command: "echo started; while [ ! -e " + release + " ]; do sleep 0.05; done; echo finished"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = m.client.Watch(ctx, id, 0, true, func(e bus.Event) error {
		if e.Type == bus.EventStdout {
			return context.Canceled
		}
		return nil
	})

	// The attacker: another worker's credential.
	names := bus.Names{}
	nc := m.k.ConnectAs(m.k.Creds(kernel.UserSpec{Name: "control-attacker", Role: kernel.RoleWorker}))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	bait := names.Event("evil-" + id)
	cons, err := js.CreateOrUpdateConsumer(ctx, names.EventsStream(), jetstream.ConsumerConfig{
		Durable: "control-inject", DeliverSubject: names.Control(id), FilterSubject: bait,
		AckPolicy: jetstream.AckNonePolicy, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		t.Fatalf("the worker role may create consumers on the events stream; create: %v", err)
	}
	if _, err := js.Publish(ctx, bait, []byte("forged cancel")); err != nil {
		t.Fatal(err)
	}
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Delivered.Consumer >= 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the forged cancel was never delivered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Give the worker's control handler time to act on the delivery
	// before the command may end by itself.
	time.Sleep(300 * time.Millisecond)
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	evs := m.wait(id)
	if e := last(evs); e.Type != bus.EventDone {
		t.Fatalf("a JetStream delivery on the control subject ended the task: %+v", e)
	}
}
