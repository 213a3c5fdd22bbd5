package knowledge

import (
	"context"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
)

// sharedVectors fails unless every chromem-go document's vector is the
// very slice the flat index scans: a memory is held once by chromem-go,
// and the accelerator adds only its id.
func sharedVectors(t *testing.T, k *Knowledge, want int) {
	t.Helper()
	k.mu.RLock()
	defer k.mu.RUnlock()
	all, err := k.allLocked(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != want || k.flat.len() != want {
		t.Fatalf("%d documents and %d flat vectors, want %d", len(all), k.flat.len(), want)
	}
	for _, r := range all {
		v, ok := k.flat.vector(r.ID)
		if !ok || &v[0] != &r.Embedding[0] {
			t.Fatalf("memory %s: the flat index holds a copy of its vector", r.ID)
		}
	}
}

func TestEachVectorIsHeldOnce(t *testing.T) {
	kt := kerneltest.Start(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	open := func() *Knowledge {
		k, err := Open(ctx, kt.JS, Config{StateDir: dir, Logger: kerneltest.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k := open()
	pub := memory.Publisher{JS: kt.JS}
	id, err := pub.Learn(ctx, bus.Learned{Instruction: "show the date", Command: "date", TaskID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range []bus.Learned{
		{Instruction: "show the date", Command: "date", TaskID: "b"}, // a second success
		{Instruction: "count the lines of a file", Command: "wc -l f", TaskID: "c"},
	} {
		if _, err := pub.Learn(ctx, l); err != nil {
			t.Fatal(i, err)
		}
	}
	if err := pub.ReportFailure(ctx, bus.MemoryFailure{ID: id, TaskID: "d"}); err != nil {
		t.Fatal(err)
	}
	if err := k.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	sharedVectors(t, k, 2)
	applied := k.Applied()
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	k = open() // from the saved index
	defer k.Close()
	if k.Applied() != applied {
		t.Fatalf("reopened at %d, want %d", k.Applied(), applied)
	}
	sharedVectors(t, k, 2)
}
