package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
)

// controlWait bounds how long a cancel waits to learn whether anyone
// listens on the task's control subject. The server answers "no
// responders" at once when nobody does; a worker that holds the task
// listens but does not answer, so the wait runs out.
const controlWait = 300 * time.Millisecond

// stopHolder tells the worker that holds the task to stop. When no
// worker holds it (it is queued, or its workers died), nothing would
// ever end it, so the cancel is ended here: a cancelled event stored only
// if the task's newest event is still the cancel request at afterSeq, so
// it can never follow a worker's own events. A worker that takes a
// queued task later finds it ended and acknowledges it away. ended
// reports that this call stored the cancelled event.
//
// unclaimed says the record shows no worker's claim: the task is ended
// without asking who listens, since any worker credential, of any pool,
// may listen on every task's control subject, and one that only
// listened would pass for the holder of a task nobody runs.
func (c *Client) stopHolder(ctx context.Context, id, reason string, afterSeq uint64, unclaimed bool) (ended bool, err error) {
	if !unclaimed {
		_, err = c.NC.Request(c.Names.Control(id), []byte(reason), controlWait)
		switch {
		case errors.Is(err, nats.ErrNoResponders):
		case err == nil, errors.Is(err, nats.ErrTimeout):
			return false, nil // a worker holds it and stops it
		default:
			return false, fmt.Errorf("cancel %s: %w", id, err)
		}
	}
	e := bus.Event{TaskID: id, Type: bus.EventCancelled, TS: time.Now().UTC(), Reason: reason, Rule: "no-worker"}
	_, err = c.JS.PublishMsg(ctx, eventMsg(c.Names, e, "cancelled-"+id), c.Names.FencedTask(id, afterSeq))
	if bus.IsFenceConflict(err) {
		return false, nil // a worker took it meanwhile and answers the request itself
	}
	if err != nil {
		return false, fmt.Errorf("cancel %s: %w", id, err)
	}
	return true, nil
}

// CancelUnrecorded ends a task that has no events at all but may still
// wait in the queue (its events aged out while nobody served its pool):
// a cancelled event stored only while the task still has none, so it
// never lands after another writer's. A worker that pulls the task later
// finds it ended and acknowledges it away. Only the installation's own
// connection (ActAll) may end a task it cannot read the owner of.
func (c *Client) CancelUnrecorded(ctx context.Context, id, reason string) error {
	if !c.access(ctx).ActAll {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err := c.init(ctx); err != nil {
		return err
	}
	e := bus.Event{TaskID: id, Type: bus.EventCancelled, TS: time.Now().UTC(), Reason: reason, Rule: "no-worker"}
	_, err := c.JS.PublishMsg(ctx, eventMsg(c.Names, e, "cancelled-"+id), c.Names.FencedTask(id, 0))
	if err != nil {
		// A fence conflict: it has events again, to be read anew.
		return fmt.Errorf("cancel %s: %w", id, err)
	}
	return nil
}
