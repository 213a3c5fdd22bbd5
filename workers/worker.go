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
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// Defaults of a zero Config.
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

// Errors of the package.
var (
	// ErrConfig reports a Worker or Solver that cannot run as configured.
	ErrConfig = errors.New("invalid worker configuration")
	// ErrRunning reports a second Run of the same Worker.
	ErrRunning = errors.New("worker: Run was already called; make a new Worker with NewWorker")
)

// errShutdown is the cancel cause of tasks still running when the drain
// grace period ends; such tasks are handed back to the pool, not failed.
var errShutdown = errors.New("worker shutting down")

// Config is what a Worker is made from: NC, and Runner in the embedded
// SolverConfig, are required; every other field has a useful zero value.
type Config struct {
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
	// Grace bounds how long SIGTERM waits for in-flight tasks.
	Grace time.Duration
	// Heartbeat is the presence interval (default 5s).
	Heartbeat time.Duration
	// Presence, when set, also records heartbeats in the hot cache.
	Presence Presence
	// Logger receives the worker's logs; nil is slog.Default().
	Logger *slog.Logger
	// SolverConfig is how tasks are solved. Its Worker and Pool come
	// from ID and Pool; a nil Learner publishes to the AMF_MEMORY stream
	// of NC.
	SolverConfig
}

// Worker pulls tasks of one pool and runs them: fetch, decode, control,
// solve, finish, acknowledge. Make one with NewWorker.
type Worker struct {
	cfg     Config
	solver  *Solver
	log     *slog.Logger
	js      jetstream.JetStream
	events  jetstream.Stream
	host    string
	started time.Time
	// running is set by the first Run; a Worker runs once.
	running  atomic.Bool
	inFlight atomic.Int64
	metrics  *metrics
}

// NewWorker checks cfg, fills its defaults and returns the worker, ready
// to Run. A broken prompt file is reported here, not in a task.
func NewWorker(cfg Config) (*Worker, error) {
	if cfg.NC == nil || cfg.Runner == nil {
		return nil, fmt.Errorf("%w: NC and Runner are required", ErrConfig)
	}
	if cfg.Pool == "" {
		cfg.Pool = bus.DefaultPool
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.NumCPU()
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	w := &Worker{}
	w.host, _ = os.Hostname()
	if cfg.ID == "" {
		cfg.ID = fmt.Sprintf("%s-%d", w.host, os.Getpid())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w.log = cfg.Logger.With("worker", cfg.ID, "pool", cfg.Pool)
	js, err := jetstream.New(cfg.NC,
		jetstream.WithPublishAsyncMaxPending(1<<16),
		// A lost ack must not hold a task forever: it counts as a lost event.
		jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	w.js = js
	sc := cfg.SolverConfig
	sc.Worker, sc.Pool, sc.Logger = cfg.ID, cfg.Pool, w.log
	if sc.Learner == nil {
		sc.Learner = memory.Publisher{JS: js, Names: cfg.Names}
	}
	if w.solver, err = NewSolver(sc); err != nil {
		return nil, err
	}
	w.cfg = cfg
	w.metrics = newMetrics(w)
	return w, nil
}

// Run takes tasks until ctx ends, then drains: it stops pulling, lets
// in-flight tasks finish within Grace, and hands back to the pool any
// task still running after that.
func (w *Worker) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	w.started = time.Now().UTC()
	js := w.js
	var err error
	if w.events, err = js.Stream(ctx, w.cfg.Names.EventsStream()); err != nil {
		return fmt.Errorf("worker: events stream: %w", err)
	}
	cons, err := w.poolConsumer(ctx, js)
	if err != nil {
		return fmt.Errorf("worker: pool consumer: %w", err)
	}
	w.log.Info("worker ready", "concurrency", w.cfg.Concurrency, "sandbox", w.cfg.Runner.Name(), "model", w.cfg.Model)

	// Tasks run under their own context so that shutdown can give them a
	// grace period instead of cutting them off with ctx.
	taskCtx, cancelTasks := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelTasks(nil)
	var tasks sync.WaitGroup
	var bg sync.WaitGroup
	bg.Add(1)
	go func() { defer bg.Done(); w.checkModel(ctx) }()
	bg.Add(1)
	go func() { defer bg.Done(); w.heartbeatLoop(ctx) }()

	slots := make(chan struct{}, w.cfg.Concurrency)
	for ctx.Err() == nil {
		free := w.acquireSlots(ctx, slots)
		if free == 0 {
			break
		}
		batch, err := cons.Fetch(free, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			w.releaseSlots(slots, free)
			if ctx.Err() == nil {
				w.log.Warn("fetch tasks", "err", err)
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
			w.log.Debug("fetch ended", "err", err)
		}
	}

	drainStart := time.Now()
	w.log.Info("draining: waiting for running tasks", "in_flight", w.inFlight.Load(), "grace", w.cfg.Grace)
	done := make(chan struct{})
	go func() { tasks.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.cfg.Grace):
		w.log.Warn("grace period over; handing running tasks back to the pool", "in_flight", w.inFlight.Load())
		cancelTasks(errShutdown)
		<-done
	}
	w.log.Info("tasks done; waiting for the heartbeat, the start-up model check and undelivered tasks going back", "took", time.Since(drainStart).Round(time.Millisecond))
	bg.Wait()
	w.log.Info("worker stopped", "drain", time.Since(drainStart).Round(time.Millisecond))
	return nil
}

// checkModel says at start, loudly, when the model server does not
// answer or lacks the model. The worker runs anyway: explicit commands
// need no model, and Ollama may come up later — while the model is
// degraded it is asked again every heartbeat, so health recovers without
// waiting for a task.
func (w *Worker) checkModel(ctx context.Context) {
	if w.cfg.LLM == nil {
		return
	}
	if err := w.solver.CheckModel(ctx); err == nil {
		w.log.Info("model ready", "model", w.cfg.Model, "ollama", w.cfg.LLMHost)
	} else if ctx.Err() == nil {
		w.log.Error("MODEL NOT READY: instruction tasks will fail until this is fixed; explicit commands still run", "problem", err.Error())
	}
	t := time.NewTicker(w.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if h := w.solver.ModelHealth(); h.Status != bus.ModelDegraded {
			continue
		}
		if err := w.solver.CheckModel(ctx); err == nil {
			w.log.Info("model ready again", "model", w.cfg.Model, "ollama", w.cfg.LLMHost)
		}
	}
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
