package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// One client credential floods tasks for a pool nobody serves until its
// quota: it alone is refused, naming the limit and how to raise it, while
// another credential's submissions go on. Once its tasks end it may
// submit again.
func TestQuotaRefusesTheFloodingOwnerOnly(t *testing.T) {
	t.Parallel()
	const limit = 20
	o := startOwned(t, func(s *api.Service) { s.Quota = api.Quota{Tasks: limit} })
	ctx := context.Background()
	var held []string
	for i := 0; ; i++ {
		task, err := bus.DecodeTask([]byte(`{"command":"true","pool":"nobody"}`))
		if err != nil {
			t.Fatal(err)
		}
		task, _, err = o.attacker.Submit(ctx, task)
		if err != nil {
			if i != limit || !errors.Is(err, client.ErrQuota) || errors.Is(err, client.ErrQueueFull) {
				t.Fatalf("submission %d: %v; want ErrQuota after exactly %d", i+1, err, limit)
			}
			for _, want := range []string{"tasks", "--quota-tasks", "AMF_QUOTA_TASKS", string(ownerOf(o.attacker))} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("refusal %q does not name %q", err, want)
				}
			}
			break
		}
		held = append(held, task.ID)
	}
	// The other owner is not refused.
	for range 5 {
		submit(t, o.victim, `{"command":"true","pool":"nobody"}`)
	}
	// Tasks that ended count no more.
	for _, id := range held[:5] {
		if err := o.attacker.Cancel(ctx, id, "making room"); err != nil {
			t.Fatal(err)
		}
	}
	submitOnceRoom(t, o.attacker, "after cancelling five")
}

// The bytes an owner holds are bounded too: a few large tasks reach it
// long before the count does.
func TestQuotaBoundsTheBytesOneOwnerHolds(t *testing.T) {
	t.Parallel()
	o := startOwned(t, func(s *api.Service) { s.Quota = api.Quota{TaskBytes: 1 << 20} })
	big := `{"command":"echo ` + strings.Repeat("x", 300<<10) + `","pool":"nobody"}`
	var err error
	n := 0
	for ; n < 10; n++ {
		task, derr := bus.DecodeTask([]byte(big))
		if derr != nil {
			t.Fatal(derr)
		}
		if _, _, err = o.attacker.Submit(context.Background(), task); err != nil {
			break
		}
	}
	if n != 3 || !errors.Is(err, client.ErrQuota) || !strings.Contains(err.Error(), "task-bytes") || !strings.Contains(err.Error(), "AMF_QUOTA_TASK_MIB") {
		t.Fatalf("after %d tasks of 300 KiB: %v; want the task-bytes quota after 3", n, err)
	}
	submit(t, o.victim, big)
}

// An owner whose tasks end as fast as it submits (one `amf run` after
// another, a schedule's runs) holds almost nothing: it is never refused,
// however many tasks it submits in all.
func TestQuotaNeverRefusesAnOwnerWhoseTasksEnd(t *testing.T) {
	t.Parallel()
	const limit = 40
	o := startOwned(t, func(s *api.Service) { s.Quota = api.Quota{Tasks: limit} })
	ctx := context.Background()
	for i := range 3 * limit {
		task, err := bus.DecodeTask([]byte(`{"command":"true","pool":"nobody"}`))
		if err != nil {
			t.Fatal(err)
		}
		task, _, err = o.attacker.Submit(ctx, task)
		if err != nil {
			t.Fatalf("submission %d, each earlier task ended: %v", i+1, err)
		}
		if err := o.attacker.Cancel(ctx, task.ID, "ended"); err != nil {
			t.Fatal(err)
		}
		// Ended as its owner sees it: its status is final.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			st, err := o.attacker.Status(ctx, task.ID)
			if err == nil && st.State.Final() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s not final: %+v %v", task.ID, st, err)
			}
		}
	}
}
