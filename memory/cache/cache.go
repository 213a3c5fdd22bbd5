package cache

import (
	"context"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// Cache is the hot cache: sessions, task status and worker presence. It is
// a cache, not the record: everything in it can be rebuilt from the event
// stream, so callers treat its errors as degradation, not failure.
type Cache interface {
	// SetStatus stores the latest status of a task.
	SetStatus(ctx context.Context, s bus.Status) error
	// Status returns a task's status or ErrNotFound.
	Status(ctx context.Context, taskID string) (bus.Status, error)
	// RecentStatuses returns up to n statuses, newest first.
	RecentStatuses(ctx context.Context, n int) ([]bus.Status, error)

	// AppendTurn adds a turn to a session and renews the session's TTL.
	AppendTurn(ctx context.Context, session string, t memory.Turn) error
	// Turns returns the session's last n turns, oldest first.
	Turns(ctx context.Context, session string, n int) ([]memory.Turn, error)

	// Heartbeat records a worker as present for ttl.
	Heartbeat(ctx context.Context, w bus.WorkerInfo, ttl time.Duration) error
	// Workers lists the workers whose heartbeat has not expired.
	Workers(ctx context.Context) ([]bus.WorkerInfo, error)

	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	// Name says which backend this is ("redis", "kv", "local").
	Name() string
}
