package knowledge

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/amf-os/amf/memory"
)

// MaxQueryBytes bounds a recall query.
const MaxQueryBytes = 8 << 10

// maxK bounds how many memories one recall returns.
const maxK = 100

// Recall returns up to k memories most similar to instruction (k ≤ 0
// means DefaultK), best first, leaving out those below MinScore. facts
// describe this worker and decide whether a match may be reused.
func (k *Knowledge) Recall(ctx context.Context, instruction string, facts memory.HostFacts, n int) ([]memory.Match, error) {
	q := strings.TrimSpace(instruction)
	switch {
	case q == "":
		return nil, fmt.Errorf("%w: the instruction is empty", ErrBadQuery)
	case len(q) > MaxQueryBytes:
		return nil, fmt.Errorf("%w: the instruction is %d bytes, the limit is %d", ErrBadQuery, len(q), MaxQueryBytes)
	}
	if n <= 0 {
		n = DefaultK
	}
	n = min(n, maxK)
	vecs, err := k.cfg.Embedder.Embed(ctx, []string{q})
	if err != nil {
		return nil, fmt.Errorf("recall: %w", err)
	}
	if len(vecs) != 1 || len(vecs[0]) != k.dim {
		return nil, fmt.Errorf("recall: %w: %s gave no vector of the index's %d dimensions", ErrEmbed, k.cfg.Embedder.Name(), k.dim)
	}
	return k.recallVector(ctx, vecs[0], facts, n)
}

func (k *Knowledge) recallVector(ctx context.Context, vec []float32, facts memory.HostFacts, n int) ([]memory.Match, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return nil, ErrClosed
	}
	hits := k.flat.search(normalize(vec), n)
	out := make([]memory.Match, 0, len(hits))
	for _, h := range hits {
		score := float64(h.sim)
		e, ok := k.entries[k.flat.ids[h.i]]
		if !ok || score < k.cfg.MinScore {
			continue
		}
		m := k.match(e, score)
		m.Reuse, m.NoReuse = k.reusable(e, score, facts)
		out = append(out, m)
	}
	return out, nil
}

func (k *Knowledge) match(e *entry, score float64) memory.Match {
	return memory.Match{
		ID: e.Rec.ID, Score: score,
		Instruction: e.Rec.Instruction, Command: e.Rec.Command, Description: e.Rec.Description,
		Host: e.Rec.Host, Successes: e.Successes, Failures: e.Failures,
		Confidence: e.confidence(), Learned: e.Rec.TS,
	}
}

func (k *Knowledge) reusable(e *entry, score float64, facts memory.HostFacts) (bool, string) {
	switch {
	case k.cfg.NoReuse:
		return false, "reuse is turned off"
	case score < k.cfg.ReuseScore:
		return false, fmt.Sprintf("similarity %.2f is below %.2f", score, k.cfg.ReuseScore)
	case e.confidence() < k.cfg.MinConfidence:
		return false, fmt.Sprintf("confidence %.2f after %d failures", e.confidence(), e.Failures)
	}
	return fits(e.Rec.Host, facts)
}

// Get returns one memory by id.
func (k *Knowledge) Get(id string) (memory.Match, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	e, ok := k.entries[id]
	if !ok {
		return memory.Match{}, fmt.Errorf("%w: %q", memory.ErrUnknownMemory, id)
	}
	return k.match(e, 1), nil
}

// All returns every memory, oldest first.
func (k *Knowledge) All() []memory.Match {
	all := k.all()
	out := make([]memory.Match, 0, len(all))
	for _, e := range all {
		out = append(out, k.match(&e, 0))
	}
	return out
}

// all copies every entry, in the order the stream taught them.
func (k *Knowledge) all() []entry {
	k.mu.RLock()
	out := make([]entry, 0, len(k.entries))
	for _, e := range k.entries {
		out = append(out, *e)
	}
	k.mu.RUnlock()
	slices.SortFunc(out, func(a, b entry) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}
