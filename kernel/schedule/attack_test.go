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

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// launder has a worker credential store body (with hdr) as an event of
// a task of its own and ask for a push consumer of the events stream
// delivering it to target. It logs what the bus refused and, when it
// refused neither, waits until the consumer delivered the event; the
// caller checks what reached the target's stream.
//
// A push consumer delivers only while a subscription names its deliver
// subject literally; the kernel's connection stands for someone holding
// one (`nats sub amf.tasks.default.trusted` with the admin credential
// while debugging).
func launder(t *testing.T, f *fleet, worker *nats.Conn, name, target string, body []byte, hdr nats.Header) {
	t.Helper()
	watch, err := f.k.NC.Subscribe(target, func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = watch.Unsubscribe() }()
	if err := f.k.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	names := bus.Names{}
	task := "attack-" + name
	// The kernel's subject for the task's events, then the worker's own
	// one: the first the bus stores is laundered.
	var subj string
	var seq uint64
	for _, s := range []string{names.Event(task), names.EventBy(task, bus.DefaultPool, bus.CredentialID(client.UserKey(worker)))} {
		var ack struct {
			Seq   uint64              `json:"seq"`
			Error *jetstream.APIError `json:"error"`
		}
		if !ask(t, worker, s, body, hdr, &ack) {
			continue
		}
		if ack.Error != nil {
			// The events stream refuses JetStream's schedule headers.
			t.Logf("event on %s with %v refused: %v", s, hdr, ack.Error)
			continue
		}
		subj, seq = s, ack.Seq
		break
	}
	if subj == "" {
		return
	}
	cons := task
	req := struct {
		Stream string                   `json:"stream_name"`
		Config jetstream.ConsumerConfig `json:"config"`
	}{names.EventsStream(), jetstream.ConsumerConfig{
		Name:           cons,
		DeliverSubject: target,
		FilterSubject:  subj,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckNonePolicy,
	}}
	create, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var made struct {
		Error *jetstream.APIError `json:"error"`
	}
	if !ask(t, worker, "$JS.API.CONSUMER.CREATE."+names.EventsStream()+"."+cons, create, nil, &made) {
		return
	}
	if made.Error != nil {
		t.Logf("push consumer delivering to %s refused: %v", target, made.Error)
		return
	}
	// The consumer says when it has delivered; read with the kernel's
	// rights, which the worker may lack.
	c, err := f.k.JS.Consumer(context.Background(), names.EventsStream(), cons)
	if err != nil {
		t.Fatal(err)
	}
	testenv.EventuallyWithin(t, time.Minute, "the push consumer to deliver the event", func() bool {
		info, err := c.Info(context.Background())
		return err == nil && info.Delivered.Stream >= seq
	})
}

// ask sends a request on subject as nc and decodes its JSON answer into
// reply; it reports false, at once, when nats-server refused nc the
// subject.
func ask(t *testing.T, nc *nats.Conn, subject string, body []byte, hdr nats.Header, reply any) bool {
	t.Helper()
	m, err := kerneltest.Ask(nc, subject, body, hdr, time.Minute)
	if errors.Is(err, nats.ErrPermissionViolation) {
		t.Logf("refused: %v", err)
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(m.Data, reply); err != nil {
		t.Fatalf("answer on %s: %v: %s", subject, err, m.Data)
	}
	return true
}

// A worker credential may publish events and would, if it could create
// push consumers on the events stream (nats-server does not check their
// deliver subject), have the stream deliver what it wrote onto any
// subject. Held: every step is tried, and whatever the bus let through,
// no forged schedule, run or task reaches a stream (a delivery is not
// stored by the stream that holds its subject).
func TestAttackWorkerCannotLaunderEventsIntoSchedulesOrTasks(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	ctx := context.Background()
	names := bus.Names{}
	worker := f.k.ConnectAs(f.k.Creds(kernel.UserSpec{Name: "attack-worker", Role: kernel.RoleWorker}))
	admin, err := f.k.JS.Stream(ctx, names.SchedulesStream())
	if err != nil {
		t.Fatal(err)
	}
	// stored fails the test if the stream holds a message on subject.
	stored := func(t *testing.T, st jetstream.Stream, subject string) {
		t.Helper()
		m, err := st.GetLastMsgForSubject(ctx, subject)
		if err == nil {
			t.Fatalf("a worker stored on %s: %s", subject, m.Data)
		}
		if !errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Fatal(err)
		}
	}

	t.Run("a schedule of a profile it was never granted", func(t *testing.T) {
		// The events stream refuses a Nats-Schedule header, so the
		// definition goes in without one and the run is delivered too,
		// with the header only JetStream's scheduler should set.
		sc := bus.Schedule{ID: "attack-sched", Spec: "every 1s", Pattern: "@every 1s",
			Task: bus.Task{Command: "id", Policy: "trusted"}, Created: time.Now().Add(-time.Hour).UTC()}
		body, _ := json.Marshal(sc)
		launder(t, f, worker, "sched-def", names.ScheduleDef(sc.ID), body, nil)
		launder(t, f, worker, "sched-run", names.ScheduleRun(sc.ID), body,
			nats.Header{"Nats-Scheduler": {names.ScheduleDef(sc.ID)}})
		stored(t, admin, names.ScheduleDef(sc.ID))
		stored(t, admin, names.ScheduleRun(sc.ID))
	})

	t.Run("a task queued under a profile it was never granted", func(t *testing.T) {
		tasks, err := f.k.JS.Stream(ctx, names.TasksStream())
		if err != nil {
			t.Fatal(err)
		}
		subj := names.TaskFor(bus.DefaultPool, "trusted")
		launder(t, f, worker, "task", subj, []byte(`{"id":"attack-task","command":"id","policy":"trusted"}`), nil)
		stored(t, tasks, subj)
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
	// Connected first, so that between reading the next run's time and
	// its run there is one request to make (2 s, the shortest period
	// that leaves room for it on a loaded machine).
	nc := f.k.ConnectAs(f.k.Creds(kernel.UserSpec{Name: "attack-claim", Role: kernel.RoleClient}))
	c := &client.Client{NC: nc, ViaAPI: true}
	f.create(t, `{"id":"attack-claimed","command":"backup --all","schedule":"every 2s"}`)
	f.nextOf(t, "attack-claimed")
	sc, err := f.as.Get(ctx, "attack-claimed")
	if err != nil || sc.Next.IsZero() {
		t.Fatalf("get: %+v %v", sc, err)
	}
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
