package workers

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"text/template"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/sandbox"
)

// SolverConfig is what the correction loop needs: a runner, and for
// instruction tasks a model. Every other field has a useful zero value.
type SolverConfig struct {
	// Runner validates and runs commands.
	Runner sandbox.Runner
	// LLM answers instruction tasks; nil fails them with a clear error.
	LLM LLM
	// Model is the chat model (default qwen3-coder).
	Model string
	// LLMHost is where the model is served, for messages that say what to
	// check when it cannot be reached.
	LLMHost string
	// PromptFile holds text/template {{define}} blocks that replace the
	// built-in prompts of the same name (see prompt.tmpl); empty keeps
	// the built-in ones. NewSolver checks it.
	PromptFile string
	// CommandTimeout bounds each command the model proposes (default
	// DefaultCommandTimeout); the task's timeout bounds the whole loop.
	// Explicit command tasks have only the task's timeout.
	CommandTimeout time.Duration
	// Memory recalls similar past successes for the prompt, and may
	// offer a command to reuse; nil works without memory.
	Memory Recaller
	// Learner is told what worked and what did not; nil learns nothing.
	Learner Learner
	// Sessions keeps conversation turns; nil keeps them in this process
	// (LocalSessions).
	Sessions Sessions
	// SessionTurns is how many earlier turns a prompt shows (default 6).
	SessionTurns int
	// StateDir holds per-task work dirs when the runner needs a place.
	StateDir string
	// ModelLimits bound every model request (first token, silence).
	ModelLimits
	// ModelOptions are Ollama options sent with every request, over
	// DefaultModelOptions (see ParseModelOptions).
	ModelOptions map[string]any
	// KeepAlive is how long Ollama keeps the model loaded after a request
	// (default DefaultKeepAlive); the same on every request.
	KeepAlive time.Duration
	// NoSecondLook replays a remembered command the memory marks for
	// reuse without first asking the model whether it does exactly the
	// request (SecondLook). Only for measuring what the question costs.
	NoSecondLook bool
	// SecondLookTimeout bounds that question (default
	// DefaultSecondLookTimeout); past it the model is asked for a
	// command instead.
	SecondLookTimeout time.Duration
	// Worker and Pool name who solved a task, in its events and in what
	// it learns.
	Worker, Pool string
	// Logger receives the loop's logs; nil is slog.Default().
	Logger *slog.Logger
}

// Sink receives a task's events as the loop produces them, in order; the
// terminal event is returned by Solve, not sent here.
type Sink interface {
	Emit(bus.Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(bus.Event)

// Emit implements Sink.
func (f SinkFunc) Emit(e bus.Event) { f(e) }

// Solver runs tasks to their end: an explicit command once, an
// instruction through the correction loop (ask the model, check, run,
// feed back, answer, learn). It holds no per-task state, so one Solver
// serves any number of tasks at once.
type Solver struct {
	cfg     SolverConfig
	prompts *template.Template
	health  modelHealth
	// look asks the model before a replay; nil without a model or with
	// NoSecondLook.
	look *SecondLook

	// ctxOnce decides numCtx and options on the first request.
	ctxOnce sync.Once
	numCtx  int
	options map[string]any
}

// NewSolver checks cfg, fills its defaults and returns the solver.
func NewSolver(cfg SolverConfig) (*Solver, error) {
	if cfg.Runner == nil {
		return nil, fmt.Errorf("%w: a Runner is required", ErrConfig)
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = DefaultCommandTimeout
	}
	if cfg.SessionTurns <= 0 {
		cfg.SessionTurns = DefaultSessionTurns
	}
	if cfg.Sessions == nil {
		cfg.Sessions = &LocalSessions{}
	}
	if cfg.Pool == "" {
		cfg.Pool = bus.DefaultPool
	}
	cfg.ModelLimits.setDefaults()
	if err := checkModelOptions(cfg.ModelOptions); err != nil {
		return nil, err
	}
	cfg.ModelOptions = requestOptions(cfg.ModelOptions)
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	prompts, err := loadPrompts(cfg.PromptFile)
	if err != nil {
		return nil, err
	}
	s := &Solver{cfg: cfg, prompts: prompts}
	if cfg.LLM != nil && !cfg.NoSecondLook {
		s.look = &SecondLook{LLM: cfg.LLM, Model: cfg.Model, KeepAlive: cfg.KeepAlive, Timeout: cfg.SecondLookTimeout}
	}
	return s, nil
}

// Solve runs one task until it ends and returns its terminal event (done,
// failed or cancelled); every step before it goes to sink. The task's
// timeout bounds the whole run. A ctx cancelled with a cause wrapping
// ErrCancelled ends it as cancelled, with that cause as the reason.
func (s *Solver) Solve(ctx context.Context, task bus.Task, sink Sink) bus.Event {
	if d := task.Timeout.D(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	r := &run{
		s:      s,
		task:   task,
		em:     &events{sink: sink, taskID: task.ID, worker: s.cfg.Worker},
		ctx:    ctx,
		phases: map[string]time.Duration{},
	}
	defer r.releaseWorkDir()
	return r.execute()
}

// run is one task being solved: its decoded form, its events and its
// cancellation.
type run struct {
	s      *Solver
	task   bus.Task
	em     *events
	ctx    context.Context
	phases map[string]time.Duration
	// session is the key of the task's session, once resolved (see
	// sessionKey); describing the sandbox to resolve it reads host files.
	session string
}

// events builds one task's events and hands them to its sink, one at a
// time: a progress notice may come from a timer while the model streams.
type events struct {
	mu      sync.Mutex
	sink    Sink
	taskID  string
	worker  string
	attempt int
}

func (em *events) event(t bus.EventType) bus.Event {
	return bus.Event{TaskID: em.taskID, Type: t, Worker: em.worker, Attempt: em.attempt, TS: time.Now().UTC()}
}

func (em *events) emit(e bus.Event) {
	em.mu.Lock()
	defer em.mu.Unlock()
	em.sink.Emit(e)
}

// emitText sends an event of type t carrying text.
func (em *events) emitText(t bus.EventType, text string) {
	e := em.event(t)
	e.Text = text
	em.emit(e)
}

func (r *run) log() *slog.Logger { return r.s.cfg.Logger.With("task", r.task.ID) }

// workDir is where the task's commands run: shared by a session (of
// one profile, see SessionKey) so that a conversation can build on its
// earlier results.
func (r *run) workDir() string {
	if r.s.cfg.StateDir == "" {
		return ""
	}
	name := r.task.ID
	if r.task.Session != "" {
		name = "session-" + r.sessionKey()
	}
	return filepath.Join(r.s.cfg.StateDir, "work", name)
}

// releaseWorkDir frees a task's own work dir once the task has ended; a
// session's stays for its next task (the runner frees it once unused).
func (r *run) releaseWorkDir() {
	rel, ok := r.s.cfg.Runner.(interface{ Release(dir string) })
	if dir := r.workDir(); ok && dir != "" && r.task.Session == "" {
		rel.Release(dir)
	}
}
