package workers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// window bounds one task's events in flight: enough to stream at full
// speed, small enough that a stalled stream slows the producer (the model
// stream, the command's output) instead of dropping events.
const window = 256

// Sentinel outcomes of the fence on a task's events.
var (
	// errStale means another worker wrote to the task after this one's
	// newest event: this worker no longer holds it and must stop.
	errStale = errors.New("another worker holds the task")
	// errEnded means the task has its terminal event already.
	errEnded = errors.New("task already ended")
)

// emitter publishes one task's events in order. Steps that stream (tokens,
// output lines) are published without waiting for each acknowledgement;
// the first (claim) and the terminal event (finish) are fenced: stored only
// if the task's newest event is still the one this worker last saw, which
// is how a worker proves it still holds the task.
type emitter struct {
	js      jetstream.JetStream
	events  jetstream.Stream
	names   bus.Names
	taskID  string
	worker  string
	attempt int
	// lastSeq is the newest event of the task this worker knows stored:
	// its own, or the one it took the task over from.
	lastSeq uint64
	// pending are the acks not yet seen, oldest first.
	pending []jetstream.PubAckFuture
	// unconfirmed are events whose ack never came (a timeout, a kernel
	// restart): they may be stored; finish looks before counting them lost.
	unconfirmed []unconfirmed
	// lost counts events the stream refused; reported on the terminal one.
	lost int
	// claimed is the sequence of this delivery's assigned event, and base
	// the number of events the task had then (0: not known). own are the
	// sequences of this worker's events stored since, so finish can tell
	// whether anyone else wrote in between.
	claimed, base uint64
	own           []uint64
}

type unconfirmed struct {
	msg   *nats.Msg
	after uint64 // lastSeq when it was published
}

func (em *emitter) event(t bus.EventType) bus.Event {
	return bus.Event{TaskID: em.taskID, Type: t, Worker: em.worker, Attempt: em.attempt, TS: time.Now().UTC()}
}

