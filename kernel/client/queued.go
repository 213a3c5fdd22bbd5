package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// EachQueued calls fn with every task the tasks stream still holds, with
// its sequence (bus.Names.EachQueued): what may still run, also when its
// events have aged out. It reads the stream directly, so the client
// needs its JetStream API (the kernel's and admins' connections).
func (c *Client) EachQueued(ctx context.Context, fn func(seq uint64, t bus.Task, err error) bool) error {
	if err := c.init(ctx); err != nil {
		return err
	}
	tasks, err := c.JS.Stream(ctx, c.Names.TasksStream())
	if err != nil {
		return fmt.Errorf("%w: tasks stream %s: %v", ErrUnavailable, c.Names.TasksStream(), err)
	}
	return c.Names.EachQueued(ctx, tasks, fn)
}

// QueuedAmong are those of ids whose tasks the tasks stream still holds,
// each with its body's sequence (the last, should the stream hold two).
// It keeps only those (the queue may hold millions of tasks) and stops
// reading once it found them all.
func (c *Client) QueuedAmong(ctx context.Context, ids []string) (map[string]uint64, error) {
	wanted := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		wanted[id] = struct{}{}
	}
	found := map[string]uint64{}
	err := c.EachQueued(ctx, func(seq uint64, t bus.Task, _ error) bool {
		if _, ok := wanted[t.ID]; ok {
			found[t.ID] = seq
		}
		return len(found) < len(wanted)
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// DropQueued removes the body at seq from the tasks stream: one no worker
// may run (its task ended while it waited, or its id records another
// submission). A body already gone is no error.
func (c *Client) DropQueued(ctx context.Context, seq uint64) error {
	if err := c.init(ctx); err != nil {
		return err
	}
	tasks, err := c.JS.Stream(ctx, c.Names.TasksStream())
	if err != nil {
		return fmt.Errorf("%w: tasks stream %s: %v", ErrUnavailable, c.Names.TasksStream(), err)
	}
	if err := tasks.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("drop the task queued at %d: %w", seq, err)
	}
	return nil
}
