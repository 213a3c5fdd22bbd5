package bench

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/internal/ssetest"
)

// BenchmarkFirstTokenTimeline splits the time to first token (TTFT) of a
// task into its hops, each the median over AMF_BENCH_TTFT_SAMPLES (50)
// tasks on an idle `amf up` with the fake model: from the request to the
// kernel's accepted event, from it to the worker's claim (assigned), from
// the claim to the model's request, from the request to the worker's
// first token event, and from that to the SSE client; plus the time from
// the accepted event to the 202 (beside the worker's hops, not before
// them). Event times are the stamps their writers put on them (one
// machine, one clock).
//
//	go test -run '^$' -bench FirstTokenTimeline -benchtime 1x ./bench
func BenchmarkFirstTokenTimeline(b *testing.B) {
	var mu sync.Mutex
	var asked time.Time
	model := answersLikeAModel(ollamatest.Reply{Content: structured})
	llm := ollamatest.New(b, ollamatest.WithHandler(func(req *api.ChatRequest) ollamatest.Reply {
		mu.Lock()
		if asked.IsZero() {
			asked = time.Now()
		}
		mu.Unlock()
		return model(req)
	}))
	m := startUp(b, []string{"OLLAMA_HOST=" + llm.URL()}, "--concurrency=2")
	cl := newClient()
	hops := []string{"post-accepted-ms", "accepted-assigned-ms", "assigned-model-ms", "model-token-ms", "token-sse-ms", "post-sse-token-ms", "accepted-202-ms"}
	took := map[string][]time.Duration{}
	for b.Loop() {
		for i := range envInt("AMF_BENCH_TTFT_SAMPLES", 50) + 1 {
			time.Sleep(200 * time.Millisecond) // from an idle machine, as BenchmarkTTFT
			mu.Lock()
			asked = time.Time{}
			mu.Unlock()
			start := time.Now()
			var answered, sse time.Time
			stamps := map[string]time.Time{}
			_, err := m.run(cl, `{"instruction":"do nothing","no_answer":true}`, func() { answered = time.Now() }, func(msg ssetest.Message) {
				if _, ok := stamps[msg.Event]; ok {
					return
				}
				var e struct {
					TS time.Time `json:"ts"`
				}
				_ = json.Unmarshal([]byte(msg.Data), &e)
				stamps[msg.Event] = e.TS
				if msg.Event == "token" {
					sse = time.Now()
				}
			})
			mu.Lock()
			model := asked
			mu.Unlock()
			if err != nil || sse.IsZero() || model.IsZero() || stamps["accepted"].IsZero() || stamps["assigned"].IsZero() {
				b.Fatalf("a task streamed no token (%v, %v): %s", err, stamps, m.log)
			}
			if i == 0 {
				continue // the first task warms the worker
			}
			for hop, d := range map[string]time.Duration{
				"post-accepted-ms":     stamps["accepted"].Sub(start),
				"accepted-assigned-ms": stamps["assigned"].Sub(stamps["accepted"]),
				"assigned-model-ms":    model.Sub(stamps["assigned"]),
				"model-token-ms":       stamps["token"].Sub(model),
				"token-sse-ms":         sse.Sub(stamps["token"]),
				"post-sse-token-ms":    sse.Sub(start),
				"accepted-202-ms":      answered.Sub(stamps["accepted"]),
			} {
				took[hop] = append(took[hop], d)
			}
		}
	}
	for _, hop := range hops {
		slices.Sort(took[hop])
		b.ReportMetric(ms(pct(took[hop], .5)), hop)
	}
}
