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
	m, id, release := runningUntilReleased(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The attacker: another worker's credential.
	names := bus.Names{}
	nc := m.k.ConnectAs(m.k.Creds(kernel.UserSpec{Name: "control-attacker", Role: kernel.RoleWorker}))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// A consumer on the memory stream, delivering a subject of it the
	// worker may publish on. No worker may make one (the kernel makes its
	// index's, into its own inbox): an operator's stands in for one made
	// by mistake.
	bait := names.MemoryFailed()
	cons, err := m.k.JS.CreateOrUpdateConsumer(ctx, names.MemoryStream(), jetstream.ConsumerConfig{
		Durable: "control-inject", DeliverSubject: names.Control(id), FilterSubject: bait,
		AckPolicy: jetstream.AckNonePolicy, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		t.Fatalf("create: %v", err)
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

// A push consumer's idle heartbeats arrive on its deliver subject with no
// reply: aimed at a task's control subject, they must not cancel it.
func TestControlIgnoresJetStreamHeartbeats(t *testing.T) {
	m, id, release := runningUntilReleased(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names := bus.Names{}
	// See the heartbeats arrive where the worker listens.
	seen, err := m.k.NC.SubscribeSync(names.Control(id))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.k.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.k.JS.CreateOrUpdateConsumer(ctx, names.MemoryStream(), jetstream.ConsumerConfig{
		Durable: "heartbeat-inject", DeliverSubject: names.Control(id), FilterSubject: names.LearnedBy("nothing"),
		AckPolicy: jetstream.AckNonePolicy, IdleHeartbeat: 200 * time.Millisecond,
	}); err != nil {
		t.Fatalf("create: %v", err)
	}
	for beats := 0; beats < 3; {
		msg, err := seen.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no heartbeat reached the control subject: %v", err)
		}
		if msg.Header.Get("Status") != "" {
			beats++
		}
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if e := last(m.wait(id)); e.Type != bus.EventDone {
		t.Fatalf("heartbeats on the control subject ended the task: %+v", e)
	}
}

// runningUntilReleased starts a worker and a task that runs until the
// file release exists, and returns once the task is running.
func runningUntilReleased(t *testing.T) (m *mesh, id, release string) {
	t.Helper()
	m = newMesh(t)
	m.startWorker(workers.Config{Concurrency: 1, SolverConfig: workers.SolverConfig{Runner: hostRunner(t)}})
	release = filepath.Join(t.TempDir(), "release")
	id = m.submit(bus.Task{Command: "echo started; while [ ! -e " + release + " ]; do sleep 0.05; done; echo finished"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = m.client.Watch(ctx, id, 0, true, func(e bus.Event) error {
		if e.Type == bus.EventStdout {
			return context.Canceled
		}
		return nil
	})
	return m, id, release
}
