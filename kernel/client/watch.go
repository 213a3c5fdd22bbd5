package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
	// Subject is where it is stored, which names its writer
	// (bus.Names.SourceOf).
	Subject string
	// Data is the event's JSON without its seq field.
	Data []byte
}

// Watch calls fn with each event of a task whose stream sequence is above
// afterSeq, in order. With follow it waits for new events until the
// terminal one or ctx ends; without it, it returns after the newest event
// stored now. fn's error stops the watch and is returned.
func (c *Client) Watch(ctx context.Context, id string, afterSeq uint64, follow bool, fn func(bus.Event) error) error {
	return c.WatchRaw(ctx, id, afterSeq, follow, c.decoded(fn))
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
// code) learn from Open whether the task exists. Each must be called
// once, which lets go of what Open holds.
type Stream struct {
	c        *Client
	id       string
	reader   Reader
	afterSeq uint64
	lastSeq  uint64
	follow   bool
	ended    bool
	// direct reads what is stored at Open with direct gets, which make
	// nothing on the server: the kernel's own connection, reading for
	// itself. Only what comes after is followed with a consumer.
	direct bool
	// pool is the task's pool when known: events a worker of another
	// pool stored under the task's id are not the task's.
	pool string
	// sub and consumer are the reader's consumer made at Open, used by
	// the first read; later tries ask for a new one.
	sub      *replies
	consumer string
}

// Open looks up the task's newest event once. It returns ErrNotFound when
// the task has no events at all, or none the caller may read.
func (c *Client) Open(ctx context.Context, id string, afterSeq uint64, follow bool) (*Stream, error) {
	return c.OpenAs(ctx, Reader{}, id, afterSeq, follow)
}

// readerFrom is whom a read with ctx is for: the HTTP token whose access
// ctx carries (the bridge reads for it), else the connection's own
// credential.
func readerFrom(ctx context.Context) Reader {
	if a, ok := AccessFrom(ctx); ok && strings.HasPrefix(string(a.Owner), "token:") {
		return Reader{Owner: a.Owner, All: a.SeeAll || a.ActAll}
	}
	return Reader{}
}

// OpenAs is Open for reader: the bridge reads for its HTTP tokens.
//
// Every read but the kernel's own goes through a consumer the kernel
// makes for it (readers.go): the reader may neither make consumers nor
// read the stream directly.
func (c *Client) OpenAs(ctx context.Context, reader Reader, id string, afterSeq uint64, follow bool) (*Stream, error) {
	st := &Stream{c: c, id: id, reader: reader, afterSeq: afterSeq, follow: follow}
	var lastSeq uint64
	var lastType bus.EventType
	if !c.ViaAPI && !reader.forToken() {
		last, err := c.LastEvent(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, err
		case err != nil:
			return nil, fmt.Errorf("watch %s: %w", id, err)
		}
		st.direct = true
		// From the cache only: folding the task's events would read them
		// through here again.
		if c.Cache != nil {
			if status, err := c.Cache.Status(ctx, id); err == nil {
				st.pool = status.Pool
			}
		}
		// The read passes on the kernel's events and the pool's only:
		// it stands at the newest of those.
		if last, err = c.lastIn(ctx, id, last, st.pool); err != nil {
			return nil, fmt.Errorf("watch %s: %w", id, err)
		}
		lastSeq, lastType = last.Seq, last.Type
	} else {
		sub, reply, err := c.openReader(ctx, reader, id, afterSeq, false)
		if err != nil {
			return nil, err
		}
		st.sub, st.consumer = sub, reply.Consumer
		lastSeq, lastType = reply.LastSeq, reply.LastType
	}
	st.lastSeq = lastSeq
	// Resuming after the terminal event finds nothing more, ever: end at
	// once instead of following a finished task.
	if lastSeq <= afterSeq && (!follow || lastType.Terminal()) {
		st.ended = true
		st.release()
	}
	return st, nil
}

// release lets go of the consumer made at Open, when Each did not use it.
func (s *Stream) release() {
	if s.sub != nil || s.consumer != "" {
		s.c.closeReader(s.reader, s.sub, s.consumer)
		s.sub, s.consumer = nil, ""
	}
}

// Each calls fn with each event after the opening point, in order, until
// the terminal event (following) or the newest event at Open (not
// following), or until ctx ends. fn's error stops it and is returned.
//
// A reader's consumer delivers what is stored and then what comes, into
// the reader's own inbox; it heartbeats while the task is quiet, so a
// reader whose kernel froze or whose consumer vanished asks for a new one
// from its last event instead of waiting for ever.
//
// A read cut by a leader election or a reconnect goes on after the last
// event passed to fn, within the client's RideThrough bound since the
// last event read; fn's own errors are returned as they are.
func (s *Stream) Each(ctx context.Context, fn func(RawEvent) error) error {
	defer s.release()
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

// EachEvent is Each with the events decoded; a foreign message on the
// task's subject is skipped.
func (s *Stream) EachEvent(ctx context.Context, fn func(bus.Event) error) error {
	return s.Each(ctx, s.c.decoded(fn))
}

func (c *Client) decoded(fn func(bus.Event) error) func(RawEvent) error {
	return func(r RawEvent) error {
		e, err := bus.DecodeEvent(r.Data)
		if err != nil {
			// A foreign message on the subject is skipped, not fatal: the
			// task's own history must stay readable.
			return nil
		}
		e.Seq = r.Seq
		e.Source = c.Names.StoredSource(r.Subject)
		return fn(e)
	}
}

// each1 is one try of Each from s.afterSeq on.
func (s *Stream) each1(ctx context.Context, fn func(RawEvent) error) error {
	stop := false
	wrapped := func(r RawEvent) error {
		if s.foreign(r) {
			return nil
		}
		if err := fn(r); err != nil {
			return err
		}
		if r.Type.Terminal() || (!s.follow && r.Seq >= s.lastSeq) {
			stop = true
			return errStop
		}
		return nil
	}
	if s.direct && s.lastSeq > s.afterSeq {
		last, err := s.c.directRead(ctx, s.id, s.afterSeq+1, s.lastSeq, wrapped)
		switch {
		case errors.Is(err, errStop) || (err == nil && stop):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return err
		case !s.follow && max(last, s.afterSeq) < s.lastSeq:
			// The replica that answered has not stored yet what Open
			// saw: read again, from another one or later.
			return errBehind
		}
		// A follower's consumer delivers from the last event passed on,
		// whatever a lagging replica left out.
	}
	if s.direct && !s.follow {
		return nil
	}
	if s.sub == nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sub, reply, err := s.c.openReader(ctx, s.reader, s.id, s.afterSeq, true)
		if ctx.Err() != nil {
			// The reader left while asking; what was made is let go.
			if err == nil {
				s.c.closeReader(s.reader, sub, reply.Consumer)
			}
			return ctx.Err()
		}
		if err != nil {
			return err
		}
		s.sub, s.consumer = sub, reply.Consumer
	}
	err := s.readPush(ctx, wrapped)
	// A try that failed gets a new consumer from where it stopped.
	s.release()
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// foreign reports whether r was stored by a worker of a pool other than
// the task's, or is no task event at all: passed on to nobody (a reader's consumer filters those out
// already; direct reads see every subject of the task).
func (s *Stream) foreign(r RawEvent) bool {
	src := s.c.Names.StoredSource(r.Subject)
	if src.Foreign {
		return true
	}
	if s.pool == "" {
		return false
	}
	return src.Pool != "" && src.Pool != s.pool
}

// errStalled is a reader's consumer that went quiet past its heartbeat:
// its kernel froze or it was deleted. A new one is asked for.
var errStalled = fmt.Errorf("%w: the task's event stream went quiet past its heartbeat", ErrUnavailable)

// errGap is a delivery missed (the reader fell behind its inbox's
// buffer): the stream goes on from the last event passed on.
var errGap = fmt.Errorf("%w: an event was missed on the way", ErrUnavailable)

// directTimeout bounds one direct-get round trip.
const directTimeout = 10 * time.Second

// readPush passes each event the reader's consumer delivers to fn until
// fn fails, the consumer stalls or skips, or ctx ends.
func (s *Stream) readPush(ctx context.Context, fn func(RawEvent) error) error {
	var lastConsumerSeq uint64
	for {
		wait, cancel := context.WithTimeout(ctx, bus.ReaderStalled)
		msg, err := s.sub.next(wait)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			return errStalled
		case err != nil:
			return fmt.Errorf("%w: watch %s: %v", ErrUnavailable, s.id, err)
		}
		if msg.Header.Get("Status") != "" {
			continue // an idle heartbeat
		}
		meta, err := msg.Metadata()
		if err != nil || meta.Consumer != s.consumer || meta.Stream != s.c.Names.EventsStream() {
			continue // not a delivery of the reader's consumer
		}
		if meta.Sequence.Consumer != lastConsumerSeq+1 {
			return errGap
		}
		lastConsumerSeq = meta.Sequence.Consumer
		if meta.Sequence.Stream <= s.afterSeq {
			continue
		}
		if err := fn(RawEvent{Seq: meta.Sequence.Stream, Type: bus.MsgEventType(msg.Header, msg.Data), Subject: msg.Subject, Data: msg.Data}); err != nil {
			return err
		}
	}
}
