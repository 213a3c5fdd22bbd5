package knowledge

import (
	"runtime"
	"slices"
	"sync"

	"github.com/amf-os/amf/kernel/bus"
)

// flatIndex accelerates a worker's recall over chromem-go's documents:
// their vectors in one slice, scanned with a tight dot product and a
// small top-k per core. chromem-go is the store (documents, metadata,
// persistence, filtered search); this exists because its exhaustive
// query hands every document through a channel and a locked heap, which
// costs about three times the scan (README, BenchmarkRecall). It holds
// ids and the very vector slices of the documents, not copies.
//
// It also knows whose each memory is, so that a search for one owner
// skips everyone else's in the scan itself: filtering the top k after
// the scan would let other owners' memories crowd that owner's out.
type flatIndex struct {
	ids  []string
	vecs [][]float32
	// owner is each memory's owner as its number in owners; shared marks
	// those every owner sees (entry.shared).
	owner  []int32
	shared []bool
	pos    map[string]int
	owners map[bus.Owner]int32
	// held is how many memories each owner (by number) has.
	held map[int32]int
}

// scope is whose memories a search sees: all, or the shared ones and
// those of one owner (its number in flatIndex.owners; noOwner when it
// has none).
type scope struct {
	all   bool
	owner int32
}

// noOwner is the number of an owner without memories of its own.
const noOwner = -1

// scopeOf is what a sees: every owner's memories with the read-all or
// admin right, else its own and the shared ones.
func (f *flatIndex) scopeOf(a bus.Access) scope {
	if a.SeeAll || a.ActAll {
		return scope{all: true}
	}
	n, ok := f.owners[a.Owner]
	if !ok {
		n = noOwner
	}
	return scope{owner: n}
}

// sees reports whether memory i is in s.
func (f *flatIndex) sees(s scope, i int) bool { return s.all || f.shared[i] || f.owner[i] == s.owner }

// parallelFrom is the size above which a search is split across cores.
const parallelFrom = 4096

type hit struct {
	i   int
	sim float32
}

func newFlatIndex() *flatIndex {
	return &flatIndex{pos: map[string]int{}, owners: map[bus.Owner]int32{}, held: map[int32]int{}}
}

func (f *flatIndex) len() int { return len(f.ids) }

// has says whether id is indexed.
func (f *flatIndex) has(id string) bool { _, ok := f.pos[id]; return ok }

// vector is id's vector, the slice its chromem-go document holds too.
func (f *flatIndex) vector(id string) ([]float32, bool) {
	i, ok := f.pos[id]
	if !ok {
		return nil, false
	}
	return f.vecs[i], true
}

// add inserts or replaces id's vector, its owner and whether every
// owner sees it.
func (f *flatIndex) add(id string, v []float32, o bus.Owner, shared bool) {
	n, ok := f.owners[o]
	if !ok {
		n = int32(len(f.owners))
		f.owners[o] = n
	}
	if i, ok := f.pos[id]; ok {
		f.held[f.owner[i]]--
		f.held[n]++
		f.vecs[i], f.owner[i], f.shared[i] = v, n, shared
		return
	}
	f.held[n]++
	f.pos[id] = len(f.ids)
	f.ids = append(f.ids, id)
	f.vecs = append(f.vecs, v)
	f.owner = append(f.owner, n)
	f.shared = append(f.shared, shared)
}

// holds is how many memories o has.
func (f *flatIndex) holds(o bus.Owner) int {
	n, ok := f.owners[o]
	if !ok {
		return 0
	}
	return f.held[n]
}

// count is how many memories s sees: a scan of two small slices, about
// 50 µs at 100k memories, so an owner's search can report its own view.
func (f *flatIndex) count(s scope) int {
	if s.all {
		return len(f.ids)
	}
	n := 0
	for i := range f.ids {
		if f.sees(s, i) {
			n++
		}
	}
	return n
}

// share marks id as seen by every owner (a confirmation).
func (f *flatIndex) share(id string) {
	if i, ok := f.pos[id]; ok {
		f.shared[i] = true
	}
}

// remove deletes id by moving the last vector into its place.
func (f *flatIndex) remove(id string) {
	i, ok := f.pos[id]
	if !ok {
		return
	}
	f.held[f.owner[i]]--
	last := len(f.ids) - 1
	f.ids[i], f.vecs[i], f.owner[i], f.shared[i] = f.ids[last], f.vecs[last], f.owner[last], f.shared[last]
	f.pos[f.ids[i]] = i
	f.ids, f.vecs, f.owner, f.shared = f.ids[:last], f.vecs[:last], f.owner[:last], f.shared[:last]
	delete(f.pos, id)
}

// search returns the k most similar vectors to q (normalised) among
// those s sees, best first.
func (f *flatIndex) search(q []float32, k int, s scope) []hit {
	n := len(f.vecs)
	k = min(k, n)
	if k <= 0 {
		return nil
	}
	parts := 1
	if n >= parallelFrom {
		parts = min(runtime.GOMAXPROCS(0), 8)
	}
	tops := make([][]hit, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		wg.Go(func() { tops[p] = f.topK(q, k, lo, hi, s) })
	}
	wg.Wait()
	all := slices.Concat(tops...)
	slices.SortFunc(all, func(a, b hit) int {
		switch {
		case a.sim > b.sim:
			return -1
		case a.sim < b.sim:
			return 1
		}
		return a.i - b.i
	})
	return all[:min(k, len(all))]
}

// topK scans vecs[lo:hi] keeping the k best that sc sees in a small
// sorted slice: for the k of a prompt (≤ 100) this beats a heap.
func (f *flatIndex) topK(q []float32, k, lo, hi int, sc scope) []hit {
	top := make([]hit, 0, k+1)
	floor := float32(-2)
	for i := lo; i < hi; i++ {
		if !f.sees(sc, i) {
			continue
		}
		s := dot(q, f.vecs[i])
		if len(top) == k && s <= floor {
			continue
		}
		j := len(top)
		top = append(top, hit{})
		for j > 0 && top[j-1].sim < s {
			top[j] = top[j-1]
			j--
		}
		top[j] = hit{i: i, sim: s}
		if len(top) > k {
			top = top[:k]
		}
		if len(top) == k {
			floor = top[k-1].sim
		}
	}
	return top
}

// dot is the dot product of two vectors of one length, unrolled by four.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}
