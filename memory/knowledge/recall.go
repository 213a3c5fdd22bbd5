package knowledge

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	chromem "github.com/philippgille/chromem-go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// MaxQueryBytes bounds a recall query.
const MaxQueryBytes = 8 << 10

// maxK bounds how many memories one recall returns.
const maxK = 100

// meaningK is how many nearest memories a recall looks at to count the
// successes of the query's meaning, however few it returns.
const meaningK = 8

// Recall returns up to k memories most similar to instruction (k ≤ 0
// means DefaultK), best first, leaving out those below MinScore, among
// those owner's tasks may recall: its own and the shared ones (the
// installation's, and those an admin confirmed). owner is the task's
// (bus.Task.Owner, set by the kernel from who submitted it), so one
// owner's task never replays, nor sees as an example, a command another
// owner's task ran. facts describe this worker and decide whether a
// match may be reused.
func (k *Knowledge) Recall(ctx context.Context, owner bus.Owner, instruction string, facts memory.HostFacts, n int) ([]memory.Match, error) {
	if n <= 0 {
		n = DefaultK
	}
	n = min(n, maxK)
	vec, err := k.embedQuery(ctx, instruction)
	if err != nil {
		return nil, fmt.Errorf("recall: %w", err)
	}
	return k.recallVector(ctx, bus.Access{Owner: owner}, instruction, vec, facts, n)
}

// embedQuery checks a query and embeds it.
func (k *Knowledge) embedQuery(ctx context.Context, text string) ([]float32, error) {
	q := strings.TrimSpace(text)
	switch {
	case q == "":
		return nil, fmt.Errorf("%w: the instruction is empty", ErrBadQuery)
	case len(q) > MaxQueryBytes:
		return nil, fmt.Errorf("%w: the instruction is %d bytes, the limit is %d", ErrBadQuery, len(q), MaxQueryBytes)
	}
	vecs, err := k.cfg.Embedder.Embed(ctx, []string{q})
	if err != nil {
		return nil, err
	}
	if len(vecs) != 1 || len(vecs[0]) != k.dim {
		return nil, fmt.Errorf("%w: %s gave no vector of the index's %d dimensions", ErrEmbed, k.cfg.Embedder.Name(), k.dim)
	}
	return normalize(vecs[0]), nil
}

// recallVector is the worker's path: the flat accelerator finds the
// nearest vectors that a may see, chromem-go's documents say what they
// mean.
func (k *Knowledge) recallVector(ctx context.Context, a bus.Access, query string, vec []float32, facts memory.HostFacts, n int) ([]memory.Match, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return nil, ErrClosed
	}
	hits := k.flat.search(vec, max(n, meaningK), k.flat.scopeOf(a))
	found := make([]scored, 0, len(hits))
	for i, h := range hits {
		score := float64(h.sim)
		if i >= n && score < k.gate.Threshold {
			break // best first: none of the rest can count for the meaning
		}
		if score < k.cfg.MinScore {
			continue
		}
		e, err := k.getLocked(ctx, k.flat.ids[h.i])
		if err != nil {
			return nil, fmt.Errorf("recall: %w", err)
		}
		found = append(found, scored{e, score})
	}
	return k.decide(a, query, found, facts, n), nil
}

// Search is the fleet's memory search (amf memory search). With a pool
// or distribution it is chromem-go's query with its metadata filter
// (where); without one it ranks with the flat accelerator, as Recall
// does, because chromem-go's exhaustive query costs about four times
// the scan (README: at 100k memories, the difference between a reply in
// tens of milliseconds and one in hundreds). Matches below MinScore are
// left out; req.Host decides the reuse marks as in Recall. a is who asks:
// an owner sees its own memories and the shared ones, as its tasks
// recall them; read-all and admin see every owner's.
func (k *Knowledge) Search(ctx context.Context, a bus.Access, req memory.SearchRequest) ([]memory.Match, error) {
	vec, err := k.embedQuery(ctx, req.Query)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	n := req.K
	if n <= 0 {
		n = DefaultK
	}
	n = min(n, maxK)
	filter := where(req.Pool, req.Distro)
	if filter == nil {
		ms, err := k.recallVector(ctx, a, req.Query, vec, req.Host, n)
		return hideOwners(a, ms), err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return nil, ErrClosed
	}
	n = min(n, k.coll.Count())
	if n == 0 {
		return nil, nil
	}
	res, err := k.queryLocked(ctx, a, vec, min(max(n, meaningK), k.coll.Count()), filter)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	found := make([]scored, 0, len(res))
	for _, r := range res {
		score := float64(r.Similarity)
		if score < k.cfg.MinScore {
			continue
		}
		e, err := entryOf(r.ID, r.Metadata)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		found = append(found, scored{e, score})
	}
	return hideOwners(a, k.decide(a, req.Query, found, req.Host, n)), nil
}

