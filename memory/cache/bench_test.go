package cache_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// BenchmarkCacheOp times single hot-cache operations on each real
// backend and reports their p50 and p99.
func BenchmarkCacheOp(b *testing.B) {
	for _, be := range backends {
		c := be.open(b)
		ctx := context.Background()
		code := 0
		st := bus.Status{ID: "bench", State: bus.StateRunning, Pool: "default", Instruction: "list the files", Command: "ls -la", ExitCode: &code}
		for i := range 200 { // something to list
			s := st
			s.ID, s.Updated = fmt.Sprintf("t%d", i), time.Now()
			c.SetStatus(ctx, s)
		}
		w := bus.WorkerInfo{ID: "w1", Host: "h1", Pool: "default", Capacity: 4}
		turn := memory.Turn{TaskID: "t1", Instruction: "list the files", Command: "ls -la", Output: "a\nb\nc"}
		ops := []struct {
			name string
			op   func(i int) error
		}{
			{"SetStatus", func(i int) error { st.Updated = time.Now(); return c.SetStatus(ctx, st) }},
			{"Status", func(int) error { _, err := c.Status(ctx, "bench"); return err }},
			{"RecentStatuses20", func(int) error { _, err := c.RecentStatuses(ctx, 20); return err }},
			{"AppendTurn", func(int) error { return c.AppendTurn(ctx, "bench", turn) }},
			{"Turns10", func(int) error { _, err := c.Turns(ctx, "bench", 10); return err }},
			{"Heartbeat", func(int) error { return c.Heartbeat(ctx, w, time.Minute) }},
			{"Workers", func(int) error { _, err := c.Workers(ctx); return err }},
		}
		for _, o := range ops {
			b.Run(be.name+"/"+o.name, func(b *testing.B) {
				var lat []time.Duration
				i := 0
				for b.Loop() {
					t0 := time.Now()
					if err := o.op(i); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
					i++
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			})
		}
	}
}
