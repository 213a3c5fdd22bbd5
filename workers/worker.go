package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/sandbox"
)

// Defaults of a Worker's zero value.
const (
	DefaultModel     = "qwen3-coder"
	DefaultGrace     = 30 * time.Second
	DefaultHeartbeat = 5 * time.Second
	// DefaultCommandTimeout bounds one command of the correction loop:
	// half the default task timeout, so a command that hangs still
	// leaves time to correct it.
	DefaultCommandTimeout = 5 * time.Minute
	// DefaultSessionTurns is how many earlier turns of a session a
	// prompt shows.
	DefaultSessionTurns = 6
)

// fetchWait bounds one pull request. Short, because a shutdown waits for
// the pull under way to end before the worker returns; an idle worker
// costs one request per fetchWait.
const fetchWait = 500 * time.Millisecond

// ErrConfig reports a Worker that cannot run as configured.
var ErrConfig = errors.New("invalid worker configuration")

// errShutdown is the cancel cause of tasks still running when the drain
// grace period ends; such tasks are handed back to the pool, not failed.
var errShutdown = errors.New("worker shutting down")

// Worker pulls tasks of one pool and runs them. Set NC and Runner; every
// other field has a useful zero value.
type Worker struct {
	// NC is the connection to the kernel.
	NC *nats.Conn
	// Names derives subjects; zero is the default prefix.
	Names bus.Names
	// ID names this worker on the bus; default host-pid.
	ID string
	// Pool is the pool whose tasks this worker takes (default "default").
	Pool string
	// Labels describe the worker in its heartbeat.
	Labels map[string]string
	// Concurrency is how many tasks run at once (default: CPUs).
	Concurrency int
	// Runner validates and runs commands.
	Runner sandbox.Runner
	// LLM answers instruction tasks; nil rejects them with a clear error.
	LLM LLM
	// Model is the chat model (default qwen3-coder).
	Model string
	// LLMHost is where the model is served, for messages that say what to
	// check when it cannot be reached.
	LLMHost string
	// PromptFile holds text/template {{define}} blocks that replace the
	// built-in prompts of the same name (see prompt.tmpl); empty keeps
	// the built-in ones. It is checked when Run starts.
	PromptFile string
	// CommandTimeout bounds each command the model proposes (default
	// DefaultCommandTimeout); the task's timeout bounds the whole loop.
	// Explicit command tasks have only the task's timeout.
	CommandTimeout time.Duration
	// Memory recalls similar past successes for the prompt, and may
	// offer a command to reuse; nil works without memory.
	Memory Recaller
	// Learner publishes each success for every worker to learn; nil
	// publishes to the AMF_MEMORY stream of NC.
	Learner Learner
	// Sessions keeps conversation turns; nil keeps them in this process
	// (LocalSessions), which serves a one-worker installation.
	Sessions Sessions
	// SessionTurns is how many earlier turns a prompt shows (default 6).
	SessionTurns int
	// StateDir holds per-task work dirs when the runner needs a place.
	StateDir string
	// Grace bounds how long SIGTERM waits for in-flight tasks.
	Grace time.Duration
	// Heartbeat is the presence interval (default 5s).
	Heartbeat time.Duration
	// Presence, when set, also records heartbeats in the hot cache.
	Presence Presence
	// Logger receives the worker's logs; nil is slog.Default().
	Logger *slog.Logger

	prompts  *template.Template
	js       jetstream.JetStream
	events   jetstream.Stream
	host     string
	started  time.Time
	inFlight atomic.Int64
}

