package workers

import (
	"context"
	"errors"
	"fmt"

	"github.com/amf-os/amf/kernel/bus"
)

// ruleUnrecorded is the rule of an owned task refused because the kernel
// never recorded it, or its record aged out.
const ruleUnrecorded = "unrecorded"

// record is how the kernel's events stand to a queued owned task.
type record int

const (
	// recorded: the task's first event is the kernel's accepted event of
	// this very body (its owner and submission time).
	recorded record = iota
	// unrecorded: no accepted event of the kernel's at all.
	unrecorded
	// anothers: the kernel's accepted event under this id records another
	// submission (the id was taken again after this body's events aged
	// out): this message is not that task's to run or to end.
	anothers
)

// recordOf reads how the kernel recorded task: every task the task API
// takes is recorded so before it is queued. An owned task without that
// record either waited in the queue past the events' max age (when
// nothing, a revocation included, can still be read about it, so nothing
// that ended it would be seen) or was queued around the task API; either
// way it is not run, and neither is one whose id now records another's.
func (w *Worker) recordOf(ctx context.Context, task bus.Task, last bus.Event) (record, error) {
	if last.Seq == 0 {
		return unrecorded, nil
	}
	first := last
	if !last.Recorded() {
		var err error
		first, err = w.cfg.Names.NextEvent(ctx, w.events, task.ID, 0)
		if errors.Is(err, bus.ErrNoEvents) {
			return unrecorded, nil
		}
		if err != nil {
			return unrecorded, fmt.Errorf("read the first event of task %s: %w", task.ID, err)
		}
		if !first.Recorded() {
			return unrecorded, nil
		}
	}
	if first.Task.Owner != task.Owner || !first.Task.Submitted.Equal(task.Submitted) {
		return anothers, nil
	}
	return recorded, nil
}

// errUnrecorded is why an owned task without the kernel's record is
// refused, and what to do.
func errUnrecorded(id string) error {
	return fmt.Errorf("%w: task %s has no accepted event from the kernel: its events aged out while it waited in the queue "+
		"(the kernel keeps them for --events-max-age, AMF_EVENTS_MAX_AGE), or it was queued around the task API; "+
		"it was not run, since whatever ended it (a cancellation, its owner's revocation) can no longer be read: submit it again, under a new id (leave \"id\" out)", bus.ErrInvalidTask, id)
}
