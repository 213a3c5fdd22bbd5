package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// RunnerAckWait is how long a kernel may take to submit a run before
// another kernel of the cluster is given it.
const RunnerAckWait = 30 * time.Second

// Runner turns the runs JetStream publishes into tasks. Kernels share
// its durable consumer, so each run is submitted by one of them; a run
// submitted twice (a kernel died before acknowledging it) is one task,
// since its id is the schedule's id, the run's time and a hash of both
// keyed by the schedule's run key (bus.Schedule.RunID).
type Runner struct {
	// Client submits the runs; it needs the kernel's credential.
	Client *client.Client
	// Store reads each run's schedule, which decides whether it still runs.
	Store *Store
	// Log receives what went wrong with a run.
	Log *slog.Logger
	// Revoked says why a schedule may no longer run ("" while it may):
	// the credential that made it, or its owner, was revoked. A revoked
	// owner's schedule is paused at its next run, and someone who may
	// resume it decides whether it runs again. An error leaves the run to
	// be tried again. Nil: nothing is revoked (a server without accounts).
	Revoked func(ctx context.Context, sc bus.Schedule) (why string, err error)
	// Quota counts each run against its owner's task quota as the
	// owner's own submissions are (the kernel's task API service), so a
	// schedule, or many, cannot queue past it; a run refused is recorded
	// as the schedule's last error and the schedule runs on. Nil counts
	// nothing.
	Quota Admitter

	cancel  context.CancelFunc
	cc      jetstream.ConsumeContext
	mu      sync.Mutex
	stopped bool
	wg      sync.WaitGroup // runs in hand
}

// Admitter counts a task against its owner's quota (api.Service.Admit):
// an error refuses it; release forgets a task that was not queued.
type Admitter interface {
	Admit(owner bus.Owner, id string, size int64) (release func(), err error)
}

var _ Admitter = (*api.Service)(nil)

// Start opens (or finds) the runner's consumer and handles runs until
// Stop.
func (r *Runner) Start(ctx context.Context) error {
	js := r.Store.JS
	names := r.Store.Names
	cons, err := js.CreateOrUpdateConsumer(ctx, names.SchedulesStream(), jetstream.ConsumerConfig{
		Durable:       names.ScheduleRunner(),
		Description:   "kernels turning schedule runs into tasks",
		FilterSubject: names.ScheduleRuns(),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       RunnerAckWait,
		MaxAckPending: 256,
	})
	if err != nil {
		return fmt.Errorf("open schedule runner consumer: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	cc, err := cons.Consume(func(m jetstream.Msg) {
		r.mu.Lock()
		if r.stopped {
			r.mu.Unlock()
			return // redelivered to another kernel, or to this one's next start
		}
		r.wg.Add(1)
		r.mu.Unlock()
		defer r.wg.Done()
		r.handle(runCtx, m)
	})
	if err != nil {
		cancel()
		return fmt.Errorf("consume schedule runs: %w", err)
	}
	r.cc = cc
	return nil
}

// Stop stops taking runs and waits for the one in hand.
func (r *Runner) Stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	if r.cc != nil {
		r.cc.Stop()
		<-r.cc.Closed()
	}
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// pauseRevoked drops a run of a schedule whose owner may no longer act
// (why) and pauses the schedule: what a revoked credential or token left
// behind stops, and someone who may resume it decides whether it runs
// again.
func (r *Runner) pauseRevoked(ctx context.Context, m jetstream.Msg, sc bus.Schedule, why string) {
	if _, err := r.Store.pauseFor(ctx, sc.ID, why); err != nil && !errors.Is(err, client.ErrScheduleNotFound) {
		r.log().Warn("pause schedule of a revoked owner; retrying", "schedule", sc.ID, "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	r.log().Warn("schedule paused: "+why, "schedule", sc.ID, "owner", sc.Task.Owner)
	_ = m.Ack()
}

// revoked says why sc may no longer run, "" while it may.
func (r *Runner) revoked(ctx context.Context, sc bus.Schedule) (string, error) {
	if r.Revoked == nil {
		return "", nil
	}
	return r.Revoked(ctx, sc)
}

// handle submits one run, or drops it when its schedule was paused or
// deleted after JetStream published it.
func (r *Runner) handle(ctx context.Context, m jetstream.Msg) {
	names := r.Store.Names
	id := strings.TrimPrefix(m.Subject(), names.ScheduleRun(""))
	meta, err := m.Metadata()
	if err != nil || m.Headers().Get(headerScheduler) != names.ScheduleDef(id) {
		// Only JetStream's scheduler publishes runs (the subject is the
		// kernel's alone), so this was not one.
		r.log().Warn("dropped a schedule run JetStream did not publish", "subject", m.Subject())
		_ = m.Term()
		return
	}
	sc, err := r.Store.Get(ctx, id)
	switch {
	case errors.Is(err, client.ErrScheduleNotFound):
		_ = m.Ack() // deleted: never runs again
		return
	case err != nil:
		r.log().Warn("read schedule; retrying the run", "schedule", id, "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	case sc.Paused || meta.Timestamp.Before(sc.Created):
		_ = m.Ack()
		return
	}
	switch why, err := r.revoked(ctx, sc); {
	case err != nil:
		r.log().Warn("read revocations; retrying the run", "schedule", id, "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	case why != "":
		r.pauseRevoked(ctx, m, sc, why)
		return
	}
	t := sc.Task
	t.ID, t.ScheduleID = sc.RunID(meta.Timestamp), id
	t.Schedule, t.Submitted = "", time.Time{}
	if err := t.Normalize(); err != nil {
		r.log().Error("schedule's task no longer valid; run dropped", "schedule", id, "err", err)
		_ = m.Term()
		return
	}
	release, err := r.admit(t)
	if err != nil {
		r.refuse(ctx, m, sc, t, err)
		return
	}
	subCtx, cancel := context.WithTimeout(ctx, RunnerAckWait/2)
	defer cancel()
	_, dup, err := r.Client.Submit(subCtx, t)
	if err != nil || dup {
		// Not queued by this submission: not counted by it either.
		release()
	}
	if err != nil {
		// The same id on a retry is the same task.
		r.log().Warn("submit schedule run; retrying", "schedule", id, "task", t.ID, "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	_ = m.Ack()
}

// admit counts run t against its owner's quota.
func (r *Runner) admit(t bus.Task) (release func(), err error) {
	if r.Quota == nil {
		return func() {}, nil
	}
	return r.Quota.Admit(t.Owner, t.ID, int64(len(t.Encode())))
}

// refuse drops run t, which its owner's quota refused (why), and records
// the refusal as the schedule's last error, where its owner reads it
// (amf schedule ls, GET /v1/schedules): the run is not made up later,
// and the schedule's next run is admitted once the owner holds less.
func (r *Runner) refuse(ctx context.Context, m jetstream.Msg, sc bus.Schedule, t bus.Task, why error) {
	text := "run " + t.ID + " refused: " + why.Error()
	if err := r.Store.noteRefused(ctx, sc.ID, text); err != nil {
		r.log().Warn("record a refused run", "schedule", sc.ID, "err", err)
	}
	r.log().Warn("schedule run refused", "schedule", sc.ID, "task", t.ID, "owner", t.Owner, "err", why)
	_ = m.Ack()
}
