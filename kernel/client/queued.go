package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// EachQueued calls fn with every task the tasks stream still holds, with
// its sequence (bus.Names.EachQueued): what may still run, also when its
// events have aged out. It reads the stream directly, so the client
// needs its JetStream API (the kernel's and admins' connections).
func (c *Client) EachQueued(ctx context.Context, fn func(seq uint64, t bus.Task, err error) bool) error {
	tasks, err := c.tasksStream(ctx)
	if err != nil {
		return err
	}
	return c.Names.EachQueued(ctx, tasks, fn)
}

// QueuedRef names one submission's body in the tasks stream: an id alone
// does not, as an id is taken again once its events have aged out (or a
// body is published raw under it), while an earlier body may still wait.
type QueuedRef struct {
	ID    string
	Owner bus.Owner
	// Submitted, when set, is the submission's time; a body of the same
	// owner and id submitted at another time is another submission.
	Submitted time.Time
}

// Of reports whether body t is the submission r names.
func (r QueuedRef) Of(t bus.Task) bool {
	return t.ID == r.ID && t.Owner == r.Owner && (r.Submitted.IsZero() || t.Submitted.Equal(r.Submitted))
}

// QueuedAmong reads where the tasks stream holds the bodies refs name:
// the sequence of each ref's body, in refs' order, 0 for one it no longer
// holds. It keeps only those (the queue may hold millions of tasks) and
// stops reading once it found them all.
func (c *Client) QueuedAmong(ctx context.Context, refs []QueuedRef) ([]uint64, error) {
	byID := make(map[string][]int, len(refs))
	for i, r := range refs {
		byID[r.ID] = append(byID[r.ID], i)
	}
	found := make([]uint64, len(refs))
	left := len(refs)
	err := c.EachQueued(ctx, func(seq uint64, t bus.Task, _ error) bool {
		for _, i := range byID[t.ID] {
			if found[i] == 0 && refs[i].Of(t) {
				found[i] = seq
				left--
			}
		}
		return left > 0
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// DropQueued removes the body at seq from the tasks stream: one no worker
// may run (its task ended while it waited, or its id records another
// submission). seq must be where that submission's body was stored: its
// own publish acknowledgement (not a duplicate's, which names another
// submission's body), or where a read of the queue found it (QueuedAmong,
// EachQueued); a stream never stores two messages at one sequence. A
// body already gone is no error.
func (c *Client) DropQueued(ctx context.Context, seq uint64) error {
	tasks, err := c.tasksStream(ctx)
	if err != nil {
		return err
	}
	if err := tasks.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("drop the task queued at %d: %w", seq, err)
	}
	return nil
}

// tasksStream is the tasks stream, looked up once.
func (c *Client) tasksStream(ctx context.Context) (jetstream.Stream, error) {
	if err := c.init(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tasks != nil {
		return c.tasks, nil
	}
	tasks, err := c.JS.Stream(ctx, c.Names.TasksStream())
	if err != nil {
		return nil, fmt.Errorf("%w: tasks stream %s: %v", ErrUnavailable, c.Names.TasksStream(), err)
	}
	c.tasks = tasks
	return tasks, nil
}
