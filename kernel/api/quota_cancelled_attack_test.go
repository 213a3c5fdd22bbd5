package api_test

import (
	"context"
	"errors"
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

// startOwnedQueue is startOwned on a kernel whose shared tasks queue
// holds at most queueBytes.
func startOwnedQueue(t *testing.T, queueBytes int64, q api.Quota) *owned {
	t.Helper()
	k := kerneltest.StartWith(t, kernel.Server{
		TasksMaxBytes: queueBytes,
		OpenCache: func(ctx context.Context, nc *nats.Conn) (kernel.Cache, error) {
			js, err := jetstream.New(nc)
			if err != nil {
				return nil, err
			}
			return cache.NewKVCache(ctx, js)
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	hot, err := cache.NewKVCache(ctx, k.JS)
	if err != nil {
		t.Fatal(err)
	}
	svc := &api.Service{
		Client: &client.Client{NC: k.NC, JS: k.JS, Cache: hot},
		Recent: hot,
		Quota:  q,
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	dial := func(name string) *client.Client {
		return &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Name: name, Role: kernel.RoleClient})), ViaAPI: true}
	}
	o := &owned{k: k, victim: dial("victim"), attacker: dial("attacker")}
	o.victimOwner = ownerOf(o.victim)
	for {
		_, err := o.victim.List(ctx, nil, 1)
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

// Property: an owner's task quota bounds what it holds in the shared
// tasks queue ("far below the shared queue's bound, so one owner cannot
// fill it for everyone"). A cancelled task of a pool nobody serves is
// released from its owner's quota at once, but its body stays in the
// queue (no worker pulls it to acknowledge it away, and the queue has no
// age limit). The attacker submits up to its quota, cancels, and submits
// again, round after round, until the queue is full: the victim's small
// 16 KiB submission must still be accepted, and the attacker must hold no more
// of the queue than its quota.
func TestAttackCancelledTasksFillTheSharedQueuePastTheQuota(t *testing.T) {
	t.Parallel()
	const (
		queue  = 2 << 20   // the shared queue
		quota  = 400 << 10 // the attacker's bytes: a fifth of the queue
		bodyKB = 120
	)
	o := startOwnedQueue(t, queue, api.Quota{TaskBytes: quota})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	body := `{"command":"echo ` + strings.Repeat("x", bodyKB<<10) + `","pool":"nobody"}`

	full := false
	submitted := 0
	for round := 0; round < 40 && !full && ctx.Err() == nil; round++ {
		var held []string
		for ctx.Err() == nil {
			task, err := bus.DecodeTask([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			task, _, err = o.attacker.Submit(ctx, task)
			if errors.Is(err, client.ErrQueueFull) {
				full = true
				break
			}
			if errors.Is(err, client.ErrQuota) {
				if len(held) > 0 {
					break
				}
				time.Sleep(200 * time.Millisecond) // the recount of the last round's cancels
				continue
			}
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			held = append(held, task.ID)
			submitted++
		}
		for _, id := range held {
			if err := o.attacker.Cancel(ctx, id, "making room"); err != nil {
				t.Fatalf("cancel %s: %v", id, err)
			}
		}
	}

	tasks, err := o.k.JS.Stream(ctx, bus.Names{}.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := tasks.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("attacker submitted %d tasks of %d KiB; the queue holds %d messages, %d bytes (bound %d, attacker's quota %d)",
		submitted, bodyKB, info.State.Msgs, info.State.Bytes, queue, quota)
	if info.State.Bytes > 2*quota {
		t.Errorf("one owner with a %d-byte quota holds %d bytes of the shared queue (%d cancelled bodies nobody removes)", quota, info.State.Bytes, info.State.Msgs)
	}
	task, err := bus.DecodeTask([]byte(`{"command":"echo ` + strings.Repeat("v", 16<<10) + `","pool":"nobody"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.victim.Submit(ctx, task); err != nil {
		t.Errorf("the victim's one 16 KiB task is refused after the attacker cycled submit and cancel: %v", err)
	}
}
