package kernel

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/retry"
)

// Provisioning says what the bus's streams look like.
type Provisioning struct {
	Names          bus.Names
	EventsMaxAge   time.Duration
	EventsMaxBytes int64
	// TasksDuplicates and EventsDuplicates are the streams' de-duplication
	// windows (zero: bus.DefaultTasksDuplicates, bus.DefaultEventsDuplicates).
	TasksDuplicates time.Duration
	// TasksMaxBytes bounds the queued tasks (zero: bus.DefaultTasksMaxBytes).
	TasksMaxBytes    int64
	EventsDuplicates time.Duration
	// Replicas is the copies a cluster keeps of each stream (1 alone).
	Replicas int
}

// Provision creates or updates the streams of the bus. It is idempotent:
// run at every start, it keeps every existing message.
func Provision(ctx context.Context, js jetstream.JetStream, p Provisioning) error {
	for _, cfg := range []jetstream.StreamConfig{
		p.Names.TasksStreamConfigMax(p.TasksDuplicates, p.TasksMaxBytes),
		p.Names.EventsStreamConfig(p.EventsMaxAge, p.EventsMaxBytes, p.EventsDuplicates),
		p.Names.MemoryStreamConfig(),
		p.Names.SchedulesStreamConfig(),
	} {
		if p.Replicas > 1 {
			cfg.Replicas = p.Replicas
		}
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("provision stream %s: %w", cfg.Name, err)
		}
	}
	// Workers may not create consumers; the default pool's is ready for
	// them, others are opened on request (servePools).
	if _, err := js.CreateOrUpdateConsumer(ctx, p.Names.TasksStream(), p.Names.PoolConsumerConfig(bus.DefaultPool)); err != nil {
		return fmt.Errorf("provision pool consumer: %w", err)
	}
	kv := p.Names.TokensBucketConfig()
	if p.Replicas > 1 {
		kv.Replicas = p.Replicas
	}
	if _, err := js.CreateOrUpdateKeyValue(ctx, kv); err != nil {
		return fmt.Errorf("provision bucket %s: %w", kv.Bucket, err)
	}
	return nil
}

// provisionWait bounds how long a starting kernel waits for its cluster.
const provisionWait = 90 * time.Second

// provisionWhenReady provisions, retrying while a clustered JetStream has
// no meta leader yet or too few peers: kernels of a cluster start in any
// order, and the requests of the first one go unanswered until enough of
// the others are up.
func provisionWhenReady(ctx context.Context, js jetstream.JetStream, p Provisioning, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, provisionWait)
	defer cancel()
	err := retry.Do(ctx, retry.Policy{
		Try: 5 * time.Second, First: 100 * time.Millisecond, Max: 2 * time.Second,
		Retry: retry.IsPassingAtStart,
		OnRetry: func(err error, _ time.Duration) {
			log.Info("waiting for the JetStream cluster", "replicas", p.Replicas, "err", err)
		},
	}, func(ctx context.Context) error { return Provision(ctx, js, p) })
	if err != nil && ctx.Err() != nil && retry.IsPassingAtStart(err) {
		return fmt.Errorf("%w (the cluster never had %d JetStream peers with a leader; are the other kernels up, and is --replicas right?)", err, p.Replicas)
	}
	return err
}
