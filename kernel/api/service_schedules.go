package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nkeys"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// addScheduleEndpoints serves <prefix>.api.schedules.{create,list,get,
// pause,resume,delete} when the service has a ScheduleStore. Making a
// schedule for a granted profile is amf.api.schedules.create.<policy>:
// as for submit, the subject is the grant.
func (s *Service) addScheduleEndpoints(ctx context.Context, g micro.Group) error {
	if s.Schedules == nil {
		return nil
	}
	unowned := []endpoint{
		// A client credential's own create: the subject names its key.
		{"schedules-create-maker", "schedules.create.*", s.createSchedule(ctx)},
		{"schedules-create-maker-granted", "schedules.create.*.*", s.createSchedule(ctx)},
	}
	for _, ep := range unowned {
		if err := g.AddEndpoint(ep.name, published(ep.h), micro.WithEndpointSubject(ep.subject)); err != nil {
			return fmt.Errorf("add endpoint %s: %w", ep.name, err)
		}
	}
	del := func(ctx context.Context, id string) (bus.Schedule, error) {
		return bus.Schedule{ID: id}, s.Schedules.Delete(ctx, id)
	}
	eps := []endpoint{
		{"schedules-create", "schedules.create", s.createSchedule(ctx)},
		{"schedules-list", "schedules.list", s.listSchedules(ctx)},
		{"schedules-get", "schedules.get", s.scheduleOp(ctx, false, s.Schedules.Get)},
		{"schedules-pause", "schedules.pause", s.scheduleOp(ctx, true, s.Schedules.Pause)},
		{"schedules-resume", "schedules.resume", s.resumeSchedule(ctx)},
		{"schedules-resume-granted", "schedules.resume.*", s.resumeSchedule(ctx)},
		{"schedules-delete", "schedules.delete", s.scheduleOp(ctx, true, del)},
	}
	for i := range eps {
		eps[i].h = published(eps[i].h)
	}
	if err := addOwned(g, eps); err != nil {
		return err
	}
	// amf.api.as.<owner>.schedules.create.<policy>: the bridge's, for a
	// token granted that profile (an unowned create.<x> names a maker).
	return g.AddEndpoint("as-schedules-create-granted", published(s.createSchedule(ctx)), micro.WithEndpointSubject("as.*.schedules.create.*"))
}

func (s *Service) createSchedule(ctx context.Context) micro.HandlerFunc {
	names := s.Client.Names
	return func(r micro.Request) {
		t, err := bus.DecodeTaskMsg(r.Data(), nats.Header(r.Headers()), 0)
		if err != nil {
			fail(r, err)
			return
		}
		if t.Schedule == "" {
			_ = r.Error("400", fmt.Sprintf("%s: the task has no \"schedule\": add one such as \"every 5m\" or \"*/5 * * * *\"", bus.ErrInvalidTask), nil)
			return
		}
		a, op := s.asked(r.Subject())
		var maker, grant string
		if a.ActAll {
			maker, grant = createSubject(names, r.Subject())
			if maker != "" {
				// Made under a client credential's own key: it owns it.
				a = bus.Access{Owner: bus.OwnerOfCredential(bus.CredentialID(maker))}
			}
		} else {
			grant = strings.TrimPrefix(strings.TrimPrefix(op, "schedules.create"), ".")
		}
		t.Owner = a.Owner
		// The grant judged is the profile the runs will have.
		named := t.Policy != ""
		s.Client.ResolvePolicy(ctx, &t)
		grant = askersGrant(a, &t, grant)
		if !bus.PolicyAllowed(t.Policy, grant) {
			refuseGrant(r, t.Policy, named, "schedules", names.ScheduleCreate(orKey(maker), t.Policy))
			return
		}
		var sc bus.Schedule
		if m, ok := s.Schedules.(MakerScheduleStore); ok {
			sc, err = m.CreateBy(ctx, t, maker)
		} else {
			sc, err = s.Schedules.Create(ctx, t)
		}
		if err != nil {
			fail(r, err)
			return
		}
		_ = r.RespondJSON(sc.Shown())
	}
}

// MakerScheduleStore is a ScheduleStore that records who made each
// schedule and checks a resume's grant on the version it resumes: the
// kernel's (kernel/schedule.Store).
type MakerScheduleStore interface {
	client.ScheduleStore
	// CreateBy makes a schedule as Create does, recording maker.
	CreateBy(ctx context.Context, t bus.Task, maker string) (bus.Schedule, error)
	// ResumeIf resumes a schedule when allow accepts the version it
	// writes over.
	ResumeIf(ctx context.Context, id string, allow func(bus.Schedule) error) (bus.Schedule, error)
}

