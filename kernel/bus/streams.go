package bus

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultEventsMaxAge is how long task events are kept when not configured.
const DefaultEventsMaxAge = 24 * time.Hour

// DuplicateWindow is how long a task id is remembered for de-duplication.
const DuplicateWindow = 10 * time.Minute

// TasksStreamConfig is the work-queue of tasks: one message is taken by one
// worker of its pool and removed once acknowledged.
func (n Names) TasksStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        n.TasksStream(),
		Description: "AMF-OS tasks, one work queue per pool subject",
		Subjects:    []string{n.Tasks()},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		MaxMsgSize:  MaxTaskBytes + 4096,
		Duplicates:  DuplicateWindow,
		Discard:     jetstream.DiscardNew,
	}
}

// EventsStreamConfig keeps every event of every task, bounded by age and
// size; its sequence numbers are the SSE event ids.
func (n Names) EventsStreamConfig(maxAge time.Duration, maxBytes int64) jetstream.StreamConfig {
	if maxAge <= 0 {
		maxAge = DefaultEventsMaxAge
	}
	if maxBytes <= 0 {
		maxBytes = -1
	}
	return jetstream.StreamConfig{
		Name:        n.EventsStream(),
		Description: "AMF-OS task events, in order per task",
		Subjects:    []string{n.Events()},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      maxAge,
		MaxBytes:    maxBytes,
		Duplicates:  time.Minute,
		// Readers look up a task's newest event on every watch and every
		// delivery; direct gets answer those without queueing behind the
		// JetStream API.
		AllowDirect: true,
	}
}

// MemoryStreamConfig keeps what the fleet learned, for every worker to
// materialise its own index from.
func (n Names) MemoryStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        n.MemoryStream(),
		Description: "AMF-OS learned commands and their tombstones",
		Subjects:    []string{n.Memory()},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  time.Hour,
	}
}

// TokensBucketConfig is the KV bucket of HTTP bearer tokens: one record
// (SHA-256, scopes, grants) per token id, no history, so a revoked
// token's record is gone.
func (n Names) TokensBucketConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      n.TokensBucket(),
		Description: "AMF-OS HTTP bearer tokens: SHA-256 hashes, scopes and grants",
		History:     1,
		Storage:     jetstream.FileStorage,
	}
}

// PoolConsumerConfig is the durable pull consumer a pool's workers share.
// AckWait is short because workers send in-progress acks while they work:
// a worker that dies is noticed quickly and its task redelivered.
func (n Names) PoolConsumerConfig(pool string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:     n.PoolConsumer(pool),
		Description: "workers of pool " + pool,
		// The pool's plain subject and its granted-profile subjects.
		FilterSubjects: n.PoolTaskSubjects(pool),
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        PoolAckWait,
		MaxDeliver:     PoolMaxDeliver,
		MaxAckPending:  -1,
	}
}

// Delivery bounds of a pool consumer.
const (
	PoolAckWait    = 10 * time.Second
	PoolMaxDeliver = 5
)
