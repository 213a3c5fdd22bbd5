package api_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/kernel/status"
	"github.com/amf-os/amf/memory/cache"
)

// agedOwned is owned on a kernel whose task events (and hot-cache
// statuses) age out after age, as they do after --events-max-age (24h by
// default) in a real installation: a task queued for a pool nobody serves
// outlives its events, and its id is free again for anyone.
//
// The status projector remembers only the last task it saw (a real one
// remembers 10000, forgotten after a busy day or a kernel restart), so a
// status whose events aged out is rebuilt from what the stream holds.
type agedOwned struct {
	k                *kerneltest.Kernel
	victim, attacker *client.Client
}

func startAgedOwned(t *testing.T, age time.Duration, q api.Quota) *agedOwned {
	return startAgedOwnedDup(t, age, time.Second, q)
}

// startAgedOwnedDup is startAgedOwned with the tasks stream remembering
// a task id for tasksDup (bus.DefaultTasksDuplicates is 10 minutes).
func startAgedOwnedDup(t *testing.T, age, tasksDup time.Duration, q api.Quota) *agedOwned {
	return startAged(t, aged{age: age, tasksDup: tasksDup, statusTTL: age, remember: 1, quota: q})
}

// aged is what startAged starts: events kept for age, task ids
// remembered by the tasks stream for tasksDup, statuses kept by the hot
// cache for statusTTL (0: the cache's default) and remember of them by
// the projector (0: its default), under quota.
type aged struct {
	age, tasksDup, statusTTL time.Duration
	remember                 int
	quota                    api.Quota
}

