package workers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/workers"
)

// An owner's task whose record aged out while it waited in the queue is
// not run (TestOwnedTaskWithoutTheKernelsRecordIsRefused). Once its
// events are gone its id is free, and another owner may submit a task
// under it: the kernel records that owner's accepted event. The old body
// must still not run under the new owner's record: not its owner's (who
// may have been revoked meanwhile, or whose cancellation aged out too),
// and not as the new owner's task, whose submitter then reads the old
// owner's command and output as its own. The record a worker runs an
// owned task under must be that task's: the accepted event's owner (and
// task) are the body's.
func TestAttackStaleBodyRunsUnderAnotherOwnersRecord(t *testing.T) {
	m := newMesh(t)
	ctx := context.Background()
	names := m.client.Names
	const victim bus.Owner = "nats:VICTIMVICTIMVICT"
	const attacker bus.Owner = "nats:ATTACKERATTACKE"
	stale := bus.Task{ID: "reused-id", Command: "echo victim-secret", Owner: victim}
	if err := stale.Normalize(); err != nil {
		t.Fatal(err)
	}
	// Queued by the task API long ago: its events have aged out.
	if _, err := m.k.JS.Publish(ctx, names.Task(bus.DefaultPool), stale.Encode()); err != nil {
		t.Fatal(err)
	}
	// Another owner takes the free id, through the task's real path.
	mine := bus.Task{ID: "reused-id", Command: "echo attacker-ran"}
	if _, _, _, err := m.client.SubmitWarn(client.WithAccess(ctx, bus.Access{Owner: attacker}), mine); err != nil {
		t.Fatalf("submit under the free id: %v", err)
	}
	m.startWorker(workers.Config{ID: "w-reused", Concurrency: 1})
	evs := m.wait("reused-id")
	out := lines(evs, bus.EventStdout)
	for _, e := range evs {
		if e.Type == bus.EventAssigned && e.Task != nil && e.Task.Owner != attacker {
			t.Errorf("the worker took task %s as %q's under the kernel's record of %q's submission", e.TaskID, e.Task.Owner, attacker)
		}
	}
	if strings.Contains(out, "victim-secret") {
		t.Fatalf("the aged-out body of %s's task ran under %s's record, and its output went to %s's stream: %v %q", victim, attacker, attacker, types(evs), out)
	}
}
