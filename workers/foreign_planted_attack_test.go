package workers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/workers"
)

// Property: a worker credential runs nothing in another pool, and only
// the kernel queues tasks, as their submitters sent them. The attacker
// holds a worker credential of pool "edge" and may submit tasks. With
// the worker credential it stores, on its own event subject, an
// "accepted" event under a fresh id, carrying a task it wrote: no owner,
// pool "hr", its own command. It then submits anything under that id
// through the kernel's submission path. The kernel takes the worker's
// event for the id's record, answers "duplicate" and queues the body it
// carries on pool hr's subject; a worker of pool hr runs an unowned task
// without looking for the kernel's record. The planted command must not
// run on pool hr. (It does not today: the hr worker's claim is fenced on
// the task's newest event from any writer, which the planted event is,
// and fails until the kernel ends the task after its deliveries.)
func TestAttackEdgeWorkerRunsItsCommandOnAnotherPool(t *testing.T) {
	m := newMesh(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := m.client.Names
	const id = "planted-id"

	edge := m.k.ConnectAs(m.k.Creds(kernel.UserSpec{Name: "edge-worker", Role: kernel.RoleWorker, Pools: []string{"edge"}}))
	ejs, err := jetstream.New(edge)
	if err != nil {
		t.Fatal(err)
	}
	planted := bus.Task{ID: id, Pool: "hr", Command: "echo planted-by-edge", Submitted: time.Now().UTC()}
	if err := planted.Normalize(); err != nil {
		t.Fatal(err)
	}
	msg := names.EventMsg(bus.Event{TaskID: id, Type: bus.EventAccepted, TS: time.Now().UTC(), Task: &planted})
	msg.Subject = names.EventBy(id, "edge", bus.CredentialID(client.UserKey(edge)))
	if _, err := ejs.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("the edge worker's event: %v", err)
	}
	// The attacker's own submission, under the id, through the task's real path.
	const attacker bus.Owner = "nats:ATTACKERATTACKE"
	if _, dup, _, err := m.client.SubmitWarn(client.WithAccess(ctx, bus.Access{Owner: attacker}), bus.Task{ID: id, Command: "true", Pool: "edge"}); err != nil {
		t.Logf("submission refused: %v", err)
	} else {
		t.Logf("submission answered, duplicate=%v", dup)
	}

	m.startWorker(workers.Config{ID: "hr-1", Pool: "hr", Concurrency: 1})
	events, err := m.k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for seq := uint64(1); time.Now().Before(deadline); {
		e, err := names.NextEvent(ctx, events, id, seq)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		seq = e.Seq + 1
		if e.Source.Pool == "hr" && (strings.Contains(e.Text, "planted-by-edge") || e.Type == bus.EventDone) {
			t.Fatalf("pool hr's worker ran the command a worker of pool edge wrote: %s %q (%+v)", e.Type, e.Text, e.Source)
		}
	}
}
