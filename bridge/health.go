package bridge

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// healthReport is the body of /healthz. Status is "ok", "degraded" (the
// cache is down, a kernel's store is full, or a worker's model server
// does not answer, but tasks still run and stream) or "down" (the kernel is unreachable or a stream
// is missing).
type healthReport struct {
	Status  string            `json:"status"`
	Kernel  string            `json:"kernel"`
	Streams map[string]string `json:"streams"`
	Cache   string            `json:"cache,omitempty"`
	// Store says why a kernel's store takes no new task.
	Store string `json:"store,omitempty"`
	// Models names, per worker whose model is degraded, why.
	Models map[string]string `json:"models,omitempty"`
}

// healthRide bounds how long /healthz waits out a leader election before
// it reports the kernel down: elections take a few seconds, and probes
// usually allow about as long.
const healthRide = 4 * time.Second

func (s *Server) healthz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), healthRide+2*time.Second)
	defer cancel()
	r := healthReport{Status: "ok", Kernel: "ok", Streams: map[string]string{}}
	js, err := jetstream.New(s.NC)
	if err != nil || !s.NC.IsConnected() {
		r.Status, r.Kernel = "down", "not connected"
	} else {
		for _, name := range []string{s.Names.TasksStream(), s.Names.EventsStream(), s.Names.MemoryStream()} {
			// A stream whose cluster is electing a leader answers
			// nothing for a moment: ask again within the bound.
			err := client.Ride(ctx, healthRide, func(ctx context.Context) error {
				_, err := js.Stream(ctx, name)
				return err
			})
			if err != nil {
				r.Status, r.Streams[name] = "down", err.Error()
				continue
			}
			r.Streams[name] = "ok"
		}
	}
	if full := s.stores.full(); full != "" {
		r.Store = full
		if r.Status == "ok" {
			r.Status = "degraded"
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
	if s.Workers != nil {
		if ws, err := s.Workers.Workers(ctx); err == nil {
			for _, w := range ws {
				if w.Model == nil || w.Model.Status != bus.ModelDegraded {
					continue
				}
				if r.Models == nil {
					r.Models = map[string]string{}
				}
				r.Models[w.ID] = w.Model.Reason
				if r.Status == "ok" {
					r.Status = "degraded"
				}
			}
		}
	}
	code := http.StatusOK
	if r.Status == "down" {
		code = http.StatusServiceUnavailable
		c.Response().Header().Set("Retry-After", retryAfter)
	}
	return c.JSON(code, r)
}
