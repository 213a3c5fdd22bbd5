package workers

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/amf-os/amf/internal/buildinfo"
	"github.com/amf-os/amf/kernel/bus"
)

// metrics are a worker's Prometheus series, on a registry of its own (a
// process may hold several workers, as tests do). Each series carries the
// worker's id and pool, so a fleet's scrapes add up without relabelling.
type metrics struct {
	reg      *prometheus.Registry
	started  prometheus.Counter
	ended    *prometheus.CounterVec
	attempts prometheus.Histogram
	phases   *prometheus.HistogramVec
	failures *prometheus.CounterVec
	duration *prometheus.HistogramVec
	ttft     prometheus.Histogram
}

func newMetrics(w *Worker) *metrics {
	labels := prometheus.Labels{"worker": w.cfg.ID, "pool": w.cfg.Pool}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "amf_worker_tasks_started_total", Help: "Deliveries of a task this worker claimed and began to run.",
			ConstLabels: labels,
		}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "amf_worker_tasks_ended_total", Help: "Tasks this worker ended, by terminal event (done, failed, cancelled).",
			ConstLabels: labels,
		}, []string{"outcome"}),
		attempts: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "amf_worker_task_attempts", Help: "Commands tried per ended task (the correction loop's attempts).",
			ConstLabels: labels, Buckets: []float64{0, 1, 2, 3, 4, 5, 8},
		}),
		phases: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "amf_worker_phase_seconds", Help: "Time one task spent in each phase (model, validation, execution, memory, answer).",
			ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"phase"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "amf_worker_task_failures_total", Help: "Tasks this worker ended failed, by the rule that failed them (the policy rule of a refusal, invalid-task, model, …; none when no rule was named).",
			ConstLabels: labels,
		}, []string{"rule"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "amf_worker_task_duration_seconds", Help: "Time from taking a task to storing its end, by terminal event.",
			ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.005, 3, 12),
		}, []string{"outcome"}),
		ttft: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "amf_worker_ttft_seconds", Help: "Time from taking a task to storing its first model token (tasks that asked the model).",
			ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.001, 3, 12),
		}),
	}
	running := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "amf_worker_tasks_running", Help: "Tasks this worker holds now.", ConstLabels: labels,
	}, func() float64 { return float64(w.inFlight.Load()) })
	capacity := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "amf_worker_concurrency", Help: "Tasks this worker runs at once at most.", ConstLabels: labels,
	})
	capacity.Set(float64(w.cfg.Concurrency))
	m.reg.MustRegister(m.started, m.ended, m.attempts, m.phases, m.failures, m.duration, m.ttft, running, capacity,
		buildinfo.Collector(),
		modelCollector{w: w, desc: prometheus.NewDesc("amf_worker_model_up",
			"1 while the worker's model server answers with its model, 0 while degraded or not yet known (the status label says which).",
			[]string{"model", "status"}, labels)})
	return m
}

// taskEnded records the terminal event this worker stored for a task.
func (m *metrics) taskEnded(final bus.Event) {
	m.ended.WithLabelValues(string(final.Type)).Inc()
	if final.Type == bus.EventFailed {
		rule := final.Rule
		if rule == "" {
			rule = "none"
		}
		m.failures.WithLabelValues(rule).Inc()
	}
	m.attempts.Observe(float64(len(final.Attempts)))
	for phase, ms := range final.Phases {
		m.phases.WithLabelValues(phase).Observe(ms / 1000)
	}
}

// modelCollector reads the model's health when scraped, so the series is
// as fresh as the worker's own view (updated by every model request and,
// while degraded, every heartbeat).
type modelCollector struct {
	w    *Worker
	desc *prometheus.Desc
}

func (c modelCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c modelCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.w.solver.ModelHealth()
	if h == nil {
		return // no model: explicit commands only
	}
	up := 0.0
	if h.Status == bus.ModelOK {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, up, h.Name, h.Status)
}

// Metrics are this worker's series: tasks running, started and ended (by
// outcome), attempts per task, time per phase and the model's health. A
// process that serves metrics already adds them to its own (amf up's
// bridge).
func (w *Worker) Metrics() prometheus.Gatherer { return w.metrics.reg }

// MetricsHandler serves Metrics and the process's Go runtime series in
// the Prometheus text format, for a worker in a process of its own.
func (w *Worker) MetricsHandler() http.Handler {
	runtime := prometheus.NewRegistry()
	runtime.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(prometheus.Gatherers{w.metrics.reg, runtime}, promhttp.HandlerOpts{})
}
