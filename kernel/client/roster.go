package client

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
)

// Roster follows worker heartbeats on core NATS and lists the workers
// heard from within TTL. It needs no cache, so it works in every
// deployment; the hot cache, when present, serves the same answer to
// processes that did not watch the heartbeats themselves.
type Roster struct {
	NC    *nats.Conn
	Names bus.Names
	// TTL is how long a worker counts as present after its last beat.
	TTL time.Duration

	mu      sync.Mutex
	workers map[string]bus.WorkerInfo
	sub     *nats.Subscription
}

// Start subscribes to heartbeats.
func (r *Roster) Start() error {
	if r.TTL <= 0 {
		r.TTL = 15 * time.Second
	}
	r.workers = map[string]bus.WorkerInfo{}
	sub, err := r.NC.Subscribe(r.Names.Workers(), func(m *nats.Msg) {
		var w bus.WorkerInfo
		if json.Unmarshal(m.Data, &w) != nil || w.ID == "" {
			return
		}
		w.LastSeen = time.Now().UTC()
		r.mu.Lock()
		r.workers[w.ID] = w
		r.mu.Unlock()
	})
	if err != nil {
		return fmt.Errorf("follow heartbeats: %w", err)
	}
	r.sub = sub
	return nil
}

// Stop unsubscribes.
func (r *Roster) Stop() {
	if r.sub != nil {
		_ = r.sub.Unsubscribe()
	}
}

// Workers lists present workers, ordered by id.
func (r *Roster) Workers(context.Context) ([]bus.WorkerInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]bus.WorkerInfo, 0, len(r.workers))
	cutoff := time.Now().Add(-r.TTL)
	for id, w := range r.workers {
		if w.LastSeen.Before(cutoff) {
			delete(r.workers, id)
			continue
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
