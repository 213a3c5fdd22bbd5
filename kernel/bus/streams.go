package bus

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultEventsMaxAge is how long task events are kept when not configured.
const DefaultEventsMaxAge = 24 * time.Hour

// De-duplication windows when not configured. They bound how long the
// streams remember a Nats-Msg-Id; a task id is known for as long as its
// events are kept, whatever these say, because a submission claims the
// id on the task's event subject (see Names.EventMsg and Fenced).
const (
	// DefaultTasksDuplicates is how long a task message's id is remembered.
	DefaultTasksDuplicates = 10 * time.Minute
	// DefaultEventsDuplicates is how long an event's message id is remembered.
	DefaultEventsDuplicates = time.Minute
)

// TaskMsgMaxBytes is the largest message the tasks stream stores. It is
// the kernel's largest payload, above MaxTaskBytes on purpose: an
// oversize task published by hand is stored and failed by a worker with
// an event that says why, instead of being dropped by the stream unseen.
const TaskMsgMaxBytes = 8 << 20

// TasksStreamConfig is the work-queue of tasks: one message is taken by one
// worker of its pool and removed once acknowledged. Its subjects are one
// token deep (amf.tasks.<pool>): a subject no pool can take is refused
// at publication instead of being stored where no worker looks.
// duplicates <= 0 is DefaultTasksDuplicates.
func (n Names) TasksStreamConfig(duplicates time.Duration) jetstream.StreamConfig {
	return n.TasksStreamConfigMax(duplicates, 0)
}

// DefaultTasksMaxBytes bounds what the tasks queue holds: a task for a
// pool nobody serves waits there, so without a bound anyone who may
// submit could fill the kernel's disk.
const DefaultTasksMaxBytes = 1 << 30

// TasksStreamConfigMax is TasksStreamConfig holding at most maxBytes of
// queued tasks (zero: DefaultTasksMaxBytes); a full queue refuses new
// tasks rather than dropping queued ones.
func (n Names) TasksStreamConfigMax(duplicates time.Duration, maxBytes int64) jetstream.StreamConfig {
	if duplicates <= 0 {
		duplicates = DefaultTasksDuplicates
	}
	if maxBytes <= 0 {
		maxBytes = DefaultTasksMaxBytes
	}
	return jetstream.StreamConfig{
		Name:        n.TasksStream(),
		Description: "AMF-OS tasks, one work queue per pool subject",
		// A pool's plain subject and its granted-profile subjects
		// (amf.tasks.<pool>.<policy>, see TaskFor).
		Subjects:   []string{n.Tasks(), n.Tasks() + ".*"},
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		MaxMsgSize: TaskMsgMaxBytes,
		MaxBytes:   maxBytes,
		Duplicates: duplicates,
		Discard:    jetstream.DiscardNew,
	}
}

// EventsStreamConfig keeps every event of every task, bounded by age and
// size; its sequence numbers are the SSE event ids. Zero values are the
// defaults.
func (n Names) EventsStreamConfig(maxAge time.Duration, maxBytes int64, duplicates time.Duration) jetstream.StreamConfig {
	if maxAge <= 0 {
		maxAge = DefaultEventsMaxAge
	}
	if maxBytes <= 0 {
		maxBytes = -1
	}
	if duplicates <= 0 {
		duplicates = DefaultEventsDuplicates
	}
	return jetstream.StreamConfig{
		Name:        n.EventsStream(),
		Description: "AMF-OS task events, in order per task",
		Subjects:    []string{n.Events()},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      maxAge,
		MaxBytes:    maxBytes,
		Duplicates:  duplicates,
		// Readers look up a task's newest event on every watch and every
		// delivery; direct gets answer those without queueing behind the
		// JetStream API.
		AllowDirect:    true,
		MaxConsumers:   ReaderMaxConsumers,
		ConsumerLimits: readerConsumerLimits,
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
		// Every worker follows it.
		MaxConsumers:   ReaderMaxConsumers,
		ConsumerLimits: readerConsumerLimits,
	}
}

// Bounds on the consumers of the streams non-admin credentials read
// (events, memory): their roles may create consumers there, so the
// server caps how many exist at once and deletes any that nobody pulled
// from for ReaderConsumerInactive, durable or not, unless it asked for a
// shorter time. A reader that leaves consumers behind costs the kernel
// nothing past that.
const (
	ReaderMaxConsumers     = 4096
	ReaderConsumerInactive = time.Hour
)

var readerConsumerLimits = jetstream.StreamConsumerLimits{InactiveThreshold: ReaderConsumerInactive}

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
