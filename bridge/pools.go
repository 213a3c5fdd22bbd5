package bridge

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/amf-os/amf/kernel/client"
)

// routePools serves GET /v1/pools and exports the same numbers to
// Prometheus, read from JetStream at each request or scrape.
func (s *Server) routePools(e *echo.Echo, auth ...echo.MiddlewareFunc) {
	failures, err := s.Client.CountDeliveryFailures()
	if err != nil {
		s.Logger.Warn("max-delivery failures will not be counted", "err", err)
	}
	s.deliveryFailures = failures
	e.GET("/v1/pools", s.pools, auth...)
	s.metrics.reg.MustRegister(poolCollector{s: s})
}

func (s *Server) pools(c echo.Context) error {
	ps, err := s.Client.Pools(c.Request().Context(), s.deliveryFailures)
	if err != nil {
		return fail(http.StatusServiceUnavailable, "unavailable", err.Error())
	}
	return c.JSON(http.StatusOK, client.PoolList{Pools: ps})
}

var (
	poolWaiting = prometheus.NewDesc("amf_pool_tasks_waiting",
		"Tasks queued in the pool and not yet delivered to a worker.", []string{"pool"}, nil)
	poolRunning = prometheus.NewDesc("amf_pool_tasks_running",
		"Tasks held by a worker of the pool and not yet acknowledged.", []string{"pool"}, nil)
	poolRedelivered = prometheus.NewDesc("amf_pool_tasks_redelivered",
		"Running tasks of the pool delivered more than once.", []string{"pool"}, nil)
	poolIdle = prometheus.NewDesc("amf_pool_idle_requests",
		"Worker requests for work waiting for a task (idle capacity).", []string{"pool"}, nil)
	poolFailures = prometheus.NewDesc("amf_pool_max_delivery_failures_total",
		"Tasks failed after their maximum deliveries, since this bridge started.", []string{"pool"}, nil)
)

// poolCollector reads the pools at scrape time: the queue is JetStream's
// state, not something the bridge could count itself.
type poolCollector struct{ s *Server }

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolWaiting, poolRunning, poolRedelivered, poolIdle, poolFailures} {
		ch <- d
	}
}

func (pc poolCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ps, err := pc.s.Client.Pools(ctx, pc.s.deliveryFailures)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(poolWaiting, err)
		return
	}
	for _, p := range ps {
		ch <- prometheus.MustNewConstMetric(poolWaiting, prometheus.GaugeValue, float64(p.Waiting), p.Name)
		ch <- prometheus.MustNewConstMetric(poolRunning, prometheus.GaugeValue, float64(p.Running), p.Name)
		ch <- prometheus.MustNewConstMetric(poolRedelivered, prometheus.GaugeValue, float64(p.Redelivered), p.Name)
		ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(p.IdleRequests), p.Name)
		ch <- prometheus.MustNewConstMetric(poolFailures, prometheus.CounterValue, float64(p.MaxDeliveryFailures), p.Name)
	}
}
