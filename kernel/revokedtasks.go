package kernel

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// revokedSweepEvery is how often the kernel looks for queued or running
// tasks of owners revoked since: a revoked credential or token leaves no
// work behind that starts later.
var revokedSweepEvery = 3 * time.Second

// sweepRevokedTasks cancels a revoked owner's tasks, two ways. Every
// sweep it reads the tasks this kernel's task API counts (cheap, and
// within seconds of a revocation). And it reads the tasks stream itself
// (queuedscan.go), the record every kernel of a cluster shares of what
// may still run: so the tasks a kernel that is down accepted are ended
// by any kernel still up, and a task whose events aged out while it
// waited is ended however little is left to read about it. A task
// cancelled while queued is dropped by the worker that pulls it, a
// running one is stopped by its worker.
func (s *Server) sweepRevokedTasks(js jetstream.JetStream) *sweeper {
	rv := revocations{s: s, js: js}
	svc := s.parts.svc
	c := &client.Client{NC: s.nc, JS: js, Names: s.Names}
	log := s.logger().With("part", "revoked-tasks")
	scan := &queueScan{}
	return sweep(revokedSweepEvery, func(ctx context.Context) {
		endRevokedTasks(ctx, rv, svc, c, log)
		scan.run(ctx, rv, c, log)
	})
}

// endRevokedTasks cancels the tasks that svc counts for an owner revoked
// after submitting them, and forgets those that ended.
func endRevokedTasks(ctx context.Context, rv revocations, svc *api.Service, c *client.Client, log *slog.Logger) {
	owners := svc.Owners()
	if len(owners) == 0 {
		return
	}
	revoked := rv.revokedUsers()
	admin := client.WithAccess(ctx, bus.Admin)
	for _, owner := range owners {
		// First whether the owner was revoked at all: one read an owner,
		// and task ids and states are read only for the revoked.
		why, err := rv.ownerWhy(ctx, revoked, owner, time.Time{})
		if err != nil {
			log.Warn("read revocations", "owner", owner, "err", err)
			continue
		}
		if why == "" {
			continue
		}
		for _, id := range svc.HeldIDs(owner) {
			st, err := c.Status(admin, id)
			switch {
			case errors.Is(err, client.ErrNotFound):
				// No events left to tell when it was submitted: the
				// queue scan reads that from the task itself and ends it,
				// and the ledger forgets it once the queue holds it no more.
				continue
			case err != nil:
				continue // read again at the next sweep
			case st.Owner != owner:
				// The id records another owner's submission now (taken
				// again once this one's events aged out): not this
				// owner's to end. The queue scan ends this owner's body,
				// and the ledger forgets it once the queue holds it no more.
				continue
			case st.State.Final():
				svc.Ended(owner, id)
				continue
			}
			// Revoking "*" ends only what was submitted before its time.
			if why, err = rv.ownerWhy(ctx, revoked, owner, st.Submitted); err != nil || why == "" {
				continue
			}
			_ = endRevokedTask(admin, c, log, id, owner, why, true) // tried again at the next sweep
		}
		// What the ids alone do not reach (earlier submissions under an
		// id submitted again, tasks whose events aged out) the ledger's
		// own recount forgets, by its rules.
		svc.Recount(owner)
	}
}

// endRevokedTask cancels task id of a revoked owner: through its events
// when it has some (recorded), else with a cancelled event of its own.
// An error means it may still run.
func endRevokedTask(admin context.Context, c *client.Client, log *slog.Logger, id string, owner bus.Owner, why string, recorded bool) error {
	reason := "cancelled by the kernel: " + why
	var err error
	if recorded {
		err = c.Cancel(admin, id, reason)
	} else {
		err = c.CancelUnrecorded(admin, id, reason)
	}
	switch {
	case errors.Is(err, client.ErrFinished):
		return nil // ended meanwhile (another kernel's sweep, its worker)
	case err != nil:
		if admin.Err() == nil {
			log.Warn("cancel a revoked owner's task", "task", id, "owner", owner, "err", err)
		}
		return err
	}
	log.Info("cancelled a revoked owner's task: "+why, "task", id, "owner", owner)
	return nil
}
