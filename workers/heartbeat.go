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
		ID:       w.ID,
		Host:     w.host,
		Pool:     w.Pool,
		Labels:   w.Labels,
		Capacity: w.Concurrency,
		InFlight: in,
		Load:     float64(in) / float64(w.Concurrency),
		Sandbox:  w.Runner.Name(),
		Started:  w.started,
		LastSeen: time.Now().UTC(),
	}
}

func (w *Worker) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(w.Heartbeat)
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
	if err := w.NC.Publish(w.Names.Worker(w.ID), b); err != nil {
		w.Logger.Debug("heartbeat", "err", err)
	}
	if w.Presence != nil {
		if err := w.Presence.Heartbeat(ctx, info, 3*w.Heartbeat); err != nil {
			w.Logger.Debug("heartbeat to cache", "err", err)
		}
	}
}
