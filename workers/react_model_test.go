package workers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/workers"
)

// Short limits, so a stall is seen in a test's time; what is asserted is
// the outcome, not how long it took.
var testLimits = workers.ModelLimits{FirstToken: 400 * time.Millisecond, Stall: 400 * time.Millisecond, Notice: 100 * time.Millisecond}

func TestOllamaSilentBeforeTheFirstTokenEndsTheTaskNamingOllama(t *testing.T) {
	m := newLoopMesh(t, &workers.SolverConfig{ModelLimits: testLimits}, ollamatest.WithReplies(ollamatest.Reply{Hang: true}))
	evs := m.wait(m.submit(bus.Task{Instruction: "list the files"}))
	end := last(evs)
	if end.Type != bus.EventFailed || end.Rule != bus.RuleModelStalled {
		t.Fatalf("ended %+v, want failed with rule %s", end, bus.RuleModelStalled)
	}
	mustContain(t, "reason", end.Reason, "Ollama at "+m.srv.URL(), "sent no token within", "ollama ps", "--model-first-token")
	if n := len(m.srv.Requests()); n != 1 {
		t.Errorf("a stalled Ollama was asked %d times; a stall is not retried", n)
	}
	if p := ofType(evs, bus.EventProgress); len(p) != 1 || !strings.Contains(p[0].Text, "waiting for the model") {
		t.Errorf("progress events %+v: want one saying it waits for the model", p)
	}
	h := m.solver.ModelHealth()
	if h == nil || h.Status != bus.ModelDegraded || !strings.Contains(h.Reason, "sent no token") {
		t.Fatalf("model health after a stall: %+v", h)
	}
}

func TestOllamaStallingMidStreamEndsTheAttempt(t *testing.T) {
	long := `{"thought": "` + strings.Repeat("thinking ", 50) + `", "command": "true"}`
	m := newLoopMesh(t, &workers.SolverConfig{ModelLimits: testLimits},
		ollamatest.WithReplies(ollamatest.Reply{Content: long, Hang: true, HangAfter: 3}))
	evs := m.wait(m.submit(bus.Task{Instruction: "anything"}))
	end := last(evs)
	if end.Type != bus.EventFailed || end.Rule != bus.RuleModelStalled {
		t.Fatalf("ended %+v", end)
	}
	mustContain(t, "reason", end.Reason, "stalled: no token for", "after 3 chunks", "Ollama at "+m.srv.URL(), "--model-stall")
	if got, want := streamed(evs, bus.EventToken), strings.Join(ollamatest.Tokenize(long)[:3], ""); got != want {
		t.Errorf("tokens before the stall = %q, want the first 3, %q", got, want)
	}
	// A loaded machine may pass the notice before the first token; once
	// the stream has started, its stall is no wait for the model.
	started := false
	for _, e := range evs {
		started = started || e.Type == bus.EventToken
		if started && e.Type == bus.EventProgress {
			t.Errorf("a stream that started said it was waiting: %v", types(evs))
		}
	}
}

// A cold model: Ollama loads it before the first token, and /api/ps does
// not list it yet. The task says so, then succeeds; health is ok again.
func TestSlowModelLoadIsAnnouncedAndTolerated(t *testing.T) {
	limits := workers.ModelLimits{FirstToken: 30 * time.Second, Stall: 30 * time.Second, Notice: 50 * time.Millisecond}
	m := newLoopMesh(t, &workers.SolverConfig{ModelLimits: limits},
		ollamatest.WithLoadDelay(time.Second), ollamatest.WithReplies(cmdReply("x", "true")))
	evs := m.wait(m.submit(bus.Task{Instruction: "anything", NoAnswer: true}))
	if e := last(evs); e.Type != bus.EventDone {
		t.Fatalf("ended %+v", e)
	}
	p := ofType(evs, bus.EventProgress)
	if len(p) != 1 {
		t.Fatalf("progress events: %v", types(evs))
	}
	mustContain(t, "progress", p[0].Text, "waiting for the model", "is loading qwen3-coder", "not in `ollama ps` yet")
	if h := m.solver.ModelHealth(); h.Status != bus.ModelOK {
		t.Fatalf("health after an answer: %+v", h)
	}
}

func TestCheckModelSaysWhatIsWrong(t *testing.T) {
	m := newLoopMesh(t, &workers.SolverConfig{Model: "llama9-missing"})
	err := m.solver.CheckModel(t.Context())
	if err == nil || !strings.Contains(err.Error(), "ollama pull llama9-missing") {
		t.Fatalf("CheckModel = %v, want a pull hint", err)
	}
	if h := m.solver.ModelHealth(); h.Status != bus.ModelDegraded || h.Name != "llama9-missing" {
		t.Fatalf("health %+v", h)
	}
	m.srv.Down()
	ok := newLoopMesh(t, nil)
	if err := ok.solver.CheckModel(t.Context()); err != nil {
		t.Fatalf("CheckModel with the model present = %v", err)
	}
	if h := ok.solver.ModelHealth(); h.Status != bus.ModelOK {
		t.Fatalf("health %+v", h)
	}
}

