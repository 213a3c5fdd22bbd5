package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/internal/ssetest"
	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	kapi "github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/workers"
)

// benchMesh is an in-process kernel, bridge (over real HTTP) and worker,
// the same parts `amf up` runs, with the fake model.
type benchMesh struct {
	base string
	// tokens are bearer tokens, when the bridge checks them: a task is
	// submitted and read with one, taken in turn, since a bridge holds
	// only so many open streams per token.
	tokens  []string
	next    atomic.Uint64
	tokenOf sync.Map // task id → its token
	llm     *ollamatest.Server
	k       *kerneltest.Kernel
}

func newBenchMesh(b *testing.B, concurrency int, opts ...ollamatest.Option) *benchMesh {
	b.Helper()
	k := kerneltest.Start(b)
	m := newBenchMeshOn(b, k.NC, k.NC, nil, nil, concurrency, opts...)
	m.k = k
	return m
}

// newBenchMeshOn starts a bridge and a worker on the given connections;
// client, when set, is the bridge's bus client; with toks the bridge
// checks bearer tokens, as `amf bridge` on an authenticated kernel does,
// and is open otherwise.
func newBenchMeshOn(b *testing.B, bridgeNC, workerNC *nats.Conn, client *kapi.Client, toks bridge.TokenVerifier, concurrency int, opts ...ollamatest.Option) *benchMesh {
	b.Helper()
	llm := ollamatest.New(b, opts...)
	br := &bridge.Server{NC: bridgeNC, Client: client, Tokens: toks, NoAuth: toks == nil, Logger: kerneltest.Logger(b)}
	h, err := br.Handler()
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(h)
	b.Cleanup(ts.Close)
	// AMF_BENCH_SANDBOX=host measures the bus and relay alone; the default
	// is what `amf up` runs.
	sf := sandboxFlags{backend: envOr("AMF_BENCH_SANDBOX", "namespace")}
	runner, closeRunner, err := sf.runner(b.TempDir(), nil, kerneltest.Logger(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(closeRunner)
	w, err := workers.NewWorker(workers.Config{
		NC: workerNC, Concurrency: concurrency, Logger: kerneltest.Logger(b),
		SolverConfig: workers.SolverConfig{Runner: runner, LLM: llm.Client(), LLMHost: llm.URL(), StateDir: b.TempDir()},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return &benchMesh{base: ts.URL, llm: llm}
}

// submit posts a task and returns its id.
func (m *benchMesh) submit(b *testing.B, body string) string {
	req, _ := http.NewRequest("POST", m.base+"/v1/tasks", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	token := ""
	if len(m.tokens) > 0 {
		token = m.tokens[m.next.Add(1)%uint64(len(m.tokens))]
	}
	resp, err := m.do(req, token)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	var s struct {
		ID string `json:"id"`
	}
	if err != nil || resp.StatusCode != 202 || json.Unmarshal(raw, &s) != nil {
		b.Fatalf("submit: %d %v: %s", resp.StatusCode, err, raw)
	}
	if token != "" {
		m.tokenOf.Store(s.ID, token)
	}
	return s.ID
}

// stream reads a task's SSE stream to its end, calling fn per message.
func (m *benchMesh) stream(b *testing.B, id string, fn func(ssetest.Message)) {
	req, _ := http.NewRequest("GET", m.base+"/v1/tasks/"+id+"/events", nil)
	token, _ := m.tokenOf.LoadAndDelete(id)
	tok, _ := token.(string)
	resp, err := m.do(req, tok)
	if err != nil {
		b.Error(err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(resp.Body)
		b.Errorf("events of %s: %d %s", id, resp.StatusCode, raw)
		return
	}
	if err := ssetest.Read(resp.Body, func(msg ssetest.Message) error { fn(msg); return nil }); err != nil {
		b.Error(err)
	}
}

// do sends req with token, if any.
func (m *benchMesh) do(req *http.Request, token string) (*http.Response, error) {
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return http.DefaultClient.Do(req)
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// structured is a reply in the JSON form the worker asks the model for.
const structured = `{"thought":"nothing to do","command":"true"}`

// BenchmarkTTFT measures time from POST /v1/tasks to the first token on
// the task's SSE stream, against a client reading the same fake Ollama
// directly, in the same run. Reported: p50/p99 of both and the overhead.
func BenchmarkTTFT(b *testing.B) {
	benchTTFT(b, newBenchMesh(b, 2, ollamatest.WithFallback(ollamatest.Reply{Content: structured})))
}

func benchTTFT(b *testing.B, m *benchMesh) {
	var direct, system []time.Duration
	for b.Loop() {
		d, s := m.ttftOnce(b, true)
		direct, system = append(direct, d), append(system, s)
	}
	b.ReportMetric(ms(percentile(direct, .5)), "direct-p50-ms")
	b.ReportMetric(ms(percentile(direct, .99)), "direct-p99-ms")
	b.ReportMetric(ms(percentile(system, .5)), "amf-p50-ms")
	b.ReportMetric(ms(percentile(system, .99)), "amf-p99-ms")
	b.ReportMetric(ms(percentile(system, .5)-percentile(direct, .5)), "overhead-p50-ms")
	b.ReportMetric(ms(percentile(system, .99)-percentile(direct, .99)), "overhead-p99-ms")
}

var errFirst = errors.New("first token")

// ttftOnce measures one time to first token through AMF-OS and, when
// withDirect, one straight from the model first.
func (m *benchMesh) ttftOnce(b *testing.B, withDirect bool) (direct, system time.Duration) {
	ctx := context.Background()
	stream := true
	// Start both measurements from an idle machine: after a task the
	// sandbox starts a fresh init in the background, and that work
	// would otherwise land on whichever measurement comes next.
	time.Sleep(250 * time.Millisecond)
	if withDirect {
		// Baseline: the model straight from the client.
		start := time.Now()
		err := m.llm.Client().Chat(ctx, &api.ChatRequest{Model: "qwen3-coder", Stream: &stream,
			Messages: []api.Message{{Role: "user", Content: "do nothing"}}},
			func(r api.ChatResponse) error {
				if r.Message.Content != "" {
					return errFirst
				}
				return nil
			})
		if !errors.Is(err, errFirst) {
			b.Fatalf("direct chat: %v", err)
		}
		direct = time.Since(start)
		time.Sleep(250 * time.Millisecond)
	}
	// Through AMF-OS: HTTP in, bus, worker, model, bus, SSE out.
	start := time.Now()
	id := m.submit(b, `{"instruction":"do nothing","no_answer":true}`)
	m.stream(b, id, func(msg ssetest.Message) {
		if system == 0 && msg.Event == string(bus.EventToken) {
			system = time.Since(start)
		}
	})
	if system == 0 {
		b.Fatalf("task %s streamed no token", id)
	}
	return direct, system
}

// BenchmarkTokenRelay runs 50 tasks at once, each streaming 2,000 tokens
// as fast as the fake model sends them, and counts the tokens that reach
// SSE clients per second.
func BenchmarkTokenRelay(b *testing.B) {
	benchRelay(b, newBenchMesh(b, relayTasks, ollamatest.WithFallback(ollamatest.Reply{Tokens: relayTokens()})))
}

// relayTokens is what the fake model streams per task in the relay bench.
func relayTokens() []string {
	toks := make([]string, 0, relayTokensPerTask)
	toks = append(toks, `{"thought":"`)
	for i := 1; i < relayTokensPerTask-1; i++ {
		toks = append(toks, "w"+strconv.Itoa(i%10)+" ")
	}
	return append(toks, `","command":"true"}`)
}

const relayTasks, relayTokensPerTask = 50, 2000

// relayTokensIn counts relayTokens' tokens in text: each but the first
// and the last ends with a space.
func relayTokensIn(text string) int {
	return strings.Count(text, " ") + strings.Count(text, `{"thought":"`) + strings.Count(text, `","command":"true"}`)
}

func benchRelay(b *testing.B, m *benchMesh) {
	var total int64
	var window time.Duration
	for b.Loop() {
		n, w := m.relayOnce(b)
		total, window = total+n, window+w
	}
	if want := int64(b.N * relayTasks * relayTokensPerTask); total < want {
		b.Fatalf("relayed %d tokens, want %d", total, want)
	}
	b.ReportMetric(float64(total)/window.Seconds(), "tokens/s")
}

// relayOnce runs relayTasks tasks at once and returns the tokens their SSE
// clients received and the window in which they flowed: from the first
// token any client receives to the last, so task set-up and the commands
// run afterwards are not counted as relay time.
func (m *benchMesh) relayOnce(b *testing.B) (int64, time.Duration) {
	var total atomic.Int64
	var mu sync.Mutex
	var first, last time.Time
	var wg sync.WaitGroup
	for range relayTasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := m.submit(b, `{"instruction":"stream a lot","no_answer":true}`)
			m.stream(b, id, func(msg ssetest.Message) {
				if msg.Event != string(bus.EventToken) {
					return
				}
				// Tokens that come while an event is being stored share
				// one, so they are counted in its text.
				var e bus.Event
				if err := json.Unmarshal([]byte(msg.Data), &e); err != nil {
					b.Errorf("token event: %v", err)
					return
				}
				total.Add(int64(relayTokensIn(e.Text)))
				now := time.Now()
				mu.Lock()
				if first.IsZero() {
					first = now
				}
				last = now
				mu.Unlock()
			})
		}()
	}
	wg.Wait()
	return total.Load(), last.Sub(first)
}

// BenchmarkIdleRSS starts `amf up` as its own process and reads its
// resident memory once it is idle.
func BenchmarkIdleRSS(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		natsAddr, httpAddr := testenv.FreeAddr(b), testenv.FreeAddr(b)
		p := startAmf(b, []string{
			"AMF_STATE_DIR=" + b.TempDir(), "AMF_NATS_LISTEN=" + natsAddr, "AMF_HTTP_LISTEN=" + httpAddr,
			"OLLAMA_HOST=http://127.0.0.1:1",
		}, "up")
		waitHealthy(b, "http://"+httpAddr, p)
		time.Sleep(3 * time.Second) // settle: this measures memory, not time
		pid := p.cmd.Process.Pid
		kb := vmRSS(b, pid)
		b.ReportMetric(float64(kb)/1024, "idle-rss-MB")
		// The sandbox keeps a spawner and inits ready as descendant
		// processes; count them too.
		// RSS counts the binary's shared pages once per process; PSS
		// shares them out, so its sum is the memory really used.
		pss := pssKB(b, pid)
		for queue := childPIDs(pid); len(queue) > 0; queue = queue[1:] {
			kb += vmRSS(b, queue[0])
			pss += pssKB(b, queue[0])
			queue = append(queue, childPIDs(queue[0])...)
		}
		b.ReportMetric(float64(kb)/1024, "idle-rss-with-sandbox-inits-MB")
		b.ReportMetric(float64(pss)/1024, "idle-pss-with-sandbox-inits-MB")
		p.signal(syscall.SIGTERM)
		p.wait(30 * time.Second)
		b.StartTimer()
	}
}

// childPIDs lists the direct children of pid.
func childPIDs(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

func pssKB(b *testing.B, pid int) int64 {
	return statusKB(b, filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"), "Pss:")
}

func vmRSS(b *testing.B, pid int) int64 {
	return statusKB(b, filepath.Join("/proc", strconv.Itoa(pid), "status"), "VmRSS:")
}

// statusKB reads one "Name: N kB" line of a /proc file.
func statusKB(b *testing.B, path, key string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, key) {
			n, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return n
		}
	}
	b.Fatalf("no %s in %s", key, path)
	return 0
}
