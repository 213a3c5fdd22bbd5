package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// SubmitError is a submission that did not complete. Nothing of it runs
// twice if it is submitted again with the same id, which is what the
// caller should do.
type SubmitError struct {
	// ID is the task's id, to retry with.
	ID string
	// Step is what failed: "record" (the accepted event), "queue", or
	// "submit" (the request to the kernel's task API).
	Step string
	Err  error
}

func (e *SubmitError) Error() string {
	return fmt.Sprintf("task %s not submitted (%s: %v); retry with the same id", e.ID, e.Step, e.Err)
}

func (e *SubmitError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// Submit records the task as accepted and queues it for its pool, as one
// outcome: when it returns nil the task is queued, and when it fails the
// error is a *SubmitError naming the id to retry with.
//
// The accepted event claims the id: it is stored only while the task's
// event subject is empty (bus.Fenced(0)). A known id, whatever its age,
// is answered with the existing task and dup = true, and nothing is
// added to that task's events. A task that is not normalized yet is
// normalized here; one decoded at the edge is not validated twice.
//
// During a leader election the submission is tried again within the
// client's RideThrough bound; a try that finds its own earlier try's
// record is not reported as a duplicate.
func (c *Client) Submit(ctx context.Context, t bus.Task) (task bus.Task, dup bool, err error) {
	task, dup, _, err = c.SubmitWarn(ctx, t)
	return task, dup, err
}

// SubmitWarn is Submit, also answering a warning about a task accepted
// that nothing may run soon: no live worker serves its pool. The task's
// events then hold a progress event saying so.
func (c *Client) SubmitWarn(ctx context.Context, t bus.Task) (task bus.Task, dup bool, warning string, err error) {
	return c.SubmitWarnAt(ctx, t, nil)
}

// Placed is where a submission stored the task: the stream sequences of
// its accepted event (its first event) and of its body in the tasks
// stream. Both stay 0 when the call stored none (a duplicate, a
// submission through the task API).
type Placed struct {
	// Accepted is where the task's reader starts without reading it back
	// (MakeReaderOf).
	Accepted uint64
	// Queued is the body's place in the queue: what the kernel removes
	// when the task ends without a worker taking it (DropQueued).
	Queued uint64
}

// SubmitWarnAt is SubmitWarn that also sets *at (when not nil) to where
// the task was stored.
func (c *Client) SubmitWarnAt(ctx context.Context, t bus.Task, at *Placed) (task bus.Task, dup bool, warning string, err error) {
	return c.SubmitBefore(ctx, t, at, nil)
}

// SubmitBefore is SubmitWarnAt calling before, when not nil, with the
// task as it will be recorded: once it has passed every check, before
// anything of it is stored. The kernel's task API makes a streamed
// submission's reader there (MakeReaderAhead). A submission through the
// task API calls nothing: the kernel's does.
func (c *Client) SubmitBefore(ctx context.Context, t bus.Task, at *Placed, before func(bus.Task)) (task bus.Task, dup bool, warning string, err error) {
	if t.Schedule != "" {
		return t, false, "", c.Names.ErrScheduled()
	}
	if a, ok := AccessFrom(ctx); ok {
		// Whoever the call acts for owns the task, whatever its body says.
		t.Owner = a.Owner
	}
	if c.ViaAPI {
		return c.submitViaAPI(ctx, t)
	}
	if err := t.Normalize(); err != nil {
		return t, false, "", err
	}
	c.ResolvePolicy(ctx, &t)
	warning, err = c.checkOffers(ctx, t)
	if err != nil {
		return t, false, "", err
	}
	if before != nil {
		before(t)
	}
	task, dup, err = c.submit(ctx, t, at)
	if err == nil && !dup && warning != "" {
		c.progress(ctx, task.ID, warning)
	}
	return task, dup, warning, err
}

// progress records a note on a task's events; best effort, as the task
// is queued already.
func (c *Client) progress(ctx context.Context, id, text string) {
	e := bus.Event{TaskID: id, Type: bus.EventProgress, TS: time.Now().UTC(), Text: text}
	_, _ = c.JS.PublishMsg(ctx, c.Names.EventMsg(e))
}

// submit records and queues a normalized, checked task.
func (c *Client) submit(ctx context.Context, t bus.Task, at *Placed) (task bus.Task, dup bool, err error) {
	if t.Submitted.IsZero() {
		t.Submitted = time.Now().UTC()
	}
	tries := 0
	err = c.ride(ctx, func(ctx context.Context) error {
		tries++
		var err error
		task, dup, err = c.submitOnce(ctx, t, at)
		if dup && tries > 1 && sameTask(task.Redacted(), t) {
			dup = false
		}
		return err
	})
	if err != nil {
		var se *SubmitError
		if errors.Is(err, ErrQueueFull) || errors.Is(err, ErrStoreFull) || errors.Is(err, ErrIDTaken) {
			return t, false, err
		}
		if !errors.As(err, &se) {
			err = &SubmitError{ID: t.ID, Step: "record", Err: err}
		}
		return t, false, err
	}
	return task, dup, nil
}

// submitOnce is one try of Submit; *at (when not nil) is set once its
// accepted event and task are stored.
func (c *Client) submitOnce(ctx context.Context, t bus.Task, at *Placed) (task bus.Task, dup bool, err error) {
	if err := c.init(ctx); err != nil {
		return t, false, &SubmitError{ID: t.ID, Step: "record", Err: err}
	}
	// The event shows the task without its env values; the queued task
	// carries them to the worker.
	shown := t.Redacted()
	body := t.Encode()
	accepted := bus.Event{TaskID: t.ID, Type: bus.EventAccepted, TS: t.Submitted, Task: &shown, TaskBytes: bus.TaskBytesOf(body)}
	ack, err := c.JS.PublishMsg(ctx, c.Names.EventMsg(accepted), c.Names.FencedTask(t.ID, 0))
	switch {
	case bus.IsFenceConflict(err):
		return c.known(ctx, t)
	case storeFull(err) != nil:
		return t, false, storeFull(err)
	case err != nil:
		// The accepted event may be stored even so (an ack lost to a
		// timeout): a retry finds it and queues the task then.
		return t, false, &SubmitError{ID: t.ID, Step: "record", Err: err}
	}
	queued, err := c.queue(ctx, t, body)
	if err != nil {
		if !mayBeStored(err) {
			c.withdraw(ctx, t.ID, ack.Sequence)
		}
		if full := c.queueFull(ctx, err, len(body)); full != nil {
			return t, false, full
		}
		if full := storeFull(err); full != nil {
			return t, false, full
		}
		return t, false, &SubmitError{ID: t.ID, Step: "queue", Err: err}
	}
	if at != nil {
		*at = Placed{Accepted: ack.Sequence}
		// A body de-duplicated by id is another submission's (its id
		// taken again within the queue's duplicate window): not this
		// task's place.
		if !queued.Duplicate {
			at.Queued = queued.Sequence
		}
	}
	return t, false, nil
}

// queue publishes the task, encoded as body, on its pool's subject,
// de-duplicated by id.
func (c *Client) queue(ctx context.Context, t bus.Task, body []byte) (*jetstream.PubAck, error) {
	return c.JS.PublishMsg(ctx, &nats.Msg{
		Subject: c.Names.TaskFor(t.Pool, t.Policy),
		Data:    body,
		Header:  nats.Header{bus.HeaderMsgID: []string{t.ID}},
	})
}

// mayBeStored says whether a publish that failed with err may have been
// stored all the same: one not answered in time (the stream's leader
// killed, an election) may have been, where one the stream answered with
// a refusal, or that reached no stream, was not. The accepted event of a
// task that may be queued stays: withdrawn, the id would be free while a
// worker may run its body, which it would then refuse as unrecorded, and
// the submitter's retry would find the worker's event instead of its
// record. Kept, the retry finds the record and queues the task again,
// which the queue's de-duplication by id makes a no-op if it was queued.
func mayBeStored(err error) bool {
	var refused *jetstream.APIError
	switch {
	case errors.As(err, &refused),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrNoResponders):
		return false
	}
	return true
}

