package kernel

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/retry"
	"github.com/amf-os/amf/kernel/schedule"
)

// runSchedules turns the runs JetStream's scheduler publishes into tasks,
// on the kernel's own connection; the kernels of a cluster share them.
func (s *Server) runSchedules(ctx context.Context, js jetstream.JetStream) error {
	r := &schedule.Runner{
		Client:  &client.Client{NC: s.nc, JS: js, Names: s.Names},
		Store:   s.ScheduleStore(js),
		Log:     s.logger().With("part", "schedules"),
		Revoked: revocations{s: s, js: js}.why,
		Quota:   s.parts.svc,
	}
	// A kernel restarted into a cluster that is still electing leaders
	// may see its consumer's creation time out: it waits, as for its
	// other streams, instead of exiting.
	if err := retry.AtStart(ctx, s.logger(), "schedule runner", r.Start); err != nil {
		return err
	}
	s.schedules = r
	return nil
}

// ScheduleStore keeps the schedules the task API serves; js must hold a
// credential that writes the schedules stream (the kernel's, an admin's).
func (s *Server) ScheduleStore(js jetstream.JetStream) *schedule.Store {
	return &schedule.Store{JS: js, Names: s.Names, PerMaker: s.QuotaSchedules, OwnerBytes: s.QuotaScheduleBytes}
}
