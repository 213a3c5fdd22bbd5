package knowledge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"

	chromem "github.com/philippgille/chromem-go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// synthInstruction makes the i-th of many distinct, admin-like
// instructions, deterministically.
func synthInstruction(r *rand.Rand, i int) string {
	verbs := []string{"find", "list", "delete", "compress", "count", "show", "archive", "copy", "move", "search"}
	adjs := []string{"large", "old", "empty", "hidden", "recent", "temporary", "duplicate", "broken", "unused", "compressed"}
	objs := []string{"log files", "directories", "core dumps", "python files", "images", "backups", "sockets", "symlinks", "config files", "caches"}
	where := []string{"/var/log", "/srv/app", "/home/deploy", "/tmp", "/opt/data", "/etc", "/var/cache", "/mnt/backup"}
	return fmt.Sprintf("%s the %s %s in %s/%d older than %d days",
		verbs[r.IntN(len(verbs))], adjs[r.IntN(len(adjs))], objs[r.IntN(len(objs))], where[r.IntN(len(where))], i, 1+r.IntN(90))
}

var benchSets sync.Map // benchKey → *benchSet

// benchKey names a bench set: its size, and how many owners its
// memories are spread over (0: all the installation's).
type benchKey struct{ n, owners int }

type benchSet struct {
	k    *Knowledge
	bare *chromem.Collection
	qs   []string
}

// benchKnowledge fills a Knowledge's index directly (no stream) with n
// synthetic memories, and a bare chromem-go collection with the same
// vectors, so both answer the same queries over the same data.
func benchKnowledge(b *testing.B, n int) *benchSet { return benchKnowledgeOf(b, n, 0) }

// benchKnowledgeOf is benchKnowledge with the memories spread over owners
// owners ("token:o0" …), none shared.
func benchKnowledgeOf(b *testing.B, n, owners int) *benchSet {
	key := benchKey{n, owners}
	if v, ok := benchSets.Load(key); ok {
		return v.(*benchSet)
	}
	k := &Knowledge{cfg: Config{Embedder: LocalEmbedder()}, dim: LocalDim}
	k.cfg.defaults()
	k.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := k.reset(); err != nil {
		b.Fatal(err)
	}
	docs, qs := fillBenchOwned(b, k, n, owners)
	bare, err := chromem.NewDB().CreateCollection("bare", nil, func(ctx context.Context, text string) ([]float32, error) {
		return localVector(text), nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := bare.AddDocuments(context.Background(), docs, 2); err != nil {
		b.Fatal(err)
	}
	s := &benchSet{k: k, bare: bare, qs: qs}
	benchSets.Store(key, s)
	return s
}

// fillBench adds n synthetic memories to k's collection and flat index
// directly (no stream), and returns their documents and 64 queries.
func fillBench(b *testing.B, k *Knowledge, n int) ([]chromem.Document, []string) {
	return fillBenchOwned(b, k, n, 0)
}

// benchOwner is the owner of the i-th bench memory among owners.
func benchOwner(i, owners int) bus.Owner {
	if owners == 0 {
		return ""
	}
	return bus.Owner(fmt.Sprintf("token:o%d", i%owners))
}

// fillBenchOwned is fillBench with the memories spread over owners
// owners (0: all the installation's).
func fillBenchOwned(b *testing.B, k *Knowledge, n, owners int) ([]chromem.Document, []string) {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	docs := make([]chromem.Document, n)
	for i := range n {
		instr := synthInstruction(r, i)
		cmd := fmt.Sprintf("find /x -name '*%d*'", i)
		o := benchOwner(i, owners)
		id := bus.MemoryIDOf(o, instr, cmd)
		e := entry{Rec: bus.Learned{ID: id, Owner: o, Instruction: instr, Command: cmd, Pool: "default", Host: bus.HostFacts{OS: "linux", Distro: "debian"}}, Successes: 1, Seq: uint64(i + 1)}
		doc, err := e.document(normalize(localVector(instr)))
		if err != nil {
			b.Fatal(err)
		}
		docs[i] = doc
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.coll.AddDocuments(context.Background(), docs, 2); err != nil {
		b.Fatal(err)
	}
	for i, d := range docs {
		k.flat.add(d.ID, d.Embedding, benchOwner(i, owners), owners == 0)
	}
	qs := make([]string, 64)
	for i := range qs {
		qs[i] = synthInstruction(r, r.IntN(n))
	}
	return docs, qs
}

var benchSizes = []int{1_000, 10_000, 100_000}

// BenchmarkRecall is top-3 recall through Knowledge.Recall (embedding
// the query, the flat accelerator, reading the hits from chromem-go,
// thresholds and host facts) with the local embedder, beside
// Knowledge.Search (the same through chromem-go's query, with a pool
// filter) and a bare chromem-go Query (same embedder, same vectors) at
// the same size.
func BenchmarkRecall(b *testing.B) {
	facts := bus.HostFacts{OS: "linux", Tools: []string{"find"}}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("knowledge/n=%d", n), func(b *testing.B) {
			s := benchKnowledge(b, n)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if _, err := s.k.Recall(ctx, "", s.qs[i%len(s.qs)], facts, 3); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		// One owner's recall among memories spread over 10 owners: the
		// scan skips the others' (a tenth of the dot products).
		b.Run(fmt.Sprintf("knowledge-owner/n=%d", n), func(b *testing.B) {
			s := benchKnowledgeOf(b, n, 10)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if _, err := s.k.Recall(ctx, benchOwner(0, 10), s.qs[i%len(s.qs)], facts, 3); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("search-chromem-owner/n=%d", n), func(b *testing.B) {
			s := benchKnowledgeOf(b, n, 10)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				req := memory.SearchRequest{Query: s.qs[i%len(s.qs)], K: 3, Pool: "default", Host: facts}
				if _, err := s.k.Search(ctx, bus.Access{Owner: benchOwner(0, 10)}, req); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("search-chromem/n=%d", n), func(b *testing.B) {
			s := benchKnowledge(b, n)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				req := memory.SearchRequest{Query: s.qs[i%len(s.qs)], K: 3, Pool: "default", Host: facts}
				if _, err := s.k.Search(ctx, bus.Admin, req); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("chromem-bare/n=%d", n), func(b *testing.B) {
			s := benchKnowledge(b, n)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if _, err := s.bare.Query(ctx, s.qs[i%len(s.qs)], 3, nil, nil); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkLocalEmbed is the cost of embedding one instruction.
func BenchmarkLocalEmbed(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	qs := make([]string, 64)
	for i := range qs {
		qs[i] = synthInstruction(r, i)
	}
	i := 0
	for b.Loop() {
		localVector(qs[i%len(qs)])
		i++
	}
}
