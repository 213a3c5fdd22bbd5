package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/internal/ssetest"
)

// structured is a reply in the JSON form the worker asks the model for.
const structured = `{"thought":"nothing to do","command":"true"}`

// BenchmarkTTFT measures the time from POST /v1/tasks to the first token
// on the task's SSE stream, against a client reading the same fake
// Ollama directly in the same run, and reports the overhead AMF adds.
// Two direct readings: a one-line request (direct-p50-ms, overhead-p50-ms),
// and the very request the worker sent for the task before, replayed
// (direct-same-p50-ms, overhead-same-p50-ms): its system prompt, examples
// and schema cost the model server something too, and that cost is the
// model's, not AMF's (the real-model benchmark compares the same way).
// Each iteration takes AMF_BENCH_TTFT_SAMPLES (50) samples of each.
//
//	go test -run '^$' -bench TTFT -benchtime 1x ./bench
func BenchmarkTTFT(b *testing.B) {
	var seen lastRequest
	llm := ollamatest.New(b, ollamatest.WithHandler(seen.keep(answersLikeAModel(ollamatest.Reply{Content: structured}))))
	m := startUp(b, []string{"OLLAMA_HOST=" + llm.URL()}, "--concurrency=2")
	cl := newClient()
	var direct, same, system []time.Duration
	for b.Loop() {
		for range envInt("AMF_BENCH_TTFT_SAMPLES", 50) {
			system = append(system, ttftSample(b, m, cl, llm, &direct))
			if req := seen.get(); req != nil {
				time.Sleep(200 * time.Millisecond)
				same = append(same, firstToken(b, llm, req))
			}
		}
	}
	slices.Sort(direct)
	slices.Sort(same)
	slices.Sort(system)
	b.ReportMetric(ms(pct(direct, .5)), "direct-p50-ms")
	b.ReportMetric(ms(pct(same, .5)), "direct-same-p50-ms")
	b.ReportMetric(ms(pct(system, .5)), "amf-p50-ms")
	b.ReportMetric(ms(pct(system, .5)-pct(direct, .5)), "overhead-p50-ms")
	b.ReportMetric(ms(pct(system, .5)-pct(same, .5)), "overhead-same-p50-ms")
	b.ReportMetric(ms(pct(system, .99)-pct(direct, .99)), "overhead-p99-ms")
}

// ttftSample takes one direct sample (appended to direct) and returns one
// through AMF.
func ttftSample(b *testing.B, m *mesh, cl *http.Client, llm *ollamatest.Server, direct *[]time.Duration) time.Duration {
	{
		// Start each measurement from an idle machine: after a task the
		// sandbox prepares its next init in the background.
		time.Sleep(200 * time.Millisecond)
		*direct = append(*direct, directTTFT(b, llm))
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		var first time.Duration
		if _, err := m.run(cl, `{"instruction":"do nothing","no_answer":true}`, nil, func(msg ssetest.Message) {
			if first == 0 && msg.Event == "token" {
				first = time.Since(start)
			}
		}); err != nil || first == 0 {
			b.Fatalf("a task streamed no token (%v): %s", err, m.log)
		}
		return first
	}
}

// lastRequest keeps the newest request for a command the fake model was
// sent, to be replayed directly.
type lastRequest struct {
	mu  sync.Mutex
	req *api.ChatRequest
}

func (l *lastRequest) keep(h ollamatest.Handler) ollamatest.Handler {
	return func(req *api.ChatRequest) ollamatest.Reply {
		if !bytes.Contains(req.Format, []byte(`"same"`)) {
			c := *req
			l.mu.Lock()
			l.req = &c
			l.mu.Unlock()
		}
		return h(req)
	}
}

func (l *lastRequest) get() *api.ChatRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.req
}

// answersLikeAModel replies with reply to every request but the memory
// gate's second look (asked for {"same": bool} before a remembered command
// is replayed), which it answers "no" as a model would. Given the command
// reply instead, the worker finds the answer unreadable, does not keep
// it, and asks again on every task: a model round trip before each
// first token that no real model causes.
func answersLikeAModel(reply ollamatest.Reply) ollamatest.Handler {
	return func(req *api.ChatRequest) ollamatest.Reply {
		if bytes.Contains(req.Format, []byte(`"same"`)) {
			return ollamatest.Reply{Content: `{"same": false}`}
		}
		return reply
	}
}

var errFirst = errors.New("first token")

func directTTFT(b *testing.B, llm *ollamatest.Server) time.Duration {
	stream := true
	return firstToken(b, llm, &api.ChatRequest{Model: "qwen3-coder", Stream: &stream,
		Messages: []api.Message{{Role: "user", Content: "do nothing"}}})
}

// firstToken is the time from sending req to the first content token.
func firstToken(b *testing.B, llm *ollamatest.Server, req *api.ChatRequest) time.Duration {
	start := time.Now()
	err := llm.Client().Chat(context.Background(), req,
		func(r api.ChatResponse) error {
			if r.Message.Content != "" {
				return errFirst
			}
			return nil
		})
	if !errors.Is(err, errFirst) {
		b.Fatalf("direct chat: %v", err)
	}
	return time.Since(start)
}

const relayTasks, relayTokensPerTask = 50, 2000

// BenchmarkTokenRelay runs 50 tasks at once, each streaming 2,000 tokens
// as fast as the fake model sends them, and counts the tokens that reach
// the SSE clients per second, from the first any client sees to the last.
//
//	go test -run '^$' -bench TokenRelay -benchtime 3x ./bench
func BenchmarkTokenRelay(b *testing.B) {
	toks := make([]string, 0, relayTokensPerTask)
	toks = append(toks, `{"thought":"`)
	for i := 1; i < relayTokensPerTask-1; i++ {
		toks = append(toks, "w"+strconv.Itoa(i%10)+" ")
	}
	toks = append(toks, `","command":"true"}`)
	llm := ollamatest.New(b, ollamatest.WithHandler(answersLikeAModel(ollamatest.Reply{Tokens: toks})))
	m := startUp(b, []string{"OLLAMA_HOST=" + llm.URL()}, "--concurrency="+strconv.Itoa(relayTasks),
		"--streams-per-token=1000")
	var total atomic.Int64
	var window time.Duration
	for b.Loop() {
		var mu sync.Mutex
		var first, last time.Time
		var wg sync.WaitGroup
		before := total.Load()
		for range relayTasks {
			wg.Go(func() {
				cl := newClient()
				id, err := m.submit(cl, `{"instruction":"stream a lot","no_answer":true}`)
				if err != nil {
					b.Error(err)
					return
				}
				_, err = m.follow(cl, id, func(msg ssetest.Message) {
					if msg.Event != "token" {
						return
					}
					// Tokens that arrive while an event is being stored
					// share one event: count them in its text.
					var e struct {
						Text string `json:"text"`
					}
					if err := json.Unmarshal([]byte(msg.Data), &e); err != nil {
						b.Errorf("token event: %v", err)
						return
					}
					total.Add(int64(strings.Count(e.Text, " ") + strings.Count(e.Text, `{"thought":"`) +
						strings.Count(e.Text, `","command":"true"}`)))
					now := time.Now()
					mu.Lock()
					if first.IsZero() {
						first = now
					}
					last = now
					mu.Unlock()
				})
				if err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		if got := total.Load() - before; got < relayTasks*relayTokensPerTask {
			b.Fatalf("relayed %d tokens, want %d", got, relayTasks*relayTokensPerTask)
		}
		window += last.Sub(first)
	}
	b.ReportMetric(float64(total.Load())/window.Seconds(), "tokens/s")
}
