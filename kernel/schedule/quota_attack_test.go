package schedule_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// quotaFleet is a kernel whose own task API (the one whose quota its
// schedule runner counts runs against) serves a quota of tasks per
// owner, one client credential through it, and the runs accepted.
type quotaFleet struct {
	k    *kerneltest.Kernel
	c    *client.Client   // the client credential, through the task API
	as   client.Schedules // its schedules
	runs chan string      // ids of the runs accepted
}

func startQuota(t *testing.T, tasks int) *quotaFleet {
	t.Helper()
	k := kerneltest.StartWith(t, kernel.Server{Quota: api.Quota{Tasks: tasks}})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = k.TaskAPI().Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	f := &quotaFleet{k: k, runs: make(chan string, 256)}
	sub, err := k.NC.Subscribe(bus.Names{}.Events(), func(m *nats.Msg) {
		e, err := bus.DecodeEvent(m.Data)
		if err == nil && e.Type == bus.EventAccepted && e.Task != nil && e.Task.ScheduleID != "" {
			f.runs <- e.TaskID
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	f.c = &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Name: "runs-owner", Role: kernel.RoleClient})), ViaAPI: true}
	f.as = client.Schedules{C: f.c}
	for {
		_, err := f.as.List(context.Background())
		if err == nil {
			return f
		}
		if !errors.Is(err, client.ErrUnavailable) {
			t.Fatalf("list schedules: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // the service is still starting
	}
}

// refusedRun waits until schedule id records a refused run, and fails on
// any run accepted meanwhile.
func (f *quotaFleet) refusedRun(t *testing.T, id string) bus.Schedule {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case r := <-f.runs:
			t.Fatalf("run %s of schedule %s was queued past its owner's quota", r, id)
		case <-time.After(200 * time.Millisecond):
		}
		sc, err := f.as.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if sc.LastError != "" {
			return sc
		}
	}
	t.Fatalf("schedule %s recorded no refused run within a minute", id)
	return bus.Schedule{}
}

// checkRefusal checks that a refused run's record names the limit and
// how to raise it, and that the schedule still runs.
func checkRefusal(t *testing.T, sc bus.Schedule) {
	t.Helper()
	for _, want := range []string{"quota reached", "tasks", api.QuotaTasksSetting} {
		if !strings.Contains(sc.LastError, want) {
			t.Errorf("last error %q does not say %q", sc.LastError, want)
		}
	}
	if sc.LastErrorAt.IsZero() || sc.Paused {
		t.Errorf("schedule after a refused run: last error at %v, paused %v; want a time, and running", sc.LastErrorAt, sc.Paused)
	}
}

// A schedule's runs count against its owner's task quota as its own
// submissions do: otherwise one schedule "every 1s" of a task for a pool
// nobody serves queues a task a second past the owner's quota, and the
// owner's allowance of schedules fills the shared queue for everyone.
func TestAttackScheduleRunsPassTheOwnersTaskQuota(t *testing.T) {
	t.Parallel()
	f := startQuota(t, 2)
	ctx := context.Background()
	if _, err := f.as.Create(ctx, mustTask(t, `{"id":"hog-every-second","command":"true","schedule":"every 1s","pool":"nobody"}`)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-f.runs:
		case <-time.After(time.Minute):
			t.Fatal("the schedule's first runs, within the quota, were not queued")
		}
	}
	checkRefusal(t, f.refusedRun(t, "hog-every-second"))
	// The runs hold the owner's quota: its own submission is refused too.
	_, _, err := f.c.Submit(ctx, mustTask(t, `{"command":"true","pool":"nobody"}`))
	if !errors.Is(err, client.ErrQuota) {
		t.Fatalf("the owner's own submission with its quota held by runs: %v, want %v", err, client.ErrQuota)
	}
}

// An owner at its task quota gets no scheduled run beyond it, each
// refusal is recorded, and once one of its tasks ends the schedule runs
// again: a refusal never stops a schedule for ever.
func TestAttackOwnerAtItsQuotaGetsNoScheduledRun(t *testing.T) {
	t.Parallel()
	f := startQuota(t, 2)
	ctx := context.Background()
	var held []string
	for range 2 {
		task, _, err := f.c.Submit(ctx, mustTask(t, `{"command":"true","pool":"nobody"}`))
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, task.ID)
	}
	if _, err := f.as.Create(ctx, mustTask(t, `{"id":"at-quota","command":"true","schedule":"every 1s","pool":"nobody"}`)); err != nil {
		t.Fatal(err)
	}
	checkRefusal(t, f.refusedRun(t, "at-quota"))

	if err := f.c.Cancel(ctx, held[0], "make room"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-f.runs:
		if !strings.HasPrefix(r, "at-quota-") {
			t.Fatalf("run %s is not the schedule's", r)
		}
	case <-time.After(time.Minute):
		t.Fatal("with room made, the schedule did not run again within a minute")
	}
}

// Many schedules of one owner (up to its --quota-schedules) share its
// task quota: together their runs hold no more than it.
func TestAttackManySchedulesShareTheOwnersTaskQuota(t *testing.T) {
	t.Parallel()
	f := startQuota(t, 3)
	ctx := context.Background()
	ids := []string{"many-a", "many-b", "many-c", "many-d", "many-e"}
	for _, id := range ids {
		if _, err := f.as.Create(ctx, mustTask(t, `{"id":"`+id+`","command":"true","schedule":"every 1s","pool":"nobody"}`)); err != nil {
			t.Fatal(err)
		}
	}
	queued := 0
	refused := map[string]bool{}
	deadline := time.Now().Add(time.Minute)
	for len(refused) < len(ids) {
		if time.Now().After(deadline) {
			t.Fatalf("within a minute %d of %d schedules recorded a refused run", len(refused), len(ids))
		}
		select {
		case <-f.runs:
			if queued++; queued > 3 {
				t.Fatalf("%d runs of one owner's schedules were queued with a quota of 3 tasks", queued)
			}
		case <-time.After(200 * time.Millisecond):
		}
		for _, id := range ids {
			if sc, err := f.as.Get(ctx, id); err == nil && sc.LastError != "" {
				refused[id] = true
			}
		}
	}
}
