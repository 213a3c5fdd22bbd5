package workers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/retry"
)

// window bounds one task's events waiting to be stored: past it the
// producer (the model stream, the command's output) waits, so a stalled
// stream slows the task instead of dropping events.
const window = 256

// Sentinel outcomes of the fence on a task's events.
var (
	// errStale means another worker wrote to the task after this one's
	// newest event: this worker no longer holds it and must stop.
	errStale = errors.New("another worker holds the task")
	// errEnded means the task has its terminal event already.
	errEnded = errors.New("task already ended")
	// errRefused marks a stream's answer another try would get again.
	errRefused = errors.New("refused by the stream")
	// errLostHold means the worker could not renew its hold on the task
	// for an ack wait: the pool may have given it to another worker.
	// errClosed is what an emitter closed before its end reports.
	errClosed   = errors.New("task's events closed")
	errLostHold = errors.New("hold on the task lost: in-progress acks unanswered for the ack wait")
)

// emitter stores one task's events in order, each fenced on the one
// before it (expected last subject sequence): an event is stored only if
// the task's newest event is still this worker's previous one, give or
// take a client's request. So once another worker has written to the
// task, nothing of this one lands after it, and a second terminal event
// cannot be stored. Events are stored one at a time by a sender
// goroutine; text that streams (tokens) is joined while it waits, which
// keeps the chain of round trips short.
type emitter struct {
	js     jetstream.JetStream
	events jetstream.Stream
	names  bus.Names
	taskID string
	worker string
	// pool and cred place the worker's events on its own subject
	// (bus.Names.EventBy), the only one its credential may store a
	// task's events on; an empty cred (a connection without a
	// credential of its own) stores on the kernel's.
	pool, cred string
	attempt    int
	// delivery is which delivery of the task this is (see deliveryOf);
	// every event carries it, so the task's newest event tells the
	// next delivery how many came before it.
	delivery int
	// lastSeq is the newest event of the task this worker knows stored:
	// its own, or the one it took the task over from. The sender owns it
	// between claim and finish.
	lastSeq uint64
	// lost counts events the stream refused; reported on the terminal one.
	lost int

	mu     sync.Mutex
	wake   *sync.Cond // the queue changed, or the emitter closed
	queue  []bus.Event
	closed bool
	// err, once set, is why this worker stores nothing more of the task
	// (errStale, errEnded, errLostHold).
	err error
	// onStale, if set, hears once that another writer took the task
	// (errStale, errEnded), so the run stops.
	onStale func(error)
	// stop ends the sender's retries; done closes when the sender returns.
	stop context.CancelFunc
	done chan struct{}
}

func (em *emitter) event(t bus.EventType) bus.Event {
	return bus.Event{TaskID: em.taskID, Type: t, Worker: em.worker, Attempt: em.attempt, TS: time.Now().UTC()}
}

// streamedText reports event types whose texts are one stream cut at
// arbitrary points, so neighbours may be joined.
func streamedText(t bus.EventType) bool {
	return t == bus.EventToken || t == bus.EventThinking || t == bus.EventAnswer
}

// outputLine tells the events that carry a command's output, whole lines.
// Lines queued while an event waits for its ack are joined into one event
// (separated by "\n"), so a command's output costs a store per burst rather
// than per line; maxJoinedOutput bounds such an event well below the
// server's message size.
func outputLine(t bus.EventType) bool {
	return t == bus.EventStdout || t == bus.EventStderr
}

const maxJoinedOutput = 64 << 10

