package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/amf-os/amf/kernel/client"
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
	release, err := s.acquireStream(c)
	if err != nil {
		return err
	}
	defer release()
	ctx := c.Request().Context()
	st, err := s.Client.OpenAs(ctx, readerOf(c), id, after, true)
	switch {
	case errors.Is(err, client.ErrNotFound):
		return fail(http.StatusNotFound, "not_found", "no task "+id)
	case errors.Is(err, client.ErrTooManyReaders):
		return fail(http.StatusTooManyRequests, "too_many_streams", err.Error())
	case err != nil:
		return unavailable(err)
	}

	return s.relay(c, http.StatusOK, st)
}

// relay answers c with st's events as Server-Sent Events under status,
// until the terminal event or the client leaves.
func (s *Server) relay(c echo.Context, status int, st *client.Stream) error {
	h := c.Response().Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	c.Response().WriteHeader(status)
	c.Response().Flush()
	s.metrics.sseClients.Inc()
	defer s.metrics.sseClients.Dec()

	// The relay runs apart from the writer so that the writer can flush
	// once per burst instead of once per event, and interleave keep-alives
	// without a lock.
	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	evs := make(chan client.RawEvent, 256)
	errc := make(chan error, 1)
	go func() {
		defer close(evs)
		errc <- st.Each(ctx, func(e client.RawEvent) error {
			select {
			case evs <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	w := c.Response()
	keepAlive := time.NewTicker(s.KeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case e, ok := <-evs:
			if !ok {
				if err := <-errc; err != nil && ctx.Err() == nil {
					// Headers are gone; say it in the stream itself.
					fmt.Fprintf(w, ": error: %s\n\n", err)
					w.Flush()
				}
				return nil
			}
			s.metrics.relayed.WithLabelValues(string(e.Type)).Inc()
			if err := writeEvent(w, e); err != nil {
				cancel()
				for range evs {
				}
				return nil
			}
			if len(evs) == 0 {
				w.Flush()
			}
		case <-keepAlive.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				cancel()
				for range evs {
				}
				return nil
			}
			w.Flush()
		}
	}
}

// resumePoint reads Last-Event-ID, or the ?after= query for clients
// (such as EventSource's first connection) that cannot set headers.
func resumePoint(r *http.Request) (uint64, error) {
	v, from := r.Header.Get("Last-Event-ID"), "header Last-Event-ID"
	if v == "" {
		v, from = r.URL.Query().Get("after"), "query parameter \"after\""
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		// Name what the client sent, so it knows which of the two to fix.
		return 0, fail(http.StatusBadRequest, "bad_request", fmt.Sprintf(
			"%s is %q, not an event id: give the id of the last event you have (a whole number such as 12, the SSE \"id:\" field) to get the events after it, or leave it out to start from the first event", from, v))
	}
	return n, nil
}

// writeEvent writes one SSE message; data is the stored JSON with the
// stream sequence spliced in as "seq", so nothing is decoded on the way.
func writeEvent(w io.Writer, e client.RawEvent) error {
	if len(e.Data) < 2 || e.Data[0] != '{' {
		return nil // not an event object: nothing a client could read
	}
	if bytes.ContainsAny(e.Data, "\r\n") {
		// Hand-published JSON may be pretty-printed; a raw newline would
		// end the SSE data line early.
		var c bytes.Buffer
		if json.Compact(&c, e.Data) != nil {
			return nil
		}
		e.Data = c.Bytes()
	}
	var buf [64]byte
	head := append(buf[:0], "id: "...)
	head = strconv.AppendUint(head, e.Seq, 10)
	head = append(head, "\nevent: "...)
	head = append(head, e.Type...)
	head = append(head, "\ndata: {\"seq\":"...)
	head = strconv.AppendUint(head, e.Seq, 10)
	if len(e.Data) > 2 {
		head = append(head, ',')
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	if _, err := w.Write(e.Data[1:]); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n\n")
	return err
}
