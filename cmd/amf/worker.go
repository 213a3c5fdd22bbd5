package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

func init() {
	register(command{name: "worker", summary: "run a worker that takes tasks of its pool from the kernel", run: runWorker})
}

func runWorker(ctx context.Context, args []string) error {
	var c common
	var w workerFlags
	var cf cacheFlags
	var metricsAddr string
	f := newFlags("worker", "worker [flags]")
	cf.bind(f)
	c.bindState(f)
	c.bindNATS(f)
	c.bindLog(f)
	w.bind(f)
	f.str(&metricsAddr, "metrics-listen", "AMF_WORKER_METRICS_LISTEN", "", "serve this worker's Prometheus metrics on http://ADDR/metrics, without auth (e.g. 127.0.0.1:9464); empty = off")
	if err := f.parse(args); err != nil {
		return err
	}
	c.logger()
	nc, cache, err := c.dial(ctx, "amf-worker", &cf)
	if err != nil {
		return err
	}
	defer drain(nc)
	ctx, stop := whileConnected(ctx, nc)
	defer stop()
	wk, release, err := w.worker(ctx, nc, &c, cache)
	if err != nil {
		return err
	}
	defer release()
	if metricsAddr != "" {
		stopMetrics, err := serveMetrics(ctx, metricsAddr, wk.MetricsHandler())
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	// Connected, sandbox and memory open: what remains is pulling tasks.
	notifyReady()
	if err := wk.Run(ctx); err != nil {
		return err
	}
	return connectionLost(ctx)
}

// serveMetrics serves h on addr at /metrics until stop is called. The
// address is taken before it returns, so a bad one fails the command.
func serveMetrics(ctx context.Context, addr string, h http.Handler) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen %s: %w (give host:port, e.g. 127.0.0.1:9464)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("metrics server stopped", "addr", addr, "err", err)
		}
	}()
	slog.Info("serving worker metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}
