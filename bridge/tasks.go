package bridge

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// submitted is the 202 answer to POST /v1/tasks.
type submitted struct {
	ID        string `json:"id"`
	Pool      string `json:"pool"`
	EventsURL string `json:"events_url"`
	StatusURL string `json:"status_url"`
	Duplicate bool   `json:"duplicate,omitempty"`
	// Warning says why the task may wait: no live worker serves its pool.
	Warning string `json:"warning,omitempty"`
	// StreamError says why a submission that asked for its events
	// (Accept: text/event-stream) is answered without them: the task is
	// submitted, and events_url says why it cannot be read yet.
	StreamError string `json:"stream_error,omitempty"`
}

func (s *Server) submit(c echo.Context) error {
	t, err := s.readTask(c)
	if err != nil {
		return err
	}
	if t.Schedule != "" {
		// A task with a schedule recurs: it becomes a schedule.
		return s.makeSchedule(c, t)
	}
	// The grant judged is the profile the task will run with.
	named := t.Policy != ""
	s.Client.ResolvePolicy(c.Request().Context(), &t)
	if err := s.allowPolicy(c, t, named); err != nil {
		if perr := s.Client.CheckProfile(c.Request().Context(), t); perr != nil {
			// A profile that does not exist is the cause to fix.
			return fail(http.StatusBadRequest, "invalid_task", perr.Error())
		}
		return err
	}
	if t.ScheduleID != "" {
		// As the task API answers: a run's schedule_id is the kernel's.
		return fail(http.StatusBadRequest, "invalid_task", s.Client.Names.ErrRunByKernel(t.ScheduleID).Error())
	}
	if wantsStream(c.Request()) {
		return s.submitStreaming(c, t)
	}
	t, dup, warning, err := s.Client.SubmitWarn(c.Request().Context(), t)
	if errors.Is(err, bus.ErrInvalidTask) {
		// A profile or workspace no worker of the pool serves
		// (client.checkOffers).
		return fail(http.StatusBadRequest, "invalid_task", err.Error())
	}
	if err != nil {
		return submitFailure(err)
	}
	s.metrics.submitted.Inc()
	return c.JSON(http.StatusAccepted, submittedOf(t, dup, warning))
}

func submittedOf(t bus.Task, dup bool, warning string) submitted {
	return submitted{
		ID:        t.ID,
		Pool:      t.Pool,
		EventsURL: "/v1/tasks/" + t.ID + "/events",
		StatusURL: "/v1/tasks/" + t.ID,
		Duplicate: dup,
		Warning:   warning,
	}
}

// readTask reads and validates the task in a request's body, once:
// Submit does not validate it again.
func (s *Server) readTask(c echo.Context) (bus.Task, error) {
	if ct := c.Request().Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return bus.Task{}, fail(http.StatusUnsupportedMediaType, "unsupported_media_type", fmt.Sprintf("Content-Type %q: send the task as application/json", ct))
		}
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, bus.MaxTaskBytes+1))
	if err != nil {
		return bus.Task{}, fail(http.StatusBadRequest, "bad_request", "read body: "+err.Error())
	}
	if len(body) > bus.MaxTaskBytes {
		return bus.Task{}, fail(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("task is larger than %d bytes", bus.MaxTaskBytes))
	}
	t, err := bus.DecodeTask(body)
	if err != nil {
		if errors.Is(err, bus.ErrTooLarge) {
			return bus.Task{}, fail(http.StatusRequestEntityTooLarge, "too_large", err.Error())
		}
		return bus.Task{}, fail(http.StatusBadRequest, "invalid_task", err.Error())
	}
	// Who owns the task is the token's to say (auth.go), never the body's.
	t.Owner = ""
	return t, nil
}

// taskParam returns the :id path parameter if it can be a task id.
func taskParam(c echo.Context) (string, error) {
	id := c.Param("id")
	if !bus.ValidToken(id) {
		return "", fail(http.StatusBadRequest, "bad_request", fmt.Sprintf("%q is not a task id: letters, digits, '-' and '_' only", id))
	}
	return id, nil
}

func (s *Server) status(c echo.Context) error {
	id, err := taskParam(c)
	if err != nil {
		return err
	}
	st, err := s.Client.Status(c.Request().Context(), id)
	switch {
	case errors.Is(err, client.ErrNotFound):
		return fail(http.StatusNotFound, "not_found", "no task "+id)
	case err != nil:
		return unavailable(err)
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) cancel(c echo.Context) error {
	id, err := taskParam(c)
	if err != nil {
		return err
	}
	reason := c.QueryParam("reason")
	err = s.Client.Cancel(c.Request().Context(), id, reason)
	switch {
	case errors.Is(err, client.ErrNotFound):
		return fail(http.StatusNotFound, "not_found", "no task "+id)
	case errors.Is(err, client.ErrFinished):
		return fail(http.StatusConflict, "finished", err.Error())
	case errors.Is(err, client.ErrForbidden):
		return fail(http.StatusForbidden, "forbidden", err.Error())
	case err != nil:
		return fail(http.StatusServiceUnavailable, "unavailable", err.Error())
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": id, "status": "cancelling"})
}

func (s *Server) list(c echo.Context) error {
	if s.Recent == nil {
		return fail(http.StatusNotImplemented, "not_implemented", "listing tasks needs the hot cache")
	}
	n := 50
	if q := c.QueryParam("limit"); q != "" {
		v, err := strconv.Atoi(q)
		if err != nil || v < 1 || v > 1000 {
			return fail(http.StatusBadRequest, "bad_request", "limit must be a whole number from 1 to 1000")
		}
		n = v
	}
	st, err := s.Client.List(c.Request().Context(), s.Recent, n)
	if err != nil {
		return fail(http.StatusServiceUnavailable, "unavailable", err.Error())
	}
	return c.JSON(http.StatusOK, map[string]any{"tasks": st})
}

func (s *Server) workers(c echo.Context) error {
	ws, err := s.Workers.Workers(c.Request().Context())
	if err != nil {
		return fail(http.StatusServiceUnavailable, "unavailable", err.Error())
	}
	return c.JSON(http.StatusOK, map[string]any{"workers": ws})
}
