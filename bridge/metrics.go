package bridge

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/amf-os/amf/internal/buildinfo"
)

// metrics are the bridge's Prometheus series, on a registry of its own
// so that several bridges in one process (tests) do not collide.
type metrics struct {
	reg *prometheus.Registry
	// build holds amf_build_info, served only when no other gatherer
	// is: under amf up the worker's registry, which has its own, is
	// served beside the bridge's, and one process is one build.
	build      *prometheus.Registry
	requests   *prometheus.CounterVec
	submitted  prometheus.Counter
	sseClients prometheus.Gauge
	relayed    *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg:   prometheus.NewRegistry(),
		build: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "amf_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"method", "route", "code"}),
		submitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "amf_tasks_submitted_total", Help: "Tasks accepted over HTTP.",
		}),
		sseClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "amf_sse_clients", Help: "Open event streams.",
		}),
		relayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "amf_sse_events_total", Help: "Events relayed to SSE clients, by type.",
		}, []string{"type"}),
	}
	m.build.MustRegister(buildinfo.Collector())
	m.reg.MustRegister(m.requests, m.submitted, m.sseClients, m.relayed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves the bridge's series and more's (nil: none).
func (m *metrics) handler(more prometheus.Gatherer) http.Handler {
	if more == nil {
		return promhttp.HandlerFor(prometheus.Gatherers{m.reg, m.build}, promhttp.HandlerOpts{})
	}
	return promhttp.HandlerFor(prometheus.Gatherers{m.reg, more}, promhttp.HandlerOpts{})
}

func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		code := c.Response().Status
		if err != nil {
			c.Error(err)
			code = c.Response().Status
		}
		m.requests.WithLabelValues(c.Request().Method, c.Path(), strconv.Itoa(code)).Inc()
		return nil
	}
}