// createSubject reads a create request's subject:
// amf.api.schedules.create[.<maker>][.<policy>]. nats-server lets a
// credential other than an admin publish only under its own user key.
func createSubject(names bus.Names, subject string) (maker, grant string) {
	rest := strings.TrimPrefix(strings.TrimPrefix(subject, names.ScheduleAPI("create")), ".")
	first, second, _ := strings.Cut(rest, ".")
	if nkeys.IsValidPublicUserKey(first) {
		return first, second
	}
	return "", rest // an admin's, without a maker key
}

func orKey(maker string) string {
	if maker == "" {
		return "<user key>"
	}
	return maker
}

// resumeSchedule resumes a schedule only on the subject of its task's
// grant: resuming starts runs, which needs what making it needed.
func (s *Service) resumeSchedule(ctx context.Context) micro.HandlerFunc {
	names := s.Client.Names
	return s.scheduleOpOn(ctx, true, func(ctx context.Context, subject, id string) (bus.Schedule, error) {
		_, op := s.asked(subject)
		grant := strings.TrimPrefix(strings.TrimPrefix(op, "schedules.resume"), ".")
		allow := func(sc bus.Schedule) error {
			if !bus.PolicyAllowed(sc.Task.Policy, grant) {
				return fmt.Errorf("%w: %s: schedule %s runs policy %q; a credential granted it resumes it on %s",
					client.ErrForbidden, bus.RuleGrant, id, sc.Task.Policy, names.ScheduleResume(sc.Task.Policy))
			}
			return nil
		}
		if m, ok := s.Schedules.(MakerScheduleStore); ok {
			// Checked on the version the resume writes over: a
			// schedule changed in between is read and checked again.
			return m.ResumeIf(ctx, id, allow)
		}
		sc, err := s.Schedules.Get(ctx, id)
		if err != nil {
			return sc, err
		}
		if err := allow(sc); err != nil {
			return sc, err
		}
		return s.Schedules.Resume(ctx, id)
	})
}

func (s *Service) listSchedules(ctx context.Context) micro.HandlerFunc {
	return func(r micro.Request) {
		a, _ := s.asked(r.Subject())
		all, err := s.Schedules.List(ctx)
		if err != nil {
			fail(r, err)
			return
		}
		out := make([]bus.Schedule, 0, len(all))
		for _, sc := range all {
			if a.MaySee(sc.Task.Owner) {
				out = append(out, sc.Shown())
			}
		}
		_ = r.RespondJSON(out)
	}
}

func (s *Service) scheduleOp(ctx context.Context, write bool, op func(context.Context, string) (bus.Schedule, error)) micro.HandlerFunc {
	return s.scheduleOpOn(ctx, write, func(ctx context.Context, _, id string) (bus.Schedule, error) { return op(ctx, id) })
}

// scheduleOpOn answers a request naming one schedule with op, which also
// sees the subject the request came on. Only its owner and admins may
// change a schedule (write), and see it, with read-all credentials: to
// anyone else it does not exist.
func (s *Service) scheduleOpOn(ctx context.Context, write bool, op func(ctx context.Context, subject, id string) (bus.Schedule, error)) micro.HandlerFunc {
	return func(r micro.Request) {
		var q client.ScheduleRef
		if err := json.Unmarshal(r.Data(), &q); err != nil || !bus.ValidToken(q.ID) {
			_ = r.Error("400", `send {"id":"<schedule id>"}`, nil)
			return
		}
		if a, _ := s.asked(r.Subject()); !a.ActAll {
			sc, err := s.Schedules.Get(ctx, q.ID)
			if err == nil && !a.MaySee(sc.Task.Owner) {
				err = fmt.Errorf("%w: %s", client.ErrScheduleNotFound, q.ID)
			}
			if err == nil && write && !a.MayTouch(sc.Task.Owner) {
				err = fmt.Errorf("%w: schedule %s is another owner's: only its owner or an admin may change it", client.ErrForbidden, q.ID)
			}
			if err != nil {
				fail(r, err)
				return
			}
		}
		sc, err := op(ctx, r.Subject(), q.ID)
		if err != nil {
			fail(r, err)
			return
		}
		_ = r.RespondJSON(sc.Shown())
	}
}
