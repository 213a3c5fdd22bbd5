package workers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/internal/ssetest"
	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/workers"
)

// BenchmarkRealModelTTFT measures time to first token against a real
// Ollama, which the fake cannot stand in for: its prompt processing and
// prompt cache are what is measured. Each iteration is one round on a
// fresh worker: the model's own short-prompt TTFT, the 1st task (nothing
// cached) and tasks 2–11 (the system prompt cached), each against the
// identical request sent straight to Ollama with the same client,
// interleaved, so the two see the same machine and the same cache.
//
//	AMF_OLLAMA_URL=http://127.0.0.1:11555 AMF_OLLAMA_MODEL=tiny-ls \
//	  go test -run '^$' -bench RealModelTTFT -benchtime 5x ./workers/
//
// AMF's TTFT runs from POST /v1/tasks to the first token event on the
// task's SSE stream (bridge, bus, worker, namespace sandbox when root).
// Tasks run to their end (the default 3 attempts; the answer after a
// success), so no stream is cut short.
func BenchmarkRealModelTTFT(b *testing.B) {
	base := os.Getenv("AMF_OLLAMA_URL")
	if base == "" {
		testenv.Skip(b, "set AMF_OLLAMA_URL to a real Ollama (and AMF_OLLAMA_MODEL, default tiny-ls)")
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatalf("AMF_OLLAMA_URL %q: %v", base, err)
	}
	model := envOr("AMF_OLLAMA_MODEL", "tiny-ls")
	// On a shared machine num_thread 1 keeps ggml's threads from spinning
	// against each other: AMF_BENCH_MODEL_OPTIONS='{"num_thread":1}'.
	opts, err := workers.ParseModelOptions(os.Getenv("AMF_BENCH_MODEL_OPTIONS"))
	if err != nil {
		b.Fatal(err)
	}
	llm := &recordingLLM{Client: api.NewClient(u, http.DefaultClient)}
	k := kerneltest.Start(b)
	br := &bridge.Server{NC: k.NC, NoAuth: true, Logger: kerneltest.Logger(b)}
	h, err := br.Handler()
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(h)
	b.Cleanup(ts.Close)
	m := &mesh{t: b, k: k}

	var s ttftSamples
	round := 0
	for b.Loop() {
		round++
		cfg := workers.Config{}
		cfg.LLM, cfg.LLMHost, cfg.Model, cfg.StateDir, cfg.Runner = llm, base, model, b.TempDir(), loopRunner(b)
		cfg.ModelOptions = opts
		stop := m.startWorker(cfg)
		s.round(b, ts.URL, llm, model, round)
		stop()
	}
	s.report(b)
}

// ttftSamples are one benchmark's measurements, in milliseconds.
type ttftSamples struct {
	short, directCold, amfCold, directWarm, amfWarm []float64
	// evalCold and evalWarm are Ollama's prompt_eval_duration for AMF's
	// first model request of a task: the prompt it really processed.
	evalCold, evalWarm []float64
	// template is AMF's first request, for its options.
	template *api.ChatRequest
}

// pause lets the sandbox's background work after a task (a fresh init)
// finish, so that every measurement starts from an idle machine.
const pause = 300 * time.Millisecond

func (s *ttftSamples) round(b *testing.B, amf string, llm *recordingLLM, model string, round int) {
	instr := func(task int, who string) string {
		return fmt.Sprintf("list the files in the current directory (run %02d-%02d%s)", round, task, who)
	}
	if s.template == nil {
		// Not measured: loads the model and shows the options AMF sends.
		_, _, s.template = amfTTFT(b, amf, llm, instr(0, "w"))
	}
	// The short prompt carries AMF's options: another num_ctx would make
	// Ollama reload the model for each of them.
	// The short prompt also clears Ollama's prompt cache (one slot): what
	// it holds then shares no prefix with AMF's prompt.
	s.short = append(s.short, s.shortTTFT(b, llm.Client, model, instr(0, "s")))
	time.Sleep(pause)
	t, eval, captured := amfTTFT(b, amf, llm, instr(1, "a"))
	s.amfCold, s.evalCold = append(s.amfCold, t), append(s.evalCold, eval)
	time.Sleep(pause)
	s.short = append(s.short, s.shortTTFT(b, llm.Client, model, instr(1, "s")))
	time.Sleep(pause)
	s.directCold = append(s.directCold, s.replay(b, llm.Client, captured, instr(1, "d")))
	for task := 2; task <= 11; task++ {
		// Alternate which goes first; each sees the prompt the other left.
		direct := func() {
			time.Sleep(pause)
			s.directWarm = append(s.directWarm, s.replay(b, llm.Client, captured, instr(task, "d")))
		}
		if task%2 == 1 {
			direct()
		}
		time.Sleep(pause)
		t, eval, _ := amfTTFT(b, amf, llm, instr(task, "a"))
		s.amfWarm, s.evalWarm = append(s.amfWarm, t), append(s.evalWarm, eval)
		if task%2 == 0 {
			direct()
		}
	}
}