func (w *Worker) setDefaults() error {
	if w.NC == nil || w.Runner == nil {
		return fmt.Errorf("%w: NC and Runner are required", ErrConfig)
	}
	if w.Pool == "" {
		w.Pool = bus.DefaultPool
	}
	if w.Concurrency <= 0 {
		w.Concurrency = runtime.NumCPU()
	}
	if w.Model == "" {
		w.Model = DefaultModel
	}
	if w.Grace <= 0 {
		w.Grace = DefaultGrace
	}
	if w.Heartbeat <= 0 {
		w.Heartbeat = DefaultHeartbeat
	}
	if w.CommandTimeout <= 0 {
		w.CommandTimeout = DefaultCommandTimeout
	}
	if w.SessionTurns <= 0 {
		w.SessionTurns = DefaultSessionTurns
	}
	if w.Sessions == nil {
		w.Sessions = &LocalSessions{}
	}
	prompts, err := loadPrompts(w.PromptFile)
	if err != nil {
		return err
	}
	w.prompts = prompts
	w.host, _ = os.Hostname()
	if w.ID == "" {
		w.ID = fmt.Sprintf("%s-%d", w.host, os.Getpid())
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	w.Logger = w.Logger.With("worker", w.ID, "pool", w.Pool)
	w.started = time.Now().UTC()
	return nil
}

// Run takes tasks until ctx ends, then drains: it stops pulling, lets
// in-flight tasks finish within Grace, and hands back to the pool any
// task still running after that.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.setDefaults(); err != nil {
		return err
	}
	js, err := jetstream.New(w.NC,
		jetstream.WithPublishAsyncMaxPending(1<<16),
		// A lost ack must not hold a task forever: it counts as a lost event.
		jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	w.js = js
	if w.Learner == nil {
		w.Learner = memory.Publisher{JS: js, Names: w.Names}
	}
	if w.events, err = js.Stream(ctx, w.Names.EventsStream()); err != nil {
		return fmt.Errorf("worker: events stream: %w", err)
	}
	cons, err := w.poolConsumer(ctx, js)
	if err != nil {
		return fmt.Errorf("worker: pool consumer: %w", err)
	}
	w.Logger.Info("worker ready", "concurrency", w.Concurrency, "sandbox", w.Runner.Name(), "model", w.Model)

	// Tasks run under their own context so that shutdown can give them a
	// grace period instead of cutting them off with ctx.
	taskCtx, cancelTasks := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelTasks(nil)
	var tasks sync.WaitGroup
	var bg sync.WaitGroup
	bg.Add(1)
	go func() { defer bg.Done(); w.heartbeatLoop(ctx) }()

	slots := make(chan struct{}, w.Concurrency)
	for ctx.Err() == nil {
		free := w.acquireSlots(ctx, slots)
		if free == 0 {
			break
		}
		batch, err := cons.Fetch(free, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			w.releaseSlots(slots, free)
			if ctx.Err() == nil {
				w.Logger.Warn("fetch tasks", "err", err)
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		got := 0
		msgs := batch.Messages()
	batch:
		for {
			select {
			case msg, ok := <-msgs:
				if !ok {
					break batch
				}
				got++
				tasks.Add(1)
				go func() {
					defer tasks.Done()
					defer func() { <-slots }()
					w.handle(taskCtx, msg)
				}()
			case <-ctx.Done():
				// Whatever this pull still delivers goes straight back to
				// the pool for another worker.
				bg.Add(1)
				go func() {
					defer bg.Done()
					for msg := range msgs {
						_ = msg.Nak()
					}
				}()
				break batch
			}
		}
		w.releaseSlots(slots, free-got)
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			w.Logger.Debug("fetch ended", "err", err)
		}
	}

	w.Logger.Info("draining", "in_flight", w.inFlight.Load(), "grace", w.Grace)
	done := make(chan struct{})
	go func() { tasks.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.Grace):
		w.Logger.Warn("grace period over; handing running tasks back to the pool", "in_flight", w.inFlight.Load())
		cancelTasks(errShutdown)
		<-done
	}
	bg.Wait()
	return nil
}

// acquireSlots blocks for at least one free slot, then takes every slot
// free now; it returns 0 when ctx ends.
func (w *Worker) acquireSlots(ctx context.Context, slots chan struct{}) int {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for n < cap(slots) {
		select {
		case slots <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

func (w *Worker) releaseSlots(slots chan struct{}, n int) {
	for range n {
		<-slots
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
