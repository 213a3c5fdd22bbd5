package api_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// queuedStatuses answers every task as queued (none ends) and counts the
// states read.
type queuedStatuses struct {
	owner bus.Owner
	reads atomic.Int64
}

func (q *queuedStatuses) Status(_ context.Context, id string) (bus.Status, error) {
	q.reads.Add(1)
	return bus.Status{ID: id, Owner: q.owner, State: bus.StateQueued}, nil
}

// An owner that keeps submitting near its quota costs the kernel a
// bounded number of task-state reads per task it submits: the ledger
// reads every held task's state once per sixteenth of the task quota
// counted (at most 16 reads per task), or once per second. With only a
// byte quota (--quota-tasks -1) an owner of small tasks holds many: a
// recount every 16 tasks reads all of them, so reads per submission grow
// with what the owner holds, and an owner that keeps submitting keeps
// the kernel recounting back to back.
func TestQuotaRecountReadsStayBoundedPerSubmission(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	const (
		held = 6000
		size = 100
	)
	owner := bus.Owner("client:flood")
	statuses := &queuedStatuses{owner: owner}
	svc := &api.Service{
		Client: &client.Client{NC: k.NC, JS: k.JS, Cache: statuses},
		Quota:  api.Quota{Tasks: -1, TaskBytes: held * size},
	}
	t.Cleanup(svc.Close)
	start := time.Now()
	admitted := 0
	for i := range held {
		if _, err := svc.Admit(owner, fmt.Sprintf("flood-%d", i), size); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		admitted++
		// A submitter a little slower than a recount: the next task
		// comes once the kernel has stopped reading.
		if i >= held-held/4 {
			quiet(statuses)
		}
	}
	elapsed := time.Since(start)
	time.Sleep(100 * time.Millisecond)
	reads := statuses.reads.Load()
	bound := int64(16*admitted) + int64(held)*(int64(elapsed/time.Second)+2)
	if reads > bound {
		t.Fatalf("%d tasks submitted in %v cost %d task-state reads (%.0f a task); want at most %d: 16 a task, or one recount a second",
			admitted, elapsed.Round(time.Millisecond), reads, float64(reads)/float64(admitted), bound)
	}
	t.Logf("%d reads for %d tasks in %v", reads, admitted, elapsed)
}

// quiet returns once q has read nothing for 2ms.
func quiet(q *queuedStatuses) {
	for n := q.reads.Load(); ; {
		time.Sleep(2 * time.Millisecond)
		m := q.reads.Load()
		if m == n {
			return
		}
		n = m
	}
}
