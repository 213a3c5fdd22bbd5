package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// EachQueued calls fn with every task the tasks stream still holds (queued,
// or held by a worker that has not acknowledged it yet), oldest first,
// with its stream sequence, until fn returns false or ctx ends. The
// stream is the record of what may still run, whatever the task's events
// say or no longer say: a work queue removes a task only once a worker
// acknowledged or terminated it. A body that does not decode is passed
// with its error, under the id the bus's id rule gives it. It reads
// message by message (the work queue admits no second consumer on a
// pool's subjects), so its cost grows with the queue.
func (n Names) EachQueued(ctx context.Context, tasks jetstream.Stream, fn func(seq uint64, t Task, err error) bool) error {
	for seq := uint64(1); ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, err := tasks.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(n.p()+".tasks.>"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read queued tasks at %d: %w", seq, err)
		}
		t, derr := DecodeTaskMsg(raw.Data, raw.Header, raw.Sequence)
		if !fn(raw.Sequence, t, derr) {
			return nil
		}
		seq = raw.Sequence + 1
	}
}
