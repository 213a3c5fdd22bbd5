package kernel_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// BenchmarkSubmitSync measures task submission (accepted event plus
// queued task, both acknowledged) with each durability choice side by
// side: JetStream's default flush interval, a flush before every
// acknowledgement, and a flush every second. One client waits for each
// submission in turn; eight submit at once.
//
//	go test ./kernel -run '^$' -bench SubmitSync -benchtime 2000x
func BenchmarkSubmitSync(b *testing.B) {
	for _, sync := range []string{kernel.SyncDefault, kernel.SyncAlways, "1s"} {
		srv := &kernel.Server{StateDir: b.TempDir(), Listen: "127.0.0.1:-1", DontListen: true, Sync: sync, Logger: kerneltest.Logger(b)}
		if err := srv.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		nc, err := srv.Connect()
		if err != nil {
			b.Fatal(err)
		}
		c := &client.Client{NC: nc}
		var n atomic.Int64
		submit := func(b *testing.B) {
			id := fmt.Sprintf("b-%d", n.Add(1))
			if _, _, err := c.Submit(context.Background(), bus.Task{ID: id, Command: "true"}); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("sync="+sync+"/serial", func(b *testing.B) {
			for b.Loop() {
				submit(b)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
		b.Run("sync="+sync+"/parallel8", func(b *testing.B) {
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					submit(b)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
		nc.Close()
		srv.Shutdown()
	}
}

// TestSyncChoiceIsChecked refuses a sync setting the server cannot use,
// with a message saying what it takes.
func TestSyncChoiceIsChecked(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"sometimes", "-1s", "0s"} {
		srv := &kernel.Server{StateDir: t.TempDir(), DontListen: true, Sync: bad, Logger: kerneltest.Logger(t)}
		err := srv.Start(context.Background())
		if err == nil {
			srv.Shutdown()
			t.Fatalf("sync %q accepted", bad)
		}
		if want := `"always" or a positive duration`; !strings.Contains(err.Error(), want) {
			t.Fatalf("sync %q: %v; want a message naming %s", bad, err, want)
		}
	}
	srv := &kernel.Server{StateDir: t.TempDir(), DontListen: true, Sync: "always", Logger: kerneltest.Logger(t)}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if !srv.EmbeddedServer().JetStreamConfig().SyncAlways {
		t.Fatal("sync always did not reach JetStream")
	}
}