func (s *ttftSamples) report(b *testing.B) {
	p := func(xs []float64, q float64) float64 {
		x := slices.Sorted(slices.Values(xs))
		return x[int(q*float64(len(x)-1))]
	}
	for _, m := range []struct {
		name string
		xs   []float64
	}{{"short", s.short}, {"direct-1st", s.directCold}, {"amf-1st", s.amfCold}, {"direct-2to11", s.directWarm}, {"amf-2to11", s.amfWarm}} {
		b.ReportMetric(p(m.xs, .5), m.name+"-p50-ms")
		b.ReportMetric(p(m.xs, .9), m.name+"-p90-ms")
	}
	b.ReportMetric(p(s.amfWarm, .5)-p(s.directWarm, .5), "overhead-2to11-p50-ms")
	// Each warm task ran next to its direct twin: on a loaded machine the
	// median of their differences says more than a difference of medians.
	diffs := make([]float64, len(s.amfWarm))
	for i := range diffs {
		diffs[i] = s.amfWarm[i] - s.directWarm[i]
	}
	b.ReportMetric(p(diffs, .5), "overhead-2to11-paired-p50-ms")
	b.ReportMetric(p(s.amfWarm, .5)/p(s.short, .5), "amf-2to11-p50/short-p50")
	b.ReportMetric(p(s.evalCold, .5), "amf-1st-prompt-eval-p50-ms")
	b.ReportMetric(p(s.evalWarm, .5), "amf-2to11-prompt-eval-p50-ms")
}

// shortTTFT is the model's own time to first token on a short prompt,
// with AMF's options: another num_ctx would make Ollama reload the model.
// Without a format the reply may be empty (end of text first); then it
// asks again, with another prompt so that nothing of it is cached.
func (s *ttftSamples) shortTTFT(b *testing.B, c *api.Client, model, instruction string) float64 {
	for try := range 5 {
		req := &api.ChatRequest{
			Model:    model,
			Messages: []api.Message{{Role: "user", Content: fmt.Sprintf("%s, try %d", instruction, try)}},
			Options:  s.template.Options, KeepAlive: s.template.KeepAlive,
		}
		if t, ok := directTTFT(b, c, req); ok {
			return t
		}
	}
	b.Fatalf("five short prompts got no content")
	return 0
}

// directTTFT sends req straight to Ollama and reads the reply to its end
// (cutting a stream short can wedge Ollama 0.17.4); it returns the time
// to the first content, and whether there was any.
func directTTFT(b *testing.B, c *api.Client, req *api.ChatRequest) (float64, bool) {
	stream := true
	req.Stream = &stream
	var first time.Duration
	start := time.Now()
	err := c.Chat(context.Background(), req, func(r api.ChatResponse) error {
		if first == 0 && r.Message.Content != "" {
			first = time.Since(start)
		}
		return nil
	})
	if err != nil {
		b.Fatalf("direct chat: %v", err)
	}
	return ms(first), first > 0
}

// amfTTFT runs one task through the bridge to its end and returns the
// time from POST to its first token event, the prompt evaluation time
// Ollama reported for the task's first model request, and that request.
func amfTTFT(b *testing.B, base string, llm *recordingLLM, instruction string) (float64, float64, *api.ChatRequest) {
	llm.arm()
	body, _ := json.Marshal(bus.Task{Instruction: instruction})
	start := time.Now()
	resp, err := http.Post(base+"/v1/tasks", "application/json", strings.NewReader(string(body)))
	if err != nil {
		b.Fatal(err)
	}
	var sub struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sub)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted {
		b.Fatalf("submit: %d %v", resp.StatusCode, err)
	}
	ev, err := http.Get(base + "/v1/tasks/" + sub.ID + "/events")
	if err != nil {
		b.Fatal(err)
	}
	defer ev.Body.Close()
	var first time.Duration
	var seen []string
	err = ssetest.Read(ev.Body, func(m ssetest.Message) error {
		if first == 0 && m.Event == string(bus.EventToken) {
			first = time.Since(start)
		}
		seen = append(seen, m.Event)
		return nil
	})
	if err != nil || first == 0 {
		b.Fatalf("task %s: %v, no token event in %v", sub.ID, err, seen)
	}
	req, eval := llm.captured()
	if req == nil {
		b.Fatalf("task %s sent no model request", sub.ID)
	}
	return ms(first), ms(eval), req
}

// replay sends AMF's request for another instruction straight to Ollama.
// The format makes the reply begin with JSON, so it always has content.
func (s *ttftSamples) replay(b *testing.B, c *api.Client, req *api.ChatRequest, instruction string) float64 {
	t, ok := directTTFT(b, c, withInstruction(req, instruction))
	if !ok {
		b.Fatalf("AMF's request sent directly got no content")
	}
	return t
}

// withInstruction is AMF's request for another instruction, as AMF would
// send it: the instruction is the last user message of a first request.
func withInstruction(req *api.ChatRequest, instruction string) *api.ChatRequest {
	c := *req
	c.Messages = slices.Clone(req.Messages)
	c.Messages[len(c.Messages)-1].Content = instruction
	return &c
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// recordingLLM is Ollama's client that keeps the first chat request after
// arm, and what Ollama said it cost; Show and ListRunning pass through.
type recordingLLM struct {
	*api.Client
	mu    sync.Mutex
	armed bool
	req   *api.ChatRequest
	eval  time.Duration
}

func (l *recordingLLM) arm() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed, l.req, l.eval = true, nil, 0
}

func (l *recordingLLM) captured() (*api.ChatRequest, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.req, l.eval
}

func (l *recordingLLM) Chat(ctx context.Context, req *api.ChatRequest, fn api.ChatResponseFunc) error {
	l.mu.Lock()
	mine := l.armed
	if mine {
		c := *req
		c.Messages = slices.Clone(req.Messages)
		l.armed, l.req = false, &c
	}
	l.mu.Unlock()
	if !mine {
		return l.Client.Chat(ctx, req, fn)
	}
	return l.Client.Chat(ctx, req, func(r api.ChatResponse) error {
		if r.Done {
			l.mu.Lock()
			l.eval = r.PromptEvalDuration
			l.mu.Unlock()
		}
		return fn(r)
	})
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
