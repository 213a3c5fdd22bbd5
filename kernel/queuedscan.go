package kernel

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// queueScanEvery is how often the tasks stream is read for revoked
// owners' tasks when no credential was revoked since the last read: it
// reads the whole queue, so it runs at once only when the account's
// revocations change, and otherwise this often (for tokens revoked, and
// for what the last read could not end).
var queueScanEvery = 30 * time.Second

// queueScan reads the tasks stream for tasks of revoked owners. Every
// kernel of a cluster runs one: each reads the same shared stream, so a
// revoked owner's queued tasks are ended while any kernel is up,
// whichever kernel accepted them; two kernels ending the same task end it
// once (cancels are fenced on the task's events).
type queueScan struct {
	revoked map[string]time.Time // the account's revocations at the last complete read
	at      time.Time            // when the last read started
	failed  bool                 // the last read failed
}

// queueScanRetry is how soon a read that failed (the stream electing a
// leader, say) is made again for revocations it has not covered yet.
var queueScanRetry = 10 * time.Second

// run reads the tasks stream when it is due: at the first sweep, when the
// account's revocations changed since the last complete read, and every
// queueScanEvery.
func (q *queueScan) run(ctx context.Context, rv revocations, c *client.Client, log *slog.Logger) {
	revoked := rv.revokedUsers()
	since := time.Since(q.at)
	changed := !maps.Equal(revoked, q.revoked) && (!q.failed || since >= queueScanRetry)
	if !q.at.IsZero() && !changed && since < queueScanEvery {
		return
	}
	q.at = time.Now()
	if err := endQueuedRevokedTasks(ctx, rv, revoked, c, log); err != nil {
		if ctx.Err() == nil {
			log.Warn("read the tasks stream for revoked owners' tasks; reading it again soon", "err", err)
		}
		q.failed = true // q.revoked unchanged: read again
		return
	}
	q.revoked, q.failed = revoked, false
}

// endQueuedRevokedTasks cancels every task the tasks stream holds whose
// owner was revoked after submitting it. The task's own body says whose
// it is and when it was submitted, so this holds when its events are
// gone too.
func endQueuedRevokedTasks(ctx context.Context, rv revocations, revoked map[string]time.Time, c *client.Client, log *slog.Logger) error {
	type queued struct {
		id    string
		owner bus.Owner
		why   string
	}
	var found []queued
	owners := map[bus.Owner]string{} // owner → why it was revoked at all ("" not)
	var rerr error
	err := c.EachQueued(ctx, func(_ uint64, t bus.Task, derr error) bool {
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
			found = append(found, queued{t.ID, t.Owner, why})
		}
		return true
	})
	if err = errors.Join(err, rerr); err != nil {
		return err
	}
	admin := client.WithAccess(ctx, bus.Admin)
	for _, t := range found {
		last, err := c.LastEvent(admin, t.id)
		switch {
		case errors.Is(err, client.ErrNotFound):
			endRevokedTask(admin, c, log, t.id, t.owner, t.why, false)
		case err != nil:
			log.Warn("read a revoked owner's task", "task", t.id, "owner", t.owner, "err", err)
		case !last.Type.Terminal():
			endRevokedTask(admin, c, log, t.id, t.owner, t.why, true)
		}
	}
	return nil
}
