package api_test

import (
	"context"
	"errors"
	"slices"
	"strings"
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
	"github.com/amf-os/amf/memory/cache"
)

// owned is a kernel whose task API and status projector run on a real hot
// cache (the JetStream KV one), with two client credentials: the victim
// and the attacker, each with a client that reaches the task API as the
// CLI does (ViaAPI).
type owned struct {
	k                *kerneltest.Kernel
	victim, attacker *client.Client
	victimOwner      bus.Owner
	// readAll holds a client credential with the read-all right.
	readAll *client.Client
	// restart ends the task API service and starts a new one, as a
	// kernel's restart does: its quota ledger counts again from the hot
	// cache.
	restart func()
}

func startOwned(t testing.TB, svcOpts ...func(*api.Service)) *owned {
	t.Helper()
	k := kerneltest.StartWith(t, kernel.Server{
		OpenCache: func(ctx context.Context, nc *nats.Conn) (kernel.Cache, error) {
			js, err := jetstream.New(nc)
			if err != nil {
				return nil, err
			}
			return cache.NewKVCache(ctx, js)
		},
	})
	hot, err := cache.NewKVCache(context.Background(), k.JS)
	if err != nil {
		t.Fatal(err)
	}
	start := func() (stop func()) {
		svc := &api.Service{
			Client:    &client.Client{NC: k.NC, JS: k.JS, Cache: hot},
			Recent:    hot,
			Schedules: k.ScheduleStore(k.JS),
		}
		for _, o := range svcOpts {
			o(svc)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _ = svc.Run(ctx) }()
		stop = func() { cancel(); wg.Wait() }
		t.Cleanup(stop)
		return stop
	}
	stop := start()

	dial := func(spec kernel.UserSpec) *client.Client {
		return &client.Client{NC: k.ConnectAs(k.Creds(spec)), ViaAPI: true}
	}
	o := &owned{
		k:        k,
		victim:   dial(kernel.UserSpec{Name: "victim", Role: kernel.RoleClient}),
		attacker: dial(kernel.UserSpec{Name: "attacker", Role: kernel.RoleClient}),
		readAll:  dial(kernel.UserSpec{Name: "dashboard", Role: kernel.RoleClient, ReadAll: true}),
	}
	o.victimOwner = bus.OwnerOfCredential(bus.CredentialID(client.UserKey(o.victim.NC)))
	// The service is up once it answers.
	up := func() {
		for {
			_, err := o.victim.List(context.Background(), nil, 1)
			if err == nil {
				return
			}
			if !errors.Is(err, client.ErrUnavailable) {
				t.Fatalf("list: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	o.restart = func() { stop(); stop = start(); up() }
	up()
	return o
}

// submit has c submit body (for a pool nobody serves, so it stays queued).
func submit(t *testing.T, c *client.Client, body string) bus.Task {
	t.Helper()
	task, err := bus.DecodeTask([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	task, _, err = c.Submit(context.Background(), task)
	if err != nil {
		t.Fatalf("submit %s: %v", body, err)
	}
	return task
}

// refused asserts nats-server refused nc's publish on subject.
func refused(t *testing.T, nc *nats.Conn, subject, body string) {
	t.Helper()
	if err := nc.Publish(subject, []byte(body)); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	if err := nc.LastError(); !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject) {
		t.Fatalf("publish on %s: %v, want a permissions violation", subject, err)
	}
}

// listed waits until c's listing holds id, or fails after a while.
func listed(t *testing.T, c *client.Client, id string) []bus.Status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := c.List(context.Background(), nil, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(list, func(s bus.Status) bool { return s.ID == id }) {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never listed: %+v", id, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// One client credential attacks another's tasks over NATS: it may not
// read, list, cancel or continue them, nor submit in the victim's name.
// Every miss answers as an unknown task does.
func TestOwnersOverNATS(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	ctx := context.Background()
	names := bus.Names{}
	secret := submit(t, o.victim, `{"command":"cat notes.txt","pool":"idle","session":"victim-notes"}`)
	st, err := o.victim.Status(ctx, secret.ID)
	if err != nil || st.Owner != o.victimOwner {
		t.Fatalf("victim's own status: %+v %v, want owner %s", st, err, o.victimOwner)
	}

	t.Run("status", func(t *testing.T) {
		if _, err := o.attacker.Status(ctx, secret.ID); !errors.Is(err, client.ErrNotFound) {
			t.Fatalf("attacker read the victim's status: %v", err)
		}
		// On its own subject, the kernel answers as for an unknown id.
		mine := names.As(ownerOf(o.attacker), "status")
		reply, err := o.attacker.NC.Request(mine, []byte(secret.ID), 10*time.Second)
		if err != nil || reply.Header.Get("Nats-Service-Error-Code") != "404" {
			t.Fatalf("status of the victim's task on %s: %v %+v, want 404", mine, err, reply)
		}
		unknown, _ := o.attacker.NC.Request(mine, []byte("no-such-task"), 10*time.Second)
		if unknown.Header.Get("Nats-Service-Error") != strings.ReplaceAll(reply.Header.Get("Nats-Service-Error"), secret.ID, "no-such-task") {
			t.Fatalf("a miss tells another owner's task from an unknown one: %q vs %q",
				reply.Header.Get("Nats-Service-Error"), unknown.Header.Get("Nats-Service-Error"))
		}
		refused(t, o.attacker.NC, names.API()+".status", secret.ID)
		refused(t, o.attacker.NC, names.As(o.victimOwner, "status"), secret.ID)
	})

	t.Run("list", func(t *testing.T) {
		mine := submit(t, o.attacker, `{"command":"true","pool":"idle"}`)
		list := listed(t, o.attacker, mine.ID)
		for _, s := range list {
			if s.Owner != ownerOf(o.attacker) {
				t.Fatalf("attacker lists another owner's task: %+v", s)
			}
		}
		if l := listed(t, o.victim, secret.ID); slices.ContainsFunc(l, func(s bus.Status) bool { return s.ID == mine.ID }) {
			t.Fatalf("victim lists the attacker's task: %+v", l)
		}
		refused(t, o.attacker.NC, names.ListTasks(), "")
	})

	t.Run("cancel", func(t *testing.T) {
		if err := o.attacker.Cancel(ctx, secret.ID, "mine now"); !errors.Is(err, client.ErrNotFound) {
			t.Fatalf("attacker cancel: %v, want ErrNotFound", err)
		}
		refused(t, o.attacker.NC, names.API()+".cancel", secret.ID)
		refused(t, o.attacker.NC, names.As(o.victimOwner, "cancel"), secret.ID)
		st, err := o.victim.Status(ctx, secret.ID)
		if err != nil || st.State != bus.StateQueued {
			t.Fatalf("the victim's task was touched: %+v %v", st, err)
		}
	})

	t.Run("forged owner", func(t *testing.T) {
		forged := submit(t, o.attacker, `{"command":"cat notes.txt; echo x > pwned.txt","pool":"idle","session":"victim-notes","owner":"`+string(o.victimOwner)+`"}`)
		st, err := o.attacker.Status(ctx, forged.ID)
		if err != nil || st.Owner != ownerOf(o.attacker) {
			t.Fatalf("forged task: %+v %v, want the attacker's own", st, err)
		}
		if _, err := o.victim.Status(ctx, forged.ID); !errors.Is(err, client.ErrNotFound) {
			t.Fatalf("a task whose body named the victim is the victim's: %v", err)
		}
		// Publishing the task on the pool's subject, where nothing would
		// check its body, is not a client's right.
		refused(t, o.attacker.NC, names.Task("idle"), `{"command":"true","owner":"`+string(o.victimOwner)+`"}`)
		refused(t, o.attacker.NC, names.API()+".submit", `{"command":"true"}`)
		refused(t, o.attacker.NC, names.SubmitAs(o.victimOwner, ""), `{"command":"true"}`)
	})

	t.Run("read-all", func(t *testing.T) {
		if st, err := o.readAll.Status(ctx, secret.ID); err != nil || st.ID != secret.ID {
			t.Fatalf("read-all status: %+v %v", st, err)
		}
		listed(t, o.readAll, secret.ID)
		if err := o.readAll.Cancel(ctx, secret.ID, "dashboard"); !errors.Is(err, client.ErrForbidden) {
			t.Fatalf("read-all cancel: %v, want ErrForbidden", err)
		}
		refused(t, o.readAll.NC, names.API()+".cancel", secret.ID)
	})

	t.Run("owner", func(t *testing.T) {
		if err := o.victim.Cancel(ctx, secret.ID, "done with it"); err != nil {
			t.Fatalf("the owner's own cancel: %v", err)
		}
	})
}

// One client credential attacks another's schedules: pausing, resuming,
// deleting and reading them all miss.
func TestOwnersSchedulesOverNATS(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	ctx := context.Background()
	names := bus.Names{}
	victim, attacker := client.Schedules{C: o.victim}, client.Schedules{C: o.attacker}
	task, err := bus.DecodeTask([]byte(`{"id":"victim-nightly","command":"true","pool":"idle","schedule":"every 1h"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := victim.Create(ctx, task); err != nil {
		t.Fatal(err)
	}
	if sc, err := victim.Get(ctx, "victim-nightly"); err != nil || sc.Task.Owner != o.victimOwner {
		t.Fatalf("victim's schedule: %+v %v, want owner %s", sc, err, o.victimOwner)
	}
	for name, op := range map[string]func() error{
		"get":    func() error { _, err := attacker.Get(ctx, "victim-nightly"); return err },
		"pause":  func() error { _, err := attacker.Pause(ctx, "victim-nightly"); return err },
		"resume": func() error { _, err := attacker.Resume(ctx, "victim-nightly"); return err },
		"delete": func() error { return attacker.Delete(ctx, "victim-nightly") },
	} {
		if err := op(); !errors.Is(err, client.ErrScheduleNotFound) {
			t.Errorf("attacker %s: %v, want ErrScheduleNotFound", name, err)
		}
	}
	if list, err := attacker.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("attacker lists %+v %v, want none", list, err)
	}
	for _, op := range []string{"pause", "resume", "delete", "get", "list"} {
		refused(t, o.attacker.NC, names.ScheduleAPI(op), `{"id":"victim-nightly"}`)
		refused(t, o.attacker.NC, names.As(o.victimOwner, "schedules."+op), `{"id":"victim-nightly"}`)
	}
	sc, err := victim.Get(ctx, "victim-nightly")
	if err != nil || sc.Paused {
		t.Fatalf("the victim's schedule was touched: %+v %v", sc, err)
	}
	if list, err := (client.Schedules{C: o.readAll}).List(ctx); err != nil || len(list) != 1 {
		t.Fatalf("read-all lists %+v %v, want the victim's", list, err)
	}
	if _, err := (client.Schedules{C: o.readAll}).Pause(ctx, "victim-nightly"); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("read-all pause: %v, want ErrForbidden", err)
	}
	if err := victim.Delete(ctx, "victim-nightly"); err != nil {
		t.Fatalf("the owner's own delete: %v", err)
	}
}

func ownerOf(c *client.Client) bus.Owner {
	return bus.OwnerOfCredential(bus.CredentialID(client.UserKey(c.NC)))
}
