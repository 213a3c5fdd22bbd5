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

// recordedByKernel reports whether the task's first event is the
// kernel's accepted event: every task the task API takes is recorded so
// before it is queued. An owned task without that record either waited
// in the queue past the events' max age (when nothing, a revocation
// included, can still be read about it, so nothing that ended it would be
// seen) or was queued around the task API; either way it is not run.
func (w *Worker) recordedByKernel(ctx context.Context, id string, last bus.Event) (bool, error) {
	if last.Seq == 0 {
		return false, nil
	}
	if acceptedByKernel(last) {
		return true, nil // its only kernel event so far
	}
	first, err := w.cfg.Names.NextEvent(ctx, w.events, id, 0)
	if errors.Is(err, bus.ErrNoEvents) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the first event of task %s: %w", id, err)
	}
	return acceptedByKernel(first), nil
}

func acceptedByKernel(e bus.Event) bool {
	return e.Type == bus.EventAccepted && e.Source.Kernel
}

// errUnrecorded is why an owned task without the kernel's record is
// refused, and what to do.
func errUnrecorded(id string) error {
	return fmt.Errorf("%w: task %s has no accepted event from the kernel: its events aged out while it waited in the queue "+
		"(the kernel keeps them for --events-max-age, AMF_EVENTS_MAX_AGE), or it was queued around the task API; "+
		"it was not run, since whatever ended it (a cancellation, its owner's revocation) can no longer be read: submit it again, under a new id (leave \"id\" out)", bus.ErrInvalidTask, id)
}
