package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
)

// ScheduleStore keeps schedules (kernel/schedule.Store). The task API
// serves it; parts without the kernel's credential reach it through the
// Client's schedule methods below.
type ScheduleStore interface {
	Create(ctx context.Context, t bus.Task) (bus.Schedule, error)
	Get(ctx context.Context, id string) (bus.Schedule, error)
	List(ctx context.Context) ([]bus.Schedule, error)
	Pause(ctx context.Context, id string) (bus.Schedule, error)
	Resume(ctx context.Context, id string) (bus.Schedule, error)
	Delete(ctx context.Context, id string) error
}

// The client side of schedules: always through the task API, whose
// subjects are where nats-server decides who may make and change them.
var _ ScheduleStore = (*Schedules)(nil)

// Schedules asks the task API about schedules on behalf of c.
type Schedules struct{ C *Client }

// ScheduleRef is the body of a get, pause, resume or delete request.
type ScheduleRef struct {
	ID string `json:"id"`
}

// Create asks for a schedule of t, on the subject of t's policy: only a
// credential that may submit the task may schedule it.
func (s Schedules) Create(ctx context.Context, t bus.Task) (bus.Schedule, error) {
	if err := t.Normalize(); err != nil {
		return bus.Schedule{}, err
	}
	return withDefault(ctx, t, func(t bus.Task) (bus.Schedule, error) { return s.create(ctx, t) })
}

// create is Create on the subject of t's policy.
func (s Schedules) create(ctx context.Context, t bus.Task) (bus.Schedule, error) {
	subject := s.C.Names.ScheduleCreate(s.C.credential().key, t.Policy)
	if a, ok := AccessFrom(ctx); ok && a.Owner != "" {
		// On behalf of a token: the subject names whose it is.
		subject = s.C.Names.As(a.Owner, granted("schedules.create", t.Policy))
	} else if s.C.credential().operator {
		// An operator's, on the unowned subject: the kernel judges its
		// task by the profile its runs will get, which any operator may
		// ask for (a key in the subject would hold only its grant).
		subject = s.C.Names.ScheduleAPI(granted("create", t.Policy))
	}
	reply, err := s.C.request(ctx, subject, t.Encode())
	if errors.Is(err, nats.ErrPermissionViolation) {
		return bus.Schedule{}, fmt.Errorf("%w: this credential may not publish on %s: it may not schedule tasks, or not for policy %q", ErrForbidden, subject, t.Policy)
	}
	return decodeSchedule(reply, scheduleError(err))
}

// UserKey is the user public key of nc's credential, "" when it has
// none (a server without accounts): the key names the maker of the
// schedules it makes (bus.Names.ScheduleCreate).
func UserKey(nc *nats.Conn) string {
	if uc, ok := userClaims(nc); ok {
		return uc.Subject
	}
	return ""
}

// Get returns one schedule.
func (s Schedules) Get(ctx context.Context, id string) (bus.Schedule, error) {
	return decodeSchedule(s.ask(ctx, "get", id))
}

// Pause stops a schedule's runs.
func (s Schedules) Pause(ctx context.Context, id string) (bus.Schedule, error) {
	return decodeSchedule(s.ask(ctx, "pause", id))
}

// Resume starts a paused schedule again, asking on the subject of its
// task's policy: only a credential that may submit the task may resume it.
func (s Schedules) Resume(ctx context.Context, id string) (bus.Schedule, error) {
	sc, err := s.Get(ctx, id)
	if err != nil {
		return sc, err
	}
	return s.ResumeAs(ctx, id, sc.Task.Policy)
}

// ResumeAs resumes a schedule on the subject of policy, the policy the
// caller checked: the task API resumes it only if the version it writes
// over still runs that policy (or one the subject's grant covers).
func (s Schedules) ResumeAs(ctx context.Context, id, policy string) (bus.Schedule, error) {
	sc := bus.Schedule{ID: id, Task: bus.Task{Policy: policy}}
	if a := s.C.access(ctx); a.SeeAll && !a.ActAll {
		if err := s.mayTouch(ctx, a, id); err != nil {
			return bus.Schedule{}, err
		}
	}
	subject := s.C.Names.ScheduleResume(policy)
	if a := s.C.access(ctx); !a.ActAll && a.Owner != "" {
		subject = s.C.Names.As(a.Owner, granted("schedules.resume", policy))
	}
	body, _ := json.Marshal(ScheduleRef{ID: id})
	reply, err := s.C.request(ctx, subject, body)
	if errors.Is(err, nats.ErrPermissionViolation) {
		return bus.Schedule{}, fmt.Errorf("%w: this credential may not publish on %s: schedule %s runs policy %q, which it was not granted", ErrForbidden, subject, id, sc.Task.Policy)
	}
	return decodeSchedule(reply, scheduleError(err))
}

// Delete removes a schedule for good.
func (s Schedules) Delete(ctx context.Context, id string) error {
	_, err := s.ask(ctx, "delete", id)
	return err
}

// List returns every schedule.
func (s Schedules) List(ctx context.Context) ([]bus.Schedule, error) {
	reply, err := s.ask(ctx, "list", "")
	if err != nil {
		return nil, err
	}
	var out []bus.Schedule
	if err := json.Unmarshal(reply, &out); err != nil {
		return nil, fmt.Errorf("%w: list schedules answered %q", ErrUnavailable, reply)
	}
	return out, nil
}

func (s Schedules) ask(ctx context.Context, op, id string) ([]byte, error) {
	a := s.C.access(ctx)
	subject := s.C.writeSubject(a, "schedules."+op)
	if op == "get" || op == "list" {
		subject = s.C.readSubject(a, "schedules."+op)
	} else if a.SeeAll && !a.ActAll {
		// As for cancel (cancelViaAPI): a read-all caller learns why.
		if err := s.mayTouch(ctx, a, id); err != nil {
			return nil, err
		}
	}
	body, _ := json.Marshal(ScheduleRef{ID: id})
	reply, err := s.C.request(ctx, subject, body)
	if errors.Is(err, nats.ErrPermissionViolation) {
		return nil, fmt.Errorf("%w: this credential may not publish on %s", ErrForbidden, subject)
	}
	return reply, scheduleError(err)
}

// scheduleError maps the API's codes for schedules: 404 and 409 name a
// schedule, not a task.
func scheduleError(err error) error {
	var ae *apiErr
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.code {
	case "404":
		return wrapText(ErrScheduleNotFound, ae.text)
	case "409":
		return wrapText(ErrScheduleExists, ae.text)
	case "507":
		return wrapText(ErrSchedulesFull, ae.text)
	}
	return err
}

func decodeSchedule(reply []byte, err error) (bus.Schedule, error) {
	if err != nil {
		return bus.Schedule{}, err
	}
	var sc bus.Schedule
	if err := json.Unmarshal(reply, &sc); err != nil || sc.ID == "" {
		return bus.Schedule{}, fmt.Errorf("%w: schedule answer %q", ErrUnavailable, reply)
	}
	return sc, nil
}

// granted is op with policy's grant token: op for the base profile,
// op.<policy> for any other.
func granted(op, policy string) string {
	if policy == "" || policy == bus.BasePolicy {
		return op
	}
	return op + "." + policy
}

// mayTouch refuses a change a read-all caller may not make to another
// owner's schedule it can see.
func (s Schedules) mayTouch(ctx context.Context, a bus.Access, id string) error {
	sc, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if !a.MayTouch(sc.Task.Owner) {
		return fmt.Errorf("%w: schedule %s is another owner's: the read-all right sees it, only its owner or an admin may change it", ErrForbidden, id)
	}
	return nil
}
