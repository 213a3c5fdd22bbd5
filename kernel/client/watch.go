package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/retry"
)

// errStop ends a watch early without an error to the caller.
var errStop = errors.New("stop watching")

// errBehind is a read cut short by a replica that lags the stream's
// leader; it passes within moments, so it is retried.
var errBehind = fmt.Errorf("%w: a replica has not stored the task's newest events yet", ErrUnavailable)

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
	st, err := c.Open(ctx, id, afterSeq, follow)
	if errors.Is(err, ErrNotFound) {
		if !follow {
			return nil
		}
		// A task published straight to the stream has no events until a
		// worker takes it: wait for them.
		st, err = &Stream{c: c, id: id, afterSeq: afterSeq, follow: true}, nil
	}
	if err != nil {
		return err
	}
	return st.Each(ctx, fn)
}

// Stream is a task's event history from one point on, opened but not yet
// read: callers that must answer before streaming (the bridge's status
// code) learn from Open whether the task exists.
type Stream struct {
	c        *Client
	id       string
	afterSeq uint64
	lastSeq  uint64
	follow   bool
	ended    bool
}

// Open looks up the task's newest event once. It returns ErrNotFound when
// the task has no events at all.
func (c *Client) Open(ctx context.Context, id string, afterSeq uint64, follow bool) (*Stream, error) {
	last, err := c.LastEvent(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("watch %s: %w", id, err)
	}
	st := &Stream{c: c, id: id, afterSeq: afterSeq, lastSeq: last.Seq, follow: follow}
	// Resuming after the terminal event finds nothing more, ever: end at
	// once instead of following a finished task.
	if last.Seq <= afterSeq && (!follow || last.Type.Terminal()) {
		st.ended = true
	}
	return st, nil
}

// Each calls fn with each event after the opening point, in order, until
// the terminal event (following) or the newest event at Open (not
// following), or until ctx ends. fn's error stops it and is returned.
//
// What is stored already is read with batch direct gets, which leave
// nothing on the server; only a task still running is then followed
// with an ordered consumer, deleted when the reader goes.
//
// A read cut by a leader election or a reconnect goes on after the last
// event passed to fn, within the client's RideThrough bound since the
// last event read; fn's own errors are returned as they are.
func (s *Stream) Each(ctx context.Context, fn func(RawEvent) error) error {
	if s.ended {
		return nil
	}
	bound := s.c.rideBound()
	deadline := time.Now().Add(bound)
	var fnErr error
	// Each event read moves the bound on: only a read that makes no
	// progress for the whole bound fails.
	again := func(err error) bool {
		return fnErr == nil && passing(err) && time.Now().Before(deadline)
	}
	return retry.Do(ctx, retry.Policy{First: 100 * time.Millisecond, Max: time.Second, Retry: again}, func(ctx context.Context) error {
		return s.each1(ctx, func(r RawEvent) error {
			if fnErr = fn(r); fnErr != nil {
				return fnErr
			}
			s.afterSeq = r.Seq
			deadline = time.Now().Add(bound)
			return nil
		})
	})
}

// each1 is one try of Each from s.afterSeq on.
func (s *Stream) each1(ctx context.Context, fn func(RawEvent) error) error {
	stop := false
	wrapped := func(r RawEvent) error {
		if err := fn(r); err != nil {
			return err
		}
		if r.Type.Terminal() || (!s.follow && r.Seq >= s.lastSeq) {
			stop = true
			return errStop
		}
		return nil
	}
	from := s.afterSeq
	if s.lastSeq > s.afterSeq {
		last, err := s.c.directRead(ctx, s.id, s.afterSeq+1, s.lastSeq, wrapped)
		switch {
		case errors.Is(err, errStop) || (err == nil && stop):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return err
		}
		from = max(last, s.afterSeq)
	}
	if !s.follow {
		if from < s.lastSeq {
			// The replica that answered has not stored yet what Open
			// saw: read again, from another one or later.
			return errBehind
		}
		return nil
	}
	err := s.c.follow(ctx, s.id, from, wrapped)
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// followInactive is how long the server keeps a follower's consumer once
// its reader stops asking: a reader that vanishes without deleting it
// (a killed process) frees its slot this soon. A live reader always has
// a pull waiting, which counts as activity.
const followInactive = 10 * time.Second

// directTimeout bounds one direct-get round trip.
const directTimeout = 10 * time.Second

// follow passes each event stored after afterSeq to fn until fn fails or
// ctx ends, through an ordered consumer that it deletes on return.
func (c *Client) follow(ctx context.Context, id string, afterSeq uint64, fn func(RawEvent) error) error {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{c.Names.Event(id)},
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: followInactive,
	}
	if afterSeq > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = afterSeq + 1
	}
	// The consumer is created even when the reader leaves while asking
	// for it, so it is asked for apart from the reader's context, under a
	// name known beforehand so that even a failed request is cleaned up.
	cfg.NamePrefix = strings.TrimPrefix(nats.NewInbox(), nats.InboxPrefix)
	createCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), directTimeout)
	cons, err := c.JS.OrderedConsumer(createCtx, c.Names.EventsStream(), cfg)
	cancel()
	if err != nil {
		c.deleteConsumer(cfg.NamePrefix + "_1")
		return fmt.Errorf("watch %s: %w", id, err)
	}
	defer c.release(cons)
	if ctx.Err() != nil {
		return ctx.Err()
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
		if err := fn(RawEvent{Seq: meta.Sequence.Stream, Type: bus.MsgEventType(msg.Headers(), msg.Data()), Data: msg.Data()}); err != nil {
			return err
		}
	}
}

// release deletes an ordered consumer once its reader is done: stopping
// it leaves it on the server, where enough of them reach the stream's
// consumer limit and refuse every new reader.
func (c *Client) release(cons jetstream.Consumer) {
	if info := cons.CachedInfo(); info != nil {
		c.deleteConsumer(info.Name)
	}
}

func (c *Client) deleteConsumer(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), directTimeout)
	defer cancel()
	_ = c.JS.DeleteConsumer(ctx, c.Names.EventsStream(), name)
}
