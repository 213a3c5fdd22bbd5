package knowledge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/kernel"
	kapi "github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// openKnowledge opens a knowledge base on the test kernel, closed by
// t.Cleanup.
func openKnowledge(t testing.TB, k *kerneltest.Kernel, cfg knowledge.Config) *knowledge.Knowledge {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = kerneltest.Logger(t)
	}
	kn, err := knowledge.Open(context.Background(), k.JS, cfg)
	if err != nil {
		t.Fatalf("open knowledge: %v", err)
	}
	t.Cleanup(func() { kn.Close() })
	return kn
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func learn(t testing.TB, kn interface {
	Learn(context.Context, bus.Learned) (string, error)
}, instr, cmd string, opts ...func(*bus.Learned)) string {
	t.Helper()
	rec := bus.Learned{Instruction: instr, Command: cmd, Worker: "w1", TaskID: bus.NewID()}
	for _, o := range opts {
		o(&rec)
	}
	id, err := kn.Learn(ctxT(t), rec)
	if err != nil {
		t.Fatalf("learn %q: %v", instr, err)
	}
	return id
}

// workerPublisher publishes on the memory stream with a worker
// credential of its own (named name), as a worker that ran each record's
// task: its successes count as that credential's, apart from the test
// kernel's admin connection's. Before a record it stores what the
// kernel's voucher looks for (kernel/vouch): the task's accepted event
// for the record's owner and pool, as the kernel stores it at
// submission, and one event on the worker's own subject.
func workerPublisher(t testing.TB, k *kerneltest.Kernel, name string) ranTasks {
	t.Helper()
	return workerRanTasks(t, k, k.Creds(kernel.UserSpec{Name: name, Role: kernel.RoleWorker}), bus.DefaultPool)
}

// workerRanTasks is workerPublisher for the worker credential in creds,
// running tasks of pool unless a record names its own.
func workerRanTasks(t testing.TB, k *kerneltest.Kernel, creds, pool string) ranTasks {
	t.Helper()
	js, err := jetstream.New(k.ConnectAs(creds))
	if err != nil {
		t.Fatal(err)
	}
	prefix, err := kernel.CredsInboxPrefix(creds)
	if err != nil {
		t.Fatal(err)
	}
	return ranTasks{Publisher: memory.Publisher{JS: js}, admin: k.JS, cred: strings.TrimPrefix(prefix, "_INBOX_"), pool: pool}
}

// ranTasks is a worker credential's publisher that stores, before each
// record, the events of the task it names (workerPublisher).
type ranTasks struct {
	memory.Publisher
	admin jetstream.JetStream
	cred  string
	pool  string
}

// Learn stores the record's task's accepted event and one event of the
// worker's, then publishes the record.
func (w ranTasks) Learn(ctx context.Context, rec bus.Learned) (string, error) {
	names := bus.Names{}
	if rec.TaskID == "" {
		rec.TaskID = bus.NewID()
	}
	pool := rec.Pool
	if pool == "" {
		pool = w.pool
	}
	task := bus.Task{ID: rec.TaskID, Owner: rec.Owner, Pool: pool}
	if _, err := w.admin.PublishMsg(ctx, names.EventMsg(bus.Event{TaskID: rec.TaskID, Type: bus.EventAccepted, Task: &task})); err != nil {
		return "", fmt.Errorf("store the accepted event: %w", err)
	}
	if _, err := w.JS.PublishMsg(ctx, names.EventMsgBy(bus.Event{TaskID: rec.TaskID, Type: bus.EventAssigned}, pool, w.cred)); err != nil {
		return "", fmt.Errorf("store the worker's event: %w", err)
	}
	return w.Publisher.Learn(ctx, rec)
}

func syncKn(t testing.TB, kn *knowledge.Knowledge) {
	t.Helper()
	if err := kn.Sync(ctxT(t)); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

// paraphrase is one line of testdata/paraphrases.jsonl.
type paraphrase struct {
	Instruction string   `json:"instruction"`
	Command     string   `json:"command"`
	Paraphrases []string `json:"paraphrases"`
}

func loadParaphrases(t testing.TB) []paraphrase {
	t.Helper()
	f, err := os.Open("testdata/paraphrases.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []paraphrase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var p paraphrase
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("testdata: %v", err)
		}
		out = append(out, p)
	}
	return out
}

// fakeOllama serves /api/embed as Ollama does: a JSON body with model and
// input (one string or a list) answered by {"model","embeddings"}. Its
// vectors are the local embedder's first dim coordinates, so similarity
// still means something. It counts the texts it embedded.
type fakeOllama struct {
	*httptest.Server
	texts atomic.Int64
	fail  atomic.Bool
}

func startFakeOllama(t testing.TB, dim int) *fakeOllama {
	t.Helper()
	f := &fakeOllama{}
	local := knowledge.LocalEmbedder()
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/embed" {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		if f.fail.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"error":"model is loading"}`))
			return
		}
		var req struct {
			Model string `json:"model"`
			Input any    `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
			return
		}
		var texts []string
		switch in := req.Input.(type) {
		case string:
			texts = []string{in}
		case []any:
			for _, s := range in {
				str, _ := s.(string)
				texts = append(texts, str)
			}
		}
		vecs, _ := local.Embed(r.Context(), texts)
		for i := range vecs {
			vecs[i] = vecs[i][:dim]
		}
		f.texts.Add(int64(len(texts)))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"model": req.Model, "embeddings": vecs, "total_duration": 1000})
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOllama) client(t testing.TB) *api.Client {
	u, err := url.Parse(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewClient(u, f.Client())
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eventually polls cond until it holds or 20s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serveTaskAPI runs the kernel's task API on the test kernel's admin
// connection until the test ends: a worker credential's knowledge base
// asks it for the consumer it follows the memory stream through.
func serveTaskAPI(t testing.TB, k *kerneltest.Kernel) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = (&kapi.Service{Client: &client.Client{NC: k.NC, JS: k.JS}}).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// workerKnowledge opens a knowledge base on a worker credential of its
// own (named name), as a worker process does: it follows the memory
// stream through a consumer the kernel makes for it.
func workerKnowledge(t testing.TB, k *kerneltest.Kernel, name string, cfg knowledge.Config) *knowledge.Knowledge {
	t.Helper()
	js, err := jetstream.New(k.ConnectAs(k.Creds(kernel.UserSpec{Name: name, Role: kernel.RoleWorker}), nats.MaxReconnects(-1)))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Logger == nil {
		cfg.Logger = kerneltest.Logger(t)
	}
	kn, err := knowledge.Open(ctxT(t), js, cfg)
	if err != nil {
		t.Fatalf("open a worker's knowledge: %v", err)
	}
	t.Cleanup(func() { kn.Close() })
	return kn
}

// credOfConn is the credential id in js's connection's inbox prefix.
func credOfConn(js jetstream.JetStream) string {
	return strings.TrimPrefix(js.Conn().Opts.InboxPrefix, "_INBOX_")
}
