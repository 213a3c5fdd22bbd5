package api_test

import (
	"context"
	"errors"
	"fmt"
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

// Property: an owner's byte quota bounds the bytes of its queued tasks,
// and "a restarted kernel counts again from the hot cache" what owners
// held before. The attacker queues tasks for a pool nobody serves whose
// bytes are in their env (a short command, 60 KiB of env values) up to
// its quota. The task API restarts: it counts each held task by its
// instruction and command only, so the attacker's env bytes are
// forgotten, and it may queue its quota's worth again. After the
// restart the attacker must not hold much more than its quota.
func TestAttackEnvBytesLeaveTheQuotaAtARestart(t *testing.T) {
	t.Parallel()
	const quota = 256 << 10
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
	var svc *api.Service
	run := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		svc = &api.Service{Client: &client.Client{NC: k.NC, JS: k.JS, Cache: hot}, Recent: hot, Quota: api.Quota{TaskBytes: quota}}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); _ = svc.Run(ctx) }()
		var once sync.Once
		stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
		t.Cleanup(stop)
		return stop
	}
	attacker := &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Name: "attacker", Role: kernel.RoleClient})), ViaAPI: true}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ready := func() {
		t.Helper()
		for {
			if _, err := attacker.List(ctx, nil, 1); err == nil {
				return
			} else if !errors.Is(err, client.ErrUnavailable) || ctx.Err() != nil {
				t.Fatalf("list: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	big := strings.Repeat("e", 15<<10)
	fill := func(round int) (n int) {
		t.Helper()
		for i := 0; i < 20; i++ {
			_, _, err := attacker.Submit(ctx, bus.Task{ID: fmt.Sprintf("r%d-%d", round, i), Command: "true", Pool: "nobody", Env: map[string]string{"B1": big, "B2": big, "B3": big, "B4": big}})
			if errors.Is(err, client.ErrQuota) {
				return n
			}
			if err != nil {
				t.Fatalf("submit: %v", err)
			}
			n++
		}
		return n
	}

	stop := run()
	ready()
	before := fill(1)
	if before == 0 || before >= 20 {
		t.Fatalf("%d tasks of 60 KiB before the quota of %d bytes", before, quota)
	}
	listed(t, attacker, fmt.Sprintf("r1-%d", before-1))
	stop()

	run()
	ready()
	time.Sleep(time.Second) // the restarted service has read what owners held
	tasks, bytes := svc.Held(ownerOf(attacker))
	t.Logf("after the restart the task API counts the attacker's %d tasks as %d bytes", tasks, bytes)
	after := fill(2)
	if after > 0 {
		t.Errorf("with %d tasks of 60 KiB held (its %d-byte quota full), the attacker queued %d more after the task API restarted: it holds about %d KiB", before, quota, after, (before+after)*60)
	}
}
