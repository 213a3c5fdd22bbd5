package schedule_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// launder has a worker credential publish body (with hdr) on one of its
// own event subjects and point a push consumer of the events stream,
// which it may create, at target. It returns whether the consumer was
// refused and, when it was not, waits until that event was delivered.
//
// A push consumer delivers only while a subscription names its deliver
// subject literally; operator stands for someone holding one (`nats sub
// amf.tasks.default.trusted` with the admin credential while debugging).
func launder(t *testing.T, js jetstream.JetStream, operator *nats.Conn, name, target string, body []byte, hdr nats.Header) (refused bool) {
	t.Helper()
	watch, err := operator.Subscribe(target, func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = watch.Unsubscribe() }()
	if err := operator.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := bus.Names{}
	subj := names.Event("attack-" + name)
	ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: subj, Data: body, Header: hdr})
	if err != nil {
		// The events stream refuses JetStream's schedule headers.
		t.Logf("event with %v refused: %v", hdr, err)
		return true
	}
	cons, err := js.CreateConsumer(ctx, names.EventsStream(), jetstream.ConsumerConfig{
		Name:           "attack-" + name,
		DeliverSubject: target,
		FilterSubject:  subj,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckNonePolicy,
	})
	if err != nil {
		t.Logf("push consumer delivering to %s refused: %v", target, err)
		return true
	}
	// A clock, not a timer: the consumer says when it has delivered.
	for {
		info, err := cons.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.Delivered.Stream >= ack.Sequence {
			return false
		}
		select {
		case <-ctx.Done():
			t.Fatalf("consumer never delivered: %+v pushbound=%v pending=%d deliver=%q", info.Delivered, info.PushBound, info.NumPending, info.Config.DeliverSubject)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// A worker credential may not publish tasks nor touch schedules, but it
// may publish any event and create push consumers on the events stream,
// whose deliver subject nats-server does not check. Held: a push
// consumer delivers only to a literal subscription on its deliver
// subject, and even with one (an operator watching), the delivery is not
// stored by the stream that holds the subject, so no forged schedule,
// run or task reaches a stream.
func TestAttackWorkerCannotLaunderEventsIntoSchedulesOrTasks(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	ctx := context.Background()
	names := bus.Names{}
	nc := f.k.ConnectAs(f.k.Creds(kernel.UserSpec{Name: "attack-worker", Role: kernel.RoleWorker}))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := f.k.JS.Stream(ctx, names.SchedulesStream())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a schedule of a profile it was never granted", func(t *testing.T) {
		// The events stream refuses a Nats-Schedule header, so the
		// definition goes in without one and the run is delivered too,
		// with the header only JetStream's scheduler should set.
		sc := bus.Schedule{ID: "attack-sched", Spec: "every 1s", Pattern: "@every 1s",
			Task: bus.Task{Command: "id", Policy: "trusted"}, Created: time.Now().Add(-time.Hour).UTC()}
		body, _ := json.Marshal(sc)
		if launder(t, js, f.k.NC, "sched-def", names.ScheduleDef(sc.ID), body, nil) {
			return
		}
		refused := launder(t, js, f.k.NC, "sched-run", names.ScheduleRun(sc.ID), body,
			nats.Header{"Nats-Scheduler": {names.ScheduleDef(sc.ID)}})
		if m, err := admin.GetLastMsgForSubject(ctx, names.ScheduleDef(sc.ID)); err == nil {
			if !refused {
				r := f.nextOf(t, sc.ID)
				t.Logf("run %s accepted with policy %q, command %q", r.ID, r.Policy, r.Command)
			}
			t.Fatalf("a worker stored a schedule running policy trusted: %s", m.Data)
		} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Fatal(err)
		}
	})

	t.Run("a task queued under a profile it was never granted", func(t *testing.T) {
		tasks, err := f.k.JS.Stream(ctx, names.TasksStream())
		if err != nil {
			t.Fatal(err)
		}
		subj := names.TaskFor(bus.DefaultPool, "trusted")
		body := []byte(`{"id":"attack-task","command":"id","policy":"trusted"}`)
		if launder(t, js, f.k.NC, "task", subj, body, nil) {
			return
		}
		if m, err := tasks.GetLastMsgForSubject(ctx, subj); err == nil {
			t.Fatalf("a worker queued a trusted task on %s: %s", subj, m.Data)
		} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Fatal(err)
		}
	})
}

