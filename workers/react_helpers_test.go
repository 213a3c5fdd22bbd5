package workers_test

import (
	"context"
	"encoding/json"
	"strings"
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

// loopMesh is a kernel, a fake Ollama and a worker wired to both.
type loopMesh struct {
	*mesh
	srv   *ollamatest.Server
	state string
}

// newLoopMesh starts the parts; w may preset fields, the rest is filled.
func newLoopMesh(t testing.TB, w *workers.Worker, opts ...ollamatest.Option) *loopMesh {
	t.Helper()
	srv := ollamatest.New(t, opts...)
	m := newMesh(t)
	if w == nil {
		w = &workers.Worker{}
	}
	if w.LLM == nil {
		w.LLM = srv.Client()
	}
	w.LLMHost = srv.URL()
	if w.Runner == nil {
		w.Runner = hostRunner(t)
	}
	if w.StateDir == "" {
		w.StateDir = t.TempDir()
	}
	m.startWorker(w)
	return &loopMesh{mesh: m, srv: srv, state: w.StateDir}
}

// cmdReply is the structured reply the prompt asks for.
func cmdReply(thought, command string) ollamatest.Reply {
	b, _ := json.Marshal(map[string]string{"thought": thought, "command": command})
	return ollamatest.Reply{Content: string(b)}
}

// commandRequests are the chat requests that asked for a command (they
// carry the JSON schema); answer requests carry none.
func commandRequests(srv *ollamatest.Server) []api.ChatRequest {
	var out []api.ChatRequest
	for _, r := range srv.Requests() {
		if len(r.Format) > 0 {
			out = append(out, r)
		}
	}
	return out
}

func answerRequests(srv *ollamatest.Server) []api.ChatRequest {
	var out []api.ChatRequest
	for _, r := range srv.Requests() {
		if len(r.Format) == 0 {
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

// waitFor watches a task until fn matches an event, and returns when it
// does.
func (m *mesh) waitFor(id string, fn func(bus.Event) bool) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	matched := false
	_ = m.client.Watch(ctx, id, 0, true, func(e bus.Event) error {
		if fn(e) {
			matched = true
			return context.Canceled
		}
		return nil
	})
	if !matched {
		m.t.Fatalf("task %s: the awaited event never came", id)
	}
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}
