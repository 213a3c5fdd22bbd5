package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/amf-os/amf/kernel/bus"
)

// events streams a task's events as Server-Sent Events. The SSE id is the
// event's AMF_EVENTS sequence, so a client that reconnects with
// Last-Event-ID (or ?after=) resumes with nothing lost or repeated. The
// response ends after the terminal event.
func (s *Server) events(c echo.Context) error {
	id, err := taskParam(c)
	if err != nil {
		return err
	}
	after, err := resumePoint(c.Request())
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ok, err := s.Client.Exists(ctx, id)
	if err != nil {
		return fail(http.StatusServiceUnavailable, "unavailable", err.Error())
	}
	if !ok {
		return fail(http.StatusNotFound, "not_found", "no task "+id)
	}

	h := c.Response().Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	c.Response().WriteHeader(http.StatusOK)
	c.Response().Flush()
	s.metrics.sseClients.Inc()
	defer s.metrics.sseClients.Dec()

	w := &sseWriter{c: c}
	stopKeepAlive := w.keepAlive(ctx, s.KeepAlive)
	defer stopKeepAlive()
	err = s.Client.Watch(ctx, id, after, true, func(e bus.Event) error {
		s.metrics.relayed.WithLabelValues(string(e.Type)).Inc()
		return w.event(e)
	})
	if err != nil && ctx.Err() == nil {
		// Headers are gone; tell the client in the stream itself.
		_ = w.comment("error: " + err.Error())
	}
	return nil
}

// resumePoint reads Last-Event-ID, or the ?after= query for clients
// (such as EventSource's first connection) that cannot set headers.
func resumePoint(r *http.Request) (uint64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("after")
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fail(http.StatusBadRequest, "bad_request", fmt.Sprintf("Last-Event-ID %q must be an event id from this stream (a whole number)", v))
	}
	return n, nil
}

// sseWriter serialises writes from the event relay and the keep-alive.
type sseWriter struct {
	mu sync.Mutex
	c  echo.Context
}

func (w *sseWriter) event(e bus.Event) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := fmt.Fprintf(w.c.Response(), "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Type, data); err != nil {
		return err
	}
	w.c.Response().Flush()
	return nil
}

func (w *sseWriter) comment(text string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := fmt.Fprintf(w.c.Response(), ": %s\n\n", text); err != nil {
		return err
	}
	w.c.Response().Flush()
	return nil
}

func (w *sseWriter) keepAlive(ctx context.Context, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if w.comment("keep-alive") != nil {
					return
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
