package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// errStop ends a watch early without an error to the caller.
var errStop = errors.New("stop watching")

// RawEvent is one stored event as the stream holds it: relays pass Data
// on without decoding it, which is most of their cost per token.
type RawEvent struct {
	Seq  uint64
	Type bus.EventType
	// Data is the event's JSON without its seq field.
	Data []byte
}

// Watch calls fn with each event of a task whose stream sequence is above
// afterSeq, in order. With follow it waits for new events until the
// terminal one or ctx ends; without it, it returns after the newest event
// stored now. fn's error stops the watch and is returned.
func (c *Client) Watch(ctx context.Context, id string, afterSeq uint64, follow bool, fn func(bus.Event) error) error {
	return c.WatchRaw(ctx, id, afterSeq, follow, func(r RawEvent) error {
		e, err := bus.DecodeEvent(r.Data)
		if err != nil {
			// A foreign message on the subject is skipped, not fatal: the
			// task's own history must stay readable.
			return nil
		}
		e.Seq = r.Seq
		return fn(e)
	})
}

// WatchRaw is Watch without decoding: the type comes from the event's
// header, so each event costs no JSON work.
func (c *Client) WatchRaw(ctx context.Context, id string, afterSeq uint64, follow bool, fn func(RawEvent) error) error {
	if err := c.init(ctx); err != nil {
		return err
	}
	last, err := c.events.GetLastMsgForSubject(ctx, c.Names.Event(id))
	var lastSeq uint64
	switch {
	case err == nil:
		lastSeq = last.Sequence
	case errors.Is(err, jetstream.ErrMsgNotFound):
	default:
		return fmt.Errorf("watch %s: %w", id, err)
	}
	if !follow && lastSeq <= afterSeq {
		return nil
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{c.Names.Event(id)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	}
	if afterSeq > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = afterSeq + 1
	}
	cons, err := c.JS.OrderedConsumer(ctx, c.Names.EventsStream(), cfg)
	if err != nil {
		return fmt.Errorf("watch %s: %w", id, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("watch %s: %w", id, err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("watch %s: %w", id, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("watch %s: %w", id, err)
		}
		r := RawEvent{Seq: meta.Sequence.Stream, Type: bus.EventType(msg.Headers().Get(bus.HeaderEventType)), Data: msg.Data()}
		if r.Type == "" {
			// Published without the header (by hand, say): read the type
			// from the body.
			if e, err := bus.DecodeEvent(r.Data); err == nil {
				r.Type = e.Type
			}
		}
		if err := fn(r); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}
		if r.Type.Terminal() || (!follow && r.Seq >= lastSeq) {
			return nil
		}
	}
}
