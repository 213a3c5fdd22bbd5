package kernel_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// Property: a revoked owner's queued tasks are ended, and a worker of
// another pool stores nothing that ends a task (docs/SECURITY.md). A
// client credential queues a task for pool "later", nobody serving it
// yet; a worker credential of pool "edge" stores a "done" event under
// the task's id on its own subject. Then the client credential is
// revoked. The kernel's sweep reads the task's newest event from every
// writer, takes the edge worker's "done" for the task's end and leaves
// it queued; a worker of pool "later" ignores the edge worker's event
// (LastEventIn) and would run it, for an owner revoked before. The task
// must be cancelled (as pool "later" sees it) or gone from the queue.
func TestAttackForeignDoneKeepsARevokedOwnersTaskQueued(t *testing.T) {
	t.Parallel()
	k := kerneltest.StartWith(t, kernel.Server{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = k.TaskAPI().Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	stolen := k.Creds(kernel.UserSpec{Name: "stolen", Role: kernel.RoleClient})
	thief := &client.Client{NC: k.ConnectAs(stolen), ViaAPI: true}
	var id string
	for {
		task, _, err := thief.Submit(context.Background(), bus.Task{Command: "echo ran-after-revocation", Pool: "later"})
		if err == nil {
			id = task.ID
			break
		}
		if !errors.Is(err, client.ErrUnavailable) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	edge := k.ConnectAs(k.Creds(kernel.UserSpec{Name: "edge-worker", Role: kernel.RoleWorker, Pools: []string{"edge"}}))
	ejs, err := jetstream.New(edge)
	if err != nil {
		t.Fatal(err)
	}
	msg := k.Names.EventMsg(bus.Event{TaskID: id, Type: bus.EventDone, TS: time.Now().UTC(), Worker: "edge-1"})
	msg.Subject = k.Names.EventBy(id, "edge", bus.CredentialID(client.UserKey(edge)))
	if _, err := ejs.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("the edge worker's event: %v", err)
	}

	queued := func() uint64 {
		t.Helper()
		st, err := k.JS.Stream(context.Background(), k.Names.TasksStream())
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(context.Background(), jetstream.WithSubjectFilter("amf.tasks.later"))
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	events, err := k.JS.Stream(context.Background(), k.Names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	asPoolSees := func() bus.Event {
		t.Helper()
		e, err := k.Names.LastEventIn(context.Background(), events, id, "later")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	revokeCreds(t, k, stolen)

	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if queued() == 0 || asPoolSees().Type.Terminal() {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("15 s after its owner's credential was revoked, task %s is still queued for pool later (%d queued), whose workers see its last event as %s: a worker of the pool would run it", id, queued(), asPoolSees().Type)
}
