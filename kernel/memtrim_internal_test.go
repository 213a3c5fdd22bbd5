package kernel

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// A load (allocation well past the trim's threshold) ends: once the
// process is quiet the kernel returns free memory, once, and not while
// the load runs; after the trim the heap keeps little free memory that
// is not returned.
func TestMemoryIsReturnedAfterALoad(t *testing.T) {
	every, after, quiet := trimEvery, trimAfter, trimQuietMax
	// A look every 300 ms: the load below must not look quiet because
	// a loaded machine held its goroutine off the CPU for one look.
	trimEvery, trimAfter, trimQuietMax = 300*time.Millisecond, 16<<20, 2<<20
	t.Cleanup(func() { trimEvery, trimAfter, trimQuietMax = every, after, quiet })
	m := trimMemory(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(m.Stop)

	// The load: 1 MiB every millisecond for two seconds, kept a while,
	// so the heap grows; no tick in it is quiet.
	var held [][]byte
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		held = append(held, make([]byte, 1<<20))
		if len(held) > 64 {
			held = held[1:]
		}
		time.Sleep(time.Millisecond)
	}
	if n := m.trims.Load(); n != 0 {
		t.Fatalf("memory returned %d times while the load ran", n)
	}
	runtime.KeepAlive(held)
	held = nil

	deadline := time.Now().Add(10 * time.Second)
	for m.trims.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no memory returned 10 s after the load ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(sample)
	t.Logf("after the trim the heap keeps %d KiB free and not returned", sample[0].Value.Uint64()>>10)
	if free := sample[0].Value.Uint64(); free > 16<<20 {
		t.Errorf("after the trim the heap keeps %d MiB free and not returned", free>>20)
	}
	time.Sleep(5 * trimEvery)
	if n := m.trims.Load(); n != 1 {
		t.Fatalf("memory returned %d times for one load, want once", n)
	}
}
