package knowledge

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFlatSearchMatchesBruteForce checks the parallel top-k against a
// full sort, after removals have moved vectors around.
func TestFlatSearchMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	f := newFlatIndex()
	vecs := map[string][]float32{}
	for i := range parallelFrom + 500 {
		v := make([]float32, 16)
		for j := range v {
			v[j] = r.Float32()*2 - 1
		}
		id := fmt.Sprint(i)
		vecs[id] = normalize(v)
		f.add(id, vecs[id], "", true)
	}
	for i := 0; i < 800; i += 3 {
		id := fmt.Sprint(i)
		f.remove(id)
		delete(vecs, id)
	}
	f.remove("no such id")
	if f.len() != len(vecs) {
		t.Fatalf("len %d, want %d", f.len(), len(vecs))
	}
	for range 20 {
		q := vecs[fmt.Sprint(1+r.IntN(800)*3%4000+1)]
		if q == nil {
			continue
		}
		type scored struct {
			id  string
			sim float32
		}
		var all []scored
		for id, v := range vecs {
			all = append(all, scored{id, dot(q, v)})
		}
		slices.SortFunc(all, func(a, b scored) int {
			if a.sim > b.sim {
				return -1
			}
			if a.sim < b.sim {
				return 1
			}
			return 0
		})
		got := f.search(q, 5, scope{all: true})
		for i, h := range got {
			if f.ids[h.i] != all[i].id && h.sim != all[i].sim {
				t.Fatalf("rank %d: got %s (%.4f), want %s (%.4f)", i, f.ids[h.i], h.sim, all[i].id, all[i].sim)
			}
		}
	}
	if got := f.search([]float32{1}, 0, scope{all: true}); got != nil {
		t.Fatalf("k=0: %v", got)
	}
}
