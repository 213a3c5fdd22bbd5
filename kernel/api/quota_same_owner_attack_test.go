package api_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// An owner's id is free again once its events aged out, while its body
// still waits (a pool nobody serves). The owner submits under the same id
// again, which stores a new accepted event and queues a new body (past
// the queue's de-duplication window, 10 minutes by default against 24h of
// events). Taken for a retry of the task the ledger holds under the id,
// it would count nothing: every events-max-age each held id would add
// one uncounted body, and one owner would fill the queue everyone shares
// past its quota. The queue must hold no more of the owner's bodies than
// its quota.
func TestAttackSameOwnerReusedIDQueuesUncountedBodies(t *testing.T) {
	t.Parallel()
	const limit, again = 2, 3
	o := startAgedOwned(t, 2*time.Second, api.Quota{Tasks: limit})
	attacker := ownerOf(o.attacker)
	const id = "my-own-id"
	submit(t, o.attacker, `{"id":"`+id+`","command":"true","pool":"nobody"}`)
	for i := range again {
		o.eventsGone(t, id)
		task, err := bus.DecodeTask([]byte(`{"id":"` + id + `","command":"true","pool":"nobody"}`))
		if err != nil {
			t.Fatal(err)
		}
		_, dup, err := o.attacker.Submit(context.Background(), task)
		if errors.Is(err, client.ErrQuota) {
			continue // counted: the resubmission past the quota is refused
		}
		if err != nil || dup {
			t.Fatalf("resubmission %d of %s once its events aged out: dup %v, %v", i+1, id, dup, err)
		}
	}
	// One more under a new id, which a quota that did not count the
	// resubmissions still has room for.
	if task, err := bus.DecodeTask([]byte(`{"command":"true","pool":"nobody"}`)); err != nil {
		t.Fatal(err)
	} else if _, _, err := o.attacker.Submit(context.Background(), task); err != nil && !errors.Is(err, client.ErrQuota) {
		t.Fatal(err)
	}
	if n := queuedOf(t, o.k, attacker); n > limit {
		t.Fatalf("the shared queue holds %d of the owner's bodies (%d under the one id %s), past its quota of %d: a submission under an id the ledger holds was not counted, though it queued a new body",
			n, len(o.bodies(t, id)), id, limit)
	}
}

// The owner resubmits its aged-out id with the first submission's time
// copied into "submitted". Were that time kept, the new status would be
// "own" for the held task (same owner, same time), and cancelling the
// second submission would make the ledger drop the first one's body at
// its kept place and release it, while the second body waited uncounted
// for good (a pool nobody serves): one more body in the shared queue each
// round. The queue must hold no more of the owner's bodies than its quota.
func TestAttackSameOwnerCopiedSubmittedReleasesWhileABodyStays(t *testing.T) {
	t.Parallel()
	const limit, rounds = 2, 3
	o := startAgedOwned(t, 2*time.Second, api.Quota{Tasks: limit})
	ctx := context.Background()
	attacker := ownerOf(o.attacker)
	// A refusal by the quota at any step is the quota holding: the
	// rounds stop there.
	refused := func(r int, what string, err error) bool {
		t.Helper()
		if errors.Is(err, client.ErrQuota) {
			return true
		}
		if err != nil {
			t.Fatalf("round %d: %s: %v", r, what, err)
		}
		return false
	}
rounds:
	for r := range rounds {
		id := fmt.Sprintf("copied-%d", r)
		body := `{"id":"` + id + `","command":"true","pool":"nobody","submitted":"2020-01-01T00:00:00Z"}`
		task, _ := bus.DecodeTask([]byte(body))
		if _, _, err := o.attacker.Submit(ctx, task); refused(r, "submission", err) {
			break rounds
		}
		o.eventsGone(t, id)
		// The same id, owner and submission time again.
		task, _ = bus.DecodeTask([]byte(body))
		_, dup, err := o.attacker.Submit(ctx, task)
		if refused(r, "resubmission", err) {
			break rounds
		}
		if dup {
			t.Fatalf("round %d: resubmission answered as a duplicate", r)
		}
		if err := o.attacker.Cancel(ctx, id, "the second one"); err != nil {
			t.Fatal(err)
		}
	}
	// The owner fills its quota again, as far as it is let.
	for i := range limit {
		task, _ := bus.DecodeTask([]byte(`{"command":"true","pool":"nobody"}`))
		if _, _, err := o.attacker.Submit(ctx, task); refused(rounds, fmt.Sprintf("submission %d after the rounds", i+1), err) {
			break
		}
	}
	if n := queuedOf(t, o.k, attacker); n > limit {
		t.Fatalf("the shared queue holds %d of the owner's bodies past its quota of %d: cancelling a resubmission stamped with the first submission's time dropped the first body and released the id, while the resubmitted body stays queued uncounted", n, limit)
	}
}

