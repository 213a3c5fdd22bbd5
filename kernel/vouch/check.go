package vouch

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// errRefused wraps every reason a record is not vouched for; any other
// error of check is the kernel's own trouble, tried again.
var errRefused = errors.New("not vouched for")

// check decides on one record published on cred's learned subject: nil
// when the system vouches that cred ran a task of the owner the record
// names, an error wrapping errRefused saying why not, or another error
// when the events stream could not be read.
func (v *Voucher) check(ctx context.Context, events jetstream.Stream, cred string, l bus.Learned) error {
	err := v.decide(ctx, events, cred, l)
	// Asked last, as it reads the issued credentials: an admin may
	// publish on the bare subject anyway.
	if errors.Is(err, errRefused) && v.Operator != nil && v.Operator(cred) {
		return nil
	}
	return err
}

// decide is check for a credential that is not an admin's.
func (v *Voucher) decide(ctx context.Context, events jetstream.Stream, cred string, l bus.Learned) error {
	if !bus.ValidToken(l.TaskID) {
		return fmt.Errorf("%w: the record names no task (task id %q)", errRefused, l.TaskID)
	}
	// The first event on the kernel's subject, which only the kernel and
	// operators may store on, is the task's accepted event: the task as
	// the kernel recorded it, with the owner read from who submitted it.
	raw, err := events.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(v.Names.Event(l.TaskID)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("%w: task %s has no accepted event (unknown, published raw, or its events expired)", errRefused, l.TaskID)
	}
	if err != nil {
		return fmt.Errorf("read task %s: %w", l.TaskID, err)
	}
	accepted, err := bus.DecodeEvent(raw.Data)
	if err != nil || accepted.Type != bus.EventAccepted || accepted.Task == nil {
		return fmt.Errorf("%w: task %s: its first kernel event is no accepted event", errRefused, l.TaskID)
	}
	if accepted.Task.Owner != l.Owner {
		return fmt.Errorf("%w: the record names owner %q, task %s is %q's", errRefused, l.Owner, l.TaskID, accepted.Task.Owner)
	}
	// The credential stored an event of the task in the task's pool:
	// nats-server lets a worker credential store only on its own subject
	// and for its own pools, so a worker of another pool never could.
	_, err = events.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(v.Names.EventBy(l.TaskID, accepted.Task.Pool, cred)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("%w: credential %s stored no event of task %s (pool %s)", errRefused, cred, l.TaskID, accepted.Task.Pool)
	}
	if err != nil {
		return fmt.Errorf("read task %s: %w", l.TaskID, err)
	}
	return nil
}
