package status_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/kernel/status"
)

// holding runs a lease whose part records that it runs, until stopped.
type holding struct {
	running atomic.Bool
	terms   atomic.Int32
	stop    context.CancelFunc
	done    chan struct{}
}

func hold(t *testing.T, k *kerneltest.Kernel, holder string) *holding {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &holding{stop: cancel, done: make(chan struct{})}
	l := &status.Lease{JS: k.JS, Key: "test-part", Holder: holder, TTL: 4 * time.Second}
	go func() {
		defer close(h.done)
		_ = l.Run(ctx, func(ctx context.Context) error {
			h.terms.Add(1)
			h.running.Store(true)
			<-ctx.Done()
			h.running.Store(false)
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-h.done })
	return h
}

// One holder runs the part; the other waits, and takes over at once (not
// after the TTL) when the first stops; a holder started again under its
// own name takes its lease back at once.
func TestLeaseRunsOneHolderAtATime(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	a := hold(t, k, "a")
	testenv.Eventually(t, "a holds the lease", a.running.Load)
	b := hold(t, k, "b")
	// b asks every TTL/4: over three of its tries it never runs.
	for range 3 {
		time.Sleep(time.Second)
		if b.running.Load() {
			t.Fatal("b runs while a holds the lease")
		}
	}
	if who, err := status.LeaseHolder(context.Background(), k.JS, bus.Names{}, "test-part"); err != nil || who != "a" {
		t.Fatalf("holder %q, %v; want a", who, err)
	}
	a.stop()
	<-a.done
	testenv.Eventually(t, "b takes over", b.running.Load)

	// b dies holding the lease (its kernel killed): started again under
	// its name, b takes it back, and c, asking meanwhile, never runs.
	b.stop()
	<-b.done
	kv, err := k.JS.KeyValue(context.Background(), bus.Names{}.LeasesBucket())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(context.Background(), "test-part", []byte("b")); err != nil {
		t.Fatal(err)
	}
	c := hold(t, k, "c")
	again := hold(t, k, "b")
	testenv.Eventually(t, "b holds again", again.running.Load)
	for range 3 {
		time.Sleep(time.Second)
		if c.running.Load() {
			t.Fatal("c runs while b holds the lease")
		}
	}
}
