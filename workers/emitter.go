package workers

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// emitter publishes one task's events in order. Steps that stream (tokens,
// output lines) are published without waiting for each acknowledgement;
// the terminal event waits until the stream has stored it and everything
// before it, because the task message is acked only after that.
type emitter struct {
	js      jetstream.JetStream
	names   bus.Names
	taskID  string
	worker  string
	attempt int
	last    jetstream.PubAckFuture
}

func (em *emitter) event(t bus.EventType) bus.Event {
	return bus.Event{TaskID: em.taskID, Type: t, Worker: em.worker, Attempt: em.attempt, TS: time.Now().UTC()}
}

func (em *emitter) msg(e bus.Event) *nats.Msg {
	m := &nats.Msg{Subject: em.names.Event(em.taskID), Data: e.Encode(), Header: nats.Header{}}
	m.Header.Set(bus.HeaderEventType, string(e.Type))
	return m
}

// emit publishes a non-terminal event without waiting for its ack.
func (em *emitter) emit(e bus.Event) {
	// An async publish can only fail locally when too many acks are
	// outstanding; the synchronous terminal publish then reports the
	// stream's state, so the error is not lost but surfaced there.
	if f, err := em.js.PublishMsgAsync(em.msg(e)); err == nil {
		em.last = f
	}
}

// emitText publishes an event of type t carrying text.
func (em *emitter) emitText(t bus.EventType, text string) {
	e := em.event(t)
	e.Text = text
	em.emit(e)
}

// finish publishes a terminal event and waits until it and all earlier
// events are stored.
func (em *emitter) finish(ctx context.Context, e bus.Event) error {
	// Acks come back in publish order on one connection, so waiting for
	// this task's newest one covers all of its earlier events.
	if em.last != nil {
		select {
		case <-em.last.Ok():
		case <-em.last.Err():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if _, err := em.js.PublishMsg(ctx, em.msg(e)); err != nil {
		return fmt.Errorf("store %s event: %w", e.Type, err)
	}
	return nil
}
