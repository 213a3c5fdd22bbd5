package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// handle runs one task message from start to acknowledgement. It never
// panics on bad input: a message that cannot be decoded is terminated with
// a failed event naming the problem.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	w.inFlight.Add(1)
	defer w.inFlight.Add(-1)
	meta, err := msg.Metadata()
	if err != nil {
		w.log.Error("task without metadata", "err", err)
		_ = msg.Term()
		return
	}
	task, err := bus.DecodeTask(msg.Data())
	if id := taskID(msg, meta); err != nil || bus.PeekID(msg.Data()) == "" {
		task.ID = id
	}
	log := w.log.With("task", task.ID, "delivery", meta.NumDelivered)
	em := &emitter{js: w.js, names: w.cfg.Names, taskID: task.ID, worker: w.cfg.ID}
	if err != nil {
		log.Warn("undecodable task", "err", err)
		e := em.event(bus.EventFailed)
		e.Reason = err.Error()
		e.Rule = "invalid_task"
		if ferr := em.finish(ctx, e); ferr != nil {
			log.Error("report undecodable task", "err", ferr)
		}
		_ = msg.Term()
		return
	}

	if refusal := w.grantRefusal(msg.Subject(), task); refusal != "" {
		log.Warn("task asks for a profile it was not granted", "policy", task.Policy, "subject", msg.Subject())
		e := em.event(bus.EventFailed)
		e.Reason, e.Rule = refusal, bus.RuleGrant
		if ferr := em.finish(ctx, e); ferr != nil {
			log.Error("report refused task", "err", ferr)
			_ = msg.NakWithDelay(time.Second)
			return
		}
		_ = msg.Term()
		return
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sub, err := w.cfg.NC.Subscribe(w.cfg.Names.Control(task.ID), func(m *nats.Msg) {
		cancel(Cancelled(string(m.Data)))
	})
	if err != nil {
		log.Error("subscribe to control", "err", err)
		_ = msg.NakWithDelay(time.Second)
		return
	}
	defer func() { _ = sub.Unsubscribe() }()

	// A redelivered task may already have ended (the previous worker
	// stored the terminal event but died before acking), or may have been
	// cancelled while it waited in the queue.
	if last, err := w.lastEvent(ctx, task.ID); err == nil {
		switch {
		case last.Type.Terminal():
			log.Info("task already ended; acknowledging", "type", last.Type)
			_ = msg.DoubleAck(ctx)
			return
		case last.Type == bus.EventCancelRequested:
			cancel(Cancelled(last.Reason))
		}
	}

	assigned := em.event(bus.EventAssigned)
	assigned.Host, assigned.Pool, assigned.Delivery = w.host, w.cfg.Pool, int(meta.NumDelivered)
	assigned.Task = &task
	em.emit(assigned)

	stopProgress := w.keepInProgress(ctx, msg)
	defer stopProgress()

	final := w.solver.Solve(ctx, task, SinkFunc(em.emit))

	if errors.Is(context.Cause(ctx), errShutdown) {
		log.Info("handing task back to the pool")
		_ = msg.Nak()
		return
	}
	storeCtx, cancelStore := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancelStore()
	if err := em.finish(storeCtx, final); err != nil {
		log.Error("store terminal event; task will be redelivered", "err", err)
		_ = msg.NakWithDelay(2 * time.Second)
		return
	}
	if err := msg.DoubleAck(storeCtx); err != nil {
		log.Warn("ack task", "err", err)
	}
	log.Info("task ended", "type", final.Type)
}

// taskID is the id of a task message: the one in its body, else its
// de-duplication header, else one derived from the stream sequence, so
// every delivery of the same message agrees on it.
func taskID(msg jetstream.Msg, meta *jetstream.MsgMetadata) string {
	if id := bus.PeekID(msg.Data()); id != "" {
		return id
	}
	if h := msg.Headers().Get(bus.HeaderMsgID); h != "" && bus.ValidToken(h) {
		return h
	}
	return fmt.Sprintf("t-seq%d", meta.Sequence.Stream)
}

func (w *Worker) lastEvent(ctx context.Context, id string) (bus.Event, error) {
	raw, err := w.events.GetLastMsgForSubject(ctx, w.cfg.Names.Event(id))
	if err != nil {
		return bus.Event{}, err
	}
	return bus.DecodeEvent(raw.Data)
}

// keepInProgress tells JetStream the task is still being worked on, so a
// live worker keeps it while a dead one loses it after one ack wait.
func (w *Worker) keepInProgress(ctx context.Context, msg jetstream.Msg) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(bus.PoolAckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { cancel(); <-done }
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
