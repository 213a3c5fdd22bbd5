package status

import (
	"context"

	"github.com/amf-os/amf/kernel/bus"
)

// Cache is where the projector keeps task status: the hot cache
// (memory/cache's Redis and KV caches implement it). Status answers
// bus.ErrNotCached for a task it does not hold.
type Cache interface {
	// SetStatus stores the latest status of a task.
	SetStatus(ctx context.Context, s bus.Status) error
	// Status returns a task's status or bus.ErrNotCached.
	Status(ctx context.Context, taskID string) (bus.Status, error)
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	// Name says which backend this is ("redis", "kv").
	Name() string
}