// emit queues a non-terminal event. It waits while a full window is
// queued, and drops the event once the worker no longer holds the task.
func (em *emitter) emit(e bus.Event) {
	em.mu.Lock()
	defer em.mu.Unlock()
	if em.wake == nil {
		return // not claimed: nothing may be stored
	}
	for em.err == nil && !em.closed && len(em.queue) >= window {
		em.wake.Wait()
	}
	if em.err != nil || em.closed {
		return
	}
	if n := len(em.queue); n > 0 {
		if tail := &em.queue[n-1]; tail.Type == e.Type && tail.Attempt == e.Attempt {
			switch {
			case streamedText(e.Type):
				tail.Text += e.Text
				return
			case outputLine(e.Type) && len(tail.Text)+1+len(e.Text) <= maxJoinedOutput:
				tail.Text += "\n" + e.Text
				return
			}
		}
	}
	em.queue = append(em.queue, e)
	em.wake.Broadcast()
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
// after the task's newest event, last, and starts the sender. It fails
// with errEnded when the task has ended, and with errStale when another
// worker is writing to it. A cancel request found on the way calls
// onCancel.
func (em *emitter) claim(ctx context.Context, e bus.Event, last bus.Event, onCancel func(reason string)) error {
	// A cancel request found here cancels the task's context, not the
	// claim: a cancelled task is still answered with its terminal event.
	ctx = context.WithoutCancel(ctx)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	m := em.msg(em.stamped(e))
	for try := 0; try < fenceTries; try++ {
		if last.Type == bus.EventCancelRequested {
			onCancel(last.Reason)
		}
		ack, err := em.js.PublishMsg(cctx, m, em.names.FencedTask(em.taskID, last.Seq))
		if err == nil {
			em.lastSeq = ack.Sequence
			em.start(ctx)
			return nil
		}
		if !bus.IsFenceConflict(err) {
			return fmt.Errorf("store %s event: %w", e.Type, err)
		}
		prev := last.Seq
		// The task's own newest event decides; the newest of all (a
		// worker of another pool may store under the task's id) is only
		// what the next try fences on.
		own, err := em.names.LastEventIn(cctx, em.events, em.taskID, em.pool)
		if err != nil {
			return fmt.Errorf("store %s event: %w", e.Type, err)
		}
		switch {
		case own.Type.Terminal():
			return errEnded
		case !requestType(own.Type) && own.Seq > prev:
			// A holder's event arrived since we looked: it is alive.
			return errStale
		}
		if last, err = em.names.LastEvent(cctx, em.events, em.taskID); err != nil {
			return fmt.Errorf("store %s event: %w", e.Type, err)
		}
		if em.foreign(last) {
			last.Type, last.Reason = own.Type, own.Reason
		}
	}
	return errStale
}

// start runs the sender until finish or abandon.
func (em *emitter) start(ctx context.Context) {
	ctx, em.stop = context.WithCancel(ctx)
	em.done = make(chan struct{})
	em.wake = sync.NewCond(&em.mu)
	go em.send(ctx)
}

// send stores the queued events one after the other until the emitter
// is closed and its queue empty, or the worker no longer holds the task.
func (em *emitter) send(ctx context.Context) {
	defer close(em.done)
	for {
		em.mu.Lock()
		for len(em.queue) == 0 && !em.closed && em.err == nil {
			em.wake.Wait()
		}
		if em.err != nil || len(em.queue) == 0 {
			em.mu.Unlock()
			return
		}
		e := em.queue[0]
		em.queue = em.queue[1:]
		em.wake.Broadcast() // room in the window
		em.mu.Unlock()

		err := em.store(ctx, em.msg(em.stamped(e)))
		var apiErr *jetstream.APIError
		switch {
		case err == nil:
		case errors.Is(err, errStale), errors.Is(err, errEnded):
			em.fail(err)
			if em.onStale != nil {
				em.onStale(err)
			}
			return
		case errors.As(err, &apiErr):
			em.lost++ // refused by the stream for itself (its size): not stored
		default:
			// Stopped (abandon, or finish out of time) while the kernel
			// did not answer: whether it is stored stays unknown, so
			// nothing after it may be.
			em.fail(err)
			return
		}
	}
}

// fail makes err the reason this worker stores nothing more.
func (em *emitter) fail(err error) {
	em.mu.Lock()
	defer em.mu.Unlock()
	if em.err == nil {
		em.err = err
	}
	em.queue = nil
	if em.wake != nil {
		em.wake.Broadcast()
	}
}

// abandon stops storing the task's events for good: the worker lost its
// hold on the task.
func (em *emitter) abandon(err error) {
	em.fail(err)
	if em.stop != nil {
		em.stop()
	}
}

// close stops the sender, if any, and waits for it: whatever is still
// queued is dropped. Every run that claimed the task closes its emitter.
func (em *emitter) close() {
	em.abandon(errClosed)
	if em.done != nil {
		<-em.done
	}
}

// finish stores a terminal event once all earlier events are stored,
// fenced on the newest of them. It returns errStale or errEnded, without
// storing e, when another worker or the kernel wrote to the task since,
// and errLostHold after abandon.
func (em *emitter) finish(ctx context.Context, e bus.Event) error {
	// Retries of a kernel that does not answer end here at the latest:
	// the task is then handed back to be run again.
	ctx, cancel := context.WithTimeout(ctx, finishWait)
	defer cancel()
	if em.done != nil {
		em.mu.Lock()
		em.closed = true
		em.wake.Broadcast()
		em.mu.Unlock()
		select {
		case <-em.done:
		case <-ctx.Done():
			em.stop()
			<-em.done
		}
		em.stop()
		em.mu.Lock()
		err := em.err
		em.mu.Unlock()
		if err != nil {
			return err
		}
	}
	if em.lost > 0 && e.Reason == "" {
		e.Reason = fmt.Sprintf("%d events could not be stored", em.lost)
	}
	return em.store(ctx, em.msg(em.stamped(e)))
}

// finishWait bounds how long finish waits for the kernel to store the
// task's remaining events and its end.
const finishWait = 30 * time.Second

// storeRetry is the pause before storing again an event the kernel did
// not answer for (a kernel restarting, a leader being elected).
const storeRetry = 250 * time.Millisecond

// store publishes m fenced on lastSeq and moves lastSeq to it. A try
// whose answer was lost may be stored: the next try then conflicts with
// it and finds it, so an event is stored once. It returns errStale or
// errEnded when another writer's event stands after lastSeq, an API
// error when the stream refuses m for itself, and the context's error
// when it ends first.
func (em *emitter) store(ctx context.Context, m *nats.Msg) error {
	conflicts := 0
	// Every answer but a refusal is tried again: the kernel restarting
	// or a leader being elected, or not knowing whether a try was stored.
	// Only the context bounds it: the task's event must be stored.
	again := func(err error) bool {
		return !errors.Is(err, errStale) && !errors.Is(err, errEnded) && !errors.Is(err, errRefused)
	}
	err := retry.Do(ctx, retry.Policy{First: storeRetry, Max: storeRetry, Retry: again}, func(ctx context.Context) error {
		for {
			ack, err := em.js.PublishMsg(ctx, m, em.names.FencedTask(em.taskID, em.lastSeq))
			if err == nil {
				em.lastSeq = ack.Sequence
				return nil
			}
			if !bus.IsFenceConflict(err) {
				if refused(err) {
					return fmt.Errorf("%w: %w", errRefused, err)
				}
				return err
			}
			seq, ok, gerr := em.stored(ctx, m.Data, em.lastSeq+1)
			switch {
			case ok:
				em.lastSeq = seq
				return nil
			case gerr != nil:
				return gerr // unknown whether it is ours: look again
			}
			if conflicts++; conflicts > fenceTries {
				return errStale
			}
			if err := em.skipRequests(ctx); err != nil {
				return err
			}
		}
	})
	switch {
	case err == nil, errors.Is(err, errStale), errors.Is(err, errEnded):
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("store %s event: %w (last error: %v)", bus.MsgEventType(m.Header, m.Data), ctx.Err(), err)
	}
	return fmt.Errorf("store %s event: %w", bus.MsgEventType(m.Header, m.Data), err)
}

// refused reports a stream's answer that another try would get again:
// an API error the kernel's rule does not call passing (no leader yet,
// the fence's state not ready on a new leader pass).
func refused(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && !retry.IsPassing(err)
}

// msg is the message e is stored as: on the worker's own subject.
func (em *emitter) msg(e bus.Event) *nats.Msg {
	if em.cred == "" || em.pool == "" {
		return em.names.EventMsg(e)
	}
	return em.names.EventMsgBy(e, em.pool, em.cred)
}

// foreign reports whether e was stored by a worker of another pool.
func (em *emitter) foreign(e bus.Event) bool {
	return em.pool != "" && e.Source.Pool != "" && e.Source.Pool != em.pool
}

// requestType reports whether events of type t are written by clients,
// not by the worker holding the task.
func requestType(t bus.EventType) bool {
	return t == bus.EventAccepted || t == bus.EventCancelRequested
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
		case em.foreign(next):
			// Stored under the task's id by a worker of another pool:
			// nobody reads it as the task's, so it neither ends the task
			// nor passes for its holder.
		case next.Type.Terminal():
			return errEnded
		case !requestType(next.Type):
			return errStale
		}
		em.lastSeq = next.Seq
	}
}

// stored reports where data is stored among the task's first few events
// from seq on; an error when the stream could not be read.
func (em *emitter) stored(ctx context.Context, data []byte, seq uint64) (uint64, bool, error) {
	const look = 4
	for i := 0; i < look; i++ {
		raw, err := em.events.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(em.names.TaskEvents(em.taskID)))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, err
		}
		if bytes.Equal(raw.Data, data) {
			return raw.Sequence, true, nil
		}
		seq = raw.Sequence + 1
	}
	return 0, false, nil
}
