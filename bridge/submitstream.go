package bridge

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// wantsStream reports whether a submission asks to be answered with its
// task's events (Accept: text/event-stream) rather than with its id.
func wantsStream(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
			return true
		}
	}
	return false
}

// submitStreaming submits t and answers 202 with its events as
// Server-Sent Events, from the accepted one to the terminal one, as GET
// events_url would: one request instead of two, and the kernel opens the
// stream while a worker takes the task. Location and Amf-Task-Id name the
// task before its first event. When the stream cannot be opened (a
// token without the read scope, too many open on this bridge or in the
// kernel) the task is submitted all
// the same and the answer is the usual JSON, saying why in stream_error.
func (s *Server) submitStreaming(c echo.Context, t bus.Task) error {
	release, streamErr := func() {}, error(nil)
	if rec, ok := c.Get(tokenKey).(tokens.Record); ok && !rec.Has(tokens.ScopeRead) {
		// Submitting is not reading: the events are GET events_url's,
		// whose scope this token lacks.
		streamErr = fail(http.StatusForbidden, "forbidden", fmt.Sprintf("this token lacks the %q scope, which reading the task's events needs; issue one that has it with `amf auth token create --scope %s`", tokens.ScopeRead, tokens.ScopeRead))
	} else if release, streamErr = s.acquireStream(c); streamErr != nil {
		release = func() {}
	}
	defer release()
	ctx := c.Request().Context()
	var (
		sm  client.Submission
		err error
	)
	if streamErr == nil {
		sm, err = s.Client.SubmitOpen(ctx, readerOf(c), t)
	} else {
		sm.Task, sm.Duplicate, sm.Warning, err = s.Client.SubmitWarn(ctx, t)
	}
	if errors.Is(err, bus.ErrInvalidTask) {
		return fail(http.StatusBadRequest, "invalid_task", err.Error())
	}
	if err != nil {
		return submitFailure(err)
	}
	s.metrics.submitted.Inc()
	if sm.Stream == nil {
		if streamErr == nil {
			streamErr = sm.StreamErr
		}
		answer := submittedOf(sm.Task, sm.Duplicate, sm.Warning)
		var ae *apiError
		if errors.As(streamErr, &ae) {
			answer.StreamError = ae.Message
		} else if streamErr != nil {
			answer.StreamError = streamErr.Error()
		}
		return c.JSON(http.StatusAccepted, answer)
	}
	h := c.Response().Header()
	h.Set("Location", "/v1/tasks/"+sm.Task.ID)
	h.Set(bus.HeaderTaskID, sm.Task.ID)
	return s.relay(c, http.StatusAccepted, sm.Stream)
}
