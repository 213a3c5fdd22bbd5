package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/amf-os/amf/kernel/bus"
)

// addScheduleEndpoints serves <prefix>.api.schedules.{create,list,get,
// pause,resume,delete} when the service has a ScheduleStore. Making a
// schedule for a granted profile is amf.api.schedules.create.<policy>:
// as for submit, the subject is the grant.
func (s *Service) addScheduleEndpoints(ctx context.Context, g micro.Group) error {
	if s.Schedules == nil {
		return nil
	}
	eps := []struct {
		name, subject string
		h             micro.HandlerFunc
	}{
		{"schedules-create", "schedules.create", s.createSchedule(ctx)},
		{"schedules-create-granted", "schedules.create.*", s.createSchedule(ctx)},
		{"schedules-list", "schedules.list", s.listSchedules(ctx)},
		{"schedules-get", "schedules.get", s.scheduleOp(ctx, s.Schedules.Get)},
		{"schedules-pause", "schedules.pause", s.scheduleOp(ctx, s.Schedules.Pause)},
		{"schedules-resume", "schedules.resume", s.resumeSchedule(ctx)},
		{"schedules-resume-granted", "schedules.resume.*", s.resumeSchedule(ctx)},
		{"schedules-delete", "schedules.delete", s.scheduleOp(ctx, func(ctx context.Context, id string) (bus.Schedule, error) {
			return bus.Schedule{ID: id}, s.Schedules.Delete(ctx, id)
		})},
	}
	for _, ep := range eps {
		if err := g.AddEndpoint(ep.name, published(ep.h), micro.WithEndpointSubject(ep.subject)); err != nil {
			return fmt.Errorf("add endpoint %s: %w", ep.name, err)
		}
	}
	return nil
}

func (s *Service) createSchedule(ctx context.Context) micro.HandlerFunc {
	names := s.Client.Names
	return func(r micro.Request) {
		t, err := bus.DecodeTaskMsg(r.Data(), nats.Header(r.Headers()), 0)
		if err != nil {
			scheduleFail(r, err)
			return
		}
		if t.Schedule == "" {
			_ = r.Error("400", fmt.Sprintf("%s: the task has no \"schedule\": add one such as \"every 5m\" or \"*/5 * * * *\"", bus.ErrInvalidTask), nil)
			return
		}
		grant := strings.TrimPrefix(strings.TrimPrefix(r.Subject(), names.ScheduleCreate("")), ".")
		if !bus.PolicyAllowed(t.Policy, grant) {
			_ = r.Error("403", fmt.Sprintf("%s: policy %q needs the grant %q; a credential granted it schedules on %s",
				bus.RuleGrant, t.Policy, t.Policy, names.ScheduleCreate(t.Policy)), nil)
			return
		}
		sc, err := s.Schedules.Create(ctx, t)
		if err != nil {
			scheduleFail(r, err)
			return
		}
		sc.Task = sc.Task.Redacted()
		_ = r.RespondJSON(sc)
	}
}

// resumeSchedule resumes a schedule only on the subject of its task's
// grant: resuming starts runs, which needs what making it needed.
func (s *Service) resumeSchedule(ctx context.Context) micro.HandlerFunc {
	names := s.Client.Names
	return s.scheduleOpOn(ctx, func(ctx context.Context, subject, id string) (bus.Schedule, error) {
		sc, err := s.Schedules.Get(ctx, id)
		if err != nil {
			return sc, err
		}
		grant := strings.TrimPrefix(strings.TrimPrefix(subject, names.ScheduleResume("")), ".")
		if !bus.PolicyAllowed(sc.Task.Policy, grant) {
			return sc, fmt.Errorf("%w: %s: schedule %s runs policy %q; a credential granted it resumes it on %s",
				ErrForbidden, bus.RuleGrant, id, sc.Task.Policy, names.ScheduleResume(sc.Task.Policy))
		}
		return s.Schedules.Resume(ctx, id)
	})
}

func (s *Service) listSchedules(ctx context.Context) micro.HandlerFunc {
	return func(r micro.Request) {
		out, err := s.Schedules.List(ctx)
		if err != nil {
			scheduleFail(r, err)
			return
		}
		_ = r.RespondJSON(out)
	}
}

func (s *Service) scheduleOp(ctx context.Context, op func(context.Context, string) (bus.Schedule, error)) micro.HandlerFunc {
	return s.scheduleOpOn(ctx, func(ctx context.Context, _, id string) (bus.Schedule, error) { return op(ctx, id) })
}

// scheduleOpOn answers a request naming one schedule with op, which also
// sees the subject the request came on.
func (s *Service) scheduleOpOn(ctx context.Context, op func(ctx context.Context, subject, id string) (bus.Schedule, error)) micro.HandlerFunc {
	return func(r micro.Request) {
		var q ScheduleRef
		if err := json.Unmarshal(r.Data(), &q); err != nil || !bus.ValidToken(q.ID) {
			_ = r.Error("400", `send {"id":"<schedule id>"}`, nil)
			return
		}
		sc, err := op(ctx, r.Subject(), q.ID)
		if err != nil {
			scheduleFail(r, err)
			return
		}
		sc.Task = sc.Task.Redacted()
		_ = r.RespondJSON(sc)
	}
}

// scheduleFail answers err with the code its kind has.
func scheduleFail(r micro.Request, err error) {
	code := "503"
	switch {
	case errors.Is(err, bus.ErrTooLarge):
		code = "413"
	case errors.Is(err, bus.ErrInvalidTask):
		code = "400"
	case errors.Is(err, ErrScheduleNotFound):
		code = "404"
	case errors.Is(err, ErrScheduleExists):
		code = "409"
	case errors.Is(err, ErrForbidden):
		code = "403"
	case errors.Is(err, ErrSchedulesFull):
		code = "507"
	}
	_ = r.Error(code, err.Error(), nil)
}
