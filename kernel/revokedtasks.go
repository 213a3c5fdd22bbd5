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

// sweepRevokedTasks cancels a revoked owner's tasks. It reads the owners
// the task API's quota counts tasks for (what this kernel accepted, and
// after a restart what the hot cache held), so each kernel of a cluster
// ends what it accepted; a task cancelled while queued is dropped by the
// worker that pulls it, a running one is stopped by its worker.
func (s *Server) sweepRevokedTasks(js jetstream.JetStream) *sweeper {
	rv := revocations{s: s, js: js}
	svc := s.parts.svc
	c := &client.Client{NC: s.nc, JS: js, Names: s.Names}
	log := s.logger().With("part", "revoked-tasks")
	return sweep(revokedSweepEvery, func(ctx context.Context) { endRevokedTasks(ctx, rv, svc, c, log) })
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
			if err != nil && !errors.Is(err, client.ErrNotFound) {
				continue // read again at the next sweep
			}
			if err != nil || st.State.Final() {
				svc.Ended(owner, id)
				continue
			}
			// Revoking "*" ends only what was submitted before its time.
			if why, err = rv.ownerWhy(ctx, revoked, owner, st.Submitted); err != nil || why == "" {
				continue
			}
			err = c.Cancel(admin, id, "cancelled by the kernel: "+why)
			if err != nil && ctx.Err() == nil {
				log.Warn("cancel a revoked owner's task", "task", id, "owner", owner, "err", err)
				continue
			}
			log.Info("cancelled a revoked owner's task: "+why, "task", id, "owner", owner)
		}
	}
}
