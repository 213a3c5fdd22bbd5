package api_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory/cache"
)

// The kernel stores a task re-encoded by encoding/json, which escapes
// '<', '>' and '&' as \u003c (6 bytes for 1). Counted at its request's
// size, a raw request full of '<' would let an owner whose byte quota is
// a quarter of the tasks queue fill the queue for everyone while its own
// count stays under its quota; the victim, holding nothing, would then be
// refused. The quota counts what the queue stores.
func TestAttackEscapedBytesFillTheQueuePastTheQuota(t *testing.T) {
	const queueMax = 1 << 20
	quota := api.Quota{Tasks: 1000, TaskBytes: queueMax / 4}
	k := kerneltest.StartWith(t, kernel.Server{TasksMaxBytes: queueMax})
	hot, err := cache.NewKVCache(context.Background(), k.JS)
	if err != nil {
		t.Fatal(err)
	}
	svc := &api.Service{Client: &client.Client{NC: k.NC, JS: k.JS, Cache: hot}, Recent: hot, Quota: quota}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	dial := func(name string) *client.Client {
		return &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Name: name, Role: kernel.RoleClient})), ViaAPI: true}
	}
	victim, attacker := dial("victim"), dial("attacker")
	attackerOwner := bus.OwnerOfCredential(bus.CredentialID(client.UserKey(attacker.NC)))
	bg := context.Background()
	for i := 0; ; i++ {
		_, err := victim.List(bg, nil, 1)
		if err == nil {
			break
		}
		if i > 200 {
			t.Fatalf("never up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	accepted := 0
	for _, n := range []int{40 << 10, 4 << 10, 400, 40} {
		for {
			task := bus.Task{Command: "echo " + strings.Repeat("<", n), Pool: "nobody"}
			if err := task.Normalize(); err != nil {
				t.Fatal(err)
			}
			// The raw request carries '<' unescaped, as any JSON may.
			body := strings.ReplaceAll(string(task.Encode()), `\u003c`, "<")
			if accepted > 500 {
				t.Fatal("never refused")
			}
			if err := rawSubmit(k.Names.SubmitAs(attackerOwner, task.Policy), attacker, body); err != nil {
				t.Logf("attacker refused at chunk %d: %v", n, err)
				break
			}
			accepted++
		}
	}
	tasks, bytes := svc.Held(attackerOwner)
	s, err := k.JS.Stream(bg, k.Names.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(bg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("attacker accepted %d; ledger holds %d tasks %d bytes (quota %d); tasks stream holds %d bytes (max %d)",
		accepted, tasks, bytes, quota.TaskBytes, info.State.Bytes, queueMax)
	if info.State.Bytes > uint64(2*quota.TaskBytes) {
		t.Errorf("one owner under its byte quota (%d counted of %d) put %d bytes in the shared tasks queue", bytes, quota.TaskBytes, info.State.Bytes)
	}
	if _, _, err := victim.Submit(bg, bus.Task{Command: "true", Pool: "nobody"}); err != nil {
		t.Errorf("victim, holding nothing, refused: %v", err)
	}
}

func rawSubmit(subject string, c *client.Client, body string) error {
	m, err := c.NC.Request(subject, []byte(body), 10*time.Second)
	if err != nil {
		return err
	}
	if code := m.Header.Get("Nats-Service-Error-Code"); code != "" {
		return fmt.Errorf("%s: %s", code, m.Header.Get("Nats-Service-Error"))
	}
	return nil
}
