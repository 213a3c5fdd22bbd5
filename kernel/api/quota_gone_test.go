package api_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A task whose events are gone still counts while the tasks stream holds
// it (it may still run); once the stream no longer holds it either (a
// worker acknowledged it, and its events aged out since), it makes room:
// an owner's quota never fills up with tasks that ended long ago.
func TestQuotaReleasesTasksGoneFromTheQueueAndTheirEvents(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	svc := &api.Service{Client: &client.Client{NC: k.NC, JS: k.JS}, Quota: api.Quota{Tasks: 2}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	owner := &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Name: "owner", Role: kernel.RoleClient})), ViaAPI: true}
	submit := func() (string, error) {
		for {
			task, _, err := owner.Submit(context.Background(), bus.Task{Command: "true", Pool: "nobody"})
			if !errors.Is(err, client.ErrUnavailable) {
				return task.ID, err
			}
			time.Sleep(20 * time.Millisecond) // the service is still starting
		}
	}
	var ids []string
	for range 2 {
		id, err := submit()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := submit(); !errors.Is(err, client.ErrQuota) {
		t.Fatalf("a third task at once: %v, want the quota", err)
	}

	// Both leave the queue, as acknowledged tasks do, and their events go,
	// as aged-out events do.
	tasks, err := k.JS.Stream(context.Background(), k.Names.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	if err := k.Names.EachQueued(context.Background(), tasks, func(seq uint64, _ bus.Task, _ error) bool {
		seqs = append(seqs, seq)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 2 {
		t.Fatalf("the queue holds %d tasks, want the owner's 2", len(seqs))
	}
	for _, seq := range seqs {
		if err := tasks.DeleteMsg(context.Background(), seq); err != nil {
			t.Fatal(err)
		}
	}
	events, err := k.JS.Stream(context.Background(), k.Names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := events.Purge(context.Background(), jetstream.WithPurgeSubject(k.Names.TaskEvents(id))); err != nil {
			t.Fatal(err)
		}
	}

	// An owner that submits nothing more (one revoked) has its count
	// read again on the kernel's word alone.
	who := bus.OwnerOfCredential(bus.CredentialID(client.UserKey(owner.NC)))
	// A read of the queue cut short under load is made again 10 s later.
	deadline := time.Now().Add(90 * time.Second)
	for {
		svc.Recount(who)
		n, _ := svc.Held(who)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks gone from the queue and their events still count in the owner's quota: %d held", n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if _, err := submit(); err != nil {
		t.Fatalf("a task once the owner's tasks are gone: %v", err)
	}
}
