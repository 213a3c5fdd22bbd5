package kernel

import (
	"context"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Clients that come and go (every `amf run`, every CLI call) leave at
// most maxClosedClients records of their connections in the kernel, not
// nats-server's default of 10,000, which a long-lived kernel would hold
// for good.
func TestClosedConnectionsAreBounded(t *testing.T) {
	s := &Server{StateDir: t.TempDir(), Listen: "127.0.0.1:-1", NoTaskAPI: true}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	heap := func() uint64 {
		runtime.GC()
		m := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(m)
		return m[0].Value.Uint64()
	}
	before := heap()
	const clients = 2 * maxClosedClients
	for range clients {
		nc, err := s.Connect()
		if err != nil {
			t.Fatal(err)
		}
		nc.Close()
	}
	// A closed connection's record is kept by a goroutine of its own,
	// after Close returns: wait until their count settles.
	count := func() int {
		c, err := s.ns.Connz(&server.ConnzOptions{State: server.ConnClosed})
		if err != nil {
			t.Fatal(err)
		}
		return c.Total
	}
	kept, since := count(), time.Now()
	for deadline := time.Now().Add(20 * time.Second); time.Since(since) < 500*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatalf("closed connections kept still changing after 20 s (%d)", kept)
		}
		time.Sleep(20 * time.Millisecond)
		if n := count(); n != kept {
			kept, since = n, time.Now()
		}
	}
	t.Logf("%d clients came and went: %d closed connections kept, the live heap grew by %d KiB", clients, kept, int64(heap()-before)>>10)
	if kept > maxClosedClients {
		t.Fatalf("%d clients came and went; the kernel keeps %d closed connections, want at most %d", clients, kept, maxClosedClients)
	}
}
