package knowledge_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

var here = memory.HostFacts{OS: "linux", Distro: "debian", Tools: []string{"find", "gzip", "df"}}

func TestRecallFindsWhatAnotherWorkerLearned(t *testing.T) {
	k := kerneltest.Start(t)
	a := openKnowledge(t, k, knowledge.Config{})
	b := openKnowledge(t, k, knowledge.Config{})
	id := learn(t, a, "show disk usage of each mounted filesystem", "df -h", func(l *bus.Learned) {
		l.Host = memory.HostFacts{OS: "linux", Distro: "debian", Tools: []string{"df"}}
	})
	learn(t, a, "compress log files older than a week", "find /var/log -mtime +7 -exec gzip {} +")
	syncKn(t, b)

	got, err := b.Recall(ctxT(t), "", "Show disk usage of each mounted  filesystem", here, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].ID != id {
		t.Fatalf("recall = %+v, want %s first", got, id)
	}
	// One success is an example, not yet a command to replay blindly.
	if got[0].Reuse || !strings.Contains(got[0].NoReuse, "worked 1 time") {
		t.Fatalf("after one success: reuse=%v (%s)", got[0].Reuse, got[0].NoReuse)
	}
	// The second success comes from another worker's credential.
	learn(t, workerPublisher(t, k, "w2"), "show disk usage of each mounted filesystem", "df -h", func(l *bus.Learned) {
		l.Host = memory.HostFacts{OS: "linux", Distro: "debian", Tools: []string{"df"}}
	})
	syncKn(t, b)
	if got, err = b.Recall(ctxT(t), "", "Show disk usage of each mounted  filesystem", here, 3); err != nil {
		t.Fatal(err)
	}
	if !got[0].Reuse || got[0].Command != "df -h" || got[0].Successes != 2 {
		t.Fatalf("identical instruction after two successes: reuse=%v (%s) %+v", got[0].Reuse, got[0].NoReuse, got[0])
	}
	for _, m := range got[1:] {
		if m.Score >= got[0].Score {
			t.Fatalf("not ordered by score: %+v", got)
		}
	}

	// A paraphrase is recalled as an example but not reused blindly.
	got, err = b.Recall(ctxT(t), "", "display free storage per partition", here, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].ID != id || got[0].Reuse {
		t.Fatalf("paraphrase recall = %+v, want %s first and not reusable", got, id)
	}
}

