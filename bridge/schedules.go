package bridge

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// Schedules over HTTP: a task with a "schedule" (POST /v1/tasks or
// POST /v1/schedules) is made a schedule through the task API, which
// the bridge's credential reaches on the subject of the task's policy;
// the token's grant is checked here first, as for any task.

// scheduleAnswer is a schedule with where to follow it.
type scheduleAnswer struct {
	bus.Schedule
	URL string `json:"url"`
}

func (s *Server) schedules() client.ScheduleStore {
	if s.Schedules != nil {
		return s.Schedules
	}
	return client.Schedules{C: &client.Client{NC: s.Client.NC, Names: s.Names, ViaAPI: true}}
}

func answer(sc bus.Schedule) scheduleAnswer {
	return scheduleAnswer{Schedule: sc.Shown(), URL: "/v1/schedules/" + sc.ID}
}

// createSchedule answers POST /v1/schedules, and POST /v1/tasks for a
// task with a schedule.
func (s *Server) createSchedule(c echo.Context) error {
	t, err := s.readTask(c)
	if err != nil {
		return err
	}
	if t.Schedule == "" {
		return fail(http.StatusBadRequest, "invalid_task", `the task has no "schedule": add one such as "every 5m" or "*/5 * * * *"`)
	}
	return s.makeSchedule(c, t)
}

func (s *Server) makeSchedule(c echo.Context, t bus.Task) error {
	named := t.Policy != ""
	s.Client.ResolvePolicy(c.Request().Context(), &t)
	if err := s.allowPolicy(c, t, named); err != nil {
		return err
	}
	sc, err := s.schedules().Create(c.Request().Context(), t)
	if err != nil {
		return scheduleFail(err)
	}
	return c.JSON(http.StatusCreated, answer(sc))
}

func (s *Server) listSchedules(c echo.Context) error {
	list, err := s.schedules().List(c.Request().Context())
	if err != nil {
		return scheduleFail(err)
	}
	out := make([]scheduleAnswer, 0, len(list))
	for _, sc := range list {
		out = append(out, answer(sc))
	}
	return c.JSON(http.StatusOK, out)
}

// onSchedule answers GET, pause and resume of /v1/schedules/:id.
func (s *Server) onSchedule(c echo.Context, op func(client.ScheduleStore, context.Context, string) (bus.Schedule, error)) error {
	id, err := taskParam(c)
	if err != nil {
		return err
	}
	sc, err := op(s.schedules(), c.Request().Context(), id)
	if err != nil {
		return scheduleFail(err)
	}
	return c.JSON(http.StatusOK, answer(sc))
}

func (s *Server) getSchedule(c echo.Context) error {
	return s.onSchedule(c, client.ScheduleStore.Get)
}

func (s *Server) pauseSchedule(c echo.Context) error {
	return s.onSchedule(c, client.ScheduleStore.Pause)
}

// resumeSchedule needs the token's grant for the schedule's profile:
// resuming starts runs, as making it did.
func (s *Server) resumeSchedule(c echo.Context) error {
	return s.onSchedule(c, func(st client.ScheduleStore, ctx context.Context, id string) (bus.Schedule, error) {
		// The grant is checked on the version resumed: by the store
		// itself, or by the task API on the subject of the policy
		// checked here.
		if m, ok := st.(api.MakerScheduleStore); ok {
			return m.ResumeIf(ctx, id, func(sc bus.Schedule) error { return s.allowPolicy(c, sc.Task, true) })
		}
		sc, err := st.Get(ctx, id)
		if err != nil {
			return sc, err
		}
		if err := s.allowPolicy(c, sc.Task, true); err != nil {
			return sc, err
		}
		if remote, ok := st.(client.Schedules); ok {
			return remote.ResumeAs(ctx, id, sc.Task.Policy)
		}
		return st.Resume(ctx, id)
	})
}

func (s *Server) deleteSchedule(c echo.Context) error {
	id, err := taskParam(c)
	if err != nil {
		return err
	}
	if err := s.schedules().Delete(c.Request().Context(), id); err != nil {
		return scheduleFail(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// scheduleFail renders a schedule error in the stable shape.
func scheduleFail(err error) error {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, bus.ErrTooLarge):
		return fail(http.StatusRequestEntityTooLarge, "too_large", err.Error())
	case errors.Is(err, bus.ErrInvalidTask):
		return fail(http.StatusBadRequest, "invalid_task", err.Error())
	case errors.Is(err, client.ErrQuota):
		// One owner's limit, named in the message: others go on.
		return fail(http.StatusTooManyRequests, "quota", err.Error())
	case errors.Is(err, client.ErrScheduleNotFound):
		return fail(http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, client.ErrScheduleExists):
		return fail(http.StatusConflict, "exists", err.Error())
	case errors.Is(err, client.ErrForbidden):
		return fail(http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, client.ErrSchedulesFull):
		return fail(http.StatusInsufficientStorage, "schedules_full", err.Error())
	}
	return fail(http.StatusServiceUnavailable, "unavailable", err.Error())
}
