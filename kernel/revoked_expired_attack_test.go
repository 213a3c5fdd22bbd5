package kernel_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A client credential queues a task for a pool nobody serves yet and
// waits until the task's events have aged out of the events stream
// (--events-max-age: the task queue itself keeps no age limit, so the
// task stays queued). Then its credential is revoked. The kernel's sweep
// reads each held task's state from its events, finds none, and forgets
// the task instead of cancelling it; a worker that serves the pool later
// finds no events for it and runs it, for an owner revoked long before.
// A revoked owner's queued task must be cancelled (or dropped from the
// queue) however long it waited.
func TestAttackRevokedOwnersTaskOutlivesItsEvents(t *testing.T) {
	t.Parallel()
	const maxAge = 2 * time.Second
	k := kerneltest.StartWith(t, kernel.Server{EventsMaxAge: maxAge, EventsDuplicates: time.Second})
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
		time.Sleep(20 * time.Millisecond) // the service is still starting
	}

	// The task waits in the queue until its events are gone.
	admin := &client.Client{NC: k.NC, JS: k.JS}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := admin.StatusFromEvents(context.Background(), id)
		if errors.Is(err, client.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s's events are still there a minute later (max age %s): %v", id, maxAge, err)
		}
		time.Sleep(200 * time.Millisecond)
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
	if n := queued(); n != 1 {
		t.Fatalf("pool later holds %d tasks before the revocation, want the thief's one", n)
	}

	revokeCreds(t, k, stolen)

	// Several sweeps (every 3 s) later the task must be cancelled or gone
	// from the queue; today it is forgotten and stays queued, with no
	// event saying anything, for the next worker of the pool to run.
	deadline = time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if queued() == 0 {
			return
		}
		if last, err := admin.LastEvent(context.Background(), id); err == nil && last.Type.Terminal() {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	last, lerr := admin.LastEvent(context.Background(), id)
	t.Fatalf("15 s after its owner's credential was revoked, task %s is still queued (%d in pool later; last event %+v, %v): a worker of the pool would run it", id, queued(), last, lerr)
}

// The same forgetting lets one owner hold more queued tasks than its
// --quota-tasks: the task API's ledger drops a task whose events have
// aged out as if it had ended, though it still waits in the queue, so
// an owner that queues for a pool nobody serves fills the queue every
// owner shares a quota at a time, once per events' max age.
func TestAttackQueuedTasksPastTheEventsAgeLeaveTheOwnersQuota(t *testing.T) {
	t.Parallel()
	const maxAge = 2 * time.Second
	k := kerneltest.StartWith(t, kernel.Server{EventsMaxAge: maxAge, EventsDuplicates: time.Second, Quota: api.Quota{Tasks: 2}})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = k.TaskAPI().Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	flood := &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Name: "flood", Role: kernel.RoleClient})), ViaAPI: true}
	submit := func() error {
		for {
			_, _, err := flood.Submit(context.Background(), bus.Task{Command: "echo queued", Pool: "nobody"})
			if !errors.Is(err, client.ErrUnavailable) {
				return err
			}
			time.Sleep(20 * time.Millisecond) // the service is still starting
		}
	}
	for range 2 {
		if err := submit(); err != nil {
			t.Fatal(err)
		}
	}
	if err := submit(); !errors.Is(err, client.ErrQuota) {
		t.Fatalf("a third task at once: %v, want the quota", err)
	}
	queued := func() uint64 {
		t.Helper()
		st, err := k.JS.Stream(context.Background(), k.Names.TasksStream())
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(context.Background(), jetstream.WithSubjectFilter("amf.tasks.nobody"))
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	// The two wait on; their events age out.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		if err := submit(); err == nil {
			t.Fatalf("a third task was accepted once the first two's events aged out, while they still wait in the queue (%d queued for pool nobody, quota 2)", queued())
		} else if !errors.Is(err, client.ErrQuota) {
			t.Fatal(err)
		}
	}
}
