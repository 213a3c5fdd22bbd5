package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// Property: ids are chosen by submitters, and another writer's events
// under an id neither answer an owner's submission with someone else's
// task nor swallow it as a duplicate (kernel/client known: "another
// owner's id is neither answered with that task nor swallowed as its
// duplicate"). A worker credential of pool "edge" stores, on its own
// subject, an "accepted" event under the id the victim is about to use,
// carrying a task it wrote (the victim as owner, pool "hr", its own
// command). The victim then submits her task under that id: she must be
// refused (the id is taken) or get her own task queued, never be told
// "duplicate" while the queue holds the worker's planted body or nothing.
func TestAttackForeignPoolEventSwallowsASubmission(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const id = "victims-nightly-report"

	workerNC := o.k.ConnectAs(o.k.Creds(kernel.UserSpec{Name: "edge-worker", Role: kernel.RoleWorker, Pools: []string{"edge"}}))
	wjs, err := jetstream.New(workerNC)
	if err != nil {
		t.Fatal(err)
	}
	planted := bus.Task{ID: id, Owner: o.victimOwner, Pool: "hr", Command: "echo planted", Submitted: time.Now().UTC()}
	msg := bus.Names{}.EventMsg(bus.Event{TaskID: id, Type: bus.EventAccepted, TS: time.Now().UTC(), Task: &planted})
	msg.Subject = bus.Names{}.EventBy(id, "edge", bus.CredentialID(client.UserKey(workerNC)))
	if _, err := wjs.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("the worker credential's event: %v", err)
	}

	task, dup, err := o.victim.Submit(ctx, bus.Task{ID: id, Command: "echo victims-own", Pool: "hr"})
	if err != nil {
		t.Logf("refused: %v", err)
		return
	}
	tasks, err := o.k.JS.Stream(ctx, bus.Names{}.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	if m, err := tasks.GetLastMsgForSubject(ctx, bus.Names{}.TaskFor("hr", "")); err == nil {
		if q, err := bus.DecodeTask(m.Data); err == nil {
			bodies = append(bodies, q.Command)
		}
	}
	if dup || len(bodies) != 1 || bodies[0] != "echo victims-own" {
		t.Errorf("the victim's submission under %s after another pool's worker wrote an event there: answered %+v duplicate=%v; pool hr's queue holds %q, want her own command", id, task, dup, bodies)
	}
}

// Property: only the kernel queues tasks, each as its submitter sent it,
// owned by whoever submitted it; a worker credential may publish no task
// and reaches no other pool. The attacker holds a worker credential of
// pool "edge" and a client credential. With the worker credential it
// stores, on its own event subject, an "accepted" event under a fresh id
// carrying a task it wrote: no owner (an operator's task, which workers
// run without looking for the kernel's record: workers/task.go checks
// only owned tasks), pool "hr", its own command. With the client
// credential it then submits anything under that id. The kernel must not
// queue the worker's body: pool hr's queue must hold nothing without an
// owner and nothing the client did not send.
func TestAttackForeignPoolEventQueuesAnUnownedTaskInAnotherPool(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const id = "attackers-own-id"

	workerNC := o.k.ConnectAs(o.k.Creds(kernel.UserSpec{Name: "edge-worker", Role: kernel.RoleWorker, Pools: []string{"edge"}}))
	wjs, err := jetstream.New(workerNC)
	if err != nil {
		t.Fatal(err)
	}
	planted := bus.Task{ID: id, Pool: "hr", Command: "echo planted-by-edge", Submitted: time.Now().UTC()}
	msg := bus.Names{}.EventMsg(bus.Event{TaskID: id, Type: bus.EventAccepted, TS: time.Now().UTC(), Task: &planted})
	msg.Subject = bus.Names{}.EventBy(id, "edge", bus.CredentialID(client.UserKey(workerNC)))
	if _, err := wjs.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("the worker credential's event: %v", err)
	}
	// A worker credential cannot queue it itself.
	refused(t, workerNC, bus.Names{}.TaskFor("hr", ""), string(planted.Encode()))

	answered, dup, err := o.attacker.Submit(ctx, bus.Task{ID: id, Command: "true", Pool: "edge"})
	t.Logf("the client's submission: %+v dup=%v err=%v", answered, dup, err)
	tasks, err := o.k.JS.Stream(ctx, bus.Names{}.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	if m, err := tasks.GetLastMsgForSubject(ctx, bus.Names{}.TaskFor("hr", "")); err == nil {
		q, _ := bus.DecodeTask(m.Data)
		t.Errorf("pool hr's queue holds a body the worker of pool edge wrote, queued by the kernel: owner %q command %q", q.Owner, q.Command)
	}
}
