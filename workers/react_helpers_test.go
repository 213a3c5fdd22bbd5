package workers_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/sandbox"
	"github.com/amf-os/amf/workers"
)

// hostRunner is the sandbox's unconfined backend: the real policy check
// and the real process-group handling, without namespaces, so the tests
// need no privileges.
func hostRunner(t testing.TB) sandbox.Runner {
	t.Helper()
	r, err := sandbox.NewHost(sandbox.Config{StateDir: t.TempDir(), Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatalf("host runner: %v", err)
	}
	return r
}

// loopRunner is the runner of correction-loop tests: the namespace
// sandbox the workers use in production when the tests run as root (as
// CI does), else the host backend, so the loop is tested without
// privileges too.
func loopRunner(t testing.TB) sandbox.Runner {
	t.Helper()
	if os.Geteuid() == 0 {
		return testRunner(t)
	}
	return hostRunner(t)
}

// loopMesh is a Solver wired to a fake Ollama and a real runner, with an
// in-memory sink per task: the correction loop without a kernel.
type loopMesh struct {
	t      testing.TB
	solver *workers.Solver
	srv    *ollamatest.Server
	state  string

	mu    sync.Mutex
	tasks map[string]*solving
	// changed is closed and replaced whenever any task gets an event.
	changed chan struct{}
	wg      sync.WaitGroup
}

// solving is one task under way in a loopMesh.
type solving struct {
	events []bus.Event
	done   bool
	cancel context.CancelCauseFunc
}

// newLoopMesh starts the parts; cfg may preset fields, the rest is filled.
func newLoopMesh(t testing.TB, cfg *workers.SolverConfig, opts ...ollamatest.Option) *loopMesh {
	t.Helper()
	srv := ollamatest.New(t, opts...)
	if cfg == nil {
		cfg = &workers.SolverConfig{}
	}
	c := *cfg
	if c.LLM == nil {
		c.LLM = srv.Client()
	}
	c.LLMHost = srv.URL()
	if c.Runner == nil {
		c.Runner = loopRunner(t)
	}
	if c.StateDir == "" {
		c.StateDir = t.TempDir()
	}
	if c.Logger == nil {
		c.Logger = kerneltest.Logger(t)
	}
	s, err := workers.NewSolver(c)
	if err != nil {
		t.Fatalf("solver: %v", err)
	}
	m := &loopMesh{t: t, solver: s, srv: srv, state: c.StateDir, tasks: map[string]*solving{}, changed: make(chan struct{})}
	t.Cleanup(func() {
		m.mu.Lock()
		for _, st := range m.tasks {
			st.cancel(errors.New("test over"))
		}
		m.mu.Unlock()
		m.wg.Wait()
	})
	return m
}

// submit starts solving a task (normalised as the kernel would) and
// returns its id.
func (m *loopMesh) submit(task bus.Task) string {
	m.t.Helper()
	if err := task.Normalize(); err != nil {
		m.t.Fatalf("task: %v", err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	st := &solving{cancel: cancel}
	m.mu.Lock()
	m.tasks[task.ID] = st
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer cancel(nil)
		final := m.solver.Solve(ctx, task, workers.SinkFunc(func(e bus.Event) { m.add(st, e, false) }))
		m.add(st, final, true)
	}()
	return task.ID
}

func (m *loopMesh) add(st *solving, e bus.Event, final bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st.events = append(st.events, e)
	st.done = final
	close(m.changed)
	m.changed = make(chan struct{})
}

// cancel stops a task the way a cancel request does.
func (m *loopMesh) cancel(id, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tasks[id].cancel(workers.Cancelled(reason))
}

// wait returns a task's events once its terminal one is in.
func (m *loopMesh) wait(id string) []bus.Event {
	m.t.Helper()
	var evs []bus.Event
	m.until(id, func(st *solving) bool { evs = append([]bus.Event(nil), st.events...); return st.done })
	return evs
}

// waitFor returns once fn matches one of a task's events.
func (m *loopMesh) waitFor(id string, fn func(bus.Event) bool) {
	m.t.Helper()
	seen := 0
	m.until(id, func(st *solving) bool {
		for ; seen < len(st.events); seen++ {
			if fn(st.events[seen]) {
				return true
			}
		}
		return false
	})
}

// until calls cond with the task's state, under the lock, after every
// event, until it holds; it fails the test after a minute.
func (m *loopMesh) until(id string, cond func(*solving) bool) {
	m.t.Helper()
	limit := time.NewTimer(60 * time.Second)
	defer limit.Stop()
	for {
		m.mu.Lock()
		st := m.tasks[id]
		ok := st != nil && cond(st)
		var n []bus.EventType
		if st != nil {
			n = types(st.events)
		}
		changed := m.changed
		m.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-limit.C:
			m.t.Fatalf("task %s: the awaited event never came (events so far: %v)", id, n)
		}
	}
}

// workerMesh is a kernel with one worker that solves with a fake Ollama:
// the whole path a task takes.
type workerMesh struct {
	*mesh
	srv *ollamatest.Server
}

func newWorkerMesh(t testing.TB, opts ...ollamatest.Option) *workerMesh {
	t.Helper()
	return newWorkerMeshWith(t, workers.SolverConfig{}, opts...)
}

// newWorkerMeshWith is newWorkerMesh with the solver's settings in sc.
func newWorkerMeshWith(t testing.TB, sc workers.SolverConfig, opts ...ollamatest.Option) *workerMesh {
	t.Helper()
	srv := ollamatest.New(t, opts...)
	m := newMesh(t)
	cfg := workers.Config{SolverConfig: sc}
	cfg.LLM, cfg.LLMHost, cfg.StateDir, cfg.Runner = srv.Client(), srv.URL(), t.TempDir(), hostRunner(t)
	m.startWorker(cfg)
	return &workerMesh{mesh: m, srv: srv}
}

// cmdReply is the structured reply the prompt asks for.
func cmdReply(thought, command string) ollamatest.Reply {
	b, _ := json.Marshal(map[string]string{"thought": thought, "command": command})
	return ollamatest.Reply{Content: string(b)}
}

// isCommandRequest tells a request for a command (its schema asks for
// one) from a request for the answer.
func isCommandRequest(r api.ChatRequest) bool { return strings.Contains(string(r.Format), `"command"`) }

// commandRequests are the chat requests that asked for a command (their
// JSON schema has a "command"); answer requests ask for the answer's.
func commandRequests(srv *ollamatest.Server) []api.ChatRequest {
	var out []api.ChatRequest
	for _, r := range srv.Requests() {
		if isCommandRequest(r) {
			out = append(out, r)
		}
	}
	return out
}

func answerRequests(srv *ollamatest.Server) []api.ChatRequest {
	var out []api.ChatRequest
	for _, r := range srv.Requests() {
		if !isCommandRequest(r) {
			out = append(out, r)
		}
	}
	return out
}

// lastUser is the last user message of a request: the instruction, or
// the feedback on the attempt before.
func lastUser(r api.ChatRequest) string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

func ofType(evs []bus.Event, t bus.EventType) []bus.Event {
	var out []bus.Event
	for _, e := range evs {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}
