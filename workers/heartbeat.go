package workers

import (
	"context"
	"encoding/json"
	"time"

	"github.com/amf-os/amf/kernel/bus"
)

// Presence records worker heartbeats somewhere readers look (the hot
// cache); the core NATS heartbeat is always sent as well.
type Presence interface {
	Heartbeat(ctx context.Context, w bus.WorkerInfo, ttl time.Duration) error
}

func (w *Worker) info() bus.WorkerInfo {
	in := int(w.inFlight.Load())
	return bus.WorkerInfo{
		ID:       w.cfg.ID,
		Host:     w.host,
		Pool:     w.cfg.Pool,
		Labels:   w.cfg.Labels,
		Capacity: w.cfg.Concurrency,
		InFlight: in,
		Load:     float64(in) / float64(w.cfg.Concurrency),
		Sandbox:  w.cfg.Runner.Name(),
		Started:  w.started,
		LastSeen: time.Now().UTC(),
		Model:    w.solver.ModelHealth(),
		Offer:    w.offer(),
	}
}

func (w *Worker) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(w.cfg.Heartbeat)
	defer t.Stop()
	for {
		w.beat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Worker) beat(ctx context.Context) {
	info := w.info()
	b, _ := json.Marshal(info)
	if err := w.cfg.NC.Publish(w.cfg.Names.Worker(w.cfg.ID), b); err != nil {
		w.log.Debug("heartbeat", "err", err)
	}
	if w.cfg.Presence != nil {
		if err := w.cfg.Presence.Heartbeat(ctx, info, 3*w.cfg.Heartbeat); err != nil {
			w.log.Debug("heartbeat to cache", "err", err)
		}
	}
}