// queryLocked is chromem-go's query with filter, among the memories a
// sees: its where matches every key, so one owner's view is two queries,
// its own memories and the shared ones, merged. k.mu is held.
func (k *Knowledge) queryLocked(ctx context.Context, a bus.Access, vec []float32, n int, filter map[string]string) ([]chromem.Result, error) {
	if a.SeeAll || a.ActAll {
		return k.coll.QueryEmbedding(ctx, vec, n, filter, nil)
	}
	var out []chromem.Result
	views := []map[string]string{{metaShared: flag(true)}}
	if a.Owner != "" { // the installation's memories are all shared
		views = append(views, map[string]string{metaOwner: string(a.Owner)})
	}
	for _, view := range views {
		maps.Copy(view, filter)
		res, err := k.coll.QueryEmbedding(ctx, vec, n, view, nil)
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			if !slices.ContainsFunc(out, func(o chromem.Result) bool { return o.ID == r.ID }) {
				out = append(out, r) // confirmed memories of a's own are in both
			}
		}
	}
	slices.SortStableFunc(out, func(x, y chromem.Result) int { return cmp.Compare(y.Similarity, x.Similarity) })
	return out[:min(n, len(out))], nil
}

// scored is one recalled memory and its similarity to the query.
type scored struct {
	e     entry
	score float64
}

// decide turns recalled memories into matches marked for reuse or not.
// A memory's successes count for its meaning: every recalled memory that
// says the same as the query (calibrated score and agreement) and ran the
// same command adds its own, so "show the disk usage" and "display the
// disk usage", each learned once with du, are two successes for it.
// Towards blind reuse they count once per credential that reported them,
// so one worker's credential cannot vouch twice.
// Confidence is as a sees it (entry.failuresFor). The first n are
// returned; the others only count.
func (k *Knowledge) decide(a bus.Access, query string, found []scored, facts memory.HostFacts, n int) []memory.Match {
	same := make([]bool, len(found))
	why := make([]string, len(found))
	successes := map[string]int{}            // command → successes for the query's meaning
	learners := map[string]map[string]bool{} // command → credentials that vouch for it
	for i, f := range found {
		same[i], why[i] = k.gate.Reusable(f.score, query, f.e.Rec.Instruction)
		if !same[i] {
			continue
		}
		cmd := f.e.Rec.Command
		successes[cmd] += f.e.Successes
		if learners[cmd] == nil {
			learners[cmd] = map[string]bool{}
		}
		for _, l := range f.e.Learners {
			learners[cmd][l] = true
		}
	}
	out := make([]memory.Match, 0, min(n, len(found)))
	for i, f := range found[:min(n, len(found))] {
		m := k.match(a, &f.e, f.score)
		switch {
		case k.cfg.NoReuse:
			m.NoReuse = "reuse is turned off"
		case !same[i]:
			m.NoReuse = why[i]
		default:
			cmd := f.e.Rec.Command
			m.Reuse, m.NoReuse = k.reusable(a, &f.e, successes[cmd], len(learners[cmd]), facts)
		}
		out = append(out, m)
	}
	return out
}

// match is e as a sees it: its failures and confidence are a's view
// (entry.failuresFor).
func (k *Knowledge) match(a bus.Access, e *entry, score float64) memory.Match {
	return memory.Match{
		ID: e.Rec.ID, Score: score,
		Instruction: e.Rec.Instruction, Command: e.Rec.Command, Description: e.Rec.Description,
		Host: e.Rec.Host, Owner: e.Rec.Owner, Successes: e.Successes, Learners: len(e.Learners), Failures: e.failuresFor(a),
		Confidence: e.confidence(a), Learned: e.Rec.TS, ConfirmedBy: e.ConfirmedBy,
	}
}

// reusable is the rest of the reuse decision, for a memory that says the
// same as the query (decide): its command worked for this meaning on
// MinSuccesses different worker credentials (or a user confirmed it), it
// has not failed too often since, and this host fits. Anything less
// leaves it an example in the prompt.
func (k *Knowledge) reusable(a bus.Access, e *entry, successes, learners int, facts memory.HostFacts) (bool, string) {
	switch {
	case learners < k.cfg.MinSuccesses && e.ConfirmedBy == "":
		return false, fmt.Sprintf("worked %d time(s) for this instruction, vouched for by %d worker credential(s); reused blindly once %d different ones saw it work, or once a user confirms it (amf memory confirm %s)",
			successes, learners, k.cfg.MinSuccesses, e.Rec.ID)
	case e.confidence(a) < k.cfg.MinConfidence:
		return false, fmt.Sprintf("confidence %.2f after %d failures", e.confidence(a), e.failuresFor(a))
	}
	return fits(e.Rec.Host, facts)
}

// Get returns one memory by id.
func (k *Knowledge) Get(id string) (memory.Match, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if !k.flat.has(id) {
		return memory.Match{}, fmt.Errorf("%w: %q", memory.ErrUnknownMemory, id)
	}
	e, err := k.getLocked(context.Background(), id)
	if err != nil {
		return memory.Match{}, err
	}
	return k.match(everyone, &e, 1), nil
}

// All returns every memory, oldest first.
func (k *Knowledge) All() []memory.Match {
	all := k.all()
	out := make([]memory.Match, 0, len(all))
	for _, e := range all {
		out = append(out, k.match(everyone, &e, 0))
	}
	return out
}

// all decodes every memory, in the order the stream taught them.
func (k *Knowledge) all() []entry {
	k.mu.RLock()
	res, err := k.allLocked(context.Background())
	out := make([]entry, 0, len(res))
	for _, r := range res {
		e, derr := entryOf(r.ID, r.Metadata)
		if derr != nil {
			err = derr
			continue
		}
		out = append(out, e)
	}
	k.mu.RUnlock()
	if err != nil {
		k.log.Warn("memory: listing the index", "err", err)
	}
	slices.SortFunc(out, func(a, b entry) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}