func startAged(t *testing.T, a aged) *agedOwned {
	t.Helper()
	var opts []cache.CacheOption
	if a.statusTTL > 0 {
		opts = append(opts, cache.WithStatusTTL(a.statusTTL))
	}
	k := kerneltest.StartWith(t, kernel.Server{
		EventsMaxAge: a.age, EventsDuplicates: time.Second, TasksDuplicates: a.tasksDup,
		NoStatusProjector: true,
		OpenCache: func(ctx context.Context, nc *nats.Conn) (kernel.Cache, error) {
			js, err := jetstream.New(nc)
			if err != nil {
				return nil, err
			}
			return cache.NewKVCache(ctx, js, opts...)
		},
	})
	hot, err := cache.NewKVCache(context.Background(), k.JS, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	p := &status.StatusProjector{JS: k.JS, Names: k.Names, Cache: hot, Remember: a.remember}
	svc := &api.Service{
		Client:    &client.Client{NC: k.NC, JS: k.JS, Cache: hot},
		Recent:    hot,
		Schedules: k.ScheduleStore(k.JS),
		Quota:     a.quota,
	}
	wg.Add(2)
	go func() { defer wg.Done(); _ = p.Run(ctx) }()
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	dial := func(name string) *client.Client {
		return &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Name: name, Role: kernel.RoleClient})), ViaAPI: true}
	}
	o := &agedOwned{k: k, victim: dial("victim"), attacker: dial("attacker")}
	for {
		_, err := o.victim.List(context.Background(), nil, 1)
		if err == nil {
			break
		}
		if !errors.Is(err, client.ErrUnavailable) {
			t.Fatalf("list: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return o
}

// bodies are the owners of the bodies queued under id.
func (o *agedOwned) bodies(t *testing.T, id string) []bus.Owner {
	t.Helper()
	ctx := context.Background()
	tasks, err := o.k.JS.Stream(ctx, o.k.Names.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	var out []bus.Owner
	if err := o.k.Names.EachQueued(ctx, tasks, func(_ uint64, task bus.Task, _ error) bool {
		if task.ID == id {
			out = append(out, task.Owner)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// onlyEventsGone waits until id has no events left; unlike eventsGone no
// other task goes by, and the status cache is not waited for: the
// attacker chooses when the victim's id comes.
func (o *agedOwned) onlyEventsGone(t *testing.T, id string) {
	t.Helper()
	admin := &client.Client{NC: o.k.NC, JS: o.k.JS}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := admin.LastEvent(context.Background(), id)
		if errors.Is(err, client.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's events still there a minute later: %v", id, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// eventsGone waits until id has no events and no cached status left.
func (o *agedOwned) eventsGone(t *testing.T, id string) {
	t.Helper()
	admin := &client.Client{NC: o.k.NC, JS: o.k.JS}
	o.onlyEventsGone(t, id)
	time.Sleep(time.Second) // the status bucket's TTL, the same age
	// Another task goes by: the projector (Remember 1) forgets id's
	// status, as a real one does 10000 tasks or a restart later.
	if _, _, err := admin.Submit(context.Background(), bus.Task{Command: "true", Pool: "filler"}); err != nil {
		t.Fatal(err)
	}
}

// victimKeepsItsBody has the victim, at its quota of one task, submit
// again and again for a while (each refusal recounts its held task), and
// fails once the victim's queued body under id is gone.
func (o *agedOwned) victimKeepsItsBody(t *testing.T, id string, how string, d time.Duration) {
	t.Helper()
	victim := ownerOf(o.victim)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		task, _ := bus.DecodeTask([]byte(`{"command":"true","pool":"nobody"}`))
		_, _, err := o.victim.Submit(context.Background(), task)
		if err != nil && !errors.Is(err, client.ErrQuota) {
			t.Fatal(err)
		}
		owners := o.bodies(t, id)
		for _, ow := range owners {
			if ow == victim {
				goto still
			}
		}
		t.Fatalf("the victim's queued task %s was removed from the queue by its own kernel %s (bodies left under the id: %v; victim's next submission: %v)", id, how, owners, err)
	still:
		time.Sleep(300 * time.Millisecond)
	}
}

// Once a queued task's events aged out, its id is free: another owner
// submits a task under it and cancels that task. The ledger's recount of
// the victim's held task reads the status of the id, now the attacker's
// and cancelled; taken for the victim's own, it would make the kernel
// remove the victim's body from the queue at the place it kept
// (DropQueued): the victim's task gone without ever being cancelled.
func TestAttackReusedIDCancelDropsAnotherOwnersQueuedBody(t *testing.T) {
	t.Parallel()
	o := startAgedOwned(t, 2*time.Second, api.Quota{Tasks: 1})
	ctx := context.Background()
	const id = "nightly-build-42" // an id the victim chose
	submit(t, o.victim, `{"id":"`+id+`","command":"make release","pool":"nobody"}`)
	o.eventsGone(t, id)
	if got := o.bodies(t, id); len(got) != 1 {
		t.Fatalf("bodies under %s: %v, want the victim's", id, got)
	}
	// Recounted while its events are gone, it stays counted and queued.
	o.victimKeepsItsBody(t, id, "with no events left (no attack yet)", 3*time.Second)

	submit(t, o.attacker, `{"id":"`+id+`","command":"true","pool":"nobody"}`)
	if err := o.attacker.Cancel(ctx, id, "mine"); err != nil {
		t.Fatalf("the attacker's cancel of its own task under the free id: %v", err)
	}
	if !slices.Contains(o.bodies(t, id), ownerOf(o.victim)) {
		t.Fatalf("the victim's body under %s gone before its kernel recounted", id)
	}
	o.victimKeepsItsBody(t, id, "after another owner cancelled its own task under the same id", 8*time.Second)
}

// The same with only a worker credential of any pool: a worker may store
// events under any id that has none, and a terminal event of a task not
// held by anyone (no pool recorded) is admitted to the status. A worker
// of pool "elsewhere" stores a cancelled event under the victim's id once
// its events aged out; the victim's kernel must not remove the victim's
// body.
func TestAttackWorkerCancelledEventDropsAQueuedBodyWhoseEventsAgedOut(t *testing.T) {
	t.Parallel()
	o := startAgedOwned(t, 2*time.Second, api.Quota{Tasks: 1})
	const id = "nightly-build-43"
	submit(t, o.victim, `{"id":"`+id+`","command":"make release","pool":"nobody"}`)
	o.eventsGone(t, id)

	nc := o.k.ConnectAs(o.k.Creds(kernel.UserSpec{Name: "w", Role: kernel.RoleWorker, Pools: []string{"elsewhere"}}))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cred := bus.CredentialOfInbox(nc.Opts.InboxPrefix)
	e := bus.Event{TaskID: id, Type: bus.EventCancelled, TS: time.Now().UTC(), Reason: "forged"}
	if _, err := js.PublishMsg(context.Background(), o.k.Names.EventMsgBy(e, "elsewhere", cred)); err != nil {
		t.Fatalf("the worker's event under the free id: %v", err)
	}
	o.victimKeepsItsBody(t, id, "after a worker of another pool stored a cancelled event under the id", 8*time.Second)
}

// A worker credential stores forged ends (done) under the ids of its
// owner's own aged-out queued tasks. Taken for the tasks' own, they would
// release them while their bodies stay queued, and the owner would queue
// another quota's worth past --quota-tasks
// (TestAttackQueuedTasksPastTheEventsAgeLeaveTheOwnersQuota, kernel, says
// such tasks stay counted).
func TestAttackWorkerDoneReleasesAgedOutQueuedTasks(t *testing.T) {
	t.Parallel()
	const limit = 2
	o := startAgedOwned(t, 2*time.Second, api.Quota{Tasks: limit})
	attacker := ownerOf(o.attacker)
	var ids []string
	for range limit {
		ids = append(ids, submit(t, o.attacker, `{"command":"true","pool":"nobody"}`).ID)
	}
	for _, id := range ids {
		o.eventsGone(t, id)
	}
	// Without the forged ends, the aged-out tasks stay counted.
	for range 4 {
		task, _ := bus.DecodeTask([]byte(`{"command":"true","pool":"nobody"}`))
		if _, _, err := o.attacker.Submit(context.Background(), task); !errors.Is(err, client.ErrQuota) {
			t.Fatalf("with %d aged-out tasks queued, before any forged end: %v, want the quota", limit, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	nc := o.k.ConnectAs(o.k.Creds(kernel.UserSpec{Name: "w", Role: kernel.RoleWorker, Pools: []string{"mine"}}))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cred := bus.CredentialOfInbox(nc.Opts.InboxPrefix)
	for _, id := range ids {
		e := bus.Event{TaskID: id, Type: bus.EventDone, TS: time.Now().UTC()}
		if _, err := js.PublishMsg(context.Background(), o.k.Names.EventMsgBy(e, "mine", cred)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		task, _ := bus.DecodeTask([]byte(`{"command":"true","pool":"nobody"}`))
		_, _, err := o.attacker.Submit(context.Background(), task)
		if err != nil && !errors.Is(err, client.ErrQuota) {
			t.Fatal(err)
		}
		n := 0
		for _, id := range ids {
			for _, ow := range o.bodies(t, id) {
				if ow == attacker {
					n++
				}
			}
		}
		if err == nil && n == limit {
			t.Fatalf("the owner queued another task past its quota of %d while its %d aged-out tasks still wait in the queue (released on a worker's forged done)", limit, n)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// The id freed within the tasks stream's de-duplication window (its
// events gone sooner than --tasks-dup, e.g. pushed out of an events
// stream bounded by --events-max-mib, or a short --events-max-age): the
// attacker's submission under it is acknowledged as the duplicate it is
// and the ack names the victim's body's sequence; kept as the attacker's
// task's place (client.Placed), the attacker's cancel of its own task
// would make its kernel remove the victim's body there. The victim is far
// from its quota here, so its own ledger never recounts.
func TestAttackReusedIDWithinTheDedupWindowPlacesTheAttackerOnTheVictimsBody(t *testing.T) {
	t.Parallel()
	o := startAgedOwnedDup(t, 2*time.Second, 10*time.Minute, api.Quota{Tasks: 4})
	ctx := context.Background()
	victim := ownerOf(o.victim)
	const id = "nightly-build-44"
	submit(t, o.victim, `{"id":"`+id+`","command":"make release","pool":"nobody"}`)
	o.eventsGone(t, id)

	submit(t, o.attacker, `{"id":"`+id+`","command":"true","pool":"nobody"}`)
	if got := o.bodies(t, id); len(got) != 1 || got[0] != victim {
		t.Fatalf("bodies under %s after the attacker's submission: %v, want the victim's alone (de-duplicated)", id, got)
	}
	if err := o.attacker.Cancel(ctx, id, "mine"); err != nil {
		t.Fatalf("the attacker's cancel of its own task under the free id: %v", err)
	}
	// The attacker nears its quota: its ledger recounts.
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		task, _ := bus.DecodeTask([]byte(`{"command":"true","pool":"nobody"}`))
		if _, _, err := o.attacker.Submit(ctx, task); err != nil && !errors.Is(err, client.ErrQuota) {
			t.Fatal(err)
		}
		if !slices.Contains(o.bodies(t, id), victim) {
			t.Fatalf("the victim's queued task %s was removed from the queue by the attacker's cancel of its own task under the same id (the kernel kept the de-duplicated ack's sequence, the victim's body, as the attacker's place)", id)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
