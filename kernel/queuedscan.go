package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// The tasks stream is read for revoked owners' tasks when a revocation
// may have been made since the last complete read (the account's revoked
// keys changed, or the token bucket was written: a token revoked is a
// record purged), else only every queueScanEvery: a read walks the whole
// queue, so its cost follows revocations, not time. A read that failed,
// or left a task it could not cancel, is made again after queueScanRetry.
var (
	queueScanEvery = 5 * time.Minute
	queueScanRetry = 10 * time.Second
)

// queueScan reads the tasks stream for tasks of revoked owners. Every
// kernel of a cluster runs one: each reads the same shared stream, so a
// revoked owner's queued tasks are ended while any kernel is up,
// whichever kernel accepted them; two kernels ending the same task end it
// once (cancels are fenced on the task's events).
type queueScan struct {
	done   revocationMark // what the last complete read covered
	at     time.Time      // when the last read started
	failed bool           // the last read did not complete
}

// revocationMark is what a read of the tasks stream covered: the
// account's revoked keys and how far the token bucket was written.
type revocationMark struct {
	revoked map[string]time.Time
	tokens  uint64
}

func (m revocationMark) equal(o revocationMark) bool {
	return m.tokens == o.tokens && maps.Equal(m.revoked, o.revoked)
}

// mark reads what revocations exist now.
func (r revocations) mark(ctx context.Context) (revocationMark, error) {
	m := revocationMark{revoked: r.revokedUsers()}
	kv, err := r.js.KeyValue(ctx, r.s.Names.TokensBucket())
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("read token bucket: %w", err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return m, fmt.Errorf("read token bucket: %w", err)
	}
	if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok {
		m.tokens = bs.StreamInfo().State.LastSeq
	}
	return m, nil
}

// run reads the tasks stream when it is due: at the first sweep, when
// revocations may have been made since the last complete read, and every
// queueScanEvery.
func (q *queueScan) run(ctx context.Context, rv revocations, c *client.Client, log *slog.Logger) {
	now, err := rv.mark(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("read revocations", "err", err)
		}
		return
	}
	since := time.Since(q.at)
	changed := !now.equal(q.done) && (!q.failed || since >= queueScanRetry)
	if !q.at.IsZero() && !changed && since < queueScanEvery {
		return
	}
	q.at = time.Now()
	if err := endQueuedRevokedTasks(ctx, rv, now.revoked, c, log); err != nil {
		if ctx.Err() == nil {
			log.Warn("end revoked owners' tasks read from the tasks stream; reading it again soon", "err", err)
		}
		q.failed = true // q.done unchanged: read again
		return
	}
	q.done, q.failed = now, false
}

// endQueuedRevokedTasks cancels every task the tasks stream holds whose
// owner was revoked after submitting it. The task's own body says whose
// it is and when it was submitted, so this holds when its events are
// gone too. An error means some task may be left to end.
func endQueuedRevokedTasks(ctx context.Context, rv revocations, revoked map[string]time.Time, c *client.Client, log *slog.Logger) error {
	type queued struct {
		seq       uint64
		id        string
		owner     bus.Owner
		submitted time.Time
		why       string
	}
	var found []queued
	owners := map[bus.Owner]string{} // owner → why it was revoked at all ("" not)
	var rerr error
	err := c.EachQueued(ctx, func(seq uint64, t bus.Task, derr error) bool {
		if derr != nil || t.Owner == "" {
			return true // a body that names no owner: the installation's, or refused by its worker
		}
		why, seen := owners[t.Owner]
		if !seen {
			var err error
			if why, err = rv.ownerWhy(ctx, revoked, t.Owner, time.Time{}); err != nil {
				rerr = err
				return false
			}
			owners[t.Owner] = why
		}
		if why == "" {
			return true
		}
		// Revoking "*" ends only what was submitted before its time.
		if why, err := rv.ownerWhy(ctx, revoked, t.Owner, t.Submitted); err == nil && why != "" {
			found = append(found, queued{seq, t.ID, t.Owner, t.Submitted, why})
		}
		return true
	})
	if err = errors.Join(err, rerr); err != nil {
		return err
	}
	admin := client.WithAccess(ctx, bus.Admin)
	var left error
	for _, t := range found {
		last, err := c.LastEvent(admin, t.id)
		if err == nil {
			// Ended as its pool's workers see it: another pool's worker
			// may store a "done" under any id.
			last, err = c.OwnLastEvent(admin, t.id, last)
		}
		switch {
		case errors.Is(err, client.ErrNotFound):
			err = endRevokedTask(admin, c, log, t.id, t.owner, t.why, false)
		case err == nil && !last.Type.Terminal():
			// The id may record another submission now (taken again once
			// this body's events aged out): that task is not the revoked
			// owner's to end; the stale body is only taken off the queue.
			var rec bus.Task
			switch rec, err = c.Recorded(admin, t.id); {
			case err == nil && (rec.Owner != t.owner || !rec.Submitted.Equal(t.submitted)):
				// A stale body: its id records another submission, so no
				// worker may run it or end that task.
				err = c.DropQueued(admin, t.seq)
			case err == nil, errors.Is(err, client.ErrNotFound):
				err = endRevokedTask(admin, c, log, t.id, t.owner, t.why, true)
			}
		}
		if err != nil {
			left = fmt.Errorf("task %s of %s: %w", t.id, t.owner, err)
		}
	}
	return left
}
