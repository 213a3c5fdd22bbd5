package workers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// handle runs one task message from start to acknowledgement. It never
// panics on bad input: a message that cannot be decoded is terminated with
// a failed event naming the problem.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	start := time.Now() // the ack wait runs from the delivery, a little before
	w.inFlight.Add(1)
	defer w.inFlight.Add(-1)
	meta, err := msg.Metadata()
	if err != nil {
		w.log.Error("task without metadata", "err", err)
		_ = msg.Term()
		return
	}
	// One decode, with the bus's id rule: every delivery of this message
	// agrees on the id, even when the body cannot be decoded.
	task, err := bus.DecodeTaskMsg(msg.Data(), msg.Headers(), meta.Sequence.Stream)
	log := w.log.With("task", task.ID, "delivery", meta.NumDelivered)
	em := &emitter{js: w.js, events: w.events, names: w.cfg.Names, taskID: task.ID, worker: w.cfg.ID,
		pool: w.cfg.Pool, cred: bus.CredentialOfInbox(w.js.Conn().Opts.InboxPrefix)}

	// A redelivered task may already have ended (the previous worker
	// stored the terminal event but died before acking); a task may have
	// been cancelled while it waited in the queue.
	last, lerr := w.cfg.Names.LastEventIn(ctx, w.events, task.ID, w.cfg.Pool)
	switch {
	case errors.Is(lerr, bus.ErrNoEvents):
	case lerr != nil:
		log.Warn("look up task events; retrying later", "err", lerr)
		_ = msg.NakWithDelay(time.Second)
		return
	case last.Type.Terminal():
		log.Info("task already ended; acknowledging", "type", last.Type)
		_ = msg.DoubleAck(ctx)
		return
	}
	if err != nil && last.Seq > 0 && last.Type != bus.EventAccepted && last.Type != bus.EventCancelRequested {
		// The id names a task a worker holds: a bad message under the
		// same id is not that task's to end.
		log.Warn("undecodable task under the id of a task in progress; dropped", "err", err)
		_ = msg.Term()
		return
	}
	rule := "invalid-task"
	em.delivery = w.deliveryOf(ctx, task.ID, meta.NumDelivered, last)
	if err == nil {
		// The subject a task arrived on carries its submitter's grant.
		if em.delivery > bus.PoolMaxDeliver {
			err, rule = tooManyDeliveries(em.delivery), ruleMaxDeliveries
		} else if refusal := w.grantRefusal(msg.Subject(), task); refusal != "" {
			err, rule = errors.New(refusal), bus.RuleGrant
		} else if task.Schedule != "" {
			// Published by hand: a schedule is made by the task API.
			err = w.cfg.Names.ErrScheduled()
		} else if task.ScheduleID != "" && errors.Is(lerr, bus.ErrNoEvents) {
			// The kernel's runner records a run before it queues it:
			// one without events was published by hand.
			err = w.cfg.Names.ErrRunByKernel(task.ScheduleID)
		} else if task.Owner != "" {
			// An owner's task runs only under the kernel's record of it.
			rec, rerr := w.recordOf(ctx, task, last)
			switch {
			case rerr != nil:
				log.Warn("look up task record; retrying later", "err", rerr)
				_ = msg.NakWithDelay(time.Second)
				return
			case rec == anothers:
				// Its id records another submission now: nothing of this
				// message may be stored under it.
				log.Warn("an owned task whose id records another submission; dropped", "owner", task.Owner)
				_ = msg.Term()
				return
			case rec == unrecorded:
				err, rule = errUnrecorded(task.ID), ruleUnrecorded
			}
		}
	}
	if err != nil {
		log.Warn("task refused", "rule", rule, "subject", msg.Subject(), "err", err)
		em.lastSeq = last.Seq
		e := em.event(bus.EventFailed)
		e.Reason, e.Rule = err.Error(), rule
		// A task that ended, or is in progress, under the same id is not
		// this message's to end: it is only dropped.
		if ferr := em.finish(ctx, e); ferr != nil && !errors.Is(ferr, errEnded) && !errors.Is(ferr, errStale) {
			log.Error("report refused task", "err", ferr)
			_ = msg.NakWithDelay(time.Second)
			return
		} else if ferr == nil {
			w.metrics.taskEnded(e)
		}
		_ = msg.Term()
		return
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	control := w.cfg.Names.Control(task.ID)
	sub, err := w.cfg.NC.Subscribe(control, func(m *nats.Msg) {
		if !isControl(m, control) {
			log.Warn("ignored a message on the control subject that no canceller sent", "subject", m.Subject, "reply", m.Reply)
			return
		}
		cancel(Cancelled(string(m.Data)))
	})
	if err != nil {
		log.Error("subscribe to control", "err", err)
		_ = msg.NakWithDelay(time.Second)
		return
	}
	defer func() { _ = sub.Unsubscribe() }()

	// The assigned event is fenced on the newest event seen: it is
	// stored only if no other worker wrote to the task since, which is
	// how this worker proves it holds the task before it starts.
	assigned := em.event(bus.EventAssigned)
	assigned.Host, assigned.Pool = w.host, w.cfg.Pool
	// Events show the task without its env values (readers of events
	// are not entitled to them); the command runs with the real ones.
	shown := task.Redacted()
	assigned.Task = &shown
	// Once another worker writes to the task, this run stops.
	em.onStale = func(err error) { cancel(err) }
	err = em.claim(ctx, assigned, last, func(reason string) { cancel(Cancelled(reason)) })
	switch {
	case errors.Is(err, errEnded):
		log.Info("task already ended; acknowledging")
		_ = msg.DoubleAck(ctx)
		return
	case errors.Is(err, errStale):
		// Another delivery of the task is alive and writing: leave it the
		// task, and look again once it should have ended or died.
		log.Warn("task is held by another worker; not running it")
		_ = msg.NakWithDelay(bus.PoolAckWait)
		return
	case err != nil:
		log.Warn("claim task; retrying later", "err", err)
		_ = msg.NakWithDelay(time.Second)
		return
	}

	defer em.close()

	w.metrics.started.Inc()
	// A worker that cannot renew its hold for an ack wait may have lost
	// the task to another: it stops the run and stores nothing more.
	stopProgress := w.keepInProgress(ctx, msg, start, func() {
		em.abandon(errLostHold)
		cancel(errLostHold)
	})
	defer stopProgress()

	var firstToken sync.Once
	final := w.solver.Solve(ctx, task, SinkFunc(func(e bus.Event) {
		if e.Type == bus.EventToken {
			firstToken.Do(func() { w.metrics.ttft.Observe(time.Since(start).Seconds()) })
		}
		em.emit(e)
	}))

	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errShutdown):
		log.Info("handing task back to the pool")
		_ = msg.Nak()
		return
	case errors.Is(cause, errLostHold):
		log.Warn("stopped the task: its hold could not be renewed; another worker may run it", "err", cause)
		_ = msg.Nak()
		return
	}
	storeCtx, cancelStore := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancelStore()
	switch err := em.finish(storeCtx, final); {
	case errors.Is(err, errStale), errors.Is(err, errEnded):
		// Another worker took the task over (a redelivery after a kernel
		// restart): its run is the one that counts, and its ack too.
		log.Warn("task taken over by another worker; dropping this run's end", "err", err)
		return
	case err != nil:
		log.Error("store terminal event; task will be redelivered", "err", err)
		_ = msg.NakWithDelay(2 * time.Second)
		return
	}
	w.metrics.taskEnded(final)
	w.metrics.duration.WithLabelValues(string(final.Type)).Observe(time.Since(start).Seconds())
	if err := msg.DoubleAck(storeCtx); err != nil {
		log.Warn("ack task", "err", err)
	}
	if final.Type == bus.EventDone {
		log.Info("task ended", "type", final.Type)
	} else {
		log.Info("task ended", "type", final.Type, "rule", final.Rule, "reason", final.Reason)
	}
}

// keepInProgress tells JetStream the task is still being worked on, so a
// live worker keeps it while a dead one loses it after one ack wait. Each
// renewal asks for the server's answer: when none came for an ack wait
// since the newest answered one was sent (since, before any), the pool may
// have given the task to another worker, and lost is called once.
func (w *Worker) keepInProgress(ctx context.Context, msg jetstream.Msg, since time.Time, lost func()) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		renewed := since
		t := time.NewTicker(bus.PoolAckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			sent := time.Now()
			rctx, rcancel := context.WithTimeout(ctx, bus.PoolAckWait/3)
			_, err := w.cfg.NC.RequestWithContext(rctx, msg.Reply(), []byte("+WPI"))
			rcancel()
			switch {
			case err == nil:
				renewed = sent
			case ctx.Err() != nil:
				return
			case time.Since(renewed) >= bus.PoolAckWait:
				lost()
				return
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