// An interval so long that its next run lies past what a time in
// nanoseconds since 1970 can hold (year 2262) must not run at once, nor
// in a loop: it either never runs in a test's lifetime or is refused.
func TestAttackHugeIntervalDoesNotRunAtOnce(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	task, err := bus.DecodeTask([]byte(`{"id":"attack-huge","command":"true","schedule":"every 2562047h"}`))
	if errors.Is(err, bus.ErrInvalidTask) {
		t.Logf("refused: %v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.as.Create(context.Background(), task); err != nil {
		t.Logf("refused: %v", err)
		return
	}
	// The clock: three runs of a 1 s schedule.
	f.create(t, `{"id":"attack-clock","command":"true","schedule":"every 1s"}`)
	for range 3 {
		f.nextOf(t, "attack-clock", "attack-huge")
	}
}

// A run's id is its schedule's id and its time, both known in advance
// (amf schedule ls shows NEXT), and a task may name a schedule_id. A
// client credential that submits a task of its own under the next run's
// id, naming the schedule, makes its task pass for that run, and the
// real run, the same id, is taken as already submitted: it never runs.
func TestAttackClientPreemptsAScheduleRun(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	ctx := context.Background()
	f.create(t, `{"id":"attack-victim","command":"backup --all","schedule":"every 3s"}`)
	f.nextOf(t, "attack-victim")
	sc, err := f.as.Get(ctx, "attack-victim")
	if err != nil || sc.Next.IsZero() {
		t.Fatalf("get: %+v %v", sc, err)
	}
	nc := f.k.ConnectAs(f.k.Creds(kernel.UserSpec{Name: "attack-preempt", Role: kernel.RoleClient}))
	c := &client.Client{NC: nc, ViaAPI: true}
	forged := bus.Task{ID: bus.RunID("attack-victim", sc.Next), Command: "echo skipped", ScheduleID: "attack-victim"}
	if _, _, err := c.Submit(ctx, forged); err != nil {
		t.Logf("refused: %v", err)
		return
	}
	for {
		r := f.nextOf(t, "attack-victim")
		if r.Command != "backup --all" {
			t.Fatalf("a client's task %s (%q) passed for a run of schedule attack-victim", r.ID, r.Command)
		}
		if r.ID >= forged.ID {
			return
		}
	}
}

// Revoking a credential cuts its live connections off, but what it
// scheduled goes on running: a schedule records no maker, so a stolen
// client credential leaves tasks behind that outlive its revocation.
func TestAttackSchedulesOutliveTheirMakersRevocation(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	ctx := context.Background()
	creds := f.k.Creds(kernel.UserSpec{Name: "attack-revoked", Role: kernel.RoleClient})
	as := client.Schedules{C: &client.Client{NC: f.k.ConnectAs(creds), ViaAPI: true}}
	if _, err := as.Create(ctx, mustTask(t, `{"id":"attack-left-behind","command":"true","schedule":"every 1s"}`)); err != nil {
		t.Fatal(err)
	}
	f.nextOf(t, "attack-left-behind")

	keys, err := f.k.Authority().Resolve(creds)
	if err != nil {
		t.Fatal(err)
	}
	accJWT, err := f.k.Authority().Revoke(keys...)
	if err != nil {
		t.Fatal(err)
	}
	sys := f.k.ConnectAs(filepath.Join(f.k.Authority().Dir, kernel.SystemCredsFile))
	if _, err := sys.Request("$SYS.REQ.ACCOUNT."+f.k.Authority().AccountKey()+".CLAIMS.UPDATE", []byte(accJWT), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// The clock: an operator's schedule, made after the revocation;
	// runs published before its first one may have been in flight.
	f.create(t, `{"id":"attack-clock-2","command":"true","schedule":"every 1s"}`)
	f.nextOf(t, "attack-clock-2")
	for range 3 {
		f.nextOf(t, "attack-clock-2", "attack-left-behind")
	}
}

// Without schedule_id, a client's task under the readable part of the
// next run's id (schedule and time, known in advance) is a task of its
// own: the run itself still happens, under an id the client could not
// have known.
func TestAttackClientClaimsTheNextRunsID(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	ctx := context.Background()
	f.create(t, `{"id":"attack-claimed","command":"backup --all","schedule":"every 3s"}`)
	f.nextOf(t, "attack-claimed")
	sc, err := f.as.Get(ctx, "attack-claimed")
	if err != nil || sc.Next.IsZero() {
		t.Fatalf("get: %+v %v", sc, err)
	}
	nc := f.k.ConnectAs(f.k.Creds(kernel.UserSpec{Name: "attack-claim", Role: kernel.RoleClient}))
	c := &client.Client{NC: nc, ViaAPI: true}
	claimed := bus.Task{ID: bus.RunID("attack-claimed", sc.Next), Command: "echo skipped"}
	if _, _, err := c.Submit(ctx, claimed); err != nil {
		t.Fatalf("a task of its own was refused: %v", err)
	}
	for {
		r := f.nextOf(t, "attack-claimed")
		if r.ID == claimed.ID || r.Command != "backup --all" {
			t.Fatalf("run %s (%q) is the client's task", r.ID, r.Command)
		}
		if strings.HasPrefix(r.ID, claimed.ID+"-") {
			return // the run due then, under its own id
		}
		if r.ID > claimed.ID {
			t.Fatalf("the run due at %s never ran; next was %s", sc.Next, r.ID)
		}
	}
}
