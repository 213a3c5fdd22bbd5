package client_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// BenchmarkReadFinishedTask reads a short finished task's events (what
// an SSE client or `amf run` does once per task) through the client,
// beside the same batch direct get done on a plain SubscribeSync inbox,
// as the client did before its reply queue was sized to the batch: the
// default queue is allocated (512 KB) and zeroed per read. Compare B/op.
func BenchmarkReadFinishedTask(b *testing.B) {
	k := kerneltest.Start(b)
	names := bus.Names{}
	c := &client.Client{NC: k.NC, Names: names}
	publishEvents(b, k.JS, names, "t1", bus.EventAccepted, bus.EventAssigned, bus.EventCommand,
		bus.EventExecStart, bus.EventExecEnd, bus.EventDone)
	ctx := context.Background()
	b.Run("client", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			if err := c.WatchRaw(ctx, "t1", 0, false, func(client.RawEvent) error { n++; return nil }); err != nil || n != 6 {
				b.Fatalf("read %d events: %v", n, err)
			}
		}
	})
	b.Run("subscribe-sync", func(b *testing.B) {
		b.ReportAllocs()
		req, _ := json.Marshal(map[string]any{"seq": 1, "next_by_subj": names.Event("t1"), "batch": 512, "max_bytes": 4 << 20})
		for b.Loop() {
			inbox := k.NC.NewInbox()
			sub, err := k.NC.SubscribeSync(inbox)
			if err != nil {
				b.Fatal(err)
			}
			if err := k.NC.PublishRequest("$JS.API.DIRECT.GET."+names.EventsStream(), inbox, req); err != nil {
				b.Fatal(err)
			}
			for n := 0; ; n++ {
				m, err := sub.NextMsg(5 * time.Second)
				if err != nil {
					b.Fatal(err)
				}
				if m.Header.Get("Status") == "204" {
					if n != 6 {
						b.Fatalf("read %d events", n)
					}
					break
				}
			}
			_ = sub.Unsubscribe()
		}
	})
}
