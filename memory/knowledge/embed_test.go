package knowledge_test

import (
	"context"
	"math"
	"testing"

	"github.com/amf-os/amf/memory/knowledge"
)

func TestLocalEmbedderIsDeterministicAndNormalised(t *testing.T) {
	e := knowledge.LocalEmbedder()
	a, err := e.Embed(context.Background(), []string{"Find the LARGEST log files", "find the largest log files", "restart nginx"})
	if err != nil {
		t.Fatal(err)
	}
	if len(a[0]) != knowledge.LocalDim {
		t.Fatalf("dim = %d", len(a[0]))
	}
	if cos(a[0], a[1]) < 0.999 {
		t.Fatalf("case changes the vector: %.3f", cos(a[0], a[1]))
	}
	if s := cos(a[0], a[2]); s > 0.3 {
		t.Fatalf("unrelated instructions score %.3f", s)
	}
}

// FuzzLocalEmbedder: any text, however odd, yields a unit vector with no
// NaN, so the index never holds a vector it cannot compare.
func FuzzLocalEmbedder(f *testing.F) {
	for _, s := range []string{"", " ", "the", "???", "ls -la /tmp", "найти большие файлы", "\x00\xff", "a/b/c.d-e_f"} {
		f.Add(s)
	}
	e := knowledge.LocalEmbedder()
	f.Fuzz(func(t *testing.T, s string) {
		v, err := e.Embed(context.Background(), []string{s})
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, x := range v[0] {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("non-finite coordinate for %q", s)
			}
			sum += float64(x) * float64(x)
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Fatalf("|v|² = %f for %q", sum, s)
		}
	})
}

func cos(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
