package kernel

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// The kernel gives memory back once a load is over. Go keeps the heap a
// load freed for reuse and returns it to the system only gradually, so a
// kernel stayed tens of MiB above its idle size for many minutes after a
// burst of tasks (33 → 64 → 51 MiB ten minutes later, with a live heap
// back near its idle size). So when the kernel has allocated much since
// it last trimmed and then goes quiet, it collects and returns what is
// free at once (debug.FreeOSMemory): one collection, after the load, not
// during it.

// Defaults of the trim: how often the kernel looks, how much it must have
// allocated since the last trim, and how little in the last look counts
// as quiet. An idle kernel allocates about 50 KiB a second (store and
// pool reports), so it trims every few minutes at most when idle, each a
// collection of a small heap; one buffer nats-server takes to read a
// store block (up to 8 MiB) is enough to trim after.
var (
	trimEvery    = 10 * time.Second
	trimAfter    = uint64(8 << 20)
	trimQuietMax = uint64(2 << 20)
)

// memTrim owns the goroutine that trims.
type memTrim struct {
	stop  context.CancelFunc
	wg    sync.WaitGroup
	trims atomic.Int64 // how often it returned memory
}

func trimMemory(log *slog.Logger) *memTrim {
	ctx, cancel := context.WithCancel(context.Background())
	m := &memTrim{stop: cancel}
	m.wg.Go(func() {
		t := time.NewTicker(trimEvery)
		defer t.Stop()
		sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
		read := func() uint64 {
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				return 0
			}
			return sample[0].Value.Uint64()
		}
		trimmed, last := read(), read()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := read()
			if now-trimmed >= trimAfter && now-last <= trimQuietMax {
				start := time.Now()
				// nats-server keeps its store block buffers (up to 8 MiB
				// each) in sync.Pools, which let go of what they hold only
				// at the second collection: one first, then the one that
				// returns memory.
				runtime.GC()
				debug.FreeOSMemory()
				m.trims.Add(1)
				log.Debug("returned free memory after a load", "allocated", mib(now-trimmed), "took", time.Since(start))
				now = read()
				trimmed = now
			}
			last = now
		}
	})
	return m
}

// Stop ends the trim and waits for it.
func (m *memTrim) Stop() {
	if m == nil {
		return
	}
	m.stop()
	m.wg.Wait()
}
