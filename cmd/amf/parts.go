package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/memory/cache"
	"github.com/amf-os/amf/memory/knowledge"
	"github.com/amf-os/amf/sandbox"
	"github.com/amf-os/amf/workers"
)

// workerFlags are the settings of a worker.
type workerFlags struct {
	id          string
	pool        string
	concurrency int
	model       string
	ollama      string
	sandbox     sandboxFlags
	grace       time.Duration
	prompt      string
	cmdTimeout  time.Duration
	embedModel  string
	reuse       bool
	quotaMemory int
	firstToken  time.Duration
	stall       time.Duration
	options     string
	keepAlive   time.Duration
}

func (w *workerFlags) bind(f flags) {
	f.str(&w.id, "id", "AMF_WORKER_ID", "", "worker id on the bus (default host-pid)")
	f.str(&w.pool, "pool", "AMF_POOL", "default", "pool whose tasks this worker takes")
	f.int(&w.concurrency, "concurrency", "AMF_CONCURRENCY", runtime.NumCPU(), "tasks run at once")
	f.str(&w.model, "model", "AMF_MODEL", workers.DefaultModel, "chat model")
	f.str(&w.ollama, "ollama", "OLLAMA_HOST", defaultOllama, "Ollama address")
	w.sandbox.bind(f)
	f.duration(&w.grace, "grace", "AMF_GRACE", workers.DefaultGrace, "how long shutdown waits for running tasks")
	f.str(&w.prompt, "prompt", "AMF_PROMPT", "", "file of {{define}} blocks replacing the built-in prompts (see workers/prompt.tmpl)")
	f.str(&w.embedModel, "embed-model", "AMF_EMBED_MODEL", "", "Ollama embedding model for memory; empty = the local embedder")
	f.bool(&w.reuse, "memory-reuse", "AMF_MEMORY_REUSE", true, "reuse a remembered command for a near-identical instruction without asking the model")
	f.int(&w.quotaMemory, "quota-memories", "AMF_QUOTA_MEMORIES", knowledge.DefaultQuotaPerOwner, "memories one owner (client credential, HTTP token) may have; past it what its tasks teach is not learned (-1: no limit; give every worker the same)")
	f.duration(&w.firstToken, "model-first-token", "AMF_MODEL_FIRST_TOKEN", workers.DefaultFirstToken, "how long a model request waits for its first token (a cold model loads first) before the attempt fails naming Ollama")
	f.duration(&w.stall, "model-stall", "AMF_MODEL_STALL", workers.DefaultStall, "how long a model stream may go silent between two tokens before the attempt fails naming Ollama")
	f.str(&w.options, "model-options", "AMF_MODEL_OPTIONS", "", `Ollama options for every request, as JSON ({"temperature": 0, "num_ctx": 8192}); over the defaults {"temperature": 0.2, "top_p": 0.9}`)
	f.duration(&w.keepAlive, "model-keep-alive", "AMF_MODEL_KEEP_ALIVE", workers.DefaultKeepAlive, "how long Ollama keeps the model loaded after a request (the same on every request)")
	f.duration(&w.cmdTimeout, "command-timeout", "AMF_COMMAND_TIMEOUT", workers.DefaultCommandTimeout, "bound on each command the model proposes (the task timeout bounds the whole loop)")
}