func TestSameLearningTwiceIsOneMemoryWithTwoSuccesses(t *testing.T) {
	k := kerneltest.Start(t)
	kn := openKnowledge(t, k, knowledge.Config{})
	id1 := learn(t, kn, "print the kernel version", "uname -r")
	id2 := learn(t, kn, "Print the  kernel version", "uname -r")
	if id1 != id2 {
		t.Fatalf("ids differ: %s %s", id1, id2)
	}
	// A publish retried with the same task is one success, not an error.
	rec := bus.Learned{Instruction: "print the kernel version", Command: "uname -r", TaskID: "t-retry"}
	for range 2 {
		if _, err := kn.Learn(ctxT(t), rec); err != nil {
			t.Fatalf("retried learn: %v", err)
		}
	}
	syncKn(t, kn)
	if got := kn.Len(); got != 1 {
		t.Fatalf("Len = %d, want 1", got)
	}
	m, err := kn.Get(id1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Successes != 3 {
		t.Fatalf("successes = %d, want 3", m.Successes)
	}
}

func TestFailureStopsBlindReuseEverywhere(t *testing.T) {
	k := kerneltest.Start(t)
	a := openKnowledge(t, k, knowledge.Config{})
	b := openKnowledge(t, k, knowledge.Config{})
	id := learn(t, a, "show the current date and time", "date")
	learn(t, workerPublisher(t, k, "w2"), "show the current date and time", "date")
	syncKn(t, b)
	if m, _ := b.Recall(ctxT(t), "", "show the current date and time", here, 1); len(m) != 1 || !m[0].Reuse {
		t.Fatalf("before failure: %+v", m)
	}
	if err := a.ReportFailure(ctxT(t), bus.MemoryFailure{ID: id, TaskID: "t9", Reason: "exit 1"}); err != nil {
		t.Fatal(err)
	}
	syncKn(t, b)
	m, err := b.Recall(ctxT(t), "", "show the current date and time", here, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || m[0].Reuse || m[0].Failures != 1 || !strings.Contains(m[0].NoReuse, "confidence") {
		t.Fatalf("after failure: %+v", m)
	}
}

func TestHostFactsDecideReuse(t *testing.T) {
	k := kerneltest.Start(t)
	kn := openKnowledge(t, k, knowledge.Config{})
	for _, p := range []interface {
		Learn(context.Context, bus.Learned) (string, error)
	}{kn.Publisher, workerPublisher(t, k, "w2")} {
		learn(t, p, "list installed packages", "dpkg -l", func(l *bus.Learned) {
			l.Host = memory.HostFacts{OS: "linux", Distro: "debian", Tools: []string{"dpkg"}}
		})
	}
	syncKn(t, kn)
	for _, tc := range []struct {
		name  string
		facts memory.HostFacts
		reuse bool
	}{
		{"same host", memory.HostFacts{OS: "linux", Distro: "debian", Tools: []string{"dpkg"}}, true},
		{"other distro", memory.HostFacts{OS: "linux", Distro: "fedora", Tools: []string{"dpkg"}}, false},
		{"tool missing", memory.HostFacts{OS: "linux", Distro: "debian", Tools: []string{}}, false},
		{"unknown facts", memory.HostFacts{Tools: []string{"dpkg"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := kn.Recall(ctxT(t), "", "list installed packages", tc.facts, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(m) != 1 || m[0].Reuse != tc.reuse {
				t.Fatalf("got %+v, want reuse=%v", m, tc.reuse)
			}
		})
	}
}

func TestForgetIsATombstoneEveryWorkerApplies(t *testing.T) {
	k := kerneltest.Start(t)
	a := openKnowledge(t, k, knowledge.Config{})
	id := learn(t, a, "show environment variables", "env")
	learn(t, a, "print the machine hostname", "hostname")
	if err := a.Forget(ctxT(t), id, "test"); err != nil {
		t.Fatal(err)
	}
	syncKn(t, a)
	// A worker that joins later replays the tombstone too.
	b := openKnowledge(t, k, knowledge.Config{})
	syncKn(t, b)
	for _, kn := range []*knowledge.Knowledge{a, b} {
		if kn.Len() != 1 {
			t.Fatalf("Len = %d, want 1", kn.Len())
		}
		if _, err := kn.Get(id); !errors.Is(err, memory.ErrUnknownMemory) {
			t.Fatalf("Get forgotten = %v", err)
		}
		m, _ := kn.Recall(ctxT(t), "", "show environment variables", here, 3)
		for _, x := range m {
			if x.ID == id {
				t.Fatalf("forgotten memory recalled: %+v", x)
			}
		}
	}
}

func TestRestartResumesFromSavedPosition(t *testing.T) {
	k := kerneltest.Start(t)
	dir := t.TempDir()
	kn, err := knowledge.Open(ctxT(t), k.JS, knowledge.Config{StateDir: dir, Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range loadParaphrases(t)[:10] {
		learn(t, kn, p.Instruction, p.Command)
	}
	syncKn(t, kn)
	applied := kn.Applied()
	if err := kn.Close(); err != nil {
		t.Fatal(err)
	}
	// Learned while this worker was down.
	pub := memory.Publisher{JS: k.JS}
	learn(t, pub, "show the number of cpu cores", "nproc")

	kn2 := openKnowledge(t, k, knowledge.Config{StateDir: dir})
	if got := kn2.Applied(); got != applied {
		t.Fatalf("reopened at seq %d, want the saved %d", got, applied)
	}
	syncKn(t, kn2)
	if got := kn2.Len(); got != 11 {
		t.Fatalf("Len = %d, want 11", got)
	}
}

func TestEmbedderChangeRebuildsFromStream(t *testing.T) {
	k := kerneltest.Start(t)
	dir := t.TempDir()
	kn, err := knowledge.Open(ctxT(t), k.JS, knowledge.Config{StateDir: dir, Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ps := loadParaphrases(t)[:8]
	for _, p := range ps {
		learn(t, kn, p.Instruction, p.Command)
	}
	syncKn(t, kn)
	kn.Close()

	ollama := startFakeOllama(t, 64)
	emb := knowledge.OllamaEmbedder(ollama.client(t), "nomic-embed-text")
	kn2 := openKnowledge(t, k, knowledge.Config{StateDir: dir, Embedder: emb})
	if got := kn2.Applied(); got != 0 {
		t.Fatalf("a different embedder must not reuse the index: opened at seq %d", got)
	}
	syncKn(t, kn2)
	if got := kn2.Len(); got != len(ps) {
		t.Fatalf("rebuilt Len = %d, want %d", got, len(ps))
	}
	// probe + every instruction, in batches
	if got := ollama.texts.Load(); got < int64(len(ps)) {
		t.Fatalf("ollama embedded %d texts, want at least %d", got, len(ps))
	}
	m, err := kn2.Recall(ctxT(t), "", ps[3].Instruction, here, 1)
	if err != nil || len(m) != 1 || m[0].Command != ps[3].Command {
		t.Fatalf("recall with ollama vectors = %+v, %v", m, err)
	}
}

func TestOllamaDownIsAnErrorNotAPanic(t *testing.T) {
	k := kerneltest.Start(t)
	ollama := startFakeOllama(t, 32)
	ollama.fail.Store(true)
	_, err := knowledge.Open(ctxT(t), k.JS, knowledge.Config{Embedder: knowledge.OllamaEmbedder(ollama.client(t), "m")})
	if !errors.Is(err, knowledge.ErrEmbed) || !strings.Contains(err.Error(), "model is loading") {
		t.Fatalf("open with failing ollama = %v", err)
	}
}

func TestBadInputIsRejectedClearly(t *testing.T) {
	k := kerneltest.Start(t)
	kn := openKnowledge(t, k, knowledge.Config{})
	for _, q := range []string{"", "   ", strings.Repeat("x", knowledge.MaxQueryBytes+1)} {
		if _, err := kn.Recall(ctxT(t), "", q, here, 3); !errors.Is(err, knowledge.ErrBadQuery) {
			t.Fatalf("Recall(%.10q) = %v, want ErrBadQuery", q, err)
		}
	}
	for _, rec := range []bus.Learned{{Command: "ls"}, {Instruction: "list"}, {Instruction: "x", Command: "false", ExitCode: 1}} {
		if _, err := kn.Learn(ctxT(t), rec); !errors.Is(err, bus.ErrInvalidMemory) {
			t.Fatalf("Learn(%+v) = %v, want ErrInvalidMemory", rec, err)
		}
	}
	if err := kn.Forget(ctxT(t), "../etc", ""); !errors.Is(err, memory.ErrUnknownMemory) {
		t.Fatalf("Forget(bad id) = %v", err)
	}
	// Garbage on the stream is skipped; what follows is still learned.
	if _, err := k.JS.Publish(ctxT(t), bus.Names{}.Learned(), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := k.JS.Publish(ctxT(t), bus.Names{}.MemoryForgotten(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	learn(t, kn, "show the logged in users", "who")
	syncKn(t, kn)
	if kn.Len() != 1 || kn.Err() != nil {
		t.Fatalf("after garbage: Len=%d Err=%v", kn.Len(), kn.Err())
	}
}

func TestRecallAt3OnParaphrases(t *testing.T) {
	k := kerneltest.Start(t)
	kn := openKnowledge(t, k, knowledge.Config{MinScore: -1})
	ps := loadParaphrases(t)
	for _, p := range ps {
		learn(t, kn, p.Instruction, p.Command)
	}
	syncKn(t, kn)
	hits, total := 0, 0
	for _, p := range ps {
		want := bus.MemoryID(p.Instruction, p.Command)
		for _, q := range p.Paraphrases {
			total++
			m, err := kn.Recall(context.Background(), "", q, here, 3)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, x := range m {
				found = found || x.ID == want
			}
			if found {
				hits++
			} else {
				t.Logf("miss: %q (want %q), got %v", q, p.Instruction, instructions(m))
			}
		}
	}
	r := float64(hits) / float64(total)
	t.Logf("recall@3 (local embedder) = %.3f (%d/%d)", r, hits, total)
	if r < 0.8 {
		t.Fatalf("recall@3 = %.3f, below 0.8", r)
	}
}

func instructions(ms []memory.Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Instruction)
	}
	return out
}

func TestSavedIndexSparesTheModel(t *testing.T) {
	k := kerneltest.Start(t)
	dir := t.TempDir()
	ollama := startFakeOllama(t, 96)
	emb := knowledge.OllamaEmbedder(ollama.client(t), "nomic-embed-text")
	kn, err := knowledge.Open(ctxT(t), k.JS, knowledge.Config{StateDir: dir, Embedder: emb, Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range loadParaphrases(t)[:6] {
		learn(t, kn, p.Instruction, p.Command)
	}
	syncKn(t, kn)
	if err := kn.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := kn.Recall(ctxT(t), "", "list files", here, 1); !errors.Is(err, knowledge.ErrClosed) {
		t.Fatalf("Recall after Close = %v, want ErrClosed", err)
	}
	before := ollama.texts.Load()
	kn2 := openKnowledge(t, k, knowledge.Config{StateDir: dir, Embedder: emb})
	syncKn(t, kn2)
	if kn2.Len() != 6 {
		t.Fatalf("Len = %d", kn2.Len())
	}
	// Only the probe at open: every stored vector came from disk.
	if got := ollama.texts.Load() - before; got != 1 {
		t.Fatalf("reopening embedded %d texts, want 1 (the probe)", got)
	}
}

func TestEmbedderOutageDelaysButLosesNothing(t *testing.T) {
	k := kerneltest.Start(t)
	ollama := startFakeOllama(t, 64)
	kn := openKnowledge(t, k, knowledge.Config{Embedder: knowledge.OllamaEmbedder(ollama.client(t), "m")})
	ollama.fail.Store(true)
	learn(t, kn, "show the logged in users", "who")
	eventually(t, "the follower to report the embedder error", func() bool { return kn.Err() != nil })
	if !errors.Is(kn.Err(), knowledge.ErrEmbed) || kn.Len() != 0 {
		t.Fatalf("during outage: Err=%v Len=%d", kn.Err(), kn.Len())
	}
	ollama.fail.Store(false)
	syncKn(t, kn)
	if kn.Len() != 1 || kn.Err() != nil {
		t.Fatalf("after outage: Len=%d Err=%v", kn.Len(), kn.Err())
	}
}

func TestCloseStopsEveryGoroutine(t *testing.T) {
	k := kerneltest.Start(t)
	// The kernel consumes streams of its own (the schedule runner): those
	// goroutines were there before any knowledge base and stay.
	before, _ := knowledgeGoroutines()
	for range 3 {
		kn, err := knowledge.Open(ctxT(t), k.JS, knowledge.Config{StateDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		learn(t, kn, "print the machine hostname", "hostname")
		syncKn(t, kn)
		kn.Close()
	}
	// The embedded server keeps its own goroutines for a while; what
	// must be gone is every goroutine of the knowledge base and of the
	// client subscriptions it made.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, stacks := knowledgeGoroutines()
		left -= before
		if left <= 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of closed knowledge bases remain:\n%s", left, stacks)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRecreatedStreamIsNotConfusedWithTheSavedIndex(t *testing.T) {
	k := kerneltest.Start(t)
	dir := t.TempDir()
	kn, err := knowledge.Open(ctxT(t), k.JS, knowledge.Config{StateDir: dir, Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range loadParaphrases(t)[:5] {
		learn(t, kn, p.Instruction, p.Command)
	}
	syncKn(t, kn)
	kn.Close()

	names := bus.Names{}
	if err := k.JS.DeleteStream(ctxT(t), names.MemoryStream()); err != nil {
		t.Fatal(err)
	}
	if _, err := k.JS.CreateStream(ctxT(t), names.MemoryStreamConfig()); err != nil {
		t.Fatal(err)
	}
	pub := memory.Publisher{JS: k.JS}
	for _, p := range loadParaphrases(t)[10:17] {
		learn(t, pub, p.Instruction, p.Command)
	}
	kn2 := openKnowledge(t, k, knowledge.Config{StateDir: dir})
	syncKn(t, kn2)
	if got := kn2.Len(); got != 7 {
		t.Fatalf("Len = %d, want the new stream's 7 and none of the old index", got)
	}
}

// knowledgeGoroutines counts the goroutines of knowledge bases — those
// running its code, and the stream consumers' goroutines they started —
// and returns every stack. A goroutine is attributed to whoever started
// it ("created by … in goroutine N"), so the kernel's own consumers,
// which come and go as their ordered consumers reset, are not counted;
// a consumer's goroutine whose starter has gone is.
func knowledgeGoroutines() (int, string) {
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	byID := map[string]string{}
	for _, g := range strings.Split(stacks, "\n\n") {
		if id, ok := goroutineID(g); ok {
			byID[id] = g
		}
	}
	var owner func(id string, depth int) string
	owner = func(id string, depth int) string {
		g, ok := byID[id]
		switch {
		case !ok || depth > 16:
			return ""
		case strings.Contains(g, "amf/memory/knowledge."):
			return "knowledge"
		case strings.Contains(g, "amf/kernel"):
			return "kernel"
		}
		if _, after, ok := strings.Cut(g, "created by "); ok {
			if _, parent, ok := strings.Cut(after, " in goroutine "); ok {
				parent, _, _ = strings.Cut(parent, "\n")
				return owner(parent, depth+1)
			}
		}
		return ""
	}
	n := 0
	for id, g := range byID {
		switch owner(id, 0) {
		case "knowledge":
			n++
		case "":
			if strings.Contains(g, "jetstream.(*pullSubscription)") || strings.Contains(g, "jetstream.(*orderedConsumer)") {
				n++
			}
		}
	}
	return n, stacks
}

// goroutineID reads N from a stack's first line, "goroutine N [state]:".
func goroutineID(stack string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(stack), "goroutine ")
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, " ")
	return id, ok
}
