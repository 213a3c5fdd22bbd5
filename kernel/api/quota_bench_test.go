package api_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
)

// floodKiB is the size of each flooding task.
const floodKiB = 64

// BenchmarkSubmitWhileAnotherFloods times one credential's submissions
// (its p50 and p99) unloaded, then while another credential floods the
// task API with 64 KiB tasks (floodKiB) for a pool nobody serves, which its quota
// refuses past 8 MiB. Both run in the same process on the same kernel,
// side by side: the flood must leave the other's p99 within 2× its
// unloaded value.
//
//	go test -run '^$' -bench SubmitWhileAnotherFloods -benchtime 400x ./kernel/api
func BenchmarkSubmitWhileAnotherFloods(b *testing.B) {
	o := startOwned(b, func(s *api.Service) { s.Quota = api.Quota{Tasks: -1, TaskBytes: 8 << 20} })
	big := []byte(`{"command":"echo ` + strings.Repeat("x", floodKiB<<10) + `","pool":"nobody"}`)
	small := []byte(`{"command":"true","pool":"nobody"}`)
	measure := func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			task, err := bus.DecodeTask(small)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if _, _, err := o.victim.Submit(context.Background(), task); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		b.StopTimer()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
	b.Run("unloaded", measure)
	b.Run("flood", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var mu sync.Mutex
		refused := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Raw requests, as a script with the nats CLI sends them:
				// the flood costs the attacker nothing to make.
				subject := bus.Names{}.SubmitAs(ownerOf(o.attacker), "")
				for ctx.Err() == nil {
					reply, err := o.attacker.NC.RequestWithContext(ctx, subject, big)
					if err == nil && reply.Header.Get("Nats-Service-Error-Code") == "429" {
						mu.Lock()
						refused++
						mu.Unlock()
					}
				}
			}()
		}
		measure(b)
		cancel()
		wg.Wait()
		b.ReportMetric(float64(refused), "flood-refused")
	})
}