// worker assembles a worker from flags; release stops its sandbox and
// its copy of the fleet's memory once the worker has returned.
func (w *workerFlags) worker(ctx context.Context, nc *nats.Conn, c *common, cache cache.Cache) (wk *workers.Worker, release func(), err error) {
	log := slog.Default().With("part", "worker")
	opts, err := workers.ParseModelOptions(w.options)
	if err != nil {
		return nil, nil, fmt.Errorf("--model-options (AMF_MODEL_OPTIONS): %w", err)
	}
	llm, host, err := ollamaClient(w.ollama)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, nil, err
	}
	runner, closeRunner, err := w.sandbox.runner(c.stateDir, c.secretFiles(), log)
	if err != nil {
		return nil, nil, err
	}
	if n, err := sandbox.RemoveStaleWorkDirs(filepath.Join(c.stateDir, "work")); err != nil || n > 0 {
		log.Info("removed stale work dirs", "count", n, "err", err)
	}
	kn, err := knowledge.Open(ctx, js, knowledge.Config{
		StateDir: c.stateDir,
		Names:    c.names(),
		Embedder: knowledge.ChooseEmbedder(ctx, llm, w.embedModel, log),
		NoReuse:  !w.reuse,
		// Every index applies it as it replays the stream.
		QuotaPerOwner: w.quotaMemory,
		Logger:        slog.Default(), // it adds part=memory itself
	})
	if err != nil {
		closeRunner()
		return nil, nil, fmt.Errorf("memory: %w", err)
	}
	stopSearch := knowledge.Serve(ctx, nc, c.names(), kn) // amf memory search asks this index
	wk, err = workers.NewWorker(workers.Config{
		NC:          nc,
		Names:       c.names(),
		ID:          w.id,
		Pool:        w.pool,
		Concurrency: w.concurrency,
		Grace:       w.grace,
		Presence:    cache,
		Logger:      log,
		SolverConfig: workers.SolverConfig{
			Runner:         runner,
			LLM:            llm,
			LLMHost:        host,
			Model:          w.model,
			StateDir:       c.stateDir,
			Sessions:       cache,
			PromptFile:     w.prompt,
			CommandTimeout: w.cmdTimeout,
			Memory:         kn,
			Learner:        kn,
			ModelLimits:    workers.ModelLimits{FirstToken: w.firstToken, Stall: w.stall},
			ModelOptions:   opts,
			KeepAlive:      w.keepAlive,
		},
	})
	if err != nil {
		stopSearch()
		_ = kn.Close()
		closeRunner()
		return nil, nil, err
	}
	return wk, func() { stopSearch(); _ = kn.Close(); closeRunner() }, nil
}

// bridgeFlags are the settings of the HTTP bridge.
type bridgeFlags struct {
	listen      string
	metricsAuth string
	cors        string
	streams     int
}

func (b *bridgeFlags) bind(f flags) {
	f.str(&b.listen, "http", "AMF_HTTP_LISTEN", bridge.DefaultListen, "bridge address")
	f.str(&b.metricsAuth, "metrics-auth", "AMF_METRICS_AUTH", string(tokens.ScopeRead), "what /metrics needs: a token scope (read, admin) or open")
	f.int(&b.streams, "streams-per-token", "AMF_HTTP_STREAMS_PER_TOKEN", 32, "event streams one token may hold open on this bridge")
	f.str(&b.cors, "cors-origins", "AMF_HTTP_CORS_ORIGINS", "", "comma-separated origins whose pages may call the API with a bearer token (none by default)")
}

// server assembles the bridge; it checks tokens against v.
func (b *bridgeFlags) server(nc *nats.Conn, c *common, cache cache.Cache, v bridge.TokenVerifier) (*bridge.Server, error) {
	s := &bridge.Server{
		NC:     nc,
		Names:  c.names(),
		Listen: b.listen,
		// Every deployment submits, cancels and lists through the kernel's
		// task API: one path decodes, checks and counts each task (the
		// owners' quotas), whoever asks.
		Client:  &client.Client{NC: nc, Names: c.names(), Cache: cache, Offers: cache, ViaAPI: true},
		Workers: cache,
		Recent:  cache,
		Cache:   cache,
		Tokens:  v,
		Logger:  slog.Default().With("part", "bridge"),
	}
	switch m := strings.TrimSpace(b.metricsAuth); m {
	case "open":
		s.MetricsOpen = true
	default:
		sc, err := tokens.ParseScopes(m)
		if err != nil || len(sc) != 1 {
			return nil, fmt.Errorf("--metrics-auth %q: give one scope (read, admin) or open", m)
		}
		s.MetricsScope = sc[0]
	}
	s.StreamsPerToken = b.streams
	for _, o := range strings.Split(b.cors, ",") {
		if o = strings.TrimSpace(o); o != "" {
			s.CORSOrigins = append(s.CORSOrigins, o)
		}
	}
	return s, nil
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// errPart names which part of the process failed.
func errPart(part string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", part, err)
}
