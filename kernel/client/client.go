package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// StatusSource answers status reads faster than the event stream can; the
// hot cache implements it. Misses and errors fall back to the stream.
type StatusSource interface {
	Status(ctx context.Context, taskID string) (bus.Status, error)
}

// Client talks to the bus on behalf of a caller. The zero value is not
// usable: set NC (and JS, or it is derived).
type Client struct {
	NC    *nats.Conn
	JS    jetstream.JetStream
	Names bus.Names
	// Cache, when set, is read first for status.
	Cache StatusSource
	// ViaAPI sends Submit and Cancel through the kernel's task API
	// (remote.go): parts with client or bridge credentials may not
	// write the event stream themselves.
	ViaAPI bool

	mu     sync.Mutex
	events jetstream.Stream
}

// init looks up the events stream once it exists; a failure is not kept,
// so a client made before the kernel finished starting recovers.
func (c *Client) init(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.events != nil {
		return nil
	}
	if c.JS == nil {
		js, err := jetstream.New(c.NC)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		c.JS = js
	}
	s, err := c.JS.Stream(ctx, c.Names.EventsStream())
	if err != nil {
		return fmt.Errorf("%w: events stream %s: %v", ErrUnavailable, c.Names.EventsStream(), err)
	}
	c.events = s
	return nil
}

// Submit validates the task, records it as accepted and queues it for its
// pool. Submitting the same id twice is one task: the second call returns
// the first one's record and dup = true.
func (c *Client) Submit(ctx context.Context, t bus.Task) (task bus.Task, dup bool, err error) {
	if c.ViaAPI {
		return c.submitViaAPI(ctx, t)
	}
	if err := c.init(ctx); err != nil {
		return t, false, err
	}
	if err := t.Normalize(); err != nil {
		return t, false, err
	}
	if t.Submitted.IsZero() {
		t.Submitted = time.Now().UTC()
	}
	accepted := bus.Event{TaskID: t.ID, Type: bus.EventAccepted, TS: t.Submitted, Task: &t}
	// Both messages leave at once; the server takes one connection's
	// messages in order and each stream stores its own in order, so the
	// accepted event is queued on AMF_EVENTS before any worker can have
	// seen the task, let alone added to its events. The accepted event
	// carries its own de-duplication id so a repeated submission does not
	// add a second one to the task's history.
	recorded, err := c.JS.PublishMsgAsync(eventMsg(c.Names, accepted, "accepted-"+t.ID))
	if err != nil {
		return t, false, fmt.Errorf("record task %s: %w", t.ID, err)
	}
	ack, err := c.JS.PublishMsg(ctx, &nats.Msg{
		Subject: c.Names.TaskFor(t.Pool, t.Policy),
		Data:    t.Encode(),
		Header:  nats.Header{bus.HeaderMsgID: []string{t.ID}},
	})
	if err != nil {
		return t, false, fmt.Errorf("queue task %s: %w", t.ID, err)
	}
	select {
	case <-recorded.Ok():
	case err := <-recorded.Err():
		// The task is queued and will run; only its first event is
		// missing. Say so rather than pretend it was not accepted.
		return t, ack.Duplicate, fmt.Errorf("task %s queued, but its accepted event was not stored: %w", t.ID, err)
	case <-ctx.Done():
		return t, ack.Duplicate, ctx.Err()
	}
	return t, ack.Duplicate, nil
}

func (c *Client) publishEvent(ctx context.Context, e bus.Event, msgID string) (*jetstream.PubAck, error) {
	return c.JS.PublishMsg(ctx, eventMsg(c.Names, e, msgID))
}

func eventMsg(names bus.Names, e bus.Event, msgID string) *nats.Msg {
	m := &nats.Msg{Subject: names.Event(e.TaskID), Data: e.Encode(), Header: nats.Header{}}
	m.Header.Set(bus.HeaderEventType, string(e.Type))
	if msgID != "" {
		m.Header.Set(bus.HeaderMsgID, msgID)
	}
	return m
}

// Status returns what is known of a task: from the cache when it has it,
// else folded from the task's events.
func (c *Client) Status(ctx context.Context, id string) (bus.Status, error) {
	if c.Cache != nil {
		if s, err := c.Cache.Status(ctx, id); err == nil && s.ID != "" {
			return s, nil
		}
	}
	return c.StatusFromEvents(ctx, id)
}

// StatusFromEvents rebuilds a task's status from the record of truth.
func (c *Client) StatusFromEvents(ctx context.Context, id string) (bus.Status, error) {
	var st bus.Status
	n := 0
	err := c.Watch(ctx, id, 0, false, func(e bus.Event) error {
		st.Apply(e)
		n++
		return nil
	})
	if err != nil {
		return st, err
	}
	if n == 0 {
		return st, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return st, nil
}

// LastEvent returns the newest event of a task, or ErrNotFound.
func (c *Client) LastEvent(ctx context.Context, id string) (bus.Event, error) {
	if err := c.init(ctx); err != nil {
		return bus.Event{}, err
	}
	raw, err := c.events.GetLastMsgForSubject(ctx, c.Names.Event(id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return bus.Event{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return bus.Event{}, fmt.Errorf("look up task %s: %w", id, err)
	}
	e, err := bus.DecodeEvent(raw.Data)
	e.Seq = raw.Sequence
	return e, err
}

// Cancel asks whoever runs the task to stop it. A task still queued is
// marked so that the worker that takes it cancels it at once.
func (c *Client) Cancel(ctx context.Context, id, reason string) error {
	if c.ViaAPI {
		return c.cancelViaAPI(ctx, id, reason)
	}
	last, err := c.LastEvent(ctx, id)
	if err != nil {
		return err
	}
	if last.Type.Terminal() {
		return fmt.Errorf("%w: %s ended as %s", ErrFinished, id, last.Type)
	}
	if reason == "" {
		reason = "cancelled by request"
	}
	req := bus.Event{TaskID: id, Type: bus.EventCancelRequested, TS: time.Now().UTC(), Reason: reason}
	ack, err := c.publishEvent(ctx, req, "")
	if err != nil {
		return fmt.Errorf("cancel %s: %w", id, err)
	}
	return c.stopHolder(ctx, id, reason, ack.Sequence)
}
