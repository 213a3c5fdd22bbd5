package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoEvents means a task's event subject holds nothing: no task with
// that id is known.
var ErrNoEvents = errors.New("no events")

// EventMsg is the message an event is stored as: on the task's event
// subject, with its type in a header so readers can filter without
// decoding the body.
func (n Names) EventMsg(e Event) *nats.Msg {
	return n.eventMsg(n.Event(e.TaskID), e)
}

// EventMsgBy is EventMsg for a worker holding credential id cred, for a
// task of pool (EventBy).
func (n Names) EventMsgBy(e Event, pool, cred string) *nats.Msg {
	return n.eventMsg(n.EventBy(e.TaskID, pool, cred), e)
}

func (n Names) eventMsg(subject string, e Event) *nats.Msg {
	m := &nats.Msg{Subject: subject, Data: e.Encode(), Header: nats.Header{}}
	m.Header.Set(HeaderEventType, string(e.Type))
	return m
}

// MsgEventType is a stored event's type: from its header, or from its
// body when it was published without the header (by hand, say).
func MsgEventType(h nats.Header, data []byte) EventType {
	if t := h.Get(HeaderEventType); t != "" {
		return EventType(t)
	}
	if e, err := DecodeEvent(data); err == nil {
		return e.Type
	}
	return ""
}

// LastEvent is the newest stored event of a task, with its Seq set. It
// wraps ErrNoEvents when the task has none. events is the events stream,
// which allows direct gets, so any replica answers.
func (n Names) LastEvent(ctx context.Context, events jetstream.Stream, taskID string) (Event, error) {
	raw, err := events.GetLastMsgForSubject(ctx, n.TaskEvents(taskID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Event{}, fmt.Errorf("%w: %s", ErrNoEvents, taskID)
	}
	if err != nil {
		return Event{}, fmt.Errorf("look up task %s: %w", taskID, err)
	}
	return n.storedEvent(taskID, raw), nil
}

// storedEvent decodes an event read from the stream, with its Seq set. A
// foreign message on the subject still has a place in the order: it keeps
// its sequence and whatever type it declares.
func (n Names) storedEvent(taskID string, raw *jetstream.RawStreamMsg) Event {
	e, err := DecodeEvent(raw.Data)
	if err != nil {
		e = Event{TaskID: taskID, Type: MsgEventType(raw.Header, raw.Data)}
	}
	e.Seq = raw.Sequence
	e.Source = n.StoredSource(raw.Subject)
	e.Stored = raw.Time
	return e
}

// LastEventIn is LastEvent as a worker of pool sees the task: the
// newest of the kernel's events and its pool's workers', so that an
// event a worker of another pool stored under the task's id neither ends
// the task nor passes for its holder.
//
// The task's newest event of all is looked up first: when it is the
// kernel's or the pool's, as it is unless another pool's worker wrote
// last, it is the answer, in one round trip instead of two.
func (n Names) LastEventIn(ctx context.Context, events jetstream.Stream, taskID, pool string) (Event, error) {
	newest, err := n.LastEvent(ctx, events, taskID)
	if pool == "" || err != nil || newest.Source.Kernel || newest.Source.Pool == pool {
		return newest, err
	}
	newest = Event{}
	for _, subject := range []string{n.Event(taskID), n.PoolEvents(taskID, pool)} {
		raw, err := events.GetLastMsgForSubject(ctx, subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return Event{}, fmt.Errorf("look up task %s: %w", taskID, err)
		}
		if raw.Sequence > newest.Seq {
			newest = n.storedEvent(taskID, raw)
		}
	}
	if newest.Seq == 0 {
		return Event{}, fmt.Errorf("%w: %s", ErrNoEvents, taskID)
	}
	return newest, nil
}

// NextEvent is the first stored event of a task at or after seq, for
// walking a task's history without a consumer; ErrNoEvents when none.
func (n Names) NextEvent(ctx context.Context, events jetstream.Stream, taskID string, seq uint64) (Event, error) {
	raw, err := events.GetMsg(ctx, max(seq, 1), jetstream.WithGetMsgSubject(n.TaskEvents(taskID)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Event{}, fmt.Errorf("%w: %s after %d", ErrNoEvents, taskID, seq)
	}
	if err != nil {
		return Event{}, fmt.Errorf("look up task %s: %w", taskID, err)
	}
	return n.storedEvent(taskID, raw), nil
}

// Fenced is the publish option that stores an event only when the task's
// newest event is still the one at lastSeq (0: the task has no events).
// It is how a writer proves it still holds a task.
func Fenced(lastSeq uint64) jetstream.PublishOpt {
	return jetstream.WithExpectLastSequencePerSubject(lastSeq)
}

// FencedTask is Fenced for a task's event: it compares with the task's
// newest event from any writer (TaskEvents), not only with the newest on
// the subject the event is stored on.
func (n Names) FencedTask(taskID string, lastSeq uint64) jetstream.PublishOpt {
	return jetstream.WithExpectLastSequenceForSubject(lastSeq, n.TaskEvents(taskID))
}

// IsFenceConflict reports whether a publish was refused because the
// task's newest event was not the one the writer expected.
func IsFenceConflict(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// JetStreamDelivery reports a message that JetStream sent rather than
// one its sender published: a push consumer's deliver subject can name
// any subject, so such a message's subject proves nothing about the
// sender's rights. Deliveries carry their ack subject as reply (even with
// AckNone), flow-control requests a $JS.FC reply, and idle heartbeats no
// reply but a Status header, which nothing a person publishes carries.
func JetStreamDelivery(reply string, h nats.Header) bool {
	return strings.HasPrefix(reply, "$JS.") || h.Get(statusHeader) != ""
}

// statusHeader is the header of JetStream's status messages (idle
// heartbeats, flow control), as nats.go reads them.
const statusHeader = "Status"

// InboxReply reports whether reply is a requester's inbox (_INBOX.… or a
// credential's own _INBOX_<id>.…), the only place a service of the bus
// answers. nats-server checks no request's reply subject against its
// sender's permissions, and whoever answers (the kernel, a worker, under
// its own rights) would otherwise write where the requester may not: into
// a stream or a KV bucket.
func InboxReply(reply string) bool { return strings.HasPrefix(reply, "_INBOX") }
