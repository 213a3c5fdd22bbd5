package api_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// An owner that submits a task for a pool nobody serves and cancels it,
// again and again, holds no more of the queue everyone shares than its
// quota: a task cancelled while it waited is final, and it made room in
// the owner's quota while its body stayed queued until a worker of its
// pool would take it, so the owner filled the shared queue (and others
// were refused "queue full") at one quota at a time.
func TestAttackSubmitAndCancelFillsTheSharedQueue(t *testing.T) {
	t.Parallel()
	const limit, rounds = 8, 40
	o := startOwned(t, func(s *api.Service) { s.Quota = api.Quota{Tasks: limit} })
	ctx := context.Background()
	attacker := ownerOf(o.attacker)

	deadline := time.Now().Add(90 * time.Second)
	for i := 0; i < rounds; {
		task, _ := bus.DecodeTask([]byte(`{"command":"true","pool":"nobody"}`))
		task, _, err := o.attacker.Submit(ctx, task)
		if errors.Is(err, client.ErrQuota) {
			// Its cancelled tasks make room once they are off the queue.
			if time.Now().After(deadline) {
				t.Fatalf("after %d submissions, each cancelled, the owner is still refused: %v", i, err)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("submission %d: %v", i+1, err)
		}
		if err := o.attacker.Cancel(ctx, task.ID, "and again"); err != nil {
			t.Fatalf("cancel %s: %v", task.ID, err)
		}
		i++
	}

	if n := queuedOf(t, o.k, attacker); n > limit {
		t.Fatalf("the shared queue holds %d of the owner's cancelled tasks after %d submitted and cancelled, past its quota of %d", n, rounds, limit)
	}
	// And the queue's room is everyone's again: the victim's task queues.
	submit(t, o.victim, `{"command":"true","pool":"nobody"}`)
}

// The same across a restart of the task API: the tasks it counts again
// from the hot cache have no known place in the queue, and are found by
// reading the queue before they make room.
func TestAttackTasksCancelledAfterARestartStayInTheSharedQueue(t *testing.T) {
	t.Parallel()
	const limit = 6
	o := startOwned(t, func(s *api.Service) { s.Quota = api.Quota{Tasks: limit} })
	ctx := context.Background()
	attacker := ownerOf(o.attacker)
	var ids []string
	for range limit {
		ids = append(ids, submit(t, o.attacker, `{"command":"true","pool":"nobody"}`).ID)
	}
	// Counted again from the hot cache once its statuses say queued.
	waitStates(t, o.attacker, ids, bus.StateQueued)
	o.restart()
	for _, id := range ids {
		if err := o.attacker.Cancel(ctx, id, "after the restart"); err != nil {
			t.Fatal(err)
		}
	}
	// The queue is read for them at most once a minute: once their
	// statuses say cancelled, one read finds them all.
	waitStates(t, o.attacker, ids, bus.StateCancelled)
	for i := range limit {
		submitOnceRoom(t, o.attacker, fmt.Sprintf("submission %d after cancelling every task", i+1))
	}
	if n := queuedOf(t, o.k, attacker); n > limit {
		t.Fatalf("the shared queue holds %d of the owner's tasks, %d of them cancelled, past its quota of %d", n, limit, limit)
	}
}

// queuedOf counts owner's bodies in k's tasks stream.
func queuedOf(t *testing.T, k *kerneltest.Kernel, owner bus.Owner) int {
	t.Helper()
	ctx := context.Background()
	tasks, err := k.JS.Stream(ctx, k.Names.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := k.Names.EachQueued(ctx, tasks, func(_ uint64, task bus.Task, _ error) bool {
		if task.Owner == owner {
			n++
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// A restarted task API counts an owner's held tasks at their size as
// queued, env values included, not by their text alone: tasks whose
// bytes are in env values do not let their owner pass its byte quota
// once the kernel has restarted.
func TestAttackEnvBytesAreCountedAcrossARestart(t *testing.T) {
	t.Parallel()
	o := startOwned(t, func(s *api.Service) { s.Quota = api.Quota{TaskBytes: 200 << 10} })
	ctx := context.Background()
	// 60 KiB of env values, near the most a task may carry.
	v := strings.Repeat("x", 15<<10)
	big := `{"command":"true","pool":"nobody","env":{"A":"` + v + `","B":"` + v + `","C":"` + v + `","D":"` + v + `"}}`
	var ids []string
	for range 3 {
		ids = append(ids, submit(t, o.attacker, big).ID)
	}
	waitStates(t, o.attacker, ids, bus.StateQueued)
	o.restart()
	task, err := bus.DecodeTask([]byte(big))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.attacker.Submit(ctx, task); !errors.Is(err, client.ErrQuota) || !strings.Contains(err.Error(), "task-bytes") {
		t.Fatalf("a fourth task of 60 KiB of env after a restart, with 180 KiB held and a quota of 200 KiB: %v; want the task-bytes quota", err)
	}
	submit(t, o.victim, big)
}

// waitStates waits until c reads every task of ids in state.
func waitStates(t *testing.T, c *client.Client, ids []string, state bus.State) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("the tasks' statuses to say %s", state), func() bool {
		for _, id := range ids {
			if st, err := c.Status(context.Background(), id); err != nil || st.State != state {
				return false
			}
		}
		return true
	})
}

// submitOnceRoom has c submit a task for a pool nobody serves, again while
// it is refused by its quota, until the quota makes room (at most 30 s).
func submitOnceRoom(t *testing.T, c *client.Client, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		task, _ := bus.DecodeTask([]byte(`{"command":"true","pool":"nobody"}`))
		_, _, err := c.Submit(context.Background(), task)
		if err == nil {
			return
		}
		if !errors.Is(err, client.ErrQuota) || time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