// Every request, for a command or for the answer, carries the same
// options: the low-temperature defaults under the operator's, and one
// keep-alive.
func TestModelOptionsGoWithEveryRequest(t *testing.T) {
	opts, err := workers.ParseModelOptions(`{"temperature": 0, "seed": 7}`)
	if err != nil {
		t.Fatal(err)
	}
	m := newLoopMesh(t, &workers.SolverConfig{ModelOptions: opts, KeepAlive: time.Hour},
		ollamatest.WithReplies(cmdReply("x", "false"), cmdReply("y", "echo hi"), ollamatest.Reply{Content: "It printed hi."}))
	if e := last(m.wait(m.submit(bus.Task{Instruction: "say hi"}))); e.Type != bus.EventDone {
		t.Fatalf("ended %+v", e)
	}
	reqs := m.srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.Options["temperature"] != float64(0) || r.Options["seed"] != float64(7) || r.Options["top_p"] != 0.9 {
			t.Errorf("request %d options %v", i, r.Options)
		}
		if r.KeepAlive == nil || r.KeepAlive.Duration != time.Hour {
			t.Errorf("request %d keep_alive %v", i, r.KeepAlive)
		}
	}
}

func TestBadModelOptionsSayWhatIsWrong(t *testing.T) {
	for in, want := range map[string]string{
		`{"temprature": 0.1}`:     `"temprature" is not one Ollama knows`,
		`{"num_ctx": "big"}`:      `"num_ctx" must be of type integer`,
		`[1, 2]`:                  "must be a JSON object",
		`{"temperature": "warm"}`: `"temperature" must be of type`,
	} {
		_, err := workers.ParseModelOptions(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseModelOptions(%s) = %v, want %q", in, err, want)
		}
	}
	if _, err := workers.NewSolver(workers.SolverConfig{Runner: hostRunner(t), ModelOptions: map[string]any{"nope": 1}}); err == nil {
		t.Error("NewSolver accepted an unknown option")
	}
}

// A model with a small context: every request asks for the same num_ctx
// (the model's length), and a long session is cut oldest first, said in
// an event, so the prompt fits and Ollama has nothing to truncate.
func TestPromptIsCutToTheModelsContextAndSaysSo(t *testing.T) {
	sessions := &workers.LocalSessions{}
	for i := range 6 {
		_ = sessions.AppendTurn(context.Background(), workers.SessionKey("strict", "big"), memory.Turn{
			Instruction: fmt.Sprintf("request %d", i), Command: "echo", Output: strings.Repeat("y", 600),
		})
	}
	m := newLoopMesh(t, &workers.SolverConfig{Sessions: sessions},
		ollamatest.WithModels(ollamatest.Model{Name: "qwen3-coder", ContextLength: 6144}),
		ollamatest.WithReplies(cmdReply("x", "seq 1 3000"), ollamatest.Reply{Content: "Numbers."}))
	evs := m.wait(m.submit(bus.Task{Session: "big", Instruction: "next"}))
	if e := last(evs); e.Type != bus.EventDone {
		t.Fatalf("ended %+v", e)
	}
	reqs := m.srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if r.Options["num_ctx"] != float64(6144) {
			t.Errorf("request %d num_ctx = %v, want the model's 6144", i, r.Options["num_ctx"])
		}
		size := 0
		for _, msg := range r.Messages {
			size += len(msg.Content)
		}
		if size > 6144-1024 {
			t.Errorf("request %d is %d bytes: it may not fit a 6144-token context with room to reply", i, size)
		}
	}
	var p []bus.Event
	for _, e := range ofType(evs, bus.EventProgress) {
		if strings.Contains(e.Text, "left out") {
			p = append(p, e)
		}
	}
	if len(p) != 1 || !strings.Contains(p[0].Text, "older session turn") || !strings.Contains(p[0].Text, "num_ctx 6144") {
		t.Fatalf("progress events %+v: want one saying what was left out", p)
	}
	user := lastUser(commandRequests(m.srv)[0])
	mustContain(t, "request", user, "request 5", "left out to fit the model's context", "next")
	if strings.Contains(user, "request 0") {
		t.Errorf("the oldest turn was kept while newer ones were cut:\n%s", user)
	}
}

// An Ollama that takes connections and answers nothing (stopped with
// SIGSTOP, or wedged) is named as such, not as one that is not running.
func TestCheckModelNamesAFrozenOllama(t *testing.T) {
	m := newLoopMesh(t, nil)
	m.srv.SetFrozen(true)
	defer m.srv.SetFrozen(false)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := m.solver.CheckModel(ctx)
	if err == nil || !strings.Contains(err.Error(), "did not answer in time") || !strings.Contains(err.Error(), "restart `ollama serve`") {
		t.Fatalf("CheckModel = %v, want it to say Ollama is not answering", err)
	}
	if h := m.solver.ModelHealth(); h.Status != bus.ModelDegraded || !strings.Contains(h.Reason, "frozen or wedged") {
		t.Fatalf("health %+v", h)
	}
}
