package knowledge_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory/knowledge"
)

// catchUpSize is how many memories BenchmarkCatchUp replays; set
// AMF_BENCH_CATCHUP to change it.
func catchUpSize() int {
	if n, err := strconv.Atoi(os.Getenv("AMF_BENCH_CATCHUP")); err == nil && n > 0 {
		return n
	}
	return 20000
}

// BenchmarkCatchUp measures how fast a fresh worker builds its index
// from AMF_MEMORY with the local embedder: open, replay, caught up.
func BenchmarkCatchUp(b *testing.B) {
	k := kerneltest.Start(b)
	n := catchUpSize()
	ctx := context.Background()
	names := bus.Names{}
	for i := range n {
		rec := bus.Learned{Instruction: fmt.Sprintf("compress the old log files of service number %d in /var/log/svc%d", i, i%97),
			Command: fmt.Sprintf("find /var/log/svc%d -mtime +7 -exec gzip {} +", i), TaskID: "t" + strconv.Itoa(i)}
		if err := rec.Normalize(); err != nil {
			b.Fatal(err)
		}
		msg := nats.NewMsg(names.Learned())
		msg.Data = mustMarshal(b, rec)
		if _, err := k.JS.PublishMsgAsync(msg); err != nil {
			b.Fatal(err)
		}
		// In steps, so that a busy machine does not stall the publisher.
		if i%1000 == 999 || i == n-1 {
			select {
			case <-k.JS.PublishAsyncComplete():
			case <-time.After(time.Minute):
				b.Fatal("publishing 1,000 memories took over a minute")
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		kn, err := knowledge.Open(ctx, k.JS, knowledge.Config{})
		if err != nil {
			b.Fatal(err)
		}
		<-kn.CaughtUp()
		if kn.Len() != n {
			b.Fatalf("caught up with %d memories, want %d", kn.Len(), n)
		}
		kn.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "memories/s")
}
