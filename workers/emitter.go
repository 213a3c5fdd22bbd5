package workers

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// window bounds one task's events in flight: enough to stream at full
// speed, small enough that a stalled stream slows the producer (the model
// stream, the command's output) instead of dropping events.
const window = 256

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
	// pending are the acks not yet seen, oldest first.
	pending []jetstream.PubAckFuture
	// lost counts events the stream refused; reported on the terminal one.
	lost int
}

func (em *emitter) event(t bus.EventType) bus.Event {
	return bus.Event{TaskID: em.taskID, Type: t, Worker: em.worker, Attempt: em.attempt, TS: time.Now().UTC()}
}

func (em *emitter) msg(e bus.Event) *nats.Msg {
	m := &nats.Msg{Subject: em.names.Event(em.taskID), Data: e.Encode(), Header: nats.Header{}}
	m.Header.Set(bus.HeaderEventType, string(e.Type))
	return m
}

// emit publishes a non-terminal event without waiting for its ack,
// unless the task already has a full window of events in flight: then it
// waits for the oldest, which is what slows a producer down.
func (em *emitter) emit(e bus.Event) {
	em.settle(window - 1)
	m := em.msg(e)
	for attempt := 0; ; attempt++ {
		f, err := em.js.PublishMsgAsync(m)
		if err == nil {
			em.pending = append(em.pending, f)
			return
		}
		// Only local back-pressure (every task's acks together over
		// the connection's limit) fails here; wait for ours and retry.
		if attempt == 50 {
			em.lost++
			return
		}
		em.settle(0)
		time.Sleep(time.Millisecond)
	}
}

// settle waits until at most n of this task's events are in flight.
func (em *emitter) settle(n int) {
	for len(em.pending) > n {
		f := em.pending[0]
		select {
		case <-f.Ok():
		case err := <-f.Err():
			if err != nil {
				em.lost++
			}
		}
		em.pending = em.pending[1:]
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
	// Every earlier event is stored (or counted lost) before the terminal
	// one, so a reader that sees the end has seen everything.
	em.settle(0)
	if em.lost > 0 && e.Reason == "" {
		e.Reason = fmt.Sprintf("%d events could not be stored", em.lost)
	}
	if _, err := em.js.PublishMsg(ctx, em.msg(e)); err != nil {
		return fmt.Errorf("store %s event: %w", e.Type, err)
	}
	return nil
}
