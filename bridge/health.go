package bridge

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"
)

// healthReport is the body of /healthz. Status is "ok", "degraded" (the
// cache is down but tasks still run and stream) or "down" (the kernel is
// unreachable or a stream is missing).
type healthReport struct {
	Status  string            `json:"status"`
	Kernel  string            `json:"kernel"`
	Streams map[string]string `json:"streams"`
	Cache   string            `json:"cache,omitempty"`
}

func (s *Server) healthz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	r := healthReport{Status: "ok", Kernel: "ok", Streams: map[string]string{}}
	js, err := jetstream.New(s.NC)
	if err != nil || !s.NC.IsConnected() {
		r.Status, r.Kernel = "down", "not connected"
	} else {
		for _, name := range []string{s.Names.TasksStream(), s.Names.EventsStream(), s.Names.MemoryStream()} {
			if _, err := js.Stream(ctx, name); err != nil {
				r.Status, r.Streams[name] = "down", err.Error()
				continue
			}
			r.Streams[name] = "ok"
		}
	}
	if s.Cache != nil {
		r.Cache = s.Cache.Name() + ": ok"
		if err := s.Cache.Ping(ctx); err != nil {
			r.Cache = s.Cache.Name() + ": " + err.Error()
			if r.Status == "ok" {
				r.Status = "degraded"
			}
		}
	}
	code := http.StatusOK
	if r.Status == "down" {
		code = http.StatusServiceUnavailable
	}
	return c.JSON(code, r)
}