// Tasks cancelled while they wait, whose bodies are still queued when
// the task API restarts (cancelled where this kernel's ledger could not
// take them off: by an operator's own connection, through another kernel
// of the cluster), must be counted again from the hot cache: a restarted
// ledger that skipped every final status left those bodies counted by no
// one, in the shared queue for good, up to a quota's worth per restart.
func TestAttackTasksCancelledBeforeARestartAreForgottenInTheQueue(t *testing.T) {
	t.Parallel()
	const limit, cancelled = 8, 5
	o := startOwned(t, func(s *api.Service) { s.Quota = api.Quota{Tasks: limit} })
	ctx := context.Background()
	attacker := ownerOf(o.attacker)
	var ids []string
	for range cancelled {
		ids = append(ids, submit(t, o.attacker, `{"command":"true","pool":"nobody"}`).ID)
	}
	// Cancelled around this kernel's task API, which would take the
	// bodies off at once.
	operator := &client.Client{NC: o.k.NC, JS: o.k.JS}
	for _, id := range ids {
		if err := operator.Cancel(ctx, id, "before the restart"); err != nil {
			t.Fatal(err)
		}
	}
	waitStates(t, o.attacker, ids, bus.StateCancelled)
	if n := queuedOf(t, o.k, attacker); n != cancelled {
		t.Fatalf("before the restart: %d bodies queued, want the %d cancelled ones still there", n, cancelled)
	}
	o.restart()
	for i := range limit {
		submitOnceRoom(t, o.attacker, fmt.Sprintf("submission %d after the restart", i+1))
	}
	if n := queuedOf(t, o.k, attacker); n > limit {
		t.Fatalf("the shared queue holds %d of the owner's bodies (%d cancelled before the restart), past its quota of %d: the restarted ledger skipped cancelled statuses whose bodies still wait", n, cancelled, limit)
	}
}

// The submission time is what tells a task's own status and body from
// another submission's under its id (held.owns, client.QueuedRef, the
// worker's recordOf), and what revoking every credential ("*") judges a
// task by (kernel ownerWhy with st.Submitted, the queue scan with the
// body's): it must be the kernel's clock, not the request's, or an owner
// would stamp its tasks in the future (outliving a "*" revocation) or
// copy an earlier submission's time
// (TestAttackSameOwnerCopiedSubmittedReleasesWhileABodyStays).
func TestAttackSubmissionTimeIsTheSubmittersToChoose(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	before := time.Now()
	task := submit(t, o.attacker, `{"command":"true","pool":"nobody","submitted":"2099-01-01T00:00:00Z"}`)
	st, err := o.attacker.Status(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Submitted.After(time.Now().Add(time.Minute)) || st.Submitted.Before(before.Add(-time.Minute)) {
		t.Fatalf("task %s recorded as submitted %v, the time its request named, not the kernel's (%v)", task.ID, st.Submitted, before)
	}
}
