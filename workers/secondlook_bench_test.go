package workers_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
	"github.com/amf-os/amf/workers"
)

// BenchmarkSecondLook measures what the second look before a replay
// costs, as the time from a task's start to its command event, three
// ways side by side on one model in one run:
//
//   - look: the memory is replayed after the model's second look
//     (uncached: every iteration is a fresh worker);
//   - blind: replayed without it (NoSecondLook), the baseline of a replay;
//   - generate: no memory, the model writes the command.
//
// By default the model is internal/ollamatest streaming a token every
// 15 ms (about a small model on a shared CPU), so the numbers say how
// many tokens each path waits for, not how fast a model is. Point it at
// a real Ollama to measure prompt processing too:
//
//	AMF_OLLAMA_URL=http://127.0.0.1:11434 AMF_OLLAMA_MODEL=qwen3-coder \
//	  go test -run '^$' -bench SecondLook -benchtime 5x ./workers/
func BenchmarkSecondLook(b *testing.B) {
	const instr, remembered = "print the word benchmark", "echo benchmark"
	var llm workers.LLM
	model := envOr("AMF_OLLAMA_MODEL", workers.DefaultModel)
	if base := os.Getenv("AMF_OLLAMA_URL"); base != "" {
		u, err := url.Parse(base)
		if err != nil {
			b.Fatalf("AMF_OLLAMA_URL %q: %v", base, err)
		}
		// A client of its own, whose idle connections are closed when
		// the benchmark ends, so the package's leak check sees none.
		hc := &http.Client{Transport: &http.Transport{}}
		b.Cleanup(hc.CloseIdleConnections)
		llm = api.NewClient(u, hc)
	} else {
		srv := ollamatest.New(b, ollamatest.WithTokenDelay(15*time.Millisecond), ollamatest.WithHandler(func(req *api.ChatRequest) ollamatest.Reply {
			if strings.Contains(string(req.Format), `"same"`) {
				return lookYes
			}
			return cmdReply("echo prints its arguments", remembered)
		}))
		llm = srv.Client()
		model = workers.DefaultModel
	}
	k := kerneltest.Start(b)
	ctx := context.Background()
	kn, err := knowledge.Open(ctx, k.JS, knowledge.Config{Logger: kerneltest.Logger(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kn.Close() })
	for _, name := range []string{"w1", "w2"} {
		js, err := jetstream.New(k.ConnectAs(k.Creds(kernel.UserSpec{Name: name, Role: kernel.RoleWorker})))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := (memory.Publisher{JS: js}).Learn(ctx, bus.Learned{Instruction: instr, Command: remembered, TaskID: name}); err != nil {
			b.Fatal(err)
		}
	}
	if err := kn.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	runner := loopRunner(b)
	solver := func(mem workers.Recaller, noLook bool) *workers.Solver {
		s, err := workers.NewSolver(workers.SolverConfig{
			LLM: llm, Model: model, Runner: runner, StateDir: b.TempDir(), Memory: mem,
			NoSecondLook: noLook, Logger: kerneltest.Logger(b),
		})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	toCommand := func(s *workers.Solver) (time.Duration, string) {
		task := bus.Task{Instruction: instr, NoAnswer: true, MaxAttempts: 1}
		if err := task.Normalize(); err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		var at time.Time
		var first string
		start := time.Now()
		s.Solve(ctx, task, workers.SinkFunc(func(e bus.Event) {
			mu.Lock()
			defer mu.Unlock()
			if e.Type == bus.EventCommand && at.IsZero() {
				at, first = time.Now(), e.Command
			}
		}))
		mu.Lock()
		defer mu.Unlock()
		if at.IsZero() {
			b.Fatal("the task ended without a command")
		}
		return at.Sub(start), first
	}
	var look, blind, gen time.Duration
	for b.Loop() {
		d, cmd := toCommand(solver(kn, false))
		if cmd != remembered {
			b.Fatalf("with the second look the first command is %q, want the replayed %q", cmd, remembered)
		}
		look += d
		d, _ = toCommand(solver(kn, true))
		blind += d
		d, _ = toCommand(solver(nil, false))
		gen += d
	}
	n := float64(b.N)
	b.ReportMetric(float64(look.Microseconds())/1000/n, "look-ms")
	b.ReportMetric(float64(blind.Microseconds())/1000/n, "blind-ms")
	b.ReportMetric(float64(gen.Microseconds())/1000/n, "generate-ms")
	b.ReportMetric(0, "ns/op")
}