// withdraw removes the accepted event of a task that could not be queued,
// so the id is free again, and the readers' consumers made for it
// meanwhile. When that fails too (the kernel is gone), the accepted event
// stays and a retry with the same id queues the task.
func (c *Client) withdraw(ctx context.Context, id string, seq uint64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.events.DeleteMsg(ctx, seq); err == nil {
		c.dropReadersOf(id)
	}
}

// known answers a submission of an id that already has events: with the
// task as first recorded. A task whose only event is still its accepted
// one may have failed to queue (its submitter got an error and retries):
// it is queued again, which the tasks stream's de-duplication makes a
// no-op when it was queued after all.
func (c *Client) known(ctx context.Context, t bus.Task) (bus.Task, bool, error) {
	first, err := c.Names.NextEvent(ctx, c.events, t.ID, 0)
	if err != nil {
		return t, true, &SubmitError{ID: t.ID, Step: "record", Err: err}
	}
	given := t
	// The id's record is the kernel's accepted event, and only that: an
	// event a worker stored first (a worker of any pool may store events
	// under any id) or a task published raw is no submission to answer
	// as a duplicate, nor a body for the kernel to queue.
	if !first.Recorded() {
		return given, false, fmt.Errorf("%w: %s: its events were not recorded by a submission (published raw, or stored by a worker): choose another id, or leave \"id\" out to get a new one", ErrIDTaken, given.ID)
	}
	t = *first.Task
	// Ids are chosen by submitters: one owner's retry is its own task,
	// another owner's id is neither answered with that task nor swallowed
	// as its duplicate (which would tell its pool and leave the second
	// submission never run).
	if t.Owner != given.Owner {
		return given, false, fmt.Errorf("%w: %s: choose another id, or leave \"id\" out to get a new one", ErrIDTaken, given.ID)
	}
	last, err := c.Names.LastEvent(ctx, c.events, t.ID)
	if err != nil {
		return t, true, &SubmitError{ID: t.ID, Step: "record", Err: err}
	}
	if last.Seq != first.Seq {
		return t, true, nil
	}
	// Past the de-duplication window a second copy could be queued
	// beside one still waiting for a worker; the task is left as it is.
	if window := c.tasksWindow(ctx); window > 0 && time.Since(first.TS) >= window {
		return t, true, nil
	}
	// The recorded task has its env values redacted: the retry's own
	// task is queued instead, when it is the recorded one.
	if t.IsRedacted() {
		if !sameTask(t, given) {
			return t, true, nil
		}
		given.Submitted = t.Submitted
		t = given
	}
	if _, err := c.queue(ctx, t, t.Encode()); err != nil {
		return t.Redacted(), true, &SubmitError{ID: t.ID, Step: "queue", Err: err}
	}
	return t.Redacted(), true, nil
}

// sameTask says whether a retried submission is the recorded task: equal
// once both are redacted and stamped alike.
func sameTask(recorded, given bus.Task) bool {
	given = given.Redacted()
	given.Submitted = recorded.Submitted
	return bytes.Equal(recorded.Encode(), given.Encode())
}

// tasksWindow is the tasks stream's de-duplication window, 0 if unknown.
func (c *Client) tasksWindow(ctx context.Context) time.Duration {
	s, err := c.JS.Stream(ctx, c.Names.TasksStream())
	if err != nil {
		return 0
	}
	return s.CachedInfo().Config.Duplicates
}
