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

// Property: a worker of another pool stores nothing that ends a task or
// changes what its owner may do with it ("what it stores on its own
// [subject] under the task's id reaches no reader ... and changes no
// status", docs/SECURITY.md). A worker credential of pool "edge" stores a
// "done" event, on the one subject its credential may use, under the
// victim's task queued for pool "hr". The victim's status still says
// queued, so the victim cancels it: the cancel must go through, not be
// refused as a task that already ended.
func TestAttackForeignPoolDoneBlocksTheOwnersCancel(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	task := submit(t, o.victim, `{"id":"victims-hr-job","command":"echo payroll","pool":"hr"}`)
	listed(t, o.victim, task.ID)

	workerNC := o.k.ConnectAs(o.k.Creds(kernel.UserSpec{Name: "edge-worker", Role: kernel.RoleWorker, Pools: []string{"edge"}}))
	wjs, err := jetstream.New(workerNC)
	if err != nil {
		t.Fatal(err)
	}
	e := bus.Event{TaskID: task.ID, Type: bus.EventDone, TS: time.Now().UTC(), Worker: "edge-1"}
	msg := bus.Names{}.EventMsg(e)
	msg.Subject = bus.Names{}.EventBy(task.ID, "edge", bus.CredentialID(client.UserKey(workerNC)))
	if _, err := wjs.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("the worker credential's event: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // the projector has seen it
	st, err := o.victim.Status(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State.Final() {
		t.Fatalf("a foreign pool's done event ended the victim's task: %s", st.State)
	}
	if err := o.victim.Cancel(ctx, task.ID, "not needed"); err != nil {
		t.Errorf("the victim's task is %s, but her cancel is refused after another pool's worker stored a done event under its id: %v", st.State, err)
	}
}

// Property: a worker of another pool reaches no reader of a task. The
// victim reads her queued task's events without following (what is
// stored now, as `amf logs` without --follow): after a worker credential
// of pool "edge" stored one event under the task's id, the read must
// still return her task's events within a few seconds, not wait for an
// event that her reader's consumer never delivers.
func TestAttackForeignPoolEventStallsTheOwnersRead(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	task := submit(t, o.victim, `{"id":"victims-hr-read","command":"echo payroll","pool":"hr"}`)
	listed(t, o.victim, task.ID)

	workerNC := o.k.ConnectAs(o.k.Creds(kernel.UserSpec{Name: "edge-worker", Role: kernel.RoleWorker, Pools: []string{"edge"}}))
	wjs, err := jetstream.New(workerNC)
	if err != nil {
		t.Fatal(err)
	}
	e := bus.Event{TaskID: task.ID, Type: bus.EventProgress, TS: time.Now().UTC(), Worker: "edge-1", Text: "noise"}
	msg := bus.Names{}.EventMsg(e)
	msg.Subject = bus.Names{}.EventBy(task.ID, "edge", bus.CredentialID(client.UserKey(workerNC)))
	if _, err := wjs.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("the worker credential's event: %v", err)
	}

	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	defer rcancel()
	start := time.Now()
	st, err := o.victim.Open(rctx, task.ID, 0, false)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var got []bus.EventType
	err = st.EachEvent(rctx, func(e bus.Event) error { got = append(got, e.Type); return nil })
	if err != nil || time.Since(start) > 10*time.Second || len(got) == 0 {
		t.Errorf("the victim's read of her own task after another pool's event: %v after %s, events %v; want her accepted event at once", err, time.Since(start).Round(time.Millisecond), got)
	}
}
