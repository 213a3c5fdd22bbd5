package schedule_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/kernel/schedule"
)

// fleet is a kernel with its task API serving schedules, and a client
// credential's view of them.
type fleet struct {
	k    *kerneltest.Kernel
	as   client.Schedules // a client credential, through the task API
	runs chan bus.Task    // every run accepted, as its accepted event shows it
}

// start runs a kernel in dir (so a test can restart it on the same
// store) with the task API, and follows the runs schedules make.
func start(t *testing.T, dir string) *fleet {
	t.Helper()
	k := kerneltest.StartIn(t, dir)
	f := &fleet{k: k, runs: make(chan bus.Task, 1024)}
	sub, err := k.NC.Subscribe(bus.Names{}.Events(), func(m *nats.Msg) {
		e, err := bus.DecodeEvent(m.Data)
		if err == nil && e.Type == bus.EventAccepted && e.Task != nil && e.Task.ScheduleID != "" {
			f.runs <- *e.Task
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	f.as = serve(t, k, k.ScheduleStore(k.JS), "sched-client")
	return f
}

// serve runs the task API of k, keeping schedules in st, until the test
// ends, and returns the view of a client credential named name through
// it once the API answers that credential.
func serve(t *testing.T, k *kerneltest.Kernel, st *schedule.Store, name string) client.Schedules {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	svc := &api.Service{Client: &client.Client{NC: k.NC, JS: k.JS}, Schedules: st}
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return clientOf(t, k, name)
}

// clientOf is the view of a new client credential named name through the
// task API, once the API answers it.
func clientOf(t *testing.T, k *kerneltest.Kernel, name string) client.Schedules {
	t.Helper()
	nc := k.ConnectAs(k.Creds(kernel.UserSpec{Name: name, Role: kernel.RoleClient}))
	as := client.Schedules{C: &client.Client{NC: nc, ViaAPI: true}}
	testenv.Eventually(t, "the task API to answer "+name, func() bool {
		_, err := as.List(context.Background())
		if err != nil && !errors.Is(err, client.ErrUnavailable) {
			t.Fatalf("list schedules as %s: %v", name, err)
		}
		return err == nil
	})
	return as
}

func (f *fleet) create(t *testing.T, body string) bus.Schedule {
	t.Helper()
	task, err := bus.DecodeTask([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := f.as.Create(context.Background(), task)
	if err != nil {
		t.Fatalf("create %s: %v", body, err)
	}
	return sc
}

// next waits for the next run of any schedule.
func (f *fleet) next(t *testing.T) bus.Task {
	t.Helper()
	select {
	case r := <-f.runs:
		return r
	case <-time.After(time.Minute):
		t.Fatal("no schedule ran within a minute")
		return bus.Task{}
	}
}

// nextOf waits for a run of schedule id, and fails on a run of any
// schedule in not.
func (f *fleet) nextOf(t *testing.T, id string, not ...string) bus.Task {
	t.Helper()
	for {
		r := f.next(t)
		for _, n := range not {
			if r.ScheduleID == n {
				t.Fatalf("schedule %s ran (%s) while it should not", n, r.ID)
			}
		}
		if r.ScheduleID == id {
			return r
		}
	}
}

func TestScheduleRunsAreTasksOfTheirOwn(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	sc := f.create(t, `{"id":"sched-watch","command":"df -h","schedule":"every 1s","env":{"DISK":"/"}}`)
	if sc.Pattern != "@every 1s" || sc.Task.Command != "df -h" || sc.Paused {
		t.Fatalf("created %+v", sc)
	}
	if !sc.Task.IsRedacted() {
		t.Fatalf("the answer shows env values: %+v", sc.Task.Env)
	}
	seen := map[string]bool{}
	for len(seen) < 3 {
		r := f.nextOf(t, "sched-watch")
		if !strings.HasPrefix(r.ID, "sched-watch-") || r.Command != "df -h" || r.Schedule != "" {
			t.Fatalf("run %+v", r)
		}
		if seen[r.ID] {
			t.Fatalf("run %s accepted twice", r.ID)
		}
		seen[r.ID] = true
	}
	// Each run is a task: it has events of its own and a status.
	c := &client.Client{NC: f.k.NC, JS: f.k.JS}
	for id := range seen {
		st, err := c.Status(context.Background(), id)
		if err != nil || st.ID != id || st.ScheduleID != "sched-watch" {
			t.Fatalf("status of run %s: %+v %v", id, st, err)
		}
	}
	got, err := f.as.Get(context.Background(), "sched-watch")
	if err != nil || got.LastRun == "" || got.Next.IsZero() {
		t.Fatalf("get: %+v %v", got, err)
	}
	list, err := f.as.List(context.Background())
	if err != nil || len(list) != 1 || list[0].ID != "sched-watch" {
		t.Fatalf("list: %+v %v", list, err)
	}
	// A run submitted again (a kernel died before acknowledging it) is
	// the same task.
	run := list[0].Task
	run.ID, run.ScheduleID, run.Env = list[0].LastRun, "sched-watch", map[string]string{"DISK": "/"}
	if _, dup, err := c.Submit(context.Background(), run); err != nil || !dup {
		t.Fatalf("resubmitted run: dup=%v err=%v, want a duplicate", dup, err)
	}
	if _, err := f.as.Create(context.Background(), mustTask(t, `{"id":"sched-watch","command":"ls","schedule":"every 1m"}`)); !errors.Is(err, client.ErrScheduleExists) {
		t.Fatalf("second schedule under one id: %v, want ErrScheduleExists", err)
	}
}

// runTime is when JetStream published a run, to the second, from its id.
func runTime(t *testing.T, r bus.Task) time.Time {
	t.Helper()
	// <schedule>-<time>-<tag>: the time is the 16 characters after the id.
	stamp, _, _ := strings.Cut(strings.TrimPrefix(r.ID, r.ScheduleID+"-"), "-")
	at, err := time.Parse("20060102T150405Z", stamp)
	if err != nil {
		t.Fatalf("run id %s: %v", r.ID, err)
	}
	return at
}

func mustTask(t *testing.T, body string) bus.Task {
	t.Helper()
	task, err := bus.DecodeTask([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// A second schedule is the test's clock: once it has run a few times
// after a pause or delete, a schedule that still ran would have shown.
func TestPauseAndResume(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	ctx := context.Background()
	f.create(t, `{"id":"sched-a","command":"true","schedule":"every 1s"}`)
	f.nextOf(t, "sched-a")
	f.create(t, `{"id":"sched-clock","command":"true","schedule":"every 1s"}`)

	paused, err := f.as.Pause(ctx, "sched-a")
	if err != nil || !paused.Paused {
		t.Fatalf("pause: %+v %v", paused, err)
	}
	// A run JetStream published just before the pause may still be
	// accepted; none published after it.
	for clock := 0; clock < 2; {
		r := f.next(t)
		switch r.ScheduleID {
		case "sched-clock":
			clock++
		case "sched-a":
			if runTime(t, r).After(paused.Updated.Add(500 * time.Millisecond)) {
				t.Fatalf("paused schedule ran: %s, paused at %s", r.ID, paused.Updated)
			}
		}
	}
	if again, err := f.as.Pause(ctx, "sched-a"); err != nil || !again.Paused || !again.Updated.Equal(paused.Updated) {
		t.Fatalf("pausing twice changed it: %+v %v", again, err)
	}
	if got, _ := f.as.Get(ctx, "sched-a"); !got.Paused {
		t.Fatalf("get after pause: %+v", got)
	}
	resumed, err := f.as.Resume(ctx, "sched-a")
	if err != nil || resumed.Paused {
		t.Fatalf("resume: %+v %v", resumed, err)
	}
	if r := f.nextOf(t, "sched-a"); !strings.HasPrefix(r.ID, "sched-a-") {
		t.Fatalf("run after resume: %+v", r)
	}
}

// A deleted schedule never runs again, and its id is free; the clock is
// a second schedule, as for a pause.
func TestDelete(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	ctx := context.Background()
	f.create(t, `{"id":"sched-a","command":"true","schedule":"every 1s"}`)
	f.nextOf(t, "sched-a")
	f.create(t, `{"id":"sched-clock","command":"true","schedule":"every 1s"}`)
	// Paused and resumed first: its stored form has been rolled up.
	if _, err := f.as.Pause(ctx, "sched-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.as.Resume(ctx, "sched-a"); err != nil {
		t.Fatal(err)
	}

	deleted := time.Now()
	if err := f.as.Delete(ctx, "sched-a"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	// Drain what was accepted before the delete, then the clock runs
	// and sched-a must not.
	for clock := 0; clock < 2; {
		r := f.next(t)
		switch r.ScheduleID {
		case "sched-clock":
			clock++
		case "sched-a":
			if runTime(t, r).After(deleted.Add(time.Second)) {
				t.Fatalf("deleted schedule ran: %s, deleted at %s", r.ID, deleted)
			}
		}
	}
	for _, op := range []func(context.Context, string) (bus.Schedule, error){f.as.Get, f.as.Pause, f.as.Resume} {
		if _, err := op(ctx, "sched-a"); !errors.Is(err, client.ErrScheduleNotFound) {
			t.Fatalf("deleted schedule: %v, want ErrScheduleNotFound", err)
		}
	}
	if err := f.as.Delete(ctx, "sched-a"); !errors.Is(err, client.ErrScheduleNotFound) {
		t.Fatalf("delete twice: %v, want ErrScheduleNotFound", err)
	}
	// The id is free again.
	f.create(t, `{"id":"sched-a","command":"true","schedule":"every 1m"}`)
}

func TestSchedulesSurviveARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := start(t, dir)
	f.create(t, `{"id":"sched-keep","command":"true","schedule":"every 1s"}`)
	f.create(t, `{"id":"sched-held","command":"true","schedule":"every 1s"}`)
	first := f.nextOf(t, "sched-keep")
	if _, err := f.as.Pause(context.Background(), "sched-held"); err != nil {
		t.Fatal(err)
	}
	f.k.Stop()

	g := start(t, dir)
	restarted := time.Now()
	for {
		r := g.nextOf(t, "sched-keep", "sched-held")
		if r.ID != first.ID && runTime(t, r).After(restarted.Add(time.Second)) {
			break // JetStream published it after the restart
		}
	}
	// The restarted fleet's client credential is a new owner, who sees
	// none of them: an admin lists every owner's.
	admin := client.Schedules{C: &client.Client{NC: g.k.NC}}
	list, err := admin.List(context.Background())
	if err != nil || len(list) != 2 || list[0].ID != "sched-held" || !list[0].Paused || list[1].Paused {
		t.Fatalf("schedules after restart: %+v %v", list, err)
	}
}

func TestBadSchedulesAreRefusedClearly(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	for body, want := range map[string]string{
		`{"command":"true","schedule":"every 0s"}`:                  "at least 1s",
		`{"command":"true","schedule":"every banana"}`:              "is not a duration",
		`{"command":"true","schedule":"every 200ms"}`:               "at least 1s",
		`{"command":"true","schedule":"0 */5 * * * *"}`:             "has 6 fields; it takes 5",
		`{"command":"true","schedule":"0 0 31 2 *"}`:                "names a time that exists",
		`{"command":"true","schedule":"TZ=Mars/Olympus 0 9 * * *"}`: "is not a time zone",
		`{"command":"true"}`:                                        "has no \"schedule\"",
		`{"command":"true","schedule":"@every 1s","x":1}`:           "unknown field",
	} {
		// Through the raw API, as any NATS client would send it.
		reply, err := f.k.NC.Request(bus.Names{}.ScheduleAPI("create"), []byte(body), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if code, text := reply.Header.Get("Nats-Service-Error-Code"), reply.Header.Get("Nats-Service-Error"); code != "400" || !strings.Contains(text, want) {
			t.Errorf("%s: %s %q, want 400 saying %q", body, code, text, want)
		}
	}
	// The client library refuses the same before asking.
	if _, err := f.as.Create(context.Background(), bus.Task{Command: "true", Schedule: "every banana"}); !errors.Is(err, bus.ErrInvalidTask) {
		t.Fatalf("client create: %v", err)
	}
	// A task with a schedule is not submitted as a task.
	c := &client.Client{NC: f.as.C.NC, ViaAPI: true}
	if _, _, err := c.Submit(context.Background(), bus.Task{Command: "true", Schedule: "every 5m"}); !errors.Is(err, bus.ErrInvalidTask) {
		t.Fatalf("submit with a schedule: %v", err)
	}
	reply, err := f.k.NC.Request(bus.Names{}.Submit(""), []byte(`{"command":"true","schedule":"every 5m"}`), 10*time.Second)
	if err != nil || reply.Header.Get("Nats-Service-Error-Code") != "400" {
		t.Fatalf("api submit with a schedule: %v %v", err, reply.Header)
	}
	if list, err := f.as.List(context.Background()); err != nil || len(list) != 0 {
		t.Fatalf("a refused schedule was kept: %+v %v", list, err)
	}
}

// The schedules stream cannot refuse messages itself (schedules need
// discard-old), so the store does once it holds its bound.
func TestSchedulesAreBounded(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	as := serve(t, k, &schedule.Store{JS: k.JS, MaxBytes: 1}, "sched-full")
	create := func(id string) error {
		_, err := as.Create(context.Background(), mustTask(t, `{"id":"`+id+`","command":"true","schedule":"every 1h"}`))
		return err
	}
	if err := create("sched-one"); err != nil {
		t.Fatal(err)
	}
	err := create("sched-two")
	if !errors.Is(err, client.ErrSchedulesFull) || !strings.Contains(err.Error(), "amf schedule rm") {
		t.Fatalf("past the bound: %v, want ErrSchedulesFull saying what to do", err)
	}
	if err := as.Delete(context.Background(), "sched-one"); err != nil {
		t.Fatal(err)
	}
	if err := create("sched-two"); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
}

// A cron schedule may name its time zone; JetStream's scheduler takes it
// (Nats-Schedule-Time-Zone) and would refuse one it did not know.
func TestCronInATimeZone(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	sc := f.create(t, `{"id":"sched-ny","command":"true","schedule":"TZ=America/New_York 30 8 * * mon-fri"}`)
	if sc.Pattern != "0 30 8 * * mon-fri" || sc.TimeZone != "America/New_York" {
		t.Fatalf("created %+v", sc)
	}
	st, err := f.k.JS.Stream(context.Background(), bus.Names{}.SchedulesStream())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := st.GetLastMsgForSubject(context.Background(), bus.Names{}.ScheduleDef("sched-ny"))
	if err != nil {
		t.Fatal(err)
	}
	if got := raw.Header.Get("Nats-Schedule-Time-Zone"); got != "America/New_York" {
		t.Fatalf("stored time zone %q", got)
	}
	// Pause and resume keep it.
	if _, err := f.as.Pause(context.Background(), "sched-ny"); err != nil {
		t.Fatal(err)
	}
	if sc, err := f.as.Resume(context.Background(), "sched-ny"); err != nil || sc.TimeZone != "America/New_York" {
		t.Fatalf("resumed %+v %v", sc, err)
	}
	raw, err = st.GetLastMsgForSubject(context.Background(), bus.Names{}.ScheduleDef("sched-ny"))
	if err != nil || raw.Header.Get("Nats-Schedule-Time-Zone") != "America/New_York" || raw.Header.Get("Nats-Schedule") != "0 30 8 * * mon-fri" {
		t.Fatalf("after resume: %v %v", raw.Header, err)
	}
}
