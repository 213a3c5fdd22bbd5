package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
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
	"github.com/amf-os/amf/kernel/schedule"
)

// One owner within its schedule count (PerMaker) cannot take the whole
// schedules store (MaxBytes) from everyone else: the per-owner bound is
// a count, the installation's is bytes, and a schedule may hold a task of
// up to 1 MiB (and JetStream keeps 16 runs of it beside it). Scaled
// here: 4 MiB for the installation, 10 schedules an owner; at the
// defaults (256 MiB, 100 an owner, 17 MiB a schedule running every
// second) about 15 schedules of one owner do the same.
func TestAttackOneOwnerFillsTheSchedulesForEveryone(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	svc := &api.Service{Client: &client.Client{NC: k.NC, JS: k.JS}, Schedules: &schedule.Store{JS: k.JS, PerMaker: 10, MaxBytes: 4 << 20}}
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	hog := client.Schedules{C: &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Name: "sched-hog", Role: kernel.RoleClient})), ViaAPI: true}}
	victim := client.Schedules{C: &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Name: "sched-victim", Role: kernel.RoleClient})), ViaAPI: true}}
	create := func(as client.Schedules, id, command string) error {
		for {
			_, err := as.Create(context.Background(), mustTask(t, `{"id":"`+id+`","command":"`+command+`","schedule":"every 1h","pool":"nobody"}`))
			if !errors.Is(err, client.ErrUnavailable) || errors.Is(err, client.ErrSchedulesFull) {
				return err
			}
			time.Sleep(20 * time.Millisecond) // the service is still starting
		}
	}
	big := "echo " + strings.Repeat("A", 1000000)
	made := 0
	for i := range 10 {
		if err := create(hog, fmt.Sprintf("hog-%d", i), big); err != nil {
			t.Logf("the hog is refused its schedule %d: %v", i+1, err)
			break
		}
		made++
	}
	if err := create(victim, "victims-backup", "true"); err != nil {
		t.Fatalf("after another owner made %d schedules (within its bound of 10), the victim may make none: %v", made, err)
	}
}

// A schedule's runs count against its owner's task quota as its own
// submissions do: otherwise one schedule "every 1s" of a 1 MiB task for a
// pool nobody serves queues a MiB a second past the owner's 64 MiB and
// on to the shared queue's bound (1 GiB: about 17 minutes; a hundred such
// schedules, the owner's allowance, fill it in seconds), after which
// every owner's submission is refused.
func TestAttackScheduleRunsPassTheOwnersTaskQuota(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	svc := &api.Service{Client: &client.Client{NC: k.NC, JS: k.JS}, Schedules: k.ScheduleStore(k.JS), Quota: api.Quota{Tasks: 2}}
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	runs := make(chan string, 64)
	sub, err := k.NC.Subscribe(bus.Names{}.Events(), func(m *nats.Msg) {
		e, err := bus.DecodeEvent(m.Data)
		if err == nil && e.Type == bus.EventAccepted && e.Task != nil && e.Task.ScheduleID == "hog-every-second" {
			runs <- e.TaskID
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	hogNC := k.ConnectAs(k.Creds(kernel.UserSpec{Name: "runs-hog", Role: kernel.RoleClient}))
	hog := client.Schedules{C: &client.Client{NC: hogNC, ViaAPI: true}}
	for {
		_, err := hog.Create(context.Background(), mustTask(t, `{"id":"hog-every-second","command":"true","schedule":"every 1s","pool":"nobody"}`))
		if err == nil {
			break
		}
		if !errors.Is(err, client.ErrUnavailable) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	deadline := time.After(30 * time.Second)
	n := 0
	for n <= 3 {
		select {
		case <-runs:
			n++
		case <-deadline:
			return // the runs stopped at the quota
		}
	}
	// The owner's own submissions are refused meanwhile: the quota is in force.
	c := &client.Client{NC: hogNC, ViaAPI: true}
	_, _, err = c.Submit(context.Background(), mustTask(t, `{"command":"true","pool":"nobody"}`))
	t.Fatalf("%d runs of one owner's schedule were queued with a quota of 2 tasks (its own submission: %v)", n, err)
}

// A client credential may make a schedule on its owner's subject
// (amf.api.as.nats:<id>.schedules.create, which its permissions allow)
// as well as under its user key. Made there, the schedule records no
// maker, and revoking the credential does not pause it: it goes on
// running its tasks after the revocation.
func TestAttackScheduleMadeOnTheOwnersSubjectOutlivesRevocation(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	creds := f.k.Creds(kernel.UserSpec{Name: "attack-leaver", Role: kernel.RoleClient})
	nc := f.k.ConnectAs(creds)
	owner := bus.OwnerOfCredential(bus.CredentialID(client.UserKey(nc)))
	msg, err := nc.Request(bus.Names{}.As(owner, "schedules.create"), []byte(`{"id":"attack-left-behind-2","command":"true","schedule":"every 1s"}`), 10*time.Second)
	if err != nil || msg.Header.Get("Nats-Service-Error-Code") != "" {
		t.Fatalf("create on the owner's subject: %v %v", err, msg.Header)
	}
	f.nextOf(t, "attack-left-behind-2")

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
	f.create(t, `{"id":"attack-clock-3","command":"true","schedule":"every 1s"}`)
	f.nextOf(t, "attack-clock-3")
	for range 3 {
		f.nextOf(t, "attack-clock-3", "attack-left-behind-2")
	}
}