// emit publishes a non-terminal event without waiting for its ack,
// unless the task already has a full window of events in flight: then it
// waits for the oldest, which is what slows a producer down.
func (em *emitter) emit(e bus.Event) {
	em.settle(window - 1)
	m := em.names.EventMsg(e)
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
		case ack := <-f.Ok():
			em.lastSeq = max(em.lastSeq, ack.Sequence)
			em.own = append(em.own, ack.Sequence)
		case err := <-f.Err():
			var apiErr *jetstream.APIError
			switch {
			case err == nil:
			case errors.As(err, &apiErr):
				em.lost++ // refused by the stream: not stored
			default:
				em.unconfirmed = append(em.unconfirmed, unconfirmed{msg: f.Msg(), after: em.lastSeq})
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

// fenceTries bounds how often a fenced write follows events that others
// may add to a task it holds (cancel requests, a late accepted event).
const fenceTries = 10

// claim stores the task's first event of this delivery, e (assigned),
// after the task's newest event, last. It fails with errEnded when the
// task has ended, and with errStale when another worker is writing to
// it. A cancel request found on the way calls onCancel.
func (em *emitter) claim(ctx context.Context, e bus.Event, last bus.Event, onCancel func(reason string)) error {
	// A cancel request found here cancels the task's context, not the
	// claim: a cancelled task is still answered with its terminal event.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	m := em.names.EventMsg(e)
	for try := 0; try < fenceTries; try++ {
		if last.Type == bus.EventCancelRequested {
			onCancel(last.Reason)
		}
		ack, err := em.js.PublishMsg(ctx, m, bus.Fenced(last.Seq))
		if err == nil {
			em.lastSeq, em.claimed = ack.Sequence, ack.Sequence
			em.base, _ = em.count(ctx)
			return nil
		}
		if !bus.IsFenceConflict(err) {
			return fmt.Errorf("store %s event: %w", e.Type, err)
		}
		prev := last.Seq
		if last, err = em.names.LastEvent(ctx, em.events, em.taskID); err != nil {
			return fmt.Errorf("store %s event: %w", e.Type, err)
		}
		switch {
		case last.Type.Terminal():
			return errEnded
		case !requestType(last.Type) && last.Seq > prev:
			// A holder's event arrived since we looked: it is alive.
			return errStale
		}
	}
	return errStale
}

// requestType reports whether events of type t are written by clients,
// not by the worker holding the task.
func requestType(t bus.EventType) bool {
	return t == bus.EventAccepted || t == bus.EventCancelRequested
}

// finish publishes a terminal event once all earlier events are stored,
// fenced on the newest of them. It returns errStale, without storing e,
// when another worker wrote to the task since.
func (em *emitter) finish(ctx context.Context, e bus.Event) error {
	// Every earlier event is stored (or counted lost) before the terminal
	// one, so a reader that sees the end has seen everything.
	em.settle(0)
	em.confirm(ctx)
	if err := em.stillHeld(ctx); err != nil {
		return err
	}
	if em.lost > 0 && e.Reason == "" {
		e.Reason = fmt.Sprintf("%d events could not be stored", em.lost)
	}
	m := em.names.EventMsg(e)
	for try := 0; try < fenceTries; try++ {
		ack, err := em.js.PublishMsg(ctx, m, bus.Fenced(em.lastSeq))
		if err == nil {
			em.lastSeq = ack.Sequence
			return nil
		}
		// Our own earlier try may be stored with its ack lost: a
		// timeout, or a conflict with ourselves on the retry.
		if !bus.IsFenceConflict(err) {
			em.barrier(ctx)
		}
		if seq, ok := em.stored(ctx, m.Data, em.lastSeq+1); ok {
			em.lastSeq = seq
			return nil
		}
		if !bus.IsFenceConflict(err) {
			return fmt.Errorf("store %s event: %w", e.Type, err)
		}
		if err := em.skipRequests(ctx); err != nil {
			return err
		}
	}
	return errStale
}

// stillHeld finds another holder's events among this worker's own since
// its claim: the fence on the terminal event alone sees only what came
// after this worker's newest event. It costs one count of the task's
// events, and a walk through them only when someone else wrote.
func (em *emitter) stillHeld(ctx context.Context) error {
	if em.base == 0 {
		return nil
	}
	n, err := em.count(ctx)
	if err != nil || n <= em.base+uint64(len(em.own)) {
		return nil // unknown, or only our own: the fence decides
	}
	slices.Sort(em.own)
	for seq := em.claimed + 1; ; {
		next, err := em.names.NextEvent(ctx, em.events, em.taskID, seq)
		if err != nil {
			return nil
		}
		if _, mine := slices.BinarySearch(em.own, next.Seq); !mine {
			switch {
			case next.Type.Terminal():
				return errEnded
			case !requestType(next.Type):
				return errStale
			}
		}
		seq = next.Seq + 1
	}
}

// count is how many events the task has stored.
func (em *emitter) count(ctx context.Context) (uint64, error) {
	subject := em.names.Event(em.taskID)
	info, err := em.events.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return 0, err
	}
	return info.State.Subjects[subject], nil
}

// skipRequests moves lastSeq past the events added after it when every
// one is a client's request; any other event is another holder's, or
// the task's end.
func (em *emitter) skipRequests(ctx context.Context) error {
	for {
		next, err := em.names.NextEvent(ctx, em.events, em.taskID, em.lastSeq+1)
		if errors.Is(err, bus.ErrNoEvents) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read task events: %w", err)
		}
		switch {
		case next.Type.Terminal():
			return errEnded
		case !requestType(next.Type):
			return errStale
		}
		em.lastSeq = next.Seq
	}
}

// confirm looks for each event whose ack never came: it is stored right
// after the event before it, give or take a request in between. Only
// those not found count as lost.
func (em *emitter) confirm(ctx context.Context) {
	if len(em.unconfirmed) == 0 {
		return
	}
	em.barrier(ctx)
	var cursor uint64 // after the last one found: several may share after
	for _, u := range em.unconfirmed {
		if seq, ok := em.stored(ctx, u.msg.Data, max(u.after, cursor)+1); ok {
			em.lastSeq, cursor = max(em.lastSeq, seq), seq
			em.own = append(em.own, seq)
			continue
		}
		em.lost++
	}
	em.unconfirmed = nil
}

// barrier returns once the stream has taken in everything this
// connection published before: a publish the stream always refuses (its
// fence names no possible sequence) is answered in order after them.
func (em *emitter) barrier(ctx context.Context) {
	probe := em.names.EventMsg(em.event(bus.EventCancelled))
	_, _ = em.js.PublishMsg(ctx, probe, bus.Fenced(math.MaxUint64))
}

// stored reports where data is stored among the task's first few events
// from seq on.
func (em *emitter) stored(ctx context.Context, data []byte, seq uint64) (uint64, bool) {
	const look = 4
	for i := 0; i < look; i++ {
		raw, err := em.events.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(em.names.Event(em.taskID)))
		if err != nil {
			return 0, false
		}
		if bytes.Equal(raw.Data, data) {
			return raw.Sequence, true
		}
		seq = raw.Sequence + 1
	}
	return 0, false
}
